"""Cache-aside with versioned keys and stampede protection.

Every catalog write bumps one version counter, and every key embeds the version it was computed
at, so a write invalidates everything it could affect at once, on every process. When a hot key
is missing, one request computes it: others in the same process await that computation, and
others in other processes wait for the value under a short lock instead of all hitting the database.

Each process also keeps the values it has seen in a small local copy keyed by the same versioned
keys, so a hit costs one read of the (tiny) version counter from the shared cache. A local entry
can never be stale: a write changes the version, and with it every key.

When the shared cache is unreachable, reads are computed from the database (slower, never
wrong) and writes still succeed; a version bump that could not be made leaves entries written
before the outage to expire with their TTL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from shop_core.domain.errors import ServiceUnavailable
from shop_core.ports.cache import Cache

log = logging.getLogger("shop.cache")

VERSION_KEY = "catalog:version"


class CacheAside:
    def __init__(
        self,
        cache: Cache,
        *,
        ttl: int,
        enabled: bool = True,
        lock_ttl: int = 10,
        max_wait: float = 3.0,
        local_entries: int = 4096,
    ) -> None:
        self._cache = cache
        self.ttl = ttl
        self.enabled = enabled
        self._lock_ttl = lock_ttl
        self._max_wait = max_wait
        self._inflight: dict[str, asyncio.Future[bytes]] = {}
        self._local: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._local_max = local_entries
        self.computations = 0

    async def key(self, name: str) -> str:
        """`name` qualified by the current catalog version."""
        version = await self._cache.get(VERSION_KEY)
        return f"catalog:{(version or b'0').decode()}:{name}"

    async def invalidate(self) -> None:
        if not self.enabled:
            return
        try:
            await self._cache.incr(VERSION_KEY)
        except ServiceUnavailable:
            log.warning("catalog cache unreachable: not invalidated; entries expire within %ss", self.ttl)

    async def get_or_compute(self, name: str, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        if not self.enabled:
            return await self._computed(compute)
        try:
            return await self._cached(name, compute)
        except ServiceUnavailable:
            log.warning("catalog cache unreachable: serving %s from the database", name)
            return await self._computed(compute)

    async def _cached(self, name: str, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        key = await self.key(name)
        if (seen := self._local.get(key)) is not None and seen[1] > time.monotonic():
            return seen[0]
        if (hit := await self._cache.get(key)) is not None:
            self._remember(key, hit)
            return hit
        if (running := self._inflight.get(key)) is not None:
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if running.cancelled() and task is not None and not task.cancelling():
                    # The caller computing it was cancelled, not this one: compute it afresh.
                    return await self.get_or_compute(name, compute)
                raise
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await self._fill(key, compute)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so a future nobody awaited does not warn
            raise
        else:
            future.set_result(value)
            self._remember(key, value)
            return value
        finally:
            del self._inflight[key]

    def _remember(self, key: str, value: bytes) -> None:
        self._local[key] = (value, time.monotonic() + self.ttl)
        self._local.move_to_end(key)
        while len(self._local) > self._local_max:
            self._local.popitem(last=False)

    async def _fill(self, key: str, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        """Compute under a shared lock; while another holds it, wait for its value, or take over the
        lock if it lets go without one (its computation failed)."""
        lock = f"{key}:lock"
        deadline = time.monotonic() + self._max_wait
        delay = 0.002
        while True:
            if await self._cache.add(lock, b"1", self._lock_ttl):
                try:
                    value = await self._computed(compute)
                    await self._cache.set(key, value, self.ttl)
                    return value
                finally:
                    await self._cache.delete(lock)
            if time.monotonic() >= deadline:
                return await self._computed(compute)  # the lock holder is slow or gone: serve uncached
            await asyncio.sleep(delay)
            if (hit := await self._cache.get(key)) is not None:
                return hit
            delay = min(delay * 2, 0.05)

    async def _computed(self, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        self.computations += 1
        return await compute()
