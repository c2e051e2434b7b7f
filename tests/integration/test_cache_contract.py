"""One contract for every Cache: the in-process MemoryCache and RedisCache on a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from shop_core.adapters import memory_cache
from shop_core.adapters.memory_cache import MemoryCache
from shop_core.adapters.redis_cache import RedisCache
from shop_core.ports.cache import Cache
from tests.integration.conftest import REDIS, Backend, resolve_backend

MEMORY = pytest.param("memory", id="memory")


class FakeMonotonic:
    """Stands in for the `time` module inside memory_cache, so time passes when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@dataclass
class Harness:
    cache: Cache
    elapse: Callable[[float], Awaitable[None]]
    """Let `seconds` pass for the cache's expiry clock, without waiting for them."""


@pytest.fixture(params=[MEMORY, REDIS])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        return Backend("memory")
    return resolve_backend(request)


@pytest.fixture
async def harness(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    if backend.name == "memory":
        clock = FakeMonotonic()
        monkeypatch.setattr(memory_cache, "time", clock)

        async def elapse_memory(seconds: float) -> None:
            clock.now += seconds

        yield Harness(MemoryCache(), elapse_memory)
    else:
        client = Redis.from_url(backend.url)
        prefix = backend.redis_prefix

        async def elapse_redis(seconds: float) -> None:
            # Every key with a time to live loses `seconds` of it, as if they had passed.
            async for key in client.scan_iter(match=f"{prefix}*"):
                left = await client.pttl(key)
                if left > seconds * 1000:
                    await client.pexpire(key, int(left - seconds * 1000))
                elif left >= 0:
                    await client.delete(key)

        yield Harness(RedisCache(client, prefix), elapse_redis)
        await client.aclose()


@pytest.fixture
def cache(harness: Harness) -> Cache:
    return harness.cache


async def test_get_what_was_set(cache: Cache) -> None:
    assert await cache.get("a") is None
    await cache.set("a", b"\x00binary\xff", 60)
    await cache.set("b", b"", 60)
    assert await cache.get("a") == b"\x00binary\xff"
    assert await cache.get("b") == b""
    await cache.set("a", b"again", 60)
    assert await cache.get("a") == b"again"


async def test_a_value_lives_for_its_ttl_and_no_longer(harness: Harness) -> None:
    cache = harness.cache
    await cache.set("short", b"1", 2)
    await cache.set("long", b"2", 60)
    await harness.elapse(1.9)
    assert await cache.get("short") == b"1"
    await harness.elapse(0.2)
    assert await cache.get("short") is None
    assert await cache.get("long") == b"2"


async def test_setting_again_renews_the_ttl(harness: Harness) -> None:
    cache = harness.cache
    await cache.set("a", b"1", 2)
    await harness.elapse(1.5)
    await cache.set("a", b"2", 2)
    await harness.elapse(1.5)
    assert await cache.get("a") == b"2"


async def test_add_only_when_absent(harness: Harness) -> None:
    cache = harness.cache
    assert await cache.add("lock", b"first", 2) is True
    assert await cache.add("lock", b"second", 2) is False
    assert await cache.get("lock") == b"first"
    await harness.elapse(2.1)
    assert await cache.add("lock", b"third", 2) is True
    assert await cache.get("lock") == b"third"


async def test_concurrent_adds_have_one_winner(cache: Cache) -> None:
    results = await asyncio.gather(*(cache.add("lock", str(n).encode(), 10) for n in range(20)))
    assert results.count(True) == 1
    assert await cache.get("lock") == str(results.index(True)).encode()


async def test_delete(cache: Cache) -> None:
    await cache.set("a", b"1", 60)
    await cache.set("b", b"2", 60)
    await cache.delete("a")
    await cache.delete("never-set")
    assert await cache.get("a") is None
    assert await cache.get("b") == b"2"
    assert await cache.add("a", b"3", 60) is True


async def test_incr_counts_from_one_and_never_expires(harness: Harness) -> None:
    cache = harness.cache
    assert await cache.incr("version") == 1
    assert await cache.incr("version") == 2
    assert await cache.incr("other") == 1
    assert await cache.get("version") == b"2"
    await harness.elapse(10**7)
    assert await cache.get("version") == b"2"
    assert await cache.incr("version") == 3


async def test_a_deleted_counter_starts_again(cache: Cache) -> None:
    await cache.incr("version")
    await cache.incr("version")
    await cache.delete("version")
    assert await cache.get("version") is None
    assert await cache.incr("version") == 1


async def test_a_missing_counter_counts_from_its_start_and_an_existing_one_ignores_it(cache: Cache) -> None:
    assert await cache.incr("version", start=1_000) == 1_001
    assert await cache.incr("version", start=5) == 1_002
    assert await cache.incr("version") == 1_003
    await cache.delete("version")
    assert await cache.incr("version", start=7) == 8


async def test_a_value_set_replaces_a_counter(cache: Cache) -> None:
    await cache.incr("version")
    await cache.set("version", b"text", 60)
    assert await cache.get("version") == b"text"


async def test_keys_do_not_leak_between_names(cache: Cache) -> None:
    await cache.set("catalog:1:product:1", b"one", 60)
    assert await cache.get("catalog:1:product:10") is None
    assert await cache.get("catalog:1:product:") is None


# --- beyond the contract -------------------------------------------------------------------


@pytest.mark.parametrize("backend", [REDIS], indirect=True)
async def test_redis_is_given_the_ttl_and_the_prefix(backend: Backend) -> None:
    client = Redis.from_url(backend.url)
    cache = RedisCache(client, backend.redis_prefix)
    await cache.set("a", b"1", 1)
    assert await cache.add("lock", b"1", 1) is True
    await cache.incr("n")
    key = f"{backend.redis_prefix}cache:a"
    assert await client.ttl(key) == 1
    assert 0 < await client.pttl(key) <= 1000
    assert 0 < await client.pttl(f"{backend.redis_prefix}cache:lock") <= 1000
    assert await client.pttl(f"{backend.redis_prefix}cache:n") == -1  # a counter has no expiry
    assert await client.get(key) == b"1"
    await client.aclose()


async def test_the_memory_cache_forgets_the_oldest_beyond_its_bound() -> None:
    cache = MemoryCache(max_entries=2)
    await cache.set("a", b"1", 60)
    await cache.set("b", b"2", 60)
    await cache.set("a", b"1 again", 60)  # refreshed: now the newest
    await cache.set("c", b"3", 60)
    assert await cache.get("b") is None
    assert await cache.get("a") == b"1 again"
    assert await cache.get("c") == b"3"


# --- locks with a lease, and notifications -------------------------------------------------------


async def test_only_the_owner_of_a_lock_extends_it(harness: Harness) -> None:
    cache = harness.cache
    assert await cache.add("lock", b"mine", 2) is True
    await harness.elapse(1.5)
    assert await cache.extend("lock", b"theirs", 2) is False
    assert await cache.extend("lock", b"mine", 2) is True
    await harness.elapse(1.5)  # 3 s since it was taken: alive only because it was extended
    assert await cache.get("lock") == b"mine"
    await harness.elapse(0.6)
    assert await cache.get("lock") is None
    assert await cache.extend("lock", b"mine", 2) is False  # a lease that ran out is not revived
    assert await cache.get("lock") is None


async def test_only_the_owner_of_a_lock_releases_it(harness: Harness) -> None:
    cache = harness.cache
    assert await cache.add("lock", b"mine", 2) is True
    assert await cache.delete_if("lock", b"theirs") is False
    assert await cache.get("lock") == b"mine"
    assert await cache.delete_if("lock", b"mine") is True
    assert await cache.get("lock") is None
    assert await cache.delete_if("lock", b"mine") is False


async def test_a_lease_may_be_a_fraction_of_a_second(harness: Harness) -> None:
    cache = harness.cache
    assert await cache.add("lock", b"mine", 0.5) is True
    await harness.elapse(0.4)
    assert await cache.get("lock") == b"mine"
    await harness.elapse(0.2)
    assert await cache.add("lock", b"next", 0.5) is True


async def test_every_waiter_is_woken_by_one_notification(cache: Cache) -> None:
    waiters = [asyncio.create_task(cache.wait("done:1", 30)) for _ in range(5)]
    await asyncio.sleep(0)  # let them start waiting (each would wait 30 s without the notice)
    async with asyncio.timeout(10):
        await cache.notify("done:1", 10)
        assert await asyncio.gather(*waiters) == [True] * 5
        assert await cache.wait("done:1", 30) is True  # a late waiter sees it too


async def test_a_wait_without_a_notification_ends_after_its_time(cache: Cache) -> None:
    await cache.notify("done:other", 10)
    async with asyncio.timeout(10):
        assert await cache.wait("done:1", 0.05) is False
