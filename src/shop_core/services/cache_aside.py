"""Cache-aside with versioned keys and stampede protection.

Every catalog write bumps one version counter, and every key embeds the version it was computed
at, so a write invalidates everything it could affect at once, on every process. When a hot key
is missing, one request computes it: others in the same process await that computation, and
others in other processes wait for its result instead of all hitting the database.

Across processes the one computing holds a lock whose short lease it renews while it works
(renewing only a lock it still owns), so a slow machine never lets a second process start the
same work; when it is done, or fails, it notifies the waiting processes, which then read the
value (or try the lock themselves). A process that died with the lock stops renewing it: its lease
runs out and a waiting process takes over.

Each process also keeps the values it has seen in a small local copy keyed by the same versioned
keys, so a hit costs one read of the (tiny) version counter from the shared cache. A local entry
can never be stale: a write changes the version, and with it every key.

The database keeps a catalog version too, which every catalog write moves on from whichever
process it is made (the CLI, a worker, another server). Each process reads it at most once every
`check_every` seconds (one second) and embeds it in its keys, so a write the shared cache did not
hear of (there is no Redis, or the writer could not reach it) reaches every process's cached
reads within about a second.

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
import contextlib
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from shop_core.domain.errors import ServiceUnavailable
from shop_core.ports.cache import Cache, CatalogVersion
from shop_core.ports.metrics import NULL_METRICS, Metrics
from shop_core.services.circuit_breaker import CircuitBreaker

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
        lock_ttl: float = 10.0,
        wait_step: float = 1.0,
        local_entries: int = 4096,
        pause: float = 1.0,
        retry_every: float = 1.0,
        metrics: Metrics = NULL_METRICS,
        version: CatalogVersion | None = None,
        check_every: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`lock_ttl`: the lease of the lock a computation holds (renewed every third of it while
        it runs); `wait_step`: how often a process waiting for another's computation checks that
        the other is still alive. `version`: the database's catalog version, read at most every
        `check_every` seconds of `monotonic` (a clock tests may drive)."""
        self._cache = cache
        self._metrics = metrics
        self.ttl = ttl
        self.enabled = enabled
        self._lock_ttl = lock_ttl
        self._wait_step = min(wait_step, lock_ttl)
        self._inflight: dict[str, asyncio.Future[bytes]] = {}
        self._local: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._local_max = local_entries
        self.computations = 0
        self._bump_owed = False
        self.breaker = CircuitBreaker("Catalog cache (Redis)", pause=pause, retry_every=retry_every)
        self._version = version
        self.check_every = check_every
        self.monotonic = monotonic
        self._stored: int | None = None
        self._checked_at: float | None = None
        self._checking = asyncio.Lock()
        self._stored_bump_owed = False

    async def key(self, name: str) -> str:
        """`name` qualified by the current catalog version (and the database's, when known)."""
        version = await self._cache.get(VERSION_KEY)
        shared = UNVERSIONED if version is None else f"catalog:{version.decode()}:"
        stored = await self._stored_version()
        return f"{shared}{name}" if stored is None else f"{shared}{stored}:{name}"

    async def _bump(self) -> int:
        return await self._cache.incr(VERSION_KEY, start=time.time_ns() // 1000)

    async def invalidate(self) -> None:
        """After a catalog write committed: move both versions on (the database's even when this
        process does not cache, so that the processes that do hear of the write)."""
        if self._version is not None:
            self._stored_bump_owed = True
            await self._bump_stored()
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
            self.breaker.trip()
            self.breaker.repair_later(self.repair)
            return False
        self._bump_owed = False
        self.breaker.reset()
        return True

    # --- the database's catalog version ------------------------------------------------------

    async def _stored_version(self) -> int | None:
        """The database's catalog version as last read, read again when `check_every` has passed."""
        if self._version is None or self._checked_recently():
            return self._stored
        async with self._checking:  # one read for every request that finds it due
            if self._checked_recently():
                return self._stored
            if self._stored_bump_owed:
                await self._bump_stored()
                if not self._stored_bump_owed:
                    return self._stored
            try:
                self._note(await self._version.current())
            except ServiceUnavailable:
                log.warning(
                    "Catalog version unreadable (database unreachable): keeping version %s", self._stored
                )
                self._checked_at = self.monotonic()  # try again after the interval, not per request
        return self._stored

    def _checked_recently(self) -> bool:
        return self._checked_at is not None and self.monotonic() - self._checked_at < self.check_every

    def _note(self, version: int) -> None:
        if self._stored is None or version > self._stored:
            if self._stored is not None:
                self._local.clear()  # keyed by the old version: none of it can be asked for again
            self._stored = version
        self._checked_at = self.monotonic()

    async def _bump_stored(self) -> None:
        assert self._version is not None
        try:
            self._note(await self._version.bump())
        except ServiceUnavailable:
            log.warning("Catalog version not moved on (database unreachable): retrying on the next read")
            return
        self._stored_bump_owed = False

    # --- reads -----------------------------------------------------------------------------------

    async def get_or_compute(self, name: str, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        if not self.enabled or self.breaker.is_open or not await self.repair():
            return await self._computed(compute)
        try:
            return await self._cached(name, compute)
        except ServiceUnavailable:
            self.breaker.trip()
            return await self._computed(compute)

    async def aclose(self) -> None:
        await self.breaker.aclose()

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
        """Compute under a shared lock; while another process holds it, wait for its result, or
        take the lock over when it lets go without one (it failed) or stops renewing it (it died)."""
        lock = f"{key}:lock"
        token = secrets.token_hex(8).encode()
        while True:
            if await self._cache.add(lock, token, self._lock_ttl):
                return await self._fill_holding(key, lock, token, compute)
            if (holder := await self._cache.get(lock)) is not None:
                # Woken by the holder's notice that it is done; at each step, a lock still there
                # (renewed) says the holder is alive, a lock gone lets this process take over.
                await self._cache.wait(f"{key}:done:{holder.decode()}", self._wait_step)
            if (hit := await self._cache.get(key)) is not None:
                return hit

    async def _fill_holding(
        self, key: str, lock: str, token: bytes, compute: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        try:
            if (hit := await self._cache.get(key)) is not None:
                return hit  # filled by the holder before, between this caller's miss and its lock
            renewing = asyncio.get_running_loop().create_task(self._renew(lock, token))
            try:
                value = await self._computed(compute)
            finally:
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing
            await self._cache.set(key, value, self.ttl)
            return value
        finally:
            await self._cache.delete_if(lock, token)
            await self._cache.notify(f"{key}:done:{token.decode()}", self._lock_ttl)

    async def _renew(self, lock: str, token: bytes) -> None:
        """Extend the lock's lease every third of it, while this caller still owns it."""
        while True:
            await asyncio.sleep(self._lock_ttl / 3)
            try:
                if not await self._cache.extend(lock, token, self._lock_ttl):
                    log.warning("Cache lock %s lost before its computation ended", lock)
                    return
            except ServiceUnavailable:
                continue  # the shared cache blinked: try again at the next step

    async def _computed(self, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        self.computations += 1
        return await compute()
