"""One contract for the catalog's repositories and reader: SQL on SQLite and PostgreSQL, and the fakes."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from shop_core.adapters.sql.catalog_reader import SqlCatalogReader
from shop_core.adapters.sql.database import Database, open_database
from shop_core.adapters.sql.unit_of_work import SqlUnitOfWork
from shop_core.adapters.system_clock import SystemClock
from shop_core.domain.catalog import Category, Product
from shop_core.domain.errors import Conflict
from shop_core.domain.stock import StockMovement
from shop_core.ports.catalog import CatalogReader, ProductFilter
from shop_core.ports.persistence import UnitOfWorkFactory
from tests.fakes import FakeCatalogReader, FakeDatabase, FakeUnitOfWork
from tests.integration.conftest import FAKE, POSTGRES, SQLITE, Backend, resolve_backend

T0 = datetime(2025, 3, 4, 5, 6, 7, 123_000, tzinfo=UTC)
MAX_ID = 2**31 - 1


@dataclass
class Harness:
    uow: UnitOfWorkFactory
    reader: CatalogReader
    database: Database | None = None
    """The SQL database, for what only SQL can check (its constraints)."""


@pytest.fixture(params=[SQLITE, POSTGRES, FAKE])
def backend(request: pytest.FixtureRequest) -> Backend:
    return resolve_backend(request)


@pytest.fixture
async def harness(backend: Backend) -> AsyncIterator[Harness]:
    if backend.is_sql:
        db = open_database(backend.url)
        yield Harness(
            lambda: SqlUnitOfWork(db.sessions, clock=SystemClock()), SqlCatalogReader(db.engine, db.reads), db
        )
        await db.close()
    else:
        fake = FakeDatabase()
        yield Harness(lambda: FakeUnitOfWork(fake), FakeCatalogReader(fake))


@pytest.fixture
def uow(harness: Harness) -> UnitOfWorkFactory:
    return harness.uow


@pytest.fixture
def reader(harness: Harness) -> CatalogReader:
    return harness.reader


def product(sku: str, **fields: Any) -> Product:
    values: dict[str, Any] = {
        "name": sku.lower(),
        "slug": sku.lower(),
        "sku": sku,
        "price": 1000,
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(fields)
    return Product(**values)


async def add_categories(uow: UnitOfWorkFactory, *categories: Category) -> list[int]:
    async with uow() as tx:
        added = [await tx.categories.add(c) for c in categories]
        await tx.commit()
    return [c.id for c in added if c.id is not None]


async def add_category(uow: UnitOfWorkFactory, name: str, parent: int | None = None) -> int:
    [category_id] = await add_categories(uow, Category(name=name, slug=name.lower(), parent_id=parent))
    return category_id


async def add_products(uow: UnitOfWorkFactory, *products: Product) -> list[int]:
    async with uow() as tx:
        added = [await tx.products.add(p) for p in products]
        await tx.commit()
    return [p.id for p in added if p.id is not None]


async def load(uow: UnitOfWorkFactory, product_id: int) -> Product:
    async with uow() as tx:
        found = await tx.products.get(product_id)
    assert found is not None
    return found


def columns(item: Product) -> dict[str, Any]:
    return {f.name: getattr(item, f.name) for f in dataclasses.fields(Product)}


# --- categories ----------------------------------------------------------------------------


async def test_categories_are_stored_as_a_tree(uow: UnitOfWorkFactory) -> None:
    home = await add_category(uow, "Home")
    lamps = await add_category(uow, "Lamps", home)
    garden = await add_category(uow, "Garden")
    async with uow() as tx:
        found = await tx.categories.get(lamps)
        assert found is not None
        assert (found.name, found.slug, found.parent_id, found.description) == ("Lamps", "lamps", home, "")
        assert await tx.categories.parents() == {home: None, lamps: home, garden: None}
        assert [c.name for c in await tx.categories.all()] == ["Home", "Lamps", "Garden"]
        assert await tx.categories.has_children(home) is True
        assert await tx.categories.has_children(lamps) is False


UNKNOWN_IDS = [999, 0, -1, MAX_ID, MAX_ID + 1, 2**63 - 1, 2**63]


async def test_an_unknown_category_is_none(uow: UnitOfWorkFactory) -> None:
    await add_category(uow, "Home")
    async with uow() as tx:
        for category_id in UNKNOWN_IDS:
            assert await tx.categories.get(category_id) is None, category_id


async def test_a_duplicate_category_slug_is_a_conflict(uow: UnitOfWorkFactory) -> None:
    await add_category(uow, "Home")
    with pytest.raises(Conflict):
        await add_categories(uow, Category(name="Other", slug="home"))
    async with uow() as tx:
        assert [c.name for c in await tx.categories.all()] == ["Home"]


async def test_category_slug_taken(uow: UnitOfWorkFactory) -> None:
    home = await add_category(uow, "Home")
    async with uow() as tx:
        assert await tx.categories.slug_taken("home") is True
        assert await tx.categories.slug_taken("home", other_than=home) is False
        assert await tx.categories.slug_taken("garden") is False


async def test_save_and_delete_a_category(uow: UnitOfWorkFactory) -> None:
    home = await add_category(uow, "Home")
    garden = await add_category(uow, "Garden")
    async with uow() as tx:
        found = await tx.categories.get(home)
        assert found is not None
        found.name, found.slug, found.parent_id = "House", "house", garden
        await tx.categories.save(found)
        await tx.commit()
    async with uow() as tx:
        again = await tx.categories.get(home)
        assert again is not None
        assert (again.name, again.slug, again.parent_id) == ("House", "house", garden)
        again.slug = "garden"
        with pytest.raises(Conflict):
            await tx.categories.save(again)
    async with uow() as tx:
        gone = await tx.categories.get(home)
        assert gone is not None
        await tx.categories.delete(gone)
        await tx.commit()
    async with uow() as tx:
        assert await tx.categories.get(home) is None
        assert await tx.categories.parents() == {garden: None}


async def test_has_products(uow: UnitOfWorkFactory) -> None:
    home = await add_category(uow, "Home")
    garden = await add_category(uow, "Garden")
    await add_products(uow, product("A", category_id=home))
    async with uow() as tx:
        assert await tx.categories.has_products(home) is True
        assert await tx.categories.has_products(garden) is False


# --- products ------------------------------------------------------------------------------


async def test_an_added_product_comes_back_whole(uow: UnitOfWorkFactory) -> None:
    home = await add_category(uow, "Home")
    original = product(
        "L-1",
        name="Desk Lamp",
        slug="desk-lamp",
        description="Warm\nlight",
        category_id=home,
        price=1999,
        cost_price=850,
        discount_percentage=Decimal("12.50"),
        stock_quantity=7,
        image_url="https://img.example/l.png",
        is_active=False,
        updated_at=T0 + timedelta(hours=1),
    )
    expected = columns(original)
    [product_id] = await add_products(uow, original)
    found = await load(uow, product_id)
    assert columns(found) == expected | {"id": product_id}
    assert found.created_at.utcoffset() == timedelta(0)
    assert found.final_price == 1749


async def test_products_are_found_by_sku(uow: UnitOfWorkFactory) -> None:
    ids = await add_products(uow, product("A"), product("B"), product("C"))
    async with uow() as tx:
        by_sku = await tx.products.get_by_sku("B")
        assert by_sku is not None
        assert by_sku.id == ids[1]
        assert await tx.products.get_by_sku("b") is None
        assert await tx.products.get_by_sku("Z") is None
        found = await tx.products.by_skus(["A", "C", "Z"])
        assert {sku: p.id for sku, p in found.items()} == {"A": ids[0], "C": ids[2]}
        assert await tx.products.by_skus([]) == {}
        assert await tx.products.slugs_in_use() == {"a", "b", "c"}


async def test_an_unknown_product_is_none(uow: UnitOfWorkFactory) -> None:
    await add_products(uow, product("A"))
    async with uow() as tx:
        for product_id in UNKNOWN_IDS:
            assert await tx.products.get(product_id) is None, product_id
            assert await tx.products.get(product_id, for_update=True) is None, product_id


async def test_slug_taken(uow: UnitOfWorkFactory) -> None:
    """(Whether a sku is taken is `variants.sku_owner`'s: products' and variants' skus alike.)"""
    [a, _] = await add_products(uow, product("A"), product("B"))
    async with uow() as tx:
        assert await tx.products.slug_taken("b") is True
        assert await tx.products.slug_taken("a", other_than=a) is False
        assert await tx.products.slug_taken("b", other_than=a) is True


@pytest.mark.parametrize("clash", [{"sku": "A"}, {"slug": "a"}])
async def test_a_duplicate_sku_or_slug_is_a_conflict(uow: UnitOfWorkFactory, clash: dict[str, str]) -> None:
    await add_products(uow, product("A"))
    with pytest.raises(Conflict):
        await add_products(uow, dataclasses.replace(product("B"), **clash))
    async with uow() as tx:
        assert list(await tx.products.by_skus(["A", "B"])) == ["A"]


async def test_save_persists_changes_and_refuses_clashes(uow: UnitOfWorkFactory) -> None:
    [a, _] = await add_products(uow, product("A"), product("B"))
    async with uow() as tx:
        found = await tx.products.get(a, for_update=True)
        assert found is not None
        found.name, found.price, found.discount_percentage = "Renamed", 5, Decimal("99.99")
        await tx.products.save(found)
        await tx.commit()
    again = await load(uow, a)
    assert (again.name, again.price, again.discount_percentage) == ("Renamed", 5, Decimal("99.99"))
    for clash in ({"sku": "B"}, {"slug": "b"}):
        async with uow() as tx:
            found = await tx.products.get(a)
            assert found is not None
            for name, value in clash.items():
                setattr(found, name, value)
            with pytest.raises(Conflict):
                await tx.products.save(found)
    assert (await load(uow, a)).sku == "A"


async def test_saving_a_negative_stock_is_refused(uow: UnitOfWorkFactory) -> None:
    [a] = await add_products(uow, product("A", stock_quantity=1))
    async with uow() as tx:
        found = await tx.products.get(a)
        assert found is not None
        found.stock_quantity = -1
        with pytest.raises(Conflict):
            await tx.products.save(found)
    assert (await load(uow, a)).stock_quantity == 1


async def test_delete_a_product_with_its_movements(uow: UnitOfWorkFactory) -> None:
    [a, b] = await add_products(uow, product("A"), product("B"))
    async with uow() as tx:
        await tx.stock.add_many([movement(a, 5), movement(b, 2)])
        await tx.commit()
    async with uow() as tx:
        found = await tx.products.get(a)
        assert found is not None
        await tx.products.delete(found)
        await tx.commit()
    async with uow() as tx:
        assert await tx.products.get(a) is None
        assert await tx.stock.for_product(a) == []
        assert await tx.stock.total(b) == 2


async def test_add_many_assigns_ids_and_is_all_or_nothing(uow: UnitOfWorkFactory) -> None:
    batch = [product(f"S-{n}") for n in range(5)]
    async with uow() as tx:
        await tx.products.add_many(batch)
        await tx.products.add_many([])
        await tx.commit()
    ids = [p.id for p in batch]
    assert all(i is not None for i in ids)
    assert len(set(ids)) == 5
    async with uow() as tx:
        with pytest.raises(Conflict):
            await tx.products.add_many([product("T-1"), product("S-2")])
    async with uow() as tx:
        assert await tx.products.get_by_sku("T-1") is None


async def test_page_goes_by_id(uow: UnitOfWorkFactory) -> None:
    ids = await add_products(uow, *(product(f"S-{n}") for n in range(7)))
    async with uow() as tx:
        first = await tx.products.page(offset=0, limit=3)
        last = await tx.products.page(offset=6, limit=3)
        beyond = await tx.products.page(offset=7, limit=3)
    assert [p.id for p in first] == ids[:3]
    assert [p.id for p in last] == ids[6:]
    assert beyond == []


# --- change_stock --------------------------------------------------------------------------


async def test_change_stock_moves_the_stock_and_answers_the_balance(uow: UnitOfWorkFactory) -> None:
    [a] = await add_products(uow, product("A", stock_quantity=10))
    async with uow() as tx:
        assert await tx.products.change_stock(a, -3) == 7
        assert await tx.products.change_stock(a, 5) == 12
        assert await tx.products.change_stock(a, -12) == 0
        await tx.commit()
    assert (await load(uow, a)).stock_quantity == 0


async def test_change_stock_below_zero_is_none_and_changes_nothing(uow: UnitOfWorkFactory) -> None:
    [a] = await add_products(uow, product("A", stock_quantity=2))
    before = await load(uow, a)
    async with uow() as tx:
        assert await tx.products.change_stock(a, -3) is None
        assert await tx.products.change_stock(999, 1) is None
        await tx.commit()
    after = await load(uow, a)
    assert (after.stock_quantity, after.updated_at) == (2, before.updated_at)


async def test_change_stock_keeps_a_loaded_product_in_step(uow: UnitOfWorkFactory) -> None:
    [a] = await add_products(uow, product("A", stock_quantity=4))
    async with uow() as tx:
        loaded = await tx.products.get(a, for_update=True)
        assert loaded is not None
        assert await tx.products.change_stock(a, -1) == 3
        assert loaded.stock_quantity == 3
        await tx.commit()
    assert (await load(uow, a)).stock_quantity == 3


async def test_an_uncommitted_stock_change_is_dropped(uow: UnitOfWorkFactory) -> None:
    [a] = await add_products(uow, product("A", stock_quantity=4))
    async with uow() as tx:
        assert await tx.products.change_stock(a, -4) == 0
    assert (await load(uow, a)).stock_quantity == 4


# --- stock movements -----------------------------------------------------------------------


def movement(product_id: int, delta: int, balance: int = 0, reason: str = "restock") -> StockMovement:
    return StockMovement(
        product_id=product_id, delta=delta, reason=reason, balance_after=balance, created_at=T0, actor="ada"
    )


async def test_movements_are_listed_newest_first_and_summed(uow: UnitOfWorkFactory) -> None:
    [a, b] = await add_products(uow, product("A"), product("B"))
    async with uow() as tx:
        await tx.stock.add(movement(a, 10, 10, "initial"))
        await tx.stock.add_many([movement(a, -3, 7, "sale"), movement(b, 4, 4), movement(a, 5, 12)])
        await tx.stock.add_many([])
        await tx.commit()
    async with uow() as tx:
        history = await tx.stock.for_product(a)
        assert [(m.delta, m.reason, m.balance_after, m.actor) for m in history] == [
            (5, "restock", 12, "ada"),
            (-3, "sale", 7, "ada"),
            (10, "initial", 10, "ada"),
        ]
        assert all(m.id is not None for m in history)
        assert history[0].created_at == T0
        assert [m.delta for m in await tx.stock.for_product(a, limit=2)] == [5, -3]
        assert await tx.stock.total(a) == 12
        assert await tx.stock.total(b) == 4
        assert await tx.stock.total(999) == 0


async def test_an_added_movement_has_an_id(uow: UnitOfWorkFactory) -> None:
    [a] = await add_products(uow, product("A"))
    recorded = movement(a, 1)
    async with uow() as tx:
        await tx.stock.add(recorded)
        assert recorded.id is not None
        await tx.commit()


# --- what only the database can enforce ----------------------------------------------------


@pytest.mark.parametrize("backend", [SQLITE, POSTGRES], indirect=True)
async def test_the_database_refuses_negative_stock_even_from_raw_sql(harness: Harness) -> None:
    assert harness.database is not None
    [a] = await add_products(harness.uow, product("A", stock_quantity=1))
    engine = harness.database.engine
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(sa.text("UPDATE products SET stock_quantity = -1 WHERE id = :id"), {"id": a})
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO products (name, slug, sku, price, stock_quantity, created_at, updated_at)"
                    " VALUES ('b', 'b', 'B', 1, -5, :t, :t)"
                ),
                {"t": T0},
            )
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(sa.text("UPDATE products SET price = -1 WHERE id = :id"), {"id": a})
    assert (await load(harness.uow, a)).stock_quantity == 1


