"""A Redis outage loses nothing: revocations, failed-login counts and cache invalidations made
while Redis is unreachable are honoured during the outage (from the database) and after it (Redis
is brought up to date before anyone trusts it again)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from shop_core.adapters.fallback_login_throttle import FallbackLoginThrottle
from shop_core.adapters.redis_cache import RedisCache
from shop_core.adapters.redis_login_throttle import RedisLoginThrottle
from shop_core.adapters.redis_token_store import RedisTokenStore
from shop_core.adapters.sql.database import Database, open_database
from shop_core.adapters.sql.login_throttle import SqlLoginThrottle
from shop_core.adapters.sql.token_store import SqlTokenStore
from shop_core.adapters.write_through_token_store import WriteThroughTokenStore
from shop_core.services.cache_aside import CacheAside
from tests.redis_outage import RedisOutage, redis_outage

LATER = datetime.now(UTC) + timedelta(hours=1)


@dataclass
class World:
    outage: RedisOutage
    db: Database
    raw: Redis  # straight to Redis, past the proxy: what Redis really holds
    prefix: str
    stack: AsyncExitStack

    async def client(self) -> Redis:
        client = Redis.from_url(self.outage.url, socket_connect_timeout=1, socket_timeout=2)
        self.stack.push_async_callback(client.aclose)
        return client

    async def tokens(self, retry_every: float = 60.0) -> WriteThroughTokenStore:
        """One process's token store: its own Redis connection, the shared database."""
        store = WriteThroughTokenStore(
            RedisTokenStore(await self.client(), self.prefix),
            SqlTokenStore(self.db.engine),
            pause=0,
            retry_every=retry_every,
        )
        self.stack.push_async_callback(store.aclose)
        return store

    async def cache(self, retry_every: float = 60.0) -> CacheAside:
        aside = CacheAside(
            RedisCache(await self.client(), self.prefix), ttl=300, pause=0, retry_every=retry_every
        )
        self.stack.push_async_callback(aside.aclose)
        return aside

    async def in_redis(self, key: str) -> bool:
        return bool(await self.raw.exists(self.prefix + key))

    async def restart_redis_empty(self) -> None:
        keys = [key async for key in self.raw.scan_iter(match=f"{self.prefix}*")]
        if keys:
            await self.raw.delete(*keys)


@pytest.fixture
async def world(sqlite_url: str, redis_url: str, redis_prefix: str) -> AsyncIterator[World]:
    async with AsyncExitStack() as stack, redis_outage(redis_url) as outage:
        db = open_database(sqlite_url)
        stack.push_async_callback(db.close)
        raw = Redis.from_url(redis_url)
        stack.push_async_callback(raw.aclose)
        yield World(outage, db, raw, redis_prefix, stack)


# --- token revocation ---------------------------------------------------------------------------


async def test_a_revocation_made_during_an_outage_holds_during_and_after_it(world: World) -> None:
    a, b = await world.tokens(), await world.tokens()
    await a.revoke_token("before", LATER)
    assert await b.is_token_revoked("before") is True
    assert await b.is_token_revoked("never") is False

    world.outage.down()
    await a.revoke_token("during", LATER)  # no error: the database took it
    for store in (a, b):
        assert await store.is_token_revoked("during") is True
        assert await store.is_token_revoked("before") is True
        assert await store.is_token_revoked("never") is False
    assert not await world.in_redis("token:revoked:during")

    world.outage.up()
    assert await a.is_token_revoked("during") is True  # a pays what it owes before trusting Redis
    assert await world.in_redis("token:revoked:during")
    assert await b.is_token_revoked("during") is True
    assert await b.is_token_revoked("never") is False


async def test_the_background_retry_brings_redis_up_to_date_without_any_request(world: World) -> None:
    a, b = await world.tokens(retry_every=0.01), await world.tokens()
    assert await b.is_token_revoked("warm-up") is False  # b trusts Redis from here on

    world.outage.down()
    await a.revoke_token("during", LATER)
    world.outage.up()
    await asyncio.wait_for(a.breaker.repaired(), 10)

    assert await world.in_redis("token:revoked:during")
    assert await b.is_token_revoked("during") is True


