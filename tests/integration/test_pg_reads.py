"""The catalog's reads on PostgreSQL straight through asyncpg (adapters/sql/pg_reads.py): the same
rows as SQLAlchemy's, on a pool of their own that survives lost connections, says when the
database cannot be reached, and hands back no connection in an unknown state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from shop_core.adapters.sql.catalog_reader import SqlCatalogReader
from shop_core.adapters.sql.database import Database, open_database, unreachable
from shop_core.adapters.sql.orm import products
from shop_core.adapters.sql.pg_reads import PgReads
from shop_core.adapters.sql.unit_of_work import SqlUnitOfWork
from shop_core.domain.catalog import Category, Product
from shop_core.domain.sales import Sale
from shop_core.domain.variants import Variant
from shop_core.ports.catalog import ProductFilter
from tests.conftest import POSTGRES_ADMIN_URL
from tests.fakes import FakeClock
from tests.integration.test_catalog_contract import T0

pytestmark = pytest.mark.postgres
HOUR = timedelta(hours=1)


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[Database]:
    db = open_database(pg_url, pool_size=3)  # the reads' pool: 3 connections
    assert db.reads is not None
    yield db
    await db.close()


def reads_of(db: Database) -> PgReads:
    assert db.reads is not None
    return db.reads


async def shelf(db: Database) -> dict[str, int]:
    """Home > Lamps; a lamp in Lamps with two variants (one inactive), discounted 12.5%; a rug in
    Home, inactive; a loose lid; and a sale of 20% on Home running from T0 to T0 + 2h."""
    uow = lambda: SqlUnitOfWork(db.sessions, clock=FakeClock(T0))  # noqa: E731
    async with uow() as tx:
        home = await tx.categories.add(Category("Home", "home"))
        lamps = await tx.categories.add(Category("Lamps", "lamps", parent_id=home.id))
        options = [{"name": "Colour", "values": ["Red", "Blue"]}]
        lamp = await tx.products.add(
            Product(
                "Lamp «Ü»",
                "lamp",
                "LAMP",
                1999,
                T0,
                T0,
                category_id=lamps.id,
                discount_percentage=Decimal("12.50"),
                description="A lamp: ünïcode, 'quotes' and \\ too",
                options=options,
            )
        )
        rug = await tx.products.add(
            Product("Rug", "rug", "RUG", 5000, T0, T0, category_id=home.id, is_active=False)
        )
        lid = await tx.products.add(Product("Lid", "lid", "LID", 500, T0, T0 + HOUR, stock_quantity=3))
        await tx.commit()
    assert lamp.id is not None
    async with uow() as tx:
        await tx.variants.add(
            Variant(lamp.id, "LAMP-R", {"Colour": "Red"}, 2100, 4, 800, True, created_at=T0, updated_at=T0)
        )
        await tx.variants.add(
            Variant(lamp.id, "LAMP-B", {"Colour": "Blue"}, None, 0, None, False, created_at=T0, updated_at=T0)
        )
        await tx.sales.add(
            Sale(
                name="Home days",
                percentage=Decimal("20.00"),
                starts_at=T0,
                ends_at=T0 + 2 * HOUR,
                category_ids=frozenset({home.id}),
                created_at=T0,
                updated_at=T0,
            )
        )
        await tx.commit()
    found = {"home": home.id, "lamps": lamps.id, "lamp": lamp.id, "rug": rug.id, "lid": lid.id}
    assert None not in found.values()
    return found  # type: ignore[return-value]


def as_read(row: Any) -> tuple[tuple[str, ...], tuple[tuple[type, Any], ...]]:
    """A row's column names and values, each with its type (Decimal("1") == 1, but not here)."""
    return tuple(row._fields), tuple((type(v), v) for v in row)


