"""Order news within one process (no Redis): the embedded default, and the local fan-out that the
Redis adapter feeds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager


class Feed:
    """One stream's wake-up call: news that arrives while nobody waits is kept until the next wait."""

    __slots__ = ("_news",)

    def __init__(self) -> None:
        self._news = asyncio.Event()

    def wake(self) -> None:
        self._news.set()

    async def wait(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._news.wait(), seconds)
        except TimeoutError:
            return False
        self._news.clear()
        return True


class LocalListeners:
    """The feeds of this process, by order id."""

    def __init__(self) -> None:
        self._feeds: dict[int, set[Feed]] = {}

    def __len__(self) -> int:
        return sum(len(feeds) for feeds in self._feeds.values())

    def wake(self, order_ids: Iterable[int]) -> None:
        for order_id in order_ids:
            for feed in self._feeds.get(order_id, ()):
                feed.wake()

    def wake_all(self) -> None:
        """Every feed looks again (after news may have been missed: a lost connection)."""
        for feeds in self._feeds.values():
            for feed in feeds:
                feed.wake()

    @asynccontextmanager
    async def listen(self, order_id: int) -> AsyncIterator[Feed]:
        feed = Feed()
        self._feeds.setdefault(order_id, set()).add(feed)
        try:
            yield feed
        finally:
            feeds = self._feeds.get(order_id, set())
            feeds.discard(feed)
            if not feeds:
                self._feeds.pop(order_id, None)


class InProcessOrderNews:
    """News goes straight to this process's listeners: right while one process serves the shop."""

    def __init__(self) -> None:
        self._listeners = LocalListeners()

    def announce(self, order_ids: Collection[int]) -> None:
        self._listeners.wake(order_ids)

    def listen(self, order_id: int) -> AbstractAsyncContextManager[Feed]:
        return self._listeners.listen(order_id)

    async def aclose(self) -> None:
        """Nothing is under way: announcing is immediate."""


class InProcessStreamTickets:
    """Tickets in this process's memory (no Redis: one process serves the shop). Taking one is a
    single dictionary step on the event loop, so only one caller gets it."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._tickets: dict[str, tuple[str, float]] = {}

    async def keep(self, key: str, grant: str, ttl_seconds: int) -> None:
        now = self._monotonic()
        for stale in [k for k, (_, until) in self._tickets.items() if until <= now]:
            del self._tickets[stale]  # tickets never taken go with the next one kept
        self._tickets[key] = (grant, now + ttl_seconds)

    async def take(self, key: str) -> str | None:
        found = self._tickets.pop(key, None)
        if found is None or found[1] <= self._monotonic():
            return None
        return found[0]