async def test_a_redis_that_restarted_empty_is_refilled_from_the_database(world: World) -> None:
    a, b = await world.tokens(), await world.tokens()
    await a.revoke_token("old", LATER)
    await a.revoke_token("expired", datetime.now(UTC) - timedelta(seconds=5))
    assert await b.is_token_revoked("old") is True

    await world.restart_redis_empty()
    assert await b.is_token_revoked("old") is True
    assert await world.in_redis("token:revoked:old")
    assert await world.in_redis("token:synced")
    assert not await world.in_redis("token:revoked:expired")
    assert await a.is_token_revoked("old") is True


async def test_refresh_families_rotate_and_revoke_while_redis_is_down(world: World) -> None:
    store = await world.tokens()
    world.outage.down()
    await store.start_family("fam", "r1", LATER, user_id=1)
    assert await store.rotate_family("fam", "r1", "r2", LATER) is True
    assert await store.rotate_family("fam", "r1", "r3", LATER) is False  # reuse of a rotated token
    world.outage.up()
    assert await store.rotate_family("fam", "r2", "r3", LATER) is True
    await store.revoke_family("fam")
    assert await store.rotate_family("fam", "r3", "r4", LATER) is False


async def test_readiness_reports_the_outage(world: World) -> None:
    store = await world.tokens()
    await store.ping()
    world.outage.down()
    with pytest.raises(RedisConnectionError):
        await store.ping()


# --- failed logins ------------------------------------------------------------------------------


async def test_failed_logins_are_still_counted_while_redis_is_down(world: World) -> None:
    throttle = FallbackLoginThrottle(
        RedisLoginThrottle(await world.client(), world.prefix), SqlLoginThrottle(world.db.engine), pause=0
    )
    await throttle.count_attempt("a@example.com", 900)
    assert (await throttle.attempts("a@example.com"))[0] == 1

    world.outage.down()
    for _ in range(3):
        await throttle.count_attempt("b@example.com", 900)
    count, retry_after = await throttle.attempts("b@example.com")
    assert count == 3
    assert 0 < retry_after <= 900
    await throttle.reset("b@example.com")
    assert await throttle.attempts("b@example.com") == (0, 0)

    world.outage.up()
    assert (await throttle.attempts("a@example.com"))[0] == 1  # Redis kept its own counts


# --- the catalog cache --------------------------------------------------------------------------


class Catalog:
    """What the database would answer, and how often it was asked."""

    def __init__(self) -> None:
        self.value = b"v1"
        self.reads = 0

    async def read(self) -> bytes:
        self.reads += 1
        return self.value


async def test_an_invalidation_made_during_an_outage_is_made_when_redis_returns(world: World) -> None:
    a, b = await world.cache(retry_every=0.01), await world.cache()
    catalog = Catalog()
    assert await a.get_or_compute("product:1", catalog.read) == b"v1"
    assert await b.get_or_compute("product:1", catalog.read) == b"v1"
    reads = catalog.reads

    world.outage.down()
    catalog.value = b"v2"
    await a.invalidate()  # no error; the bump is owed
    assert await a.get_or_compute("product:1", catalog.read) == b"v2"
    assert await b.get_or_compute("product:1", catalog.read) == b"v2"
    assert catalog.reads == reads + 2  # both served from the database, not from what they kept

    world.outage.up()
    await asyncio.wait_for(a.breaker.repaired(), 10)
    assert await b.get_or_compute("product:1", catalog.read) == b"v2"
    assert await a.get_or_compute("product:1", catalog.read) == b"v2"


async def test_the_writer_never_serves_a_stale_entry_after_the_outage(world: World) -> None:
    a = await world.cache()  # no background retry within the test: the next read pays the bump
    catalog = Catalog()
    assert await a.get_or_compute("list", catalog.read) == b"v1"
    world.outage.down()
    catalog.value = b"v2"
    await a.invalidate()
    world.outage.up()
    assert await a.get_or_compute("list", catalog.read) == b"v2"


async def test_a_cache_that_restarted_empty_never_reuses_a_version(world: World) -> None:
    a, b = await world.cache(), await world.cache()
    catalog = Catalog()
    await a.invalidate()  # a write before the restart: the version has moved on once
    assert await b.get_or_compute("list", catalog.read) == b"v1"  # b keeps a local copy too
    before = await b.key("list")

    await world.restart_redis_empty()
    catalog.value = b"v2"
    await a.invalidate()
    assert await b.key("list") != before
    assert await b.get_or_compute("list", catalog.read) == b"v2"
