"""One contract for the sales store (`uow.sales`) and what the catalog reader says of sales: SQL on
SQLite and PostgreSQL, and the fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shop_core.adapters.sql.catalog_reader import SqlCatalogReader
from shop_core.adapters.sql.database import open_database
from shop_core.adapters.sql.unit_of_work import SqlUnitOfWork
from shop_core.adapters.system_clock import SystemClock
from shop_core.domain.catalog import Category, Product
from shop_core.domain.errors import InvalidInput
from shop_core.domain.sales import RunningSale, Sale
from shop_core.ports.catalog import CatalogReader, ProductFilter
from shop_core.ports.persistence import UnitOfWorkFactory
from tests.fakes import FakeCatalogReader, FakeDatabase, FakeUnitOfWork
from tests.integration.conftest import FAKE, POSTGRES, SQLITE, Backend, resolve_backend

NOW = datetime(2026, 11, 27, 12, 0, 0, 250_000, tzinfo=UTC)
HOUR = timedelta(hours=1)
MAX_ID = 2**31 - 1


@dataclass
class Harness:
    uow: UnitOfWorkFactory
    reader: CatalogReader


@pytest.fixture(params=[SQLITE, POSTGRES, FAKE])
def backend(request: pytest.FixtureRequest) -> Backend:
    return resolve_backend(request)


@pytest.fixture
async def harness(backend: Backend) -> AsyncIterator[Harness]:
    if backend.is_sql:
        db = open_database(backend.url)
        yield Harness(
            lambda: SqlUnitOfWork(db.sessions, clock=SystemClock()), SqlCatalogReader(db.engine, db.reads)
        )
        await db.close()
    else:
        fake = FakeDatabase()
        yield Harness(lambda: FakeUnitOfWork(fake), FakeCatalogReader(fake))


@dataclass
class Shelf:
    """Categories Home > Kitchen > Pots and Garden; a pot in Pots, a hose in Garden, a loose lid."""

    home: int
    kitchen: int
    pots: int
    garden: int
    pot: int
    hose: int
    lid: int

    def categories_of(self) -> dict[int, int | None]:
        return {self.pot: self.pots, self.hose: self.garden, self.lid: None}


@pytest.fixture
async def shelf(harness: Harness) -> Shelf:
    async with harness.uow() as uow:
        home = await uow.categories.add(Category("Home", "home"))
        kitchen = await uow.categories.add(Category("Kitchen", "kitchen", parent_id=home.id))
        pots = await uow.categories.add(Category("Pots", "pots", parent_id=kitchen.id))
        garden = await uow.categories.add(Category("Garden", "garden"))
        made = {}
        for sku, category in (("POT", pots.id), ("HOSE", garden.id), ("LID", None)):
            product = Product(sku.lower(), sku.lower(), sku, 1000, NOW, NOW, category_id=category)
            made[sku] = (await uow.products.add(product)).id
        await uow.commit()
    ids = (home.id, kitchen.id, pots.id, garden.id, made["POT"], made["HOSE"], made["LID"])
    assert all(i is not None for i in ids)
    return Shelf(*ids)  # type: ignore[arg-type]


def sale(name: str, percentage: str, starts: float, ends: float, **targets: Any) -> Sale:
    """A sale from `starts` to `ends` hours after NOW."""
    return Sale(
        name=name,
        percentage=Decimal(percentage),
        starts_at=NOW + starts * HOUR,
        ends_at=NOW + ends * HOUR,
        product_ids=frozenset(targets.get("products", ())),
        category_ids=frozenset(targets.get("categories", ())),
        created_at=NOW + starts * HOUR,
        updated_at=NOW,
    )


async def stored(harness: Harness, *sales: Sale) -> list[Sale]:
    async with harness.uow() as uow:
        added = [await uow.sales.add(s) for s in sales]
        await uow.commit()
    return added


def summary(found: dict[int, RunningSale]) -> dict[int, tuple[str, Decimal]]:
    return {product: (s.name, s.percentage) for product, s in found.items()}


# --- storing -------------------------------------------------------------------------------------


async def test_a_sale_is_stored_as_given_and_read_back(harness: Harness, shelf: Shelf) -> None:
    (made,) = await stored(
        harness,
        sale("Black Friday", "33.33", -1, 24, products=[shelf.pot, shelf.lid], categories=[shelf.home]),
    )

    async with harness.uow() as uow:
        found = await uow.sales.get(made.id or 0)
        missing = [await uow.sales.get(i) for i in (0, -1, 999, MAX_ID + 1, 10**20)]

    assert found is not None
    assert (found.id, found.name, found.percentage) == (made.id, "Black Friday", Decimal("33.33"))
    assert (found.starts_at, found.ends_at) == (NOW - HOUR, NOW + 24 * HOUR)
    assert found.starts_at.tzinfo is not None
    assert found.product_ids == {shelf.pot, shelf.lid}
    assert found.category_ids == {shelf.home}
    assert (found.created_at, found.updated_at) == (NOW - HOUR, NOW)
    assert missing == [None] * 5


async def test_sales_are_paged_newest_first(harness: Harness, shelf: Shelf) -> None:
    await stored(
        harness,
        sale("Older", "10", -3, 1, products=[shelf.pot]),
        sale("Newer", "20", -2, 1, categories=[shelf.garden]),
        sale("Newest", "30", -1, 1, products=[shelf.hose], categories=[shelf.pots]),
    )

    async with harness.uow() as uow:
        first, total = await uow.sales.page(offset=0, limit=2)
        rest, _ = await uow.sales.page(offset=2, limit=2)
        past, _ = await uow.sales.page(offset=3, limit=2)

    assert total == 3
    assert [s.name for s in first + rest] == ["Newest", "Newer", "Older"]
    assert (first[0].product_ids, first[0].category_ids) == ({shelf.hose}, {shelf.pots})
    assert (first[1].product_ids, first[1].category_ids) == (set(), {shelf.garden})
    assert past == []


async def test_a_change_replaces_the_sale_and_its_targets(harness: Harness, shelf: Shelf) -> None:
    (made,) = await stored(harness, sale("Spring", "10", 1, 2, products=[shelf.pot], categories=[shelf.home]))
    async with harness.uow() as uow:
        loaded = await uow.sales.get(made.id or 0)
        assert loaded is not None
        loaded.name, loaded.percentage = "Summer", Decimal("12.50")
        loaded.product_ids, loaded.category_ids = frozenset({shelf.hose, shelf.lid}), frozenset()
        await uow.sales.save(loaded)
        await uow.commit()

    async with harness.uow() as uow:
        found = await uow.sales.get(made.id or 0)

    assert found is not None
    assert (found.name, found.percentage) == ("Summer", Decimal("12.50"))
    assert (found.product_ids, found.category_ids) == ({shelf.hose, shelf.lid}, set())


async def test_a_deleted_sale_is_gone_and_nothing_is_stored_without_a_commit(
    harness: Harness, shelf: Shelf
) -> None:
    kept, dropped = await stored(
        harness,
        sale("Kept", "10", 0, 1, products=[shelf.pot]),
        sale("Dropped", "10", 0, 1, products=[shelf.pot]),
    )
    async with harness.uow() as uow:
        await uow.sales.delete(dropped)
        await uow.commit()
    async with harness.uow() as uow:
        await uow.sales.add(sale("Never", "10", 0, 1, products=[shelf.pot]))
        await uow.sales.delete(kept)  # neither stays: no commit

    async with harness.uow() as uow:
        found, total = await uow.sales.page(offset=0, limit=10)
        running = await uow.sales.running(shelf.categories_of(), NOW)

    assert ([s.id for s in found], total) == ([kept.id], 1)
    assert summary(running) == {shelf.pot: ("Kept", Decimal(10))}


async def test_unknown_products_and_categories_are_named(harness: Harness, shelf: Shelf) -> None:
    async with harness.uow() as uow:
        none = await uow.sales.unknown([shelf.pot, shelf.lid], [shelf.home])
        some = await uow.sales.unknown([shelf.pot, 999, MAX_ID, 10**12, 998], [404, shelf.garden, 404])
        empty = await uow.sales.unknown([], [])

    assert none == ([], [])
    assert some == ([998, 999, MAX_ID, 10**12], [404])
    assert empty == ([], [])


async def test_a_sale_naming_what_does_not_exist_is_refused_by_the_store_too(
    harness: Harness, shelf: Shelf
) -> None:
    """The use cases look first (`unknown`); a product deleted since then is refused by the store
    itself (the link tables' foreign keys), as bad input, not a server error."""
    for targets in ({"products": [shelf.pot, 999]}, {"categories": [404]}):
        async with harness.uow() as uow:
            with pytest.raises(InvalidInput, match="deleted meanwhile"):
                await uow.sales.add(sale("Gone", "10", 0, 1, **targets))

    async with harness.uow() as uow:
        assert await uow.sales.page(offset=0, limit=10) == ([], 0)


# --- running sales -----------------------------------------------------------------------------------


async def test_a_category_sale_covers_its_descendants_and_the_best_sale_wins(
    harness: Harness, shelf: Shelf
) -> None:
    await stored(
        harness,
        sale("Home week", "10", -1, 5, categories=[shelf.home]),
        sale("Pot deal", "25", -1, 2, products=[shelf.pot]),
        sale("Kitchen day", "15", -1, 1, categories=[shelf.kitchen]),
        sale("Garden, later", "50", 1, 3, categories=[shelf.garden]),
        sale("Lid, over", "90", -3, -1, products=[shelf.lid]),
    )

    async def running_at(hours: float) -> dict[int, tuple[str, Decimal]]:
        async with harness.uow() as uow:
            return summary(await uow.sales.running(shelf.categories_of(), NOW + hours * HOUR))

    assert await running_at(0) == {shelf.pot: ("Pot deal", Decimal(25))}  # the hose: Garden's not started
    assert await running_at(1.5) == {shelf.pot: ("Pot deal", Decimal(25)), shelf.hose: ("Garden, later", 50)}
    assert await running_at(2.5) == {shelf.pot: ("Home week", 10), shelf.hose: ("Garden, later", 50)}
    assert await running_at(4) == {shelf.pot: ("Home week", Decimal(10))}
    assert await running_at(5) == {}
    assert await running_at(-2) == {shelf.lid: ("Lid, over", Decimal(90))}


async def test_running_percentages_are_what_a_cart_line_is_priced_with(
    harness: Harness, shelf: Shelf
) -> None:
    await stored(
        harness,
        sale("Kitchen", "12.50", -1, 1, categories=[shelf.kitchen]),
        sale("Hose", "5", -1, 1, products=[shelf.hose]),
    )

    async with harness.uow() as uow:
        found = await uow.sales.running_percentages(
            {shelf.pot: shelf.pots, shelf.hose: shelf.garden, shelf.lid: None}, NOW
        )
        none = await uow.sales.running_percentages({}, NOW)
        beyond = await uow.sales.running_percentages({10**12: None, -1: 10**12}, NOW)

    assert found == {shelf.pot: Decimal("12.50"), shelf.hose: Decimal(5)}
    assert none == beyond == {}


async def test_percentages_by_product_id_alone_follow_the_stored_categories(
    harness: Harness, shelf: Shelf
) -> None:
    await stored(
        harness,
        sale("Home", "10", -1, 1, categories=[shelf.home]),
        sale("Pot", "15", -1, 1, products=[shelf.pot]),
        sale("Lid", "30", -1, 1, products=[shelf.lid]),
        sale("Garden, later", "50", 1, 2, categories=[shelf.garden]),
    )
    everything = [shelf.pot, shelf.hose, shelf.lid]

    async with harness.uow() as uow:
        by_id = await uow.sales.running_percentages_of([*everything, 999, 10**12], NOW)
        given = await uow.sales.running_percentages(shelf.categories_of(), NOW)
        later = await uow.sales.running_percentages_of(everything, NOW + 1.5 * HOUR)
        none = await uow.sales.running_percentages_of([], NOW)

    assert by_id == given == {shelf.pot: Decimal(15), shelf.lid: Decimal(30)}
    assert later == {shelf.hose: Decimal(50)}
    assert none == {}


async def test_equal_sales_are_told_apart_the_same_way_everywhere(harness: Harness, shelf: Shelf) -> None:
    short, long, _ = await stored(
        harness,
        sale("Short", "20", -1, 1, products=[shelf.pot]),
        sale("Long", "20", -1, 3, categories=[shelf.home]),
        sale("Also long", "20", -1, 3, categories=[shelf.pots]),
    )

    async with harness.uow() as uow:
        found = await uow.sales.running({shelf.pot: shelf.pots}, NOW)

    assert found[shelf.pot].id == long.id  # lasts longest; then the older (smaller id)
    assert short.id is not None


async def test_the_next_boundary_is_the_next_start_or_end(harness: Harness, shelf: Shelf) -> None:
    async with harness.uow() as uow:
        assert await uow.sales.next_boundary(NOW) is None
    await stored(
        harness,
        sale("Running", "10", -1, 3, products=[shelf.pot]),
        sale("Later", "10", 2, 5, products=[shelf.pot]),
        sale("Over", "10", -5, -1, products=[shelf.pot]),
    )

    async with harness.uow() as uow:
        found = [await uow.sales.next_boundary(NOW + h * HOUR) for h in (-6, -1, 0, 2, 3, 4, 5)]

    assert found == [
        NOW - 5 * HOUR,
        NOW + 2 * HOUR,
        NOW + 2 * HOUR,
        NOW + 3 * HOUR,
        NOW + 5 * HOUR,
        NOW + 5 * HOUR,
        None,
    ]


# --- the catalog reader ------------------------------------------------------------------------------


async def test_reader_rows_say_whether_a_sale_runs_and_when_the_next_starts_or_ends(
    harness: Harness, shelf: Shelf
) -> None:
    reader = harness.reader

    async def outlook(hours: float | None) -> set[tuple[bool, datetime | None]]:
        now = None if hours is None else NOW + hours * HOUR
        rows, _ = await reader.products(ProductFilter(), offset=0, limit=10, now=now)
        detail = await reader.product(shelf.lid, include_inactive=False, now=now)
        return {(bool(r.sales_running), r.sales_change_at) for r in [*rows, detail]}

    assert await outlook(0) == {(False, None)}
    await stored(harness, sale("Garden", "10", 1, 3, categories=[shelf.garden]))

    assert await outlook(0) == {(False, NOW + HOUR)}
    assert await outlook(1) == {(True, NOW + 3 * HOUR)}
    assert await outlook(3) == {(False, None)}
    assert await outlook(None) == {(False, None)}  # no clock, no sales


async def test_the_reader_finds_running_sales_as_the_store_does(harness: Harness, shelf: Shelf) -> None:
    await stored(
        harness,
        sale("Home", "10", -1, 1, categories=[shelf.home]),
        sale("Lid", "30", -1, 1, products=[shelf.lid]),
    )

    found = await harness.reader.running_sales(shelf.categories_of(), NOW)
    async with harness.uow() as uow:
        expected = await uow.sales.running(shelf.categories_of(), NOW)

    assert found == expected
    assert summary(found) == {shelf.pot: ("Home", Decimal(10)), shelf.lid: ("Lid", Decimal(30))}