# --- the reader ----------------------------------------------------------------------------


@dataclass
class Shelf:
    """Categories Home > Lighting > Lamps > Desk > Tiny (five deep) and Garden, with products."""

    ids: dict[str, int]


@pytest.fixture
async def shelf(uow: UnitOfWorkFactory) -> Shelf:
    ids: dict[str, int] = {}
    parent = None
    for name in ("Home", "Lighting", "Lamps", "Desk", "Tiny"):
        parent = ids[name] = await add_category(uow, name, parent)
    ids["Garden"] = await add_category(uow, "Garden")
    rows = [
        # sku, name, price, stock, category, active, description, created minutes after T0
        ("H-1", "armchair", 24900, 2, "Home", True, "deep and soft", 5),
        ("L-1", "desk lamp", 1999, 5, "Desk", True, "50% brighter", 1),
        ("L-2", "floor lamp", 8900, 0, "Lamps", True, "tall_and_bright", 2),
        ("L-3", "tiny lamp", 1999, 9, "Tiny", True, "a lamp for a doll house", 2),
        ("G-1", "rake", 1500, 7, "Garden", True, "steel teeth", 3),
        ("G-2", "old rake", 900, 3, "Garden", False, "discontinued", 4),
        ("X-1", "gift card", 2500, 1000, None, True, "any amount", 6),
    ]
    products = [
        product(
            sku,
            name=name,
            price=price,
            stock_quantity=stock,
            category_id=ids[category] if category else None,
            is_active=active,
            description=description,
            created_at=T0 + timedelta(minutes=minutes),
            cost_price=100,
            discount_percentage=Decimal("10.00"),
        )
        for sku, name, price, stock, category, active, description, minutes in rows
    ]
    for sku, product_id in zip([r[0] for r in rows], await add_products(uow, *products), strict=True):
        ids[sku] = product_id
    return Shelf(ids)


