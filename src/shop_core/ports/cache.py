from __future__ import annotations

from typing import Protocol


class Cache(Protocol):
    """Bytes by key with a time to live, shared by every process when it is Redis.

    Times to live are in seconds; a lock's lease may be a fraction of one."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: int) -> None: ...

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        """Set only if absent (a lock); True when this call set it."""
        ...

    async def extend(self, key: str, value: bytes, ttl: float) -> bool:
        """Give `key` `ttl` more seconds to live, only while it still holds `value` (renew a lock
        this caller owns, atomically); True when it did."""
        ...

    async def delete(self, key: str) -> None: ...

    async def delete_if(self, key: str, value: bytes) -> bool:
        """Delete `key` only while it still holds `value` (release a lock this caller owns)."""
        ...

    async def incr(self, key: str, start: int = 0) -> int:
        """Add one to a counter that never expires (a missing one counts from `start`, so it is
        created at `start + 1`); return the new value."""
        ...

    async def notify(self, key: str, ttl: float) -> None:
        """Wake everyone waiting on `key`, and anyone who starts waiting on it within `ttl` seconds."""
        ...

    async def wait(self, key: str, at_most: float) -> bool:
        """Wait until `key` is notified, or `at_most` seconds pass (at most a few); True when
        notified. Waiting does not use the notification up: every waiter sees it."""
        ...


class CatalogVersion(Protocol):
    """A counter kept with the catalog in the database, moved on by every catalog write, so each
    process can tell that the catalog changed, whichever process changed it."""

    async def current(self) -> int: ...

    async def bump(self) -> int:
        """Move the counter on; return the new value (greater than any returned before)."""
        ...
