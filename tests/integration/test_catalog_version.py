"""Without Redis each process caches the catalog in its own memory. A write made by another process
(the CLI next to a running server) still reaches the server's cached reads within about a second:
every catalog write moves the database's catalog version on, and every process reads it at most
once a second (its clock is driven by the test here, instead of sleeping)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.domain.errors import NotFound
from shop_core.services.catalog_commands import ChangeStock, CreateCategory, CreateProduct, UpdateProduct
from shop_core.services.catalog_views import EncodedPage
from shop_core.settings import Settings
from tests.conftest import make_settings, shop_factory


class Ticks:
    """A monotonic clock that moves only when the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class TwoProcesses:
    server: Shop
    cli: Shop
    ticks: Ticks
    """The server's clock for its version checks."""

    async def product(self, product_id: int) -> dict[str, Any] | None:
        """The product as the server's public (cached) read shows it; None when it is not found."""
        try:
            found: dict[str, Any] = json.loads(await self.server.catalog.get_product(product_id, staff=False))
        except NotFound:
            return None
        return found

    async def names(self) -> list[str]:
        page: EncodedPage = await self.server.catalog.list_categories(page=1, page_size=100)
        return [c["name"] for c in json.loads(page.results)]


@contextmanager
def statements(shop: Shop) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = shop.ports.catalog_version._engine  # type: ignore[union-attr]
    assert isinstance(engine, AsyncEngine)

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def two_processes(server_settings: Settings, cli_settings: Settings) -> AsyncIterator[TwoProcesses]:
    async with shop_factory(server_settings) as server, shop_factory(cli_settings) as cli:
        assert type(server.ports.cache).__name__ == "MemoryCache"  # no Redis: nothing shared but the database
        ticks = Ticks()
        server.catalog_cache.monotonic = ticks
        yield TwoProcesses(server, cli, ticks)


@pytest.fixture
async def both(database_url: str) -> AsyncIterator[TwoProcesses]:
    """A server and a CLI on the same database (SQLite file or PostgreSQL), each with its own cache."""
    settings = make_settings(database_url)
    async for made in two_processes(settings, settings):
        yield made


async def test_a_write_through_the_cli_reaches_the_servers_cached_reads_within_a_second(
    both: TwoProcesses,
) -> None:
    cli, ticks = both.cli, both.ticks
    pot = await cli.catalog.create_product(
        CreateProduct(name="Pot", sku="POT-1", price=Decimal("10.00")), Actor.operator()
    )
    await cli.catalog.create_category(CreateCategory(name="Kitchen"), Actor.operator())
    assert (await both.product(pot.id) or {})["price"] == "10.00"
    assert await both.names() == ["Kitchen"]

    await cli.catalog.update_product(pot.id, UpdateProduct(price=Decimal("12.50")), Actor.operator())
    ticks.now += 0.5
    assert (await both.product(pot.id) or {})["price"] == "10.00"  # cached: the server has not looked yet
    ticks.now += 0.5
    assert (await both.product(pot.id) or {})["price"] == "12.50"

    await cli.stock.change_stock(ChangeStock(sku="POT-1", reason="restock", delta=5), Actor.operator())
    await cli.catalog.create_category(CreateCategory(name="Garden"), Actor.operator())
    assert (await both.product(pot.id) or {})["stock_quantity"] == 0
    ticks.now += 1
    assert (await both.product(pot.id) or {})["stock_quantity"] == 5
    assert sorted(await both.names()) == ["Garden", "Kitchen"]

    await cli.catalog.delete_product(pot.id, Actor.operator())
    ticks.now += 1
    assert await both.product(pot.id) is None


async def test_the_server_reads_the_version_at_most_once_a_second(both: TwoProcesses) -> None:
    cli, ticks = both.cli, both.ticks
    pot = await cli.catalog.create_product(
        CreateProduct(name="Pot", sku="POT-1", price=Decimal("10.00")), Actor.operator()
    )
    await both.product(pot.id)

    with statements(both.server) as seen:
        for _ in range(15):
            await both.product(pot.id)
            ticks.now += 1 / 16  # 0.9375 s in all (sixteenths add up exactly)
    assert seen == []

    ticks.now += 1 / 16
    with statements(both.server) as seen:
        for _ in range(5):
            await both.product(pot.id)
    assert len(seen) == 1, seen  # the catalog version, nothing else: it had not changed
    assert "catalog_version" in seen[0]


async def test_a_cli_that_does_not_cache_still_tells_the_server(database_url: str) -> None:
    async for both in two_processes(
        make_settings(database_url), make_settings(database_url, cache_enabled=False)
    ):
        pot = await both.cli.catalog.create_product(
            CreateProduct(name="Pot", sku="POT-1", price=Decimal("1.00")), Actor.operator()
        )
        assert (await both.product(pot.id) or {})["price"] == "1.00"
        await both.cli.catalog.update_product(pot.id, UpdateProduct(price=Decimal("2.00")), Actor.operator())
        both.ticks.now += 1
        assert (await both.product(pot.id) or {})["price"] == "2.00"


async def test_every_write_moves_the_version_on(database_url: str) -> None:
    async with shop_factory(make_settings(database_url)) as shop:
        version = shop.ports.catalog_version
        assert version is not None
        before = await version.current()
        made = await shop.catalog.create_category(CreateCategory(name="Kitchen"), Actor.operator())
        await shop.catalog.delete_category(made.id, Actor.operator())
        assert await version.current() == before + 2


async def test_writes_at_the_same_moment_each_move_the_version_on_once(database_url: str) -> None:
    async with shop_factory(make_settings(database_url)) as shop:
        version = shop.ports.catalog_version
        assert version is not None
        before = await version.current()

        bumped = await asyncio.gather(*(version.bump() for _ in range(20)))

        assert sorted(bumped) == list(range(before + 1, before + 21))
        assert await version.current() == before + 20
