"""The catalog under concurrency and volume, on PostgreSQL (and the embedded SQLite where it applies)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
import sqlalchemy as sa

from shop_core.adapters.sql.database import open_database
from shop_core.adapters.sql.orm import stock_movements
from shop_core.adapters.sql.unit_of_work import SqlUnitOfWork
from shop_core.adapters.system_clock import SystemClock
from shop_core.domain.actors import Actor
from shop_core.domain.errors import Conflict
from shop_core.services.catalog_commands import ChangeStock, CreateCategory, CreateProduct, ProductQuery
from shop_core.services.catalog_import import read_csv
from tests.conftest import make_settings, shop_factory
from tests.integration.test_catalog_contract import add_products, load, product

RACERS = 30
STOCK = 10


@pytest.mark.postgres
async def test_concurrent_decrements_on_separate_connections_never_oversell(pg_url: str) -> None:
    db = open_database(pg_url, pool_size=RACERS)
    try:
        uow = lambda: SqlUnitOfWork(db.sessions, clock=SystemClock())  # noqa: E731
        [product_id] = await add_products(uow, product("HOT", stock_quantity=STOCK))
        everyone_read = asyncio.Barrier(RACERS)

        async def take_one() -> int | None:
            async with uow() as tx:
                seen = await tx.products.get(product_id)  # each holds its own connection and transaction
                assert seen is not None
                assert seen.stock_quantity == STOCK
                await everyone_read.wait()  # all of them saw 10 in stock before anyone took one
                balance = await tx.products.change_stock(product_id, -1)
                await tx.commit()
            return balance

        async with asyncio.timeout(30):
            results = await asyncio.gather(*(take_one() for _ in range(RACERS)))

        assert results.count(None) == RACERS - STOCK
        assert sorted(r for r in results if r is not None) == list(range(STOCK))
        assert (await load(uow, product_id)).stock_quantity == 0
    finally:
        await db.close()


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
def url(request: pytest.FixtureRequest) -> str:
    found: str = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    return found


async def test_concurrent_stock_changes_through_the_shop_record_one_movement_each(url: str) -> None:
    async with shop_factory(make_settings(url, database_pool_size=RACERS)) as shop:
        created = await shop.catalog.create_product(
            CreateProduct(name="Hot item", sku="HOT", price=Decimal(5), stock_quantity=STOCK),
            Actor("staff", is_staff=True),
        )
        await asyncio.gather(
            *(shop.ports.reader.product(created.id, include_inactive=True) for _ in range(10))
        )

        async with asyncio.timeout(60):
            results = await asyncio.gather(
                *(
                    shop.stock.change_stock(
                        ChangeStock(sku="HOT", delta=-1, reason="sale"), Actor(f"racer {n}", is_staff=True)
                    )
                    for n in range(RACERS)
                ),
                return_exceptions=True,
            )

        sold = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, BaseException)]
        assert len(sold) == STOCK
        assert all(isinstance(r, Conflict) for r in refused), refused
        assert sorted(m.balance_after for m in sold) == list(range(STOCK))
        history = await shop.stock.stock_history("HOT", Actor.operator())
        assert [m.reason for m in history].count("sale") == STOCK
        assert sum(m.delta for m in history) == 0
        detail = await shop.catalog.get_product(created.id, staff=True)
        assert b'"stock_quantity":0' in detail


@pytest.mark.postgres
async def test_ten_thousand_rows_import_on_postgres(pg_url: str) -> None:
    rows = 10_000
    async with shop_factory(make_settings(pg_url)) as shop:
        home = await shop.catalog.create_category(CreateCategory(name="Home"), Actor.operator())
        await shop.catalog.create_category(CreateCategory(name="Lamps", parent=home.id), Actor.operator())
        lines = ["sku,name,price,category,stock_quantity,description"]
        for n in range(1, rows + 1):
            category = ("Home > Lamps", "Home", "")[n % 3]
            lines.append(
                f"SKU-{n:05d},Item {n % 500},{n % 997}.{n % 100:02d},{category},{n % 50},Thing number {n}"
            )
        bad = [
            "BAD-1,Broken,abc,,1,x",  # a price that is not a number
            "BAD-2,Nowhere,1,Attic,1,x",  # an unknown category
            "BAD-3,Nul\x00here,1,,1,x",  # PostgreSQL cannot store NUL in text
            "SKU-00001,Again,1,,1,x",  # a sku already in the file
        ]
        data = ("\n".join(lines[:5001] + bad + lines[5001:]) + "\n").encode()
        progress: list[int] = []

        report = await shop.catalog.import_products(
            read_csv(data), Actor("importer", is_staff=True), progress=progress.append
        )

        assert (report.created, report.updated, report.unchanged) == (rows, 0, 0)
        reasons = dict(report.rejected)
        assert list(reasons) == [5002, 5003, 5004, 5005]
        assert "price" in reasons[5002]
        assert "unknown category 'Attic'" in reasons[5003]
        assert "NUL" in reasons[5004]
        assert "already appears on line 2" in reasons[5005]
        assert sum(progress) == rows + len(bad)  # every row read, the rejected ones too
        page = await shop.catalog.list_products(ProductQuery(), page=1, page_size=20, staff=True)
        assert page.count == rows
        lamps = await shop.catalog.list_products(
            ProductQuery(category=home.id), page=1, page_size=20, staff=False
        )
        assert lamps.count == rows - rows // 3
        async with shop.ports.uow() as tx:
            sample = await tx.products.get_by_sku("SKU-04321")
            assert sample is not None
            assert (sample.price, sample.stock_quantity, sample.name) == (33321, 21, "Item 321")
        db = open_database(pg_url)
        async with db.engine.connect() as conn:
            movements = await conn.scalar(sa.select(sa.func.count()).select_from(stock_movements))
            total = await conn.scalar(sa.select(sa.func.sum(stock_movements.c.delta)))
        await db.close()
        assert movements == sum(1 for n in range(1, rows + 1) if n % 50)
        assert total == sum(n % 50 for n in range(1, rows + 1))

        again = await shop.catalog.import_products(read_csv(data), Actor("importer", is_staff=True))
        assert (again.created, again.updated, again.unchanged, len(again.rejected)) == (0, 0, rows, 4)


async def test_a_rejected_row_for_a_stored_product_changes_nothing_in_the_database(url: str) -> None:
    async with shop_factory(make_settings(url)) as shop:
        for sku, name in (("A", "Lamp"), ("B", "Mug")):
            await shop.catalog.create_product(
                CreateProduct(name=name, sku=sku, price=Decimal(1), stock_quantity=3),
                Actor("staff", is_staff=True),
            )
        data = (
            b"sku,name,price,discount_percentage,slug,stock_quantity\n"
            b"A,Renamed,5,150,,9\n"  # a discount the products table's CHECK refuses
            b"B,Renamed too,6,0,lamp,9\n"  # the slug of another product
            b"C,New,7,0,,1\n"
        )
        report = await shop.catalog.import_products(read_csv(data), Actor("importer", is_staff=True))
        assert (report.created, report.updated, report.unchanged) == (1, 0, 0)
        assert [line for line, _ in report.rejected] == [2, 3]
        async with shop.ports.uow() as tx:
            stored = await tx.products.by_skus(["A", "B", "C"])
        assert [(p.name, p.price, p.slug, p.stock_quantity) for _, p in sorted(stored.items())] == [
            ("Lamp", 100, "lamp", 3),
            ("Mug", 100, "mug", 3),
            ("New", 700, "new", 1),
        ]
        assert [m.delta for m in await shop.stock.stock_history("A", Actor.operator())] == [3]