async def skus(reader: CatalogReader, offset: int = 0, limit: int = 50, **query: Any) -> list[str]:
    rows, _ = await reader.products(ProductFilter(**query), offset=offset, limit=limit)
    return [r.sku for r in rows]


ACTIVE = ["H-1", "L-1", "L-2", "L-3", "G-1", "X-1"]


async def test_reader_rows_carry_the_columns_and_category_name(reader: CatalogReader, shelf: Shelf) -> None:
    rows, total = await reader.products(ProductFilter(), offset=0, limit=50)
    assert total == len(ACTIVE)
    assert [r.sku for r in rows] == ACTIVE
    lamp = rows[1]
    assert (lamp.id, lamp.name, lamp.slug, lamp.category_id) == (
        shelf.ids["L-1"],
        "desk lamp",
        "l-1",
        shelf.ids["Desk"],
    )
    assert lamp.category_name == "Desk"
    assert (lamp.price, lamp.cost_price, lamp.discount_percentage) == (1999, 100, Decimal("10.00"))
    assert (lamp.stock_quantity, lamp.is_active, lamp.image_url) == (5, True, "")
    assert lamp.created_at == T0 + timedelta(minutes=1)
    assert rows[-1].category_name is None


async def test_reader_includes_inactive_only_when_asked(reader: CatalogReader, shelf: Shelf) -> None:
    assert "G-2" not in await skus(reader)
    assert "G-2" in await skus(reader, include_inactive=True)
    assert await reader.product(shelf.ids["G-2"], include_inactive=False) is None
    found = await reader.product(shelf.ids["G-2"], include_inactive=True)
    assert found is not None
    assert (found.sku, found.category_name) == ("G-2", "Garden")


