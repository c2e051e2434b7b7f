"""Backends for the port contract suites, and throwaway PostgreSQL databases.

A contract suite asks for `backend` and builds the adapter under test from it, so one suite runs
over every implementation of its port: the SQL adapter on SQLite and on PostgreSQL, the Redis
adapter, and the in-memory fake.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest
import redis
from redis.asyncio import Redis

from shop_core.adapters.sql.database import Database
from tests.conftest import POSTGRES_ADMIN_URL, _pg_admin, service_unavailable
from tests.fakes import FakeClock

SQLITE = pytest.param("sqlite", id="sqlite")
POSTGRES = pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)
REDIS = pytest.param("redis", id="redis", marks=pytest.mark.redis)
FAKE = pytest.param("fake", id="fake")

# How many callers the concurrency tests race against each other.
CONCURRENCY = 20


@dataclass
class Backend:
    """Where an adapter under test keeps its state."""

    name: str
    url: str = ""
    redis_prefix: str = ""
    clock: FakeClock = field(default_factory=FakeClock)

    @property
    def is_sql(self) -> bool:
        return self.name in {"sqlite", "postgres"}

    @property
    def client_name(self) -> str:
        """The name this test's Redis connections go by (see CLIENT LIST)."""
        return self.redis_prefix.strip(":")

    @property
    def runs_in_parallel(self) -> bool:
        """Whether concurrent calls really reach a server on separate connections."""
        return self.name in {"postgres", "redis"}


def resolve_backend(request: pytest.FixtureRequest) -> Backend:
    """Build a Backend from `request.param` (sync, so it may pull in async fixtures)."""
    name: str = request.param
    if name == "sqlite":
        return Backend(name, url=request.getfixturevalue("sqlite_url"))
    if name == "postgres":
        return Backend(name, url=request.getfixturevalue("pg_url"))
    if name == "redis":
        return Backend(
            name,
            url=request.getfixturevalue("redis_url"),
            redis_prefix=request.getfixturevalue("redis_prefix"),
        )
    assert name == "fake", name
    return Backend(name)


@pytest.fixture
async def scratch_pg_url() -> AsyncIterator[str]:
    """A throwaway, empty PostgreSQL database of the test's own, dropped afterwards."""
    name = f"shop_scratch_{uuid.uuid4().hex[:10]}"
    try:
        await _pg_admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - whatever the reason, the server is not usable
        service_unavailable("PostgreSQL", f"{POSTGRES_ADMIN_URL}: {type(exc).__name__}: {exc}")
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    yield f"{base}/{name}"
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sql_connections(db: Database) -> Callable[[], Awaitable[int]]:
    """Open CONCURRENCY pooled connections at once; answer how many the pool holds."""

    async def open_them() -> int:
        await asyncio.gather(*(db.ping() for _ in range(CONCURRENCY)))
        return db.engine.pool.checkedin()  # type: ignore[attr-defined, no-any-return]

    return open_them


def redis_connections(client: Redis, name: str) -> Callable[[], Awaitable[int]]:
    """Open CONCURRENCY connections at once; answer how many the server sees under `name`."""

    async def open_them() -> int:
        await asyncio.gather(*(client.ping() for _ in range(CONCURRENCY)))
        return sum(1 for c in await client.client_list() if c["name"] == name)

    return open_them


async def no_connections() -> int:
    return 0


@pytest.fixture
def saq_keys(redis_url: str, redis_prefix: str) -> Iterator[Callable[[], set[str]]]:
    """Lists the Redis keys SAQ made for this test's queue, and deletes them afterwards.

    SAQ names them `saq:<queue>:<what>` and `saq:job:<queue>:<job key>`; the queue's name starts with
    the test's prefix, which `redis_prefix` alone does not clean (it deletes `<prefix>*`).
    """
    client = redis.Redis.from_url(redis_url, decode_responses=True)

    def keys() -> set[str]:
        return set(client.scan_iter(match=f"saq:*{redis_prefix}*"))

    yield keys
    if found := keys():
        client.delete(*found)
    assert keys() == set()
    client.close()
