"""The composition root: it reports on its dependencies, and closes every pool it opened."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from shop_core.adapters.sql.database import Database
from shop_core.bootstrap import Shop
from tests.conftest import make_settings, shop_factory


def database_of(shop: Shop) -> Database:
    database = shop.ports.probes["database"]
    assert isinstance(database, Database)
    return database


async def redis_clients_named(redis_url: str, name: str) -> int:
    client = Redis.from_url(redis_url)
    try:
        return sum(1 for c in await client.client_list() if c["name"] == name)
    finally:
        await client.aclose()


async def test_health_reports_the_database(database_url: str) -> None:
    async with shop_factory(make_settings(database_url)) as shop:
        report = await shop.operations.check_health()
    assert report.ok is True
    assert set(report.dependencies) == {"database"}
    assert report.dependencies["database"].ok is True


@pytest.mark.redis
async def test_health_reports_the_database_and_redis(
    sqlite_url: str, redis_url: str, redis_prefix: str
) -> None:
    settings = make_settings(sqlite_url, redis_url=redis_url, redis_key_prefix=redis_prefix)
    async with shop_factory(settings) as shop:
        report = await shop.operations.check_health()
    assert report.ok is True
    assert {name: d.ok for name, d in report.dependencies.items()} == {"database": True, "redis": True}


async def test_health_reports_redis_down_with_the_reason(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, redis_url="redis://127.0.0.1:1/0")
    async with shop_factory(settings) as shop:
        report = await shop.operations.check_health()
    assert report.ok is False
    assert report.dependencies["database"].ok is True
    redis = report.dependencies["redis"]
    assert redis.ok is False
    assert "ConnectionError" in redis.detail
    assert "127.0.0.1:1" in redis.detail


async def test_health_reports_the_database_down_with_the_reason() -> None:
    settings = make_settings("postgresql+asyncpg://postgres@127.0.0.1:1/nothing")
    async with shop_factory(settings) as shop:
        report = await shop.operations.check_health()
    assert report.ok is False
    assert report.dependencies["database"].ok is False
    assert report.dependencies["database"].detail != "ok"


async def test_leaving_the_context_closes_the_database_pool(database_url: str) -> None:
    async with shop_factory(make_settings(database_url)) as shop:
        assert (await shop.operations.check_health()).ok
        pool = database_of(shop).engine.pool
        assert pool.checkedin() >= 1, "the health check should leave a pooled connection"  # type: ignore[attr-defined]
    assert pool.checkedin() == 0  # type: ignore[attr-defined]
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


@pytest.mark.postgres
async def test_leaving_the_context_disconnects_from_postgres(scratch_pg_url: str) -> None:
    import asyncpg

    async def sessions_on_database() -> int:
        dsn = scratch_pg_url.replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(dsn)
        try:
            count: int = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await conn.close()
        return count

    async with shop_factory(make_settings(scratch_pg_url)) as shop:
        assert (await shop.operations.check_health()).ok
        assert await sessions_on_database() >= 1
    assert await sessions_on_database() == 0


@pytest.mark.redis
async def test_leaving_the_context_disconnects_from_redis(
    sqlite_url: str, redis_url: str, redis_prefix: str
) -> None:
    name = redis_prefix.strip(":")
    settings = make_settings(
        sqlite_url, redis_url=f"{redis_url}?client_name={name}", redis_key_prefix=redis_prefix
    )
    async with shop_factory(settings) as shop:
        assert (await shop.operations.check_health()).ok
        assert await redis_clients_named(redis_url, name) >= 1
    assert await redis_clients_named(redis_url, name) == 0


async def test_overrides_replace_single_ports(sqlite_url: str) -> None:
    from tests.fakes import FakeClock

    clock = FakeClock()
    async with shop_factory(make_settings(sqlite_url), clock=clock) as shop:
        assert shop.ports.clock is clock
        assert shop.sessions.config.access_ttl == shop.settings.access_token_ttl


async def test_an_overridden_clock_reaches_the_sql_statements_too(sqlite_url: str) -> None:
    """A test's clock is the one the database writes with, not only the one the use cases read."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from shop_core.domain.actors import Actor
    from shop_core.services.catalog_commands import ChangeStock, CreateProduct
    from tests.fakes import FakeClock

    clock = FakeClock(datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC))
    async with shop_factory(make_settings(sqlite_url), clock=clock) as shop:
        await shop.catalog.create_product(
            CreateProduct(name="Pot", sku="POT-1", price=Decimal("5.00")), Actor.operator()
        )
        clock.advance(60)
        await shop.stock.change_stock(ChangeStock(sku="POT-1", reason="restock", delta=3), Actor.operator())
        async with shop.ports.uow() as uow:
            pot = await uow.products.get_by_sku("POT-1")
    assert pot is not None
    assert pot.updated_at == clock.now()  # written by the conditional stock UPDATE
