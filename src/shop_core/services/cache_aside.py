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

That read is shared by the requests that want it at about the same time (`_shared_version`): a
request joins the next read this process sends, never one already sent, so every request's version
is read from the shared cache after the request began, and reflects every catalog write that
finished before it (the shared cache answers commands in order). Under load one read then serves
a whole batch of requests instead of one: a round trip to Redis costs far more CPU than the rest
of a cached read. A version merely pushed to each process (pub/sub, client-side caching) would
arrive some time after the write that made it finished: a read in that window would be stale.

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

Sales start and end by the clock, with no write to bump a version: a catalog value computed while
a sale is due to start or end (`get_or_compute_until`) holds only until that instant of the shop's
clock (the `Clock` port, which tests move). It carries the instant with it, in front of its bytes
in the shared cache (under keys of their own, so a process of an older release never reads it) and
beside them in the local copy; a read at or past it is a miss, and the value is computed afresh.
The shared cache's time to live is real time, not the shop's, so it cannot be the guard; it is
only kept no longer than the time the value has left. A cached read still costs one read of the
version counter: the instant is checked in the process.

Each lookup is reported to the `Metrics` port as a hit (the local copy or the shared cache had the
value) or a miss; reads that bypass the cache (it is off, or unreachable) are not lookups.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import struct
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shop_core.domain.errors import ServiceUnavailable
from shop_core.ports.cache import Cache, CatalogVersion
from shop_core.ports.clock import Clock
from shop_core.ports.metrics import NULL_METRICS, Metrics
from shop_core.services.circuit_breaker import CircuitBreaker

log = logging.getLogger("shop.cache")

VERSION_KEY = "catalog:version"
# Before the first write (or after the shared cache restarted empty) there is no version; such
# keys are shared but never kept locally, since the same key can come back after a restart.
UNVERSIONED = "catalog:0:"
# Values that hold until an instant are kept under names of their own, their instant in front.
TIMED = "until:"
NEVER = 2**63 - 1  # the instant of a value that holds until the catalog changes, as `_micros` counts
_UNTIL = struct.Struct(">q")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Timed:
    """A computed value, and the instant of the shop's clock until which it holds: the next time a
    sale starts or ends, when it was computed (None: until the catalog changes)."""

    value: bytes
    until: datetime | None = None


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _MICROSECOND