async def test_pages_and_products_are_read_as_sqlalchemy_reads_them(pg: Database) -> None:
    ids = await shelf(pg)
    through_engine, through_asyncpg = SqlCatalogReader(pg.engine), SqlCatalogReader(pg.engine, pg.reads)
    filters = [
        ProductFilter(),
        ProductFilter(include_inactive=True, ordering="-price"),
        ProductFilter(category_id=ids["home"], ordering="name"),
        ProductFilter(search="lamp", min_price=1000, max_price=3000),
        ProductFilter(search="100%_\\", ordering="-created_at"),
        ProductFilter(in_stock=True, include_inactive=True, low_stock_below=5),
        ProductFilter(category_id=ids["lamps"] + 100),
    ]
    for now in (None, T0 - HOUR, T0 + HOUR, T0 + 3 * HOUR):
        for flt in filters:
            for offset, limit in ((0, 20), (1, 1), (5, 20)):
                expected = await through_engine.products(flt, offset=offset, limit=limit, now=now)
                found = await through_asyncpg.products(flt, offset=offset, limit=limit, now=now)
                assert [as_read(r) for r in found[0]] == [as_read(r) for r in expected[0]], (flt, now)
                assert found[1] == expected[1]
        for product_id in (*ids.values(), 10**6):
            for staff in (False, True):
                expected_row = await through_engine.product(product_id, include_inactive=staff, now=now)
                found_row = await through_asyncpg.product(product_id, include_inactive=staff, now=now)
                assert (found_row is None) == (expected_row is None)
                if found_row is not None:
                    assert as_read(found_row) == as_read(expected_row)
    lamp = await through_asyncpg.product(ids["lamp"], include_inactive=True, now=T0 + HOUR)
    assert lamp is not None
    assert (lamp.name, lamp.discount_percentage, lamp.sales_running) == ("Lamp «Ü»", Decimal("12.50"), 1)
    assert [(v["sku"], v["options"], v["price"], v["is_active"]) for v in lamp.variants][-2:] == [
        ("LAMP-R", {"Colour": "Red"}, 2100, True),
        ("LAMP-B", {"Colour": "Blue"}, None, False),
    ]
    assert lamp.created_at.tzinfo is not None


async def test_the_reads_go_through_asyncpg_and_the_engine_sends_none_of_them(pg: Database) -> None:
    ids = await shelf(pg)
    reader = SqlCatalogReader(pg.engine, pg.reads)
    sent_by_engine: list[str] = []
    sent_by_asyncpg: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent_by_engine.append(statement)

    event.listen(pg.engine.sync_engine, "before_cursor_execute", record)
    reads_of(pg).listeners.append(sent_by_asyncpg.append)
    try:
        await reader.products(ProductFilter(), offset=0, limit=1, now=T0)  # the page and the count
        await reader.product(ids["lid"], include_inactive=False, now=T0)
        await reader.categories(offset=0, limit=10)  # not a hot read: through the engine
    finally:
        event.remove(pg.engine.sync_engine, "before_cursor_execute", record)
    assert len(sent_by_asyncpg) == 3
    assert len(sent_by_engine) == 2
    assert all("FROM categories" in s for s in sent_by_engine)


async def test_a_statement_compiled_per_execution_goes_through_the_engine(pg: Database) -> None:
    ids = await shelf(pg)
    wanted = (
        sa.select(products.c.sku).where(products.c.id.in_([ids["lid"], ids["rug"]])).order_by(products.c.sku)
    )
    assert reads_of(pg).plan(wanted) is None  # an expanding IN: its SQL depends on the values
    async with reads_of(pg).connect() as connection:
        assert [row.sku for row in (await connection.execute(wanted)).all()] == ["LID", "RUG"]
        by_id = sa.select(products.c.sku).where(products.c.id == sa.bindparam("id"))
        assert await connection.scalar(by_id, {"id": ids["lamp"]}) == "LAMP"


async def terminate_backends(url: str) -> int:
    """Kill every other connection to the database `url` names (what a server restart does)."""
    name = sa.make_url(url).database
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL.replace("+asyncpg", ""))
    try:
        killed = await connection.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await connection.close()
    return len(killed)


async def test_reads_go_on_after_their_connections_were_killed(pg: Database, pg_url: str) -> None:
    ids = await shelf(pg)
    reader = SqlCatalogReader(pg.engine, pg.reads)
    await asyncio.gather(*(reader.product(ids["lid"], include_inactive=False) for _ in range(3)))
    assert await terminate_backends(pg_url) >= 3

    found = await asyncio.gather(*(reader.product(ids["lid"], include_inactive=False) for _ in range(3)))
    assert [row.sku for row in found] == ["LID"] * 3
    assert reads_of(pg).in_use == 0  # the lost connections were counted back too (the metrics' gauge)