async def test_reader_unknown_ids_are_none_or_nothing(reader: CatalogReader, shelf: Shelf) -> None:
    for unknown in UNKNOWN_IDS:
        assert await reader.product(unknown, include_inactive=True) is None, unknown
        assert await reader.category(unknown) is None, unknown
        assert await reader.children(unknown) == [], unknown
        assert await reader.products(ProductFilter(category_id=unknown), offset=0, limit=50) == ([], 0), (
            unknown
        )


DESCENDANTS = {
    "Home": ["H-1", "L-1", "L-2", "L-3"],
    "Lighting": ["L-1", "L-2", "L-3"],
    "Lamps": ["L-1", "L-2", "L-3"],
    "Desk": ["L-1", "L-3"],
    "Tiny": ["L-3"],
    "Garden": ["G-1"],
}


async def test_reader_category_includes_every_descendant(reader: CatalogReader, shelf: Shelf) -> None:
    for category, expected in DESCENDANTS.items():
        assert await skus(reader, category_id=shelf.ids[category]) == expected, category


SEARCHES = {
    "lamp": ["L-1", "L-2", "L-3"],
    "LAMP": ["L-1", "L-2", "L-3"],
    "g-1": ["G-1"],
    "50%": ["L-1"],  # % is literal, not a wildcard
    "%": ["L-1"],
    "_": ["L-2"],  # so is _
    "t_ll": [],
    "\\": [],
    "rake": ["G-1"],  # the inactive one stays hidden
    "no such thing": [],
    "lamp\x00": [],  # no stored text holds a NUL (PostgreSQL refuses to even compare one)
}


