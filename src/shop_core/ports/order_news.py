"""News of changed orders, from the process that committed the change to every process with a
live stream on that order (Server-Sent Events), and the one-time tickets those streams open with."""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractAsyncContextManager
from typing import Protocol


class OrderNewsFeed(Protocol):
    """One stream's subscription to one order's news."""

    async def wait(self, seconds: float) -> bool:
        """True as soon as news of the order came (any news since the last call counts, however
        many: news only says "look again"); False when `seconds` passed without any."""
        ...


class OrderNews(Protocol):
    """After a commit that wrote orders' audit events, their ids go out; listeners wake up and read
    what is new from the database. A lost notice costs latency only: streams also look at every
    heartbeat."""

    def announce(self, order_ids: Collection[int]) -> None:
        """Tell every listener of these orders, in this process and others. Never blocks the caller
        and never raises: a delivery that fails is logged."""
        ...

    def listen(self, order_id: int) -> AbstractAsyncContextManager[OrderNewsFeed]:
        """Hear the order's news while the block lasts."""
        ...

    async def aclose(self) -> None:
        """Finish (or give up) the announcements under way and stop listening."""
        ...


class StreamTicketStore(Protocol):
    """Short-lived, single-use stream tickets, stored by the hash of the ticket."""

    async def keep(self, key: str, grant: str, ttl_seconds: int) -> None:
        """Store `grant` under `key` for at most `ttl_seconds`."""
        ...

    async def take(self, key: str) -> str | None:
        """The grant under `key`, removed in the same step: of two callers at once, one gets it."""
        ...