Compute = Callable[[], Awaitable[Timed]]


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
        clock: Clock | None = None,
    ) -> None:
        """`lock_ttl`: the lease of the lock a computation holds (renewed every third of it while
        it runs); `wait_step`: how often a process waiting for another's computation checks that
        the other is still alive. `version`: the database's catalog version, read at most every
        `check_every` seconds of `monotonic` (a clock tests may drive). `clock`: the shop's, which
        the instants of `get_or_compute_until` are on (by default, the system's)."""
        self._cache = cache
        self._metrics = metrics
        self.ttl = ttl
        self.enabled = enabled
        self._lock_ttl = lock_ttl
        self._wait_step = min(wait_step, lock_ttl)
        self._inflight: dict[str, asyncio.Future[bytes]] = {}
        self._local: OrderedDict[str, tuple[bytes, float, int]] = OrderedDict()  # value, expiry, until
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
        self._clock = clock
        self._next_read: asyncio.Future[bytes | None] | None = None  # joined, not yet sent
        self._reader: asyncio.Task[None] | None = None  # sends the reads, one after the other

    async def key(self, name: str) -> str:
        """`name` qualified by the current catalog version (and the database's, when known)."""
        version = await self._shared_version()
        shared = UNVERSIONED if version is None else f"catalog:{version.decode()}:"
        stored = await self._stored_version()
        return f"{shared}{name}" if stored is None else f"{shared}{stored}:{name}"

    async def _shared_version(self) -> bytes | None:
        """The shared cache's catalog version, read after this call began: the caller joins the
        next read, which a reader task sends once the read in flight (if any) has answered, so
        the callers that come while one read is on its way share the one after it."""
        loop = asyncio.get_running_loop()
        read = self._next_read
        if read is None or read.get_loop() is not loop:
            read = self._next_read = loop.create_future()
            if self._reader is None or self._reader.get_loop() is not loop:
                self._reader = loop.create_task(self._read_versions())
        return await asyncio.shield(read)  # a caller cancelled leaves the read to the others

    async def _read_versions(self) -> None:
        """Send the reads callers joined, one at a time, until none is waiting."""
        read: asyncio.Future[bytes | None] | None = None
        try:
            while (read := self._next_read) is not None:
                self._next_read = None  # who comes from now on waits for the next read
                try:
                    version = await self._cache.get(VERSION_KEY)
                except Exception as exc:  # noqa: BLE001 - handed to every caller that joined the read
                    read.set_exception(exc)
                    read.exception()  # retrieved here: every waiter may have been cancelled
                else:
                    read.set_result(version)
        finally:
            if self._reader is asyncio.current_task():
                self._reader = None
                for left in (read, self._next_read):  # cancelled (the loop is closing): none may hang
                    if left is not None and not left.done():
                        left.cancel()
                self._next_read = None

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
        async def timed() -> Timed:
            return Timed(await compute())

        return await self._get(name, timed, timed=False)

    async def get_or_compute_until(self, name: str, compute: Compute) -> bytes:
        """`get_or_compute` for a value that holds only until an instant of the shop's clock
        (`Timed.until`): read at or past it, it is computed again."""
        return await self._get(f"{TIMED}{name}", compute, timed=True)

    async def _get(self, name: str, compute: Compute, *, timed: bool) -> bytes:
        if not self.enabled or self.breaker.is_open or not await self.repair():
            return (await self._computed(compute)).value
        try:
            return await self._cached(name, compute, timed)
        except ServiceUnavailable:
            self.breaker.trip()
            return (await self._computed(compute)).value

    async def aclose(self) -> None:
        if self._reader is not None and self._reader.get_loop() is asyncio.get_running_loop():
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.breaker.aclose()

    def _now(self) -> int:
        """The shop's clock, in microseconds since the epoch."""
        return _micros(self._clock.now() if self._clock is not None else datetime.now(UTC))

    def _open(self, raw: bytes | None, timed: bool) -> tuple[bytes, int] | None:
        """A value read from the shared cache and its instant (`NEVER` for an untimed one); None
        when there is none, or it no longer holds."""
        if raw is None or not timed:
            return None if raw is None else (raw, NEVER)
        (until,) = _UNTIL.unpack_from(raw)
        return (raw[_UNTIL.size :], until) if until > self._now() else None

    async def _cached(self, name: str, compute: Compute, timed: bool) -> bytes:
        key = await self.key(name)
        seen = self._local.get(key)
        if seen is not None and seen[1] > time.monotonic() and (seen[2] == NEVER or seen[2] > self._now()):
            self._metrics.cache_lookup(True)
            return seen[0]
        if (hit := self._open(await self._cache.get(key), timed)) is not None:
            self._metrics.cache_lookup(True)
            self._remember(key, *hit)
            return hit[0]
        self._metrics.cache_lookup(False)  # computed here, or by the request already computing it
        if (running := self._inflight.get(key)) is not None:
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if running.cancelled() and task is not None and not task.cancelling():
                    # The caller computing it was cancelled, not this one: compute it afresh.
                    return await self._get(name, compute, timed=timed)
                raise
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value, until = await self._fill(key, compute, timed)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so a future nobody awaited does not warn
            raise
        else:
            future.set_result(value)
            self._remember(key, value, until)
            return value
        finally:
            del self._inflight[key]

    def _seconds_left(self, until: int) -> float:
        """How long a value may be kept: the time to live, or less when its instant comes sooner."""
        if until == NEVER:
            return self.ttl
        return min(self.ttl, (until - self._now()) / 1_000_000)

    def _remember(self, key: str, value: bytes, until: int) -> None:
        if key.startswith(UNVERSIONED):
            return
        self._local[key] = (value, time.monotonic() + self._seconds_left(until), until)
        self._local.move_to_end(key)
        while len(self._local) > self._local_max:
            self._local.popitem(last=False)

    async def _fill(self, key: str, compute: Compute, timed: bool) -> tuple[bytes, int]:
        """Compute under a shared lock; while another process holds it, wait for its result, or
        take the lock over when it lets go without one (it failed) or stops renewing it (it died)."""
        lock = f"{key}:lock"
        token = secrets.token_hex(8).encode()
        while True:
            if await self._cache.add(lock, token, self._lock_ttl):
                return await self._fill_holding(key, lock, token, compute, timed)
            if (holder := await self._cache.get(lock)) is not None:
                # Woken by the holder's notice that it is done; at each step, a lock still there
                # (renewed) says the holder is alive, a lock gone lets this process take over.
                await self._cache.wait(f"{key}:done:{holder.decode()}", self._wait_step)
            if (hit := self._open(await self._cache.get(key), timed)) is not None:
                return hit

    async def _fill_holding(
        self, key: str, lock: str, token: bytes, compute: Compute, timed: bool
    ) -> tuple[bytes, int]:
        try:
            if (hit := self._open(await self._cache.get(key), timed)) is not None:
                return hit  # filled by the holder before, between this caller's miss and its lock
            renewing = asyncio.get_running_loop().create_task(self._renew(lock, token))
            try:
                computed = await self._computed(compute)
            finally:
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing
            until = NEVER if computed.until is None else _micros(computed.until)
            if not timed:
                await self._cache.set(key, computed.value, self.ttl)
            elif (left := self._seconds_left(until)) > 0:  # else it no longer holds: keep nothing
                await self._cache.set(key, _UNTIL.pack(until) + computed.value, max(1, math.ceil(left)))
            return computed.value, until
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

    async def _computed(self, compute: Compute) -> Timed:
        self.computations += 1
        return await compute()