async def test_reader_search(reader: CatalogReader, shelf: Shelf) -> None:
    for search, expected in SEARCHES.items():
        assert await skus(reader, search=search) == expected, search


async def test_reader_search_ignores_case_beyond_ascii(uow: UnitOfWorkFactory, reader: CatalogReader) -> None:
    await add_products(
        uow,
        product("C-1", name="CRÈME BRÛLÉE", slug="creme"),
        product("C-2", name="Ärger", slug="arger"),
        product("C-3", name="plain", slug="plain", description="ΣΟΦΊΑ"),
    )
    assert await skus(reader, search="brûlée") == ["C-1"]
    assert await skus(reader, search="Crème Brûlée") == ["C-1"]
    assert await skus(reader, search="ärger") == ["C-2"]
    assert await skus(reader, search="σοφία") == ["C-3"]


async def test_reader_price_stock_and_low_stock_filters(reader: CatalogReader, shelf: Shelf) -> None:
    assert await skus(reader, min_price=1999, max_price=8900) == ["L-1", "L-2", "L-3", "X-1"]
    assert await skus(reader, min_price=24901) == []
    assert await skus(reader, max_price=1500, include_inactive=True) == ["G-1", "G-2"]
    assert await skus(reader, in_stock=True) == ["H-1", "L-1", "L-3", "G-1", "X-1"]
    assert await skus(reader, low_stock_below=3, include_inactive=True) == ["H-1", "L-2"]
    assert await skus(reader, category_id=shelf.ids["Home"], in_stock=True, search="lamp") == ["L-1", "L-3"]