async def test_an_unreachable_database_is_said_to_be_unreachable(pg_url: str) -> None:
    for url in (
        pg_url.rsplit("/", 1)[0] + "/shop_no_such_database",  # 3D000
        "postgresql+asyncpg://postgres@127.0.0.1:1/shop",  # nothing listens: connection refused
    ):
        db = open_database(url)
        try:
            with pytest.raises(Exception) as raised:  # noqa: PT011 - any error, as long as it says so
                await SqlCatalogReader(db.engine, db.reads).product(1, include_inactive=False)
            assert unreachable(raised.value), raised.value
            assert db.reads is not None
            assert db.reads.in_use == db.reads.idle == 0  # none was opened, none is counted
        finally:
            await db.close()


async def test_after_closing_no_read_is_made_and_none_is_left_open(pg: Database, pg_url: str) -> None:
    ids = await shelf(pg)
    reader = SqlCatalogReader(pg.engine, pg.reads)
    assert await reader.product(ids["lid"], include_inactive=False) is not None
    await pg.close()

    with pytest.raises(ConnectionError) as raised:
        await reader.product(ids["lid"], include_inactive=False)
    assert unreachable(raised.value)
    assert await terminate_backends(pg_url) == 0  # the pool's connections were closed


async def test_a_read_cancelled_mid_query_hands_back_no_connection(pg: Database) -> None:
    await shelf(pg)
    reads = reads_of(pg)
    slow = sa.select(sa.func.pg_sleep(5).label("slept"))
    started = asyncio.Event()
    reads.listeners.append(lambda _sql: started.set())

    async def read_slowly() -> None:
        async with reads.connect() as connection:
            await connection.execute(slow)

    task = asyncio.create_task(read_slowly())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert reads.idle == 0  # thrown away, not handed back mid-query
    assert reads.in_use == 0

    async with reads.connect() as connection:
        assert await connection.scalar(sa.select(sa.literal(1))) == 1


async def test_no_more_connections_than_the_pool_holds(pg: Database, pg_url: str) -> None:
    """Concurrent reads beyond the pool's size wait for a connection rather than open more."""
    ids = await shelf(pg)
    reader = SqlCatalogReader(pg.engine, pg.reads)

    async def count_backends() -> int:
        name = sa.make_url(pg_url).database
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL.replace("+asyncpg", ""))
        try:
            found = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%outlook%'", name
            )
        finally:
            await connection.close()
        return int(found)

    results = await asyncio.gather(*(reader.product(ids["lid"], include_inactive=False) for _ in range(12)))
    assert all(r is not None for r in results)
    assert await count_backends() == reads_of(pg)._pool.idle == 3


async def plans_made(reads: PgReads) -> tuple[int, int]:
    """(generic, custom) plans made of the page statements prepared on the last connection used."""
    counts = sa.text(
        "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) FROM pg_prepared_statements"
        " WHERE statement LIKE '%outlook%' AND statement LIKE '%LIMIT%'"
        " AND statement NOT LIKE '%pg_prepared_statements%'"
    )
    async with reads.connect() as connection:
        generic, custom = (await connection.execute(counts)).all()[0]
    return int(generic), int(custom)


async def test_every_page_is_planned_for_its_own_values(pg: Database) -> None:
    """A generic plan does not know the page's LIMIT: for the deferred join it hash-joined every
    product to the page's ids, a scan of the whole catalog per page. Pages get custom plans."""
    ids = await shelf(pg)
    reader = SqlCatalogReader(pg.engine, pg.reads)
    for page in range(3):
        await reader.products(ProductFilter(in_stock=True, ordering="-price"), offset=page, limit=1, now=T0)
    for page in range(3):
        await reader.products(ProductFilter(category_id=ids["home"]), offset=page, limit=1, now=T0)
    generic, custom = await plans_made(reads_of(pg))
    assert generic == 0
    assert custom == 6  # each read planned with its own category, LIMIT and OFFSET


async def test_only_postgresql_without_echo_reads_through_asyncpg(pg_url: str, sqlite_url: str) -> None:
    """SQLite has no such path, and with SHOP_DATABASE_ECHO every statement goes through the
    engine (and its log)."""
    for db in (open_database(sqlite_url), open_database(pg_url, echo=True)):
        try:
            assert db.reads is None
        finally:
            await db.close()
