"""One contract for every LoginThrottle (sign-in attempts, counted atomically): SQL on SQLite
and PostgreSQL, Redis, and the fake."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from shop_core.adapters.redis_login_throttle import RedisLoginThrottle
from shop_core.adapters.sql.database import open_database
from shop_core.adapters.sql.login_throttle import SqlLoginThrottle
from shop_core.adapters.sql.orm import login_failures
from shop_core.ports.security import LoginThrottle
from tests.fakes import FakeLoginThrottle
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

WINDOW = 600


@dataclass
class Harness:
    """The throttle under test, and what the contract needs to know about its backend."""

    throttle: LoginThrottle
    end_window: Callable[[str], Awaitable[None]]
    """Make a key's window run out now, without waiting for it."""
    open_connections: Callable[[], Awaitable[int]]
    """Open the pool's connections; return how many there are."""
    runs_in_parallel: bool


@pytest.fixture(params=[SQLITE, POSTGRES, REDIS, FAKE])
def backend(request: pytest.FixtureRequest) -> Backend:
    return resolve_backend(request)


@pytest.fixture
async def harness(backend: Backend) -> AsyncIterator[Harness]:
    if backend.is_sql:
        db = open_database(backend.url, pool_size=CONCURRENCY)

        async def end_sql_window(key: str) -> None:
            past = datetime.now(UTC) - timedelta(seconds=1)
            async with db.engine.begin() as conn:
                await conn.execute(
                    login_failures.update().where(login_failures.c.key == key).values(window_ends=past)
                )

        yield Harness(
            SqlLoginThrottle(db.engine), end_sql_window, sql_connections(db), backend.runs_in_parallel
        )
        await db.close()
    elif backend.name == "redis":
        client = Redis.from_url(backend.url, client_name=backend.client_name)
        throttle = RedisLoginThrottle(client, backend.redis_prefix)

        async def end_redis_window(key: str) -> None:
            # An expiry time in the past: Redis ends the key the way a lapsed window ends.
            assert await client.pexpireat(f"{backend.redis_prefix}login-failures:{key}", 1)

        yield Harness(
            throttle,
            end_redis_window,
            redis_connections(client, backend.client_name),
            backend.runs_in_parallel,
        )
        await client.aclose()
    else:
        clock = backend.clock

        async def end_fake_window(key: str) -> None:
            clock.advance(WINDOW)

        yield Harness(FakeLoginThrottle(clock), end_fake_window, no_connections, runs_in_parallel=False)


@pytest.fixture
def throttle(harness: Harness) -> LoginThrottle:
    return harness.throttle


def key() -> str:
    return f"{uuid.uuid4().hex}@example.com"


async def test_an_unknown_key_has_no_attempts(throttle: LoginThrottle) -> None:
    assert await throttle.attempts(key()) == (0, 0)


async def test_attempts_are_counted_per_key_within_the_window(throttle: LoginThrottle) -> None:
    ada, grace = key(), key()
    for _ in range(3):
        await throttle.count_attempt(ada, WINDOW)
    await throttle.count_attempt(grace, WINDOW)
    count, retry_after = await throttle.attempts(ada)
    assert count == 3
    assert WINDOW - 5 <= retry_after <= WINDOW
    assert (await throttle.attempts(grace))[0] == 1


async def test_the_window_is_set_by_the_first_failure(throttle: LoginThrottle) -> None:
    ada = key()
    await throttle.count_attempt(ada, 60)
    await throttle.count_attempt(ada, 3600)
    count, retry_after = await throttle.attempts(ada)
    assert count == 2
    assert 0 < retry_after <= 60


async def test_reset_forgets_the_attempts(throttle: LoginThrottle) -> None:
    ada, grace = key(), key()
    await throttle.count_attempt(ada, WINDOW)
    await throttle.count_attempt(ada, WINDOW)
    await throttle.count_attempt(grace, WINDOW)
    await throttle.reset(ada)
    assert await throttle.attempts(ada) == (0, 0)
    assert (await throttle.attempts(grace))[0] == 1
    await throttle.count_attempt(ada, WINDOW)
    assert (await throttle.attempts(ada))[0] == 1


async def test_resetting_an_unknown_key_is_harmless(throttle: LoginThrottle) -> None:
    await throttle.reset(key())


async def test_attempts_lapse_with_their_window_and_counting_starts_afresh(harness: Harness) -> None:
    throttle, ada = harness.throttle, key()
    for _ in range(3):
        await throttle.count_attempt(ada, 60)
    await harness.end_window(ada)
    assert await throttle.attempts(ada) == (0, 0)
    await throttle.count_attempt(ada, WINDOW)
    count, retry_after = await throttle.attempts(ada)
    assert count == 1
    assert 60 < retry_after <= WINDOW, "the new window must start from the new failure"


async def test_each_attempt_answers_its_own_place_in_the_window(throttle: LoginThrottle) -> None:
    ada = key()
    places = [await throttle.count_attempt(ada, WINDOW) for _ in range(3)]

    assert [count for count, _ in places] == [1, 2, 3]
    assert all(WINDOW - 5 <= retry_after <= WINDOW for _, retry_after in places)


async def test_concurrent_attempts_each_get_a_place_of_their_own(harness: Harness) -> None:
    """Counting is atomic: N attempts at once are told 1..N, once each, so a limit checked on the
    answer lets exactly that many through however they race."""
    throttle, ada = harness.throttle, key()
    connections = await harness.open_connections()
    if harness.runs_in_parallel:
        assert connections > 1, "the calls would not run on separate connections"
    first = await asyncio.gather(*(throttle.count_attempt(ada, WINDOW) for _ in range(CONCURRENCY)))
    assert sorted(count for count, _ in first) == list(range(1, CONCURRENCY + 1))
    assert (await throttle.attempts(ada))[0] == CONCURRENCY
    second = await asyncio.gather(*(throttle.count_attempt(ada, WINDOW) for _ in range(CONCURRENCY)))
    assert sorted(count for count, _ in second) == list(range(CONCURRENCY + 1, 2 * CONCURRENCY + 1))
    assert (await throttle.attempts(ada))[0] == 2 * CONCURRENCY


async def test_concurrent_first_attempts_open_one_window(harness: Harness) -> None:
    throttle, ada = harness.throttle, key()
    answers = await asyncio.gather(*(throttle.count_attempt(ada, 60) for _ in range(CONCURRENCY)))

    assert all(0 < retry_after <= 60 for _, retry_after in answers)
    count, retry_after = await throttle.attempts(ada)
    assert count == CONCURRENCY
    assert 0 < retry_after <= 60
