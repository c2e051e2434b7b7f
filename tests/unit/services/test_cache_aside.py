"""CacheAside: versioned keys, single flight in one process and across processes (Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from shop_core.adapters.memory_cache import MemoryCache
from shop_core.adapters.redis_cache import RedisCache
from shop_core.ports.cache import Cache
from shop_core.services.cache_aside import TIMED, VERSION_KEY, CacheAside, Timed
from tests.fakes import FakeClock


class Watch:
    """What callers did to the caches, shared by every WatchedCache of one test."""

    def __init__(self) -> None:
        self.misses = 0
        self.lock_attempts = 0
        self.renewals = 0
        self.waits = 0
        self.started = 0
        self._changed = asyncio.Condition()

    async def count(self, what: str) -> None:
        async with self._changed:
            setattr(self, what, getattr(self, what) + 1)
            self._changed.notify_all()

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(10), self._changed:
            await self._changed.wait_for(done)


class WatchedCache:
    """A Cache that reports misses on data keys, attempts at locks, renewals of them and waits for
    another's result to a Watch."""

    def __init__(self, inner: Cache, watch: Watch) -> None:
        self.inner = inner
        self.watch = watch

    async def get(self, key: str) -> bytes | None:
        value = await self.inner.get(key)
        if value is None and key != VERSION_KEY and not key.endswith(":lock"):
            await self.watch.count("misses")
        return value

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        await self.inner.set(key, value, ttl)

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        added = await self.inner.add(key, value, ttl)
        await self.watch.count("lock_attempts")
        return added

    async def extend(self, key: str, value: bytes, ttl: float) -> bool:
        extended = await self.inner.extend(key, value, ttl)
        if extended:
            await self.watch.count("renewals")
        return extended

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    async def delete_if(self, key: str, value: bytes) -> bool:
        return await self.inner.delete_if(key, value)

    async def incr(self, key: str, start: int = 0) -> int:
        return await self.inner.incr(key, start)

    async def notify(self, key: str, ttl: float) -> None:
        await self.inner.notify(key, ttl)

    async def wait(self, key: str, at_most: float) -> bool:
        await self.watch.count("waits")
        return await self.inner.wait(key, at_most)


class Computation:
    """A computation that answers b"value <n>" (n counts the runs) once `ready()` holds."""

    def __init__(self, watch: Watch, ready: Callable[[], bool], *, fail: bool = False) -> None:
        self.watch = watch
        self.ready = ready
        self.fail = fail
        self.runs = 0

    async def __call__(self) -> bytes:
        self.runs += 1
        await self.watch.count("started")
        await self.watch.until(self.ready)
        if self.fail:
            raise RuntimeError("the database is down")
        return f"value {self.runs}".encode()


async def constant() -> bytes:
    return b"fresh"


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def memory() -> MemoryCache:
    return MemoryCache()


# --- one process ---------------------------------------------------------------------------


async def test_a_hit_is_served_from_the_cache(memory: MemoryCache) -> None:
    aside = CacheAside(memory, ttl=60)
    assert await aside.get_or_compute("a", constant) == b"fresh"
    assert await aside.get_or_compute("a", constant) == b"fresh"
    assert await aside.get_or_compute("b", constant) == b"fresh"
    assert aside.computations == 2
    assert await memory.get(await aside.key("a")) == b"fresh"


async def test_fifty_concurrent_misses_compute_once(memory: MemoryCache, watch: Watch) -> None:
    callers = 50
    aside = CacheAside(WatchedCache(memory, watch), ttl=60)
    compute = Computation(watch, lambda: watch.misses >= callers)

    results = await asyncio.gather(*(aside.get_or_compute("hot", compute) for _ in range(callers)))

    assert results == [b"value 1"] * callers
    assert compute.runs == aside.computations == 1
    assert watch.lock_attempts == 1  # the others waited in-process, not on the shared lock
    assert await aside.get_or_compute("hot", compute) == b"value 1"
    assert compute.runs == 1