ORDERINGS = {
    "id": ACTIVE,
    "price": ["G-1", "L-1", "L-3", "X-1", "L-2", "H-1"],  # equal prices: by id
    "-price": ["H-1", "L-2", "X-1", "L-1", "L-3", "G-1"],
    "name": ["H-1", "L-1", "L-2", "X-1", "G-1", "L-3"],
    "-name": ["L-3", "G-1", "X-1", "L-2", "L-1", "H-1"],
    "created_at": ["L-1", "L-2", "L-3", "G-1", "H-1", "X-1"],
    "-created_at": ["X-1", "H-1", "G-1", "L-3", "L-2", "L-1"],  # equal times: newest id first
}


async def test_reader_orderings(reader: CatalogReader, shelf: Shelf) -> None:
    for ordering, expected in ORDERINGS.items():
        assert await skus(reader, ordering=ordering) == expected, ordering


PAGES = [
    (0, 4, ACTIVE[:4]),
    (4, 4, ACTIVE[4:]),  # a short last page
    (3, 3, ACTIVE[3:]),  # a full last page
    (0, 6, ACTIVE),
    (6, 3, []),
    (100, 3, []),
]


async def test_reader_pages_always_count_every_match(reader: CatalogReader, shelf: Shelf) -> None:
    for offset, limit, expected in PAGES:
        rows, total = await reader.products(ProductFilter(), offset=offset, limit=limit)
        assert ([r.sku for r in rows], total) == (expected, 6), (offset, limit)
        _, filtered = await reader.products(ProductFilter(search="lamp"), offset=offset, limit=limit)
        assert filtered == 3, (offset, limit)


async def test_reader_categories(reader: CatalogReader, shelf: Shelf) -> None:
    page, total = await reader.categories(offset=1, limit=2)
    assert total == 6
    assert [(c.name, c.parent_id) for c in page] == [
        ("Lighting", shelf.ids["Home"]),
        ("Lamps", shelf.ids["Lighting"]),
    ]
    assert await reader.categories(offset=10, limit=2) == ([], 6)
    found = await reader.category(shelf.ids["Desk"])
    assert found is not None
    assert (found.id, found.name, found.slug, found.parent_id) == (
        shelf.ids["Desk"],
        "Desk",
        "desk",
        shelf.ids["Lamps"],
    )
    assert await reader.category(999) is None
    assert await reader.category(MAX_ID + 1) is None
    assert [c.name for c in await reader.children(shelf.ids["Lamps"])] == ["Desk"]
    assert await reader.children(shelf.ids["Tiny"]) == []


async def test_reader_sees_commits_only(uow: UnitOfWorkFactory, reader: CatalogReader, shelf: Shelf) -> None:
    async with uow() as tx:
        await tx.products.add(product("N-1"))
        assert "N-1" not in await skus(reader)
        await tx.commit()
    assert "N-1" in await skus(reader)


async def test_products_added_in_bulk_first_thing_in_a_unit_go_with_its_rollback(
    uow: UnitOfWorkFactory,
) -> None:
    async with uow() as tx:  # the bulk add is the unit's first statement (a COPY on PostgreSQL)
        await tx.products.add_generated([product("BULK-1"), product("BULK-2")])
        # no commit: the unit rolls back
    async with uow() as tx:
        assert await tx.products.by_skus(["BULK-1", "BULK-2"]) == {}
        await tx.products.add_generated([product("BULK-3")])
        await tx.commit()
    async with uow() as tx:
        assert set(await tx.products.by_skus(["BULK-1", "BULK-3"])) == {"BULK-3"}
