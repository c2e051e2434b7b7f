"""One contract for every TokenStore: SQL on SQLite and PostgreSQL, Redis, and the fake."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from shop_core.adapters.redis_token_store import RedisTokenStore
from shop_core.adapters.sql.database import open_database
from shop_core.adapters.sql.token_store import SqlTokenStore
from shop_core.ports.security import TokenStore
from tests.fakes import FakeTokenStore
from tests.integration.conftest import (
    CONCURRENCY,
    FAKE,
    POSTGRES,
    REDIS,
    SQLITE,
    Backend,
    no_connections,
    redis_connections,
    resolve_backend,
    sql_connections,
)


@dataclass
class Harness:
    store: TokenStore
    open_connections: Callable[[], Awaitable[int]]
    runs_in_parallel: bool


@pytest.fixture(params=[SQLITE, POSTGRES, REDIS, FAKE])
def backend(request: pytest.FixtureRequest) -> Backend:
    return resolve_backend(request)


@pytest.fixture
async def harness(backend: Backend) -> AsyncIterator[Harness]:
    if backend.is_sql:
        db = open_database(backend.url, pool_size=CONCURRENCY)
        yield Harness(SqlTokenStore(db.engine), sql_connections(db), backend.runs_in_parallel)
        await db.close()
    elif backend.name == "redis":
        client = Redis.from_url(backend.url, client_name=backend.client_name)
        store = RedisTokenStore(client, backend.redis_prefix)
        yield Harness(store, redis_connections(client, backend.client_name), backend.runs_in_parallel)
        await client.aclose()
    else:
        yield Harness(FakeTokenStore(backend.clock), no_connections, runs_in_parallel=False)


@pytest.fixture
def store(harness: Harness) -> TokenStore:
    return harness.store


def jti() -> str:
    return uuid.uuid4().hex


def in_an_hour() -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)


async def new_family(store: TokenStore) -> tuple[str, str]:
    family, current = jti(), jti()
    await store.start_family(family, current, in_an_hour(), user_id=1)
    return family, current


# --- revoked tokens ------------------------------------------------------------------------


async def test_a_token_is_not_revoked_until_it_is(store: TokenStore) -> None:
    revoked, other = jti(), jti()
    assert await store.is_token_revoked(revoked) is False
    await store.revoke_token(revoked, in_an_hour())
    assert await store.is_token_revoked(revoked) is True
    assert await store.is_token_revoked(other) is False


async def test_revoking_twice_is_harmless(store: TokenStore) -> None:
    token = jti()
    await store.revoke_token(token, in_an_hour())
    await store.revoke_token(token, in_an_hour() + timedelta(hours=1))
    assert await store.is_token_revoked(token) is True


async def test_check_access_answers_as_is_token_revoked_does(store: TokenStore) -> None:
    revoked, other = jti(), jti()
    await store.revoke_token(revoked, in_an_hour())
    assert (await store.check_access(revoked, 1))[0] is True
    assert (await store.check_access(other, 1))[0] is False


# --- user stamps ---------------------------------------------------------------------------


async def stamp_of(store: TokenStore, user_id: int) -> str | None:
    return (await store.check_access(jti(), user_id))[1]


async def test_a_user_change_changes_that_users_stamp_only(store: TokenStore, backend: Backend) -> None:
    if isinstance(store, RedisTokenStore):
        await store.load_revocations([])  # a full copy: Redis may vouch for stamps
    ada, grace = (int(uuid.uuid4().int % 1_000_000) + n for n in (1, 2_000_000))
    before = await stamp_of(store, ada)
    if before is None:  # the database stores: every request reads the user, no stamp needed
        assert backend.is_sql
        await store.user_changed(ada)
        assert await stamp_of(store, ada) is None
        return
    graces = await stamp_of(store, grace)
    assert await stamp_of(store, ada) == before  # unchanged: the same stamp
    await store.user_changed(ada)
    after = await stamp_of(store, ada)
    assert after not in (None, before)
    assert await stamp_of(store, grace) == graces


async def test_redis_vouches_for_stamps_only_with_a_full_copy(redis_url: str, redis_prefix: str) -> None:
    client = Redis.from_url(redis_url)
    store = RedisTokenStore(client, redis_prefix)
    try:
        assert await store.access_if_synced(jti(), 7) is None  # never loaded: no stamp
        await store.load_revocations([])
        first = await stamp_of(store, 7)
        await store.new_epoch()  # a change Redis missed: every stamp so far goes stale
        second = await stamp_of(store, 7)
        await store.load_revocations([])  # refilled after a restart: stale again
        third = await stamp_of(store, 7)
        assert None not in (first, second, third)
        assert len({first, second, third}) == 3
    finally:
        await client.aclose()


# --- refresh families ----------------------------------------------------------------------


async def test_rotation_follows_the_current_token(store: TokenStore) -> None:
    family, first = await new_family(store)
    second, third = jti(), jti()
    assert await store.rotate_family(family, first, second, in_an_hour()) is True
    assert await store.rotate_family(family, second, third, in_an_hour()) is True


async def test_rotating_with_a_stale_token_fails_and_changes_nothing(store: TokenStore) -> None:
    family, first = await new_family(store)
    second = jti()
    assert await store.rotate_family(family, first, second, in_an_hour()) is True
    assert await store.rotate_family(family, first, jti(), in_an_hour()) is False
    assert await store.rotate_family(family, second, jti(), in_an_hour()) is True


async def test_rotating_an_unknown_family_fails(store: TokenStore) -> None:
    assert await store.rotate_family(jti(), jti(), jti(), in_an_hour()) is False


async def test_a_revoked_family_cannot_rotate(store: TokenStore) -> None:
    family, current = await new_family(store)
    other_family, other_current = await new_family(store)
    await store.revoke_family(family)
    assert await store.rotate_family(family, current, jti(), in_an_hour()) is False
    assert await store.rotate_family(other_family, other_current, jti(), in_an_hour()) is True


async def test_revoking_an_unknown_family_is_harmless(store: TokenStore) -> None:
    family = jti()
    await store.revoke_family(family)
    assert await store.rotate_family(family, jti(), jti(), in_an_hour()) is False


async def test_an_expired_family_cannot_rotate(store: TokenStore) -> None:
    family, current = jti(), jti()
    await store.start_family(family, current, datetime.now(UTC) - timedelta(hours=1), user_id=1)
    assert await store.rotate_family(family, current, jti(), in_an_hour()) is False


async def test_ping(store: TokenStore) -> None:
    await store.ping()


# --- concurrency ---------------------------------------------------------------------------


async def warm_up(harness: Harness) -> None:
    """Open the connections first, so the racing calls reach the server together."""
    connections = await harness.open_connections()
    if harness.runs_in_parallel:
        assert connections > 1, "the calls would not run on separate connections"


async def test_concurrent_rotations_of_one_token_have_exactly_one_winner(harness: Harness) -> None:
    store = harness.store
    family, current = await new_family(store)
    await warm_up(harness)
    candidates = [jti() for _ in range(CONCURRENCY)]
    results = await asyncio.gather(
        *(store.rotate_family(family, current, new, in_an_hour()) for new in candidates)
    )
    assert results.count(True) == 1, results
    winner = candidates[results.index(True)]
    losers = [new for new, won in zip(candidates, results, strict=True) if not won]
    assert await store.rotate_family(family, losers[0], jti(), in_an_hour()) is False
    assert await store.rotate_family(family, winner, jti(), in_an_hour()) is True


async def test_concurrent_rotations_of_different_families_all_succeed(harness: Harness) -> None:
    store = harness.store
    families = [await new_family(store) for _ in range(CONCURRENCY)]
    await warm_up(harness)
    results = await asyncio.gather(
        *(store.rotate_family(family, current, jti(), in_an_hour()) for family, current in families)
    )
    assert results == [True] * CONCURRENCY


# --- beyond the port: the SQL store's sweep of expired entries --------------------------------


@pytest.mark.parametrize("backend", [SQLITE, POSTGRES], indirect=True)
async def test_purge_expired_drops_only_what_has_expired(harness: Harness) -> None:
    store = harness.store
    assert isinstance(store, SqlTokenStore)
    now = datetime.now(UTC)
    dead_token, live_token = jti(), jti()
    await store.revoke_token(dead_token, now - timedelta(seconds=1))
    await store.revoke_token(live_token, now + timedelta(hours=1))
    dead_family, dead_current = jti(), jti()
    await store.start_family(dead_family, dead_current, now - timedelta(seconds=1), user_id=1)
    live_family, live_current = await new_family(store)

    assert await store.purge_expired(now) == 2

    assert await store.is_token_revoked(dead_token) is False
    assert await store.is_token_revoked(live_token) is True
    assert await store.rotate_family(live_family, live_current, jti(), in_an_hour()) is True
    assert await store.purge_expired(now) == 0


async def test_revoking_a_users_families_revokes_all_of_them_and_no_others(store: TokenStore) -> None:
    user, other = 1_000_000 + secrets.randbelow(10**6), 3_000_000 + secrets.randbelow(10**6)
    mine = [(jti(), jti()) for _ in range(3)]
    for family, current in mine:
        await store.start_family(family, current, in_an_hour(), user_id=user)
    theirs, their_current = jti(), jti()
    await store.start_family(theirs, their_current, in_an_hour(), user_id=other)
    rotated = jti()
    assert await store.rotate_family(mine[0][0], mine[0][1], rotated, in_an_hour())  # rotated, still found
    await store.revoke_user_families(user)
    assert not await store.rotate_family(mine[0][0], rotated, jti(), in_an_hour())
    for family, current in mine[1:]:
        assert not await store.rotate_family(family, current, jti(), in_an_hour())
    assert await store.rotate_family(theirs, their_current, jti(), in_an_hour())
