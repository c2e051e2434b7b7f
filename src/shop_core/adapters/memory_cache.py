"""An in-process cache for the embedded default: one per process, bounded, with expiry."""

from __future__ import annotations

import time
from collections import OrderedDict


class MemoryCache:
    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._counters: dict[str, int] = {}
        self._max = max_entries

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

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        self._counters.pop(key, None)  # as in Redis, a value replaces a counter of the same key
        self._entries[key] = (value, time.monotonic() + ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def add(self, key: str, value: bytes, ttl: int) -> bool:
        if await self.get(key) is not None:
            return False
        await self.set(key, value, ttl)
        return True

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)
        self._counters.pop(key, None)

    async def incr(self, key: str, start: int = 0) -> int:
        self._counters[key] = self._counters.get(key, start) + 1
        return self._counters[key]