async def test_a_failure_reaches_every_waiter_and_is_not_cached(memory: MemoryCache, watch: Watch) -> None:
    callers = 10
    aside = CacheAside(WatchedCache(memory, watch), ttl=60)
    failing = Computation(watch, lambda: watch.misses >= callers, fail=True)

    results = await asyncio.gather(
        *(aside.get_or_compute("hot", failing) for _ in range(callers)), return_exceptions=True
    )

    assert len(results) == callers
    assert all(isinstance(r, RuntimeError) and str(r) == "the database is down" for r in results)
    assert failing.runs == 1
    key = await aside.key("hot")
    assert await memory.get(key) is None
    assert await memory.get(f"{key}:lock") is None  # released, so the next caller need not wait
    assert asyncio.all_tasks() == {asyncio.current_task()}  # the lease is no longer renewed
    assert await aside.get_or_compute("hot", constant) == b"fresh"
    assert await memory.get(key) == b"fresh"


async def test_when_the_computing_caller_is_cancelled_the_waiters_still_get_a_value(
    memory: MemoryCache, watch: Watch
) -> None:
    aside = CacheAside(WatchedCache(memory, watch), ttl=60)
    stuck = Computation(watch, lambda: False)  # never finishes by itself
    first = asyncio.create_task(aside.get_or_compute("hot", stuck))
    await watch.until(lambda: watch.started == 1)
    others = [asyncio.create_task(aside.get_or_compute("hot", constant)) for _ in range(3)]
    # the three others missed too (the first looked twice: before and after it took the lock)
    await watch.until(lambda: watch.misses >= 5)

    first.cancel()

    with pytest.raises(asyncio.CancelledError):
        await first
    async with asyncio.timeout(10):
        assert await asyncio.gather(*others) == [b"fresh"] * 3


async def test_a_cancelled_waiter_leaves_the_computation_running(memory: MemoryCache, watch: Watch) -> None:
    aside = CacheAside(WatchedCache(memory, watch), ttl=60)
    release = asyncio.Event()

    async def slow() -> bytes:
        await release.wait()
        return b"slow"

    computing = asyncio.create_task(aside.get_or_compute("hot", slow))
    waiter = asyncio.create_task(aside.get_or_compute("hot", slow))
    await watch.until(lambda: watch.misses >= 3)  # the computing one looked twice, the waiter once
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    assert await computing == b"slow"
    assert aside.computations == 1


async def test_invalidate_makes_the_next_read_recompute(memory: MemoryCache) -> None:
    aside = CacheAside(memory, ttl=60)
    versions = iter([b"v1", b"v2", b"v3"])

    async def compute() -> bytes:
        return next(versions)

    assert await aside.get_or_compute("list", compute) == b"v1"
    assert await aside.get_or_compute("list", compute) == b"v1"
    await aside.invalidate()
    assert await aside.get_or_compute("list", compute) == b"v2"
    assert await aside.get_or_compute("list", compute) == b"v2"
    await aside.invalidate()
    assert await aside.get_or_compute("list", compute) == b"v3"
    assert aside.computations == 3


