"""An in-process cache for the embedded default: one per process, bounded, with expiry."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict


class MemoryCache:
    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._counters: dict[str, int] = {}
        self._max = max_entries
        self._notified: dict[str, float] = {}
        self._waiting: dict[str, tuple[asyncio.Event, int]] = {}  # the event, how many wait on it

    async def get(self, key: str) -> bytes | None:
        if key in self._counters:
            return str(self._counters[key]).encode()
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            del self._entries[key]
            return None
        return entry[0]

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self._counters.pop(key, None)  # as in Redis, a value replaces a counter of the same key
        self._entries[key] = (value, time.monotonic() + ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        if await self.get(key) is not None:
            return False
        await self.set(key, value, ttl)
        return True

    async def extend(self, key: str, value: bytes, ttl: float) -> bool:
        if key in self._counters or await self.get(key) != value:
            return False
        self._entries[key] = (value, time.monotonic() + ttl)
        return True

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)
        self._counters.pop(key, None)

    async def delete_if(self, key: str, value: bytes) -> bool:
        if key in self._counters or await self.get(key) != value:
            return False
        del self._entries[key]
        return True

    async def incr(self, key: str, start: int = 0) -> int:
        self._counters[key] = self._counters.get(key, start) + 1
        return self._counters[key]

    async def notify(self, key: str, ttl: float) -> None:
        now = time.monotonic()
        self._notified = {k: until for k, until in self._notified.items() if until > now}
        self._notified[key] = now + ttl
        if (waiting := self._waiting.pop(key, None)) is not None:
            waiting[0].set()

    async def wait(self, key: str, at_most: float) -> bool:
        if self._notified.get(key, 0.0) > time.monotonic():
            return True
        event, count = self._waiting.get(key, (asyncio.Event(), 0))
        self._waiting[key] = (event, count + 1)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(at_most):
                    await event.wait()
        finally:
            if (still := self._waiting.get(key)) is not None and still[0] is event:
                if still[1] == 1:
                    del self._waiting[key]  # the last one to give up leaves nothing behind
                else:
                    self._waiting[key] = (event, still[1] - 1)
        return event.is_set()
