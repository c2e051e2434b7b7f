from __future__ import annotations

from typing import Protocol


class Cache(Protocol):
    """Bytes by key with a time to live, shared by every process when it is Redis."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: int) -> None: ...

    async def add(self, key: str, value: bytes, ttl: int) -> bool:
        """Set only if absent (a lock); True when this call set it."""
        ...

    async def delete(self, key: str) -> None: ...

    async def incr(self, key: str, start: int = 0) -> int:
        """Add one to a counter that never expires (a missing one counts from `start`, so it is
        created at `start + 1`); return the new value."""
        ...