async def test_a_disabled_cache_always_computes_and_stores_nothing(memory: MemoryCache) -> None:
    aside = CacheAside(memory, ttl=60, enabled=False)
    for _ in range(3):
        assert await aside.get_or_compute("a", constant) == b"fresh"
    await aside.invalidate()
    assert aside.computations == 3
    assert await memory.get(VERSION_KEY) is None
    assert await memory.get(await aside.key("a")) is None


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def where(request: pytest.FixtureRequest) -> tuple[str, str]:
    """memory, or Redis's url and this test's key prefix (sync, so it may pull in async fixtures)."""
    if request.param == "memory":
        return ("", "")
    return (request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix"))


@pytest.fixture
async def one_cache(where: tuple[str, str], memory: MemoryCache) -> AsyncIterator[Cache]:
    """The in-process cache, or Redis (as one process sees it)."""
    url, prefix = where
    if not url:
        yield memory
        return
    client = Redis.from_url(url)
    yield RedisCache(client, prefix)
    await client.aclose()


async def test_a_lock_left_by_a_crashed_process_is_taken_over_when_its_lease_runs_out(
    one_cache: Cache, watch: Watch
) -> None:
    """The process holding the lock died: nobody renews it, nobody will notify. The caller waits for
    the lease to run out, then computes the value itself (and caches it)."""
    aside = CacheAside(WatchedCache(one_cache, watch), ttl=60, lock_ttl=0.2)
    key = await aside.key("hot")
    assert await one_cache.add(f"{key}:lock", b"crashed", 0.2)

    async with asyncio.timeout(10):
        assert await aside.get_or_compute("hot", constant) == b"fresh"

    assert watch.waits >= 1  # it did wait for the holder first
    assert aside.computations == 1
    assert await one_cache.get(key) == b"fresh"
    assert await one_cache.get(f"{key}:lock") is None


async def test_the_lock_is_released_and_its_waiters_told_when_the_value_is_cached(
    one_cache: Cache, watch: Watch
) -> None:
    aside = CacheAside(WatchedCache(one_cache, watch), ttl=60)
    compute = Computation(watch, lambda: True)
    assert await aside.get_or_compute("hot", compute) == b"value 1"
    key = await aside.key("hot")
    assert await one_cache.get(f"{key}:lock") is None
    assert asyncio.all_tasks() == {asyncio.current_task()}  # the renewal stopped with the work


# --- several processes sharing Redis -------------------------------------------------------


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[list[Redis]]:
    """Two connections of their own, as two processes would have."""
    made = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    yield made
    for client in made:
        await client.aclose()


def two_processes(clients: list[Redis], prefix: str, watch: Watch, **options: float) -> list[CacheAside]:
    return [
        CacheAside(WatchedCache(RedisCache(client, prefix), watch), ttl=60, **options)  # type: ignore[arg-type]
        for client in clients
    ]


@pytest.mark.redis
async def test_concurrent_misses_in_two_processes_compute_once(
    clients: list[Redis], redis_prefix: str, watch: Watch
) -> None:
    # The waiting process looks at the lock only every 30 s: it is woken by the result itself.
    first, second = two_processes(clients, redis_prefix, watch, lock_ttl=30, wait_step=30)
    # Hold the computation until the other process waits for it: one holds the lock, one waits.
    compute = Computation(watch, lambda: watch.waits >= 1)

    async with asyncio.timeout(10):
        results = await asyncio.gather(
            *(aside.get_or_compute("hot", compute) for aside in (first, second) for _ in range(10))
        )

    assert results == [b"value 1"] * 20
    assert compute.runs == first.computations + second.computations == 1


@pytest.mark.redis
async def test_when_the_lock_holder_fails_the_waiting_process_takes_over(
    clients: list[Redis], redis_prefix: str, watch: Watch
) -> None:
    first, second = two_processes(clients, redis_prefix, watch, lock_ttl=30, wait_step=30)
    failing = Computation(watch, lambda: watch.waits >= 1, fail=True)
    working = Computation(watch, lambda: True)

    holder = asyncio.create_task(first.get_or_compute("hot", failing))
    await watch.until(lambda: watch.started == 1)
    waiter = asyncio.create_task(second.get_or_compute("hot", working))

    with pytest.raises(RuntimeError, match="database is down"):
        await holder
    async with asyncio.timeout(10):  # well before its next look at the lock: woken by the failure
        assert await waiter == b"value 1"
    assert (failing.runs, working.runs) == (1, 1)
    assert await first.get_or_compute("hot", failing) == b"value 1"  # now cached for everyone


@pytest.mark.redis
async def test_a_lease_shorter_than_the_computation_still_gives_single_flight(
    clients: list[Redis], redis_prefix: str, watch: Watch
) -> None:
    """The computation outlives its lock's 2 s lease: the holder renews the lease while it works, so
    the other process, looking at the lock every second, finds it held each time and keeps waiting."""
    first, second = two_processes(clients, redis_prefix, watch, lock_ttl=2, wait_step=1)
    # Released once the waiter has found the lock held 4 times: at least 3 s, well past one lease.
    compute = Computation(watch, lambda: watch.lock_attempts >= 5)

    holder = asyncio.create_task(first.get_or_compute("hot", compute))
    await watch.until(lambda: watch.started == 1)
    async with asyncio.timeout(20):
        results = await asyncio.gather(holder, second.get_or_compute("hot", compute))

    assert list(results) == [b"value 1", b"value 1"]
    assert compute.runs == first.computations + second.computations == 1
    assert watch.renewals >= 1


@pytest.mark.redis
async def test_a_write_in_one_process_invalidates_the_other(clients: list[Redis], redis_prefix: str) -> None:
    first, second = (CacheAside(RedisCache(client, redis_prefix), ttl=60) for client in clients)
    values = iter([b"old", b"new"])

    async def compute() -> bytes:
        return next(values)

    assert await first.get_or_compute("product:1", compute) == b"old"
    assert await second.get_or_compute("product:1", compute) == b"old"
    await first.invalidate()
    assert await second.get_or_compute("product:1", compute) == b"new"
    assert await first.get_or_compute("product:1", compute) == b"new"
    assert first.computations + second.computations == 2


# --- reading the version: shared by the requests that come together, never stale -----------------


class HeldVersionReads:
    """A Cache that counts the reads of the catalog version and, while `held`, answers each (with
    what it read when it was sent) only once let go."""

    def __init__(self, inner: Cache) -> None:
        self.inner = inner
        self.reads = 0
        self.sent = asyncio.Event()
        self.let_go = asyncio.Event()
        self.let_go.set()

    def hold(self) -> None:
        self.sent.clear()
        self.let_go.clear()

    async def get(self, key: str) -> bytes | None:
        value = await self.inner.get(key)
        if key == VERSION_KEY:
            self.reads += 1
            self.sent.set()
            await self.let_go.wait()
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_read_begun_after_a_write_sees_it_though_an_earlier_read_is_on_its_way(
    one_cache: Cache,
) -> None:
    """A read in flight may have read the version before the write: a request that begins after
    the write finished never shares it, but waits for a read sent after it began."""
    held = HeldVersionReads(one_cache)
    reader = CacheAside(held, ttl=60)  # type: ignore[arg-type]
    writer = CacheAside(one_cache, ttl=60)  # another process, on the same shared cache
    values = iter([b"old", b"new"])

    async def compute() -> bytes:
        return next(values)

    assert await reader.get_or_compute("product:1", compute) == b"old"
    held.hold()
    earlier = asyncio.create_task(reader.get_or_compute("product:1", compute))
    async with asyncio.timeout(10):
        await held.sent.wait()  # its read of the version has been answered, not yet delivered
        await writer.invalidate()
        later = asyncio.create_task(reader.get_or_compute("product:1", compute))
        await asyncio.sleep(0)  # `later` has joined the next read; it is sent once `earlier`'s answers
        held.let_go.set()
        assert await earlier == b"old"  # began before the write finished: either is right
        assert await later == b"new"
    assert held.reads == 3


async def test_requests_that_come_together_share_one_read_of_the_version(memory: MemoryCache) -> None:
    counted = HeldVersionReads(memory)
    aside = CacheAside(counted, ttl=60)  # type: ignore[arg-type]
    await aside.invalidate()
    assert await aside.get_or_compute("hot", constant) == b"fresh"
    before = counted.reads

    results = await asyncio.gather(*(aside.get_or_compute("hot", constant) for _ in range(50)))

    assert results == [b"fresh"] * 50
    assert aside.computations == 1
    assert counted.reads - before <= 2
    assert asyncio.all_tasks() == {asyncio.current_task()}  # no reader left behind


# --- values that hold until an instant of the shop's clock (a sale's start or end) ----------------


class Prices:
    """A computation whose values hold `hold` of the shop's clock: b"price 1", b"price 2", ..."""

    def __init__(self, clock: FakeClock, hold: timedelta | None) -> None:
        self.clock = clock
        self.hold = hold
        self.runs = 0

    async def __call__(self) -> Timed:
        self.runs += 1
        until = None if self.hold is None else self.clock.now() + self.hold
        return Timed(f"price {self.runs}".encode(), until)


class Stored:
    """A Cache that remembers the time to live of each value it is given."""

    def __init__(self, inner: Cache) -> None:
        self.inner = inner
        self.ttls: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        self.ttls.append(ttl)
        await self.inner.set(key, value, ttl)


async def test_a_timed_value_is_computed_again_once_its_instant_comes(one_cache: Cache) -> None:
    clock = FakeClock()
    shared = Stored(one_cache)
    aside = CacheAside(shared, ttl=600, clock=clock)  # type: ignore[arg-type]
    prices = Prices(clock, timedelta(minutes=5))

    assert await aside.get_or_compute_until("product:1", prices) == b"price 1"
    clock.advance(299)
    assert await aside.get_or_compute_until("product:1", prices) == b"price 1"  # the local copy
    aside._local.clear()
    assert await aside.get_or_compute_until("product:1", prices) == b"price 1"  # the shared cache
    clock.advance(1)  # its instant: no longer holds, in either copy
    assert await aside.get_or_compute_until("product:1", prices) == b"price 2"
    aside._local.clear()
    assert await aside.get_or_compute_until("product:1", prices) == b"price 2"

    assert prices.runs == aside.computations == 2
    assert shared.ttls == [300, 300]  # no longer than the time it has left (not the 600 s ttl)


async def test_a_timed_value_without_an_instant_holds_until_the_catalog_changes(one_cache: Cache) -> None:
    clock = FakeClock()
    aside = CacheAside(Stored(one_cache), ttl=600, clock=clock)  # type: ignore[arg-type]
    prices = Prices(clock, None)

    assert await aside.get_or_compute_until("list", prices) == b"price 1"
    clock.advance(10**6)
    aside._local.clear()
    assert await aside.get_or_compute_until("list", prices) == b"price 1"
    await aside.invalidate()
    assert await aside.get_or_compute_until("list", prices) == b"price 2"


async def test_a_value_whose_instant_passed_while_it_was_computed_is_not_kept(one_cache: Cache) -> None:
    clock = FakeClock()
    shared = Stored(one_cache)
    aside = CacheAside(shared, ttl=600, clock=clock)  # type: ignore[arg-type]

    async def slow() -> Timed:
        until = clock.now() + timedelta(seconds=1)
        clock.advance(2)  # the sale started while the page was read
        return Timed(b"stale at once", until)

    assert await aside.get_or_compute_until("product:1", slow) == b"stale at once"
    assert shared.ttls == []
    assert await aside.get_or_compute_until("product:1", Prices(clock, None)) == b"price 1"


async def test_timed_values_are_kept_apart_from_plain_ones(memory: MemoryCache) -> None:
    """Under names of their own, their instant in front: a process that does not know the format
    (an older release, mid-deploy) never reads one as a plain value, nor the other way round."""
    clock = FakeClock()
    aside = CacheAside(memory, ttl=60, clock=clock)
    await aside.get_or_compute_until("product:1", Prices(clock, timedelta(hours=1)))

    assert await memory.get(await aside.key("product:1")) is None
    raw = await memory.get(await aside.key(f"{TIMED}product:1"))
    assert raw is not None
    assert raw.endswith(b"price 1")
    assert len(raw) == 8 + len(b"price 1")  # the instant, in microseconds, before the value


@pytest.mark.redis
async def test_a_timed_value_holds_in_every_process_until_the_same_instant(
    clients: list[Redis], redis_prefix: str
) -> None:
    clock = FakeClock()  # both processes on the shop's clock (which, in a shop, is the system's)
    first, second = (CacheAside(RedisCache(client, redis_prefix), ttl=600, clock=clock) for client in clients)
    prices = Prices(clock, timedelta(hours=1))

    assert await first.get_or_compute_until("product:1", prices) == b"price 1"
    assert await second.get_or_compute_until("product:1", prices) == b"price 1"
    clock.advance(3600)
    assert await second.get_or_compute_until("product:1", prices) == b"price 2"
    assert await first.get_or_compute_until("product:1", prices) == b"price 2"  # its local copy expired
    assert prices.runs == first.computations + second.computations == 2
