"""Cache-aside with versioned keys and stampede protection.

Every catalog write bumps one version counter, and every key embeds the version it was computed
at, so a write invalidates everything it could affect at once, on every process. When a hot key
is missing, one request computes it: others in the same process await that computation, and
others in other processes wait for the value under a short lock instead of all hitting the database.

Each process also keeps the values it has seen in a small local copy keyed by the same versioned
keys, so a hit costs one read of the (tiny) version counter from the shared cache. A local entry
can never be stale: a write changes the version, and with it every key.

When the shared cache is unreachable, reads are computed from the database (slower, never
wrong) and writes still succeed. A version bump that could not be made is owed: this process
makes it before it trusts the cache again, and a background retry makes it as soon as the cache
answers, so entries written before the outage are not served after it. A cache that restarted
empty counts its version on from the clock, never from a number already used, so no local copy
made before the restart can match a key after it.

Each lookup is reported to the `Metrics` port as a hit (the local copy or the shared cache had the
value) or a miss; reads that bypass the cache (it is off, or unreachable) are not lookups.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from shop_core.domain.errors import ServiceUnavailable
from shop_core.ports.cache import Cache
from shop_core.ports.metrics import NULL_METRICS, Metrics
from shop_core.services.outage import Outage

log = logging.getLogger("shop.cache")

VERSION_KEY = "catalog:version"
# Before the first write (or after the shared cache restarted empty) there is no version; such
# keys are shared but never kept locally, since the same key can come back after a restart.
UNVERSIONED = "catalog:0:"


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
        pause: float = 1.0,
        retry_every: float = 1.0,
        metrics: Metrics = NULL_METRICS,
    ) -> None:
        self._cache = cache
        self._metrics = metrics
        self.ttl = ttl
        self.enabled = enabled
        self._lock_ttl = lock_ttl
        self._max_wait = max_wait
        self._inflight: dict[str, asyncio.Future[bytes]] = {}
        self._local: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._local_max = local_entries
        self.computations = 0
        self._bump_owed = False
        self.outage = Outage("Catalog cache (Redis)", pause=pause, retry_every=retry_every)

    async def key(self, name: str) -> str:
        """`name` qualified by the current catalog version."""
        version = await self._cache.get(VERSION_KEY)
        return f"{UNVERSIONED if version is None else f'catalog:{version.decode()}:'}{name}"

    async def _bump(self) -> int:
        return await self._cache.incr(VERSION_KEY, start=time.time_ns() // 1000)

    async def invalidate(self) -> None:
        if not self.enabled:
            return
        self._bump_owed = True
        await self.repair()

    async def repair(self) -> bool:
        """Make a version bump still owed; True when none is (also what the retry loop calls)."""
        if not self._bump_owed:
            return True
        try:
            await self._bump()
        except ServiceUnavailable:
            self.outage.began()
            self.outage.repair_later(self.repair)
            return False
        self._bump_owed = False
        self.outage.ended()
        return True

    async def get_or_compute(self, name: str, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        if not self.enabled or self.outage.ongoing or not await self.repair():
            return await self._computed(compute)
        try:
            return await self._cached(name, compute)
        except ServiceUnavailable:
            self.outage.began()
            return await self._computed(compute)

    async def aclose(self) -> None:
        await self.outage.aclose()

    async def _cached(self, name: str, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        key = await self.key(name)
        if (seen := self._local.get(key)) is not None and seen[1] > time.monotonic():
            self._metrics.cache_lookup(True)
            return seen[0]
        if (hit := await self._cache.get(key)) is not None:
            self._metrics.cache_lookup(True)
            self._remember(key, hit)
            return hit
        self._metrics.cache_lookup(False)  # computed here, or by the request already computing it
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
        if key.startswith(UNVERSIONED):
            return
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
