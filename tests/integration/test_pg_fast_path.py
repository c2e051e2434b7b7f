"""The PostgreSQL fast path (adapters/sql/pg_fast_path.py): its statements run in the unit of work's
transaction, its one use of SQLAlchemy's private API still matches the installed SQLAlchemy, its
positional parameters are numbered from the column lists, and the time it stamps is the Clock's."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.engine.interfaces import AdaptedConnection

from shop_core.adapters.sql import pg_fast_path
from shop_core.adapters.sql.database import Database, open_database
from shop_core.adapters.sql.orm import products
from shop_core.adapters.sql.pg_fast_path import SQLALCHEMY_PRIVATE_API, forget_connection
from shop_core.adapters.sql.unit_of_work import SqlUnitOfWork
from tests.fakes import FakeClock
from tests.integration.conftest import POSTGRES, SQLITE, Backend, resolve_backend
from tests.integration.test_catalog_contract import T0, add_products, load, product

STOCK = 10


# --- what the fast path takes from SQLAlchemy ------------------------------------------------------


def test_the_private_sqlalchemy_api_it_uses_is_still_there() -> None:
    """If this fails after a SQLAlchemy upgrade, the fast path would send its statements outside
    the unit of work's transaction: read `_begin_sqlalchemy_transaction` against the new adapter."""
    adapter = AsyncAdapt_asyncpg_connection
    slots = {name for cls in adapter.__mro__ for name in getattr(cls, "__slots__", ())}
    transaction, start = SQLALCHEMY_PRIVATE_API
    assert transaction in slots, f"{adapter.__name__}.{transaction} is gone"
    assert callable(getattr(adapter, start, None)), f"{adapter.__name__}.{start}() is gone"
    assert issubclass(adapter, AdaptedConnection)
    assert isinstance(AdaptedConnection.driver_connection, property)  # the public way to asyncpg


# --- positional parameters -------------------------------------------------------------------------


def placeholders(statement: str) -> set[int]:
    return {int(n) for n in re.findall(r"\$(\d+)", statement)}


@pytest.mark.parametrize(
    ("statement", "parameters"),
    [
        (pg_fast_path._PLACE_ORDER, pg_fast_path._place),
        (pg_fast_path._CLAIM_KEY, pg_fast_path._claim),
        (pg_fast_path._TAKE_STOCK, pg_fast_path._take),
        (pg_fast_path._ADD_JOB, pg_fast_path._job),
    ],
)
def test_every_placeholder_is_numbered_from_a_name_and_each_name_is_used(
    statement: str, parameters: pg_fast_path._Parameters
) -> None:
    assert placeholders(statement) == set(range(1, len(parameters.names) + 1))
    assert len(set(parameters.names)) == len(parameters.names)


def test_the_order_placement_sends_one_value_per_column() -> None:
    names = pg_fast_path._place.names
    # 28 order columns, 13 + 8 + 6 arrays, the keys, the fingerprint, whether to confirm the user
    # the job recorded with the order (its name, status and max_attempts) and whether its voucher's
    # use for everyone was held before
    assert len(names) == 63
    assert names[: len(pg_fast_path.ORDER_COLUMNS)] == [f"orders.{c}" for c in pg_fast_path.ORDER_COLUMNS]
    with pytest.raises(KeyError, match="fingerprint"):
        pg_fast_path._place.values({n: None for n in names if n != "fingerprint"})


def test_a_name_asked_for_again_gets_its_number_again() -> None:
    parameters = pg_fast_path._Parameters(["first"])
    assert [parameters("second"), parameters("first", "text"), parameters("second", "int[]")] == [
        "$2",
        "$1::text",
        "$2::int[]",
    ]
    assert parameters.values({"second": "b", "first": "a"}) == ["a", "b"]


# --- in the unit of work's transaction -------------------------------------------------------------


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[Database]:
    db = open_database(pg_url)
    yield db
    await db.close()


def unit_of_work(db: Database, clock: FakeClock | None = None) -> SqlUnitOfWork:
    return SqlUnitOfWork(db.sessions, clock=clock or FakeClock(T0))


async def stock_seen_elsewhere(db: Database, product_id: int) -> int:
    """The stock as another connection sees it (what is committed)."""
    async with db.engine.connect() as connection:
        query = sa.select(products.c.stock_quantity).where(products.c.id == product_id)
        found = await connection.scalar(query)
    assert isinstance(found, int)
    return found


@pytest.mark.postgres
async def test_a_statement_sent_first_is_in_the_transaction_and_rolls_back_with_it(pg: Database) -> None:
    [product_id] = await add_products(lambda: unit_of_work(pg), product("FAST", stock_quantity=STOCK))
    async with unit_of_work(pg) as tx:
        taken = await tx.products.take_stock(product_id, 3)  # the transaction's first statement
        assert taken is not None
        assert taken.stock_quantity == STOCK - 3
        assert await stock_seen_elsewhere(pg, product_id) == STOCK  # not autocommitted
        # SQLAlchemy's next statement runs in the same transaction: it sees the fast path's write.
        seen = await tx.products.get(product_id)
        assert seen is not None
        assert seen.stock_quantity == STOCK - 3
    assert await stock_seen_elsewhere(pg, product_id) == STOCK


@pytest.mark.postgres
async def test_the_fast_path_and_sqlalchemy_commit_and_roll_back_together(pg: Database) -> None:
    [product_id] = await add_products(lambda: unit_of_work(pg), product("BOTH", stock_quantity=STOCK))
    for commit in (False, True):
        async with unit_of_work(pg) as tx:
            await tx.products.change_stock(product_id, -1)  # SQLAlchemy begins the transaction
            assert await tx.products.take_stock(product_id, 2) is not None  # and the fast path joins it
            if commit:
                await tx.commit()
            else:
                await tx.rollback()
        assert await stock_seen_elsewhere(pg, product_id) == (STOCK - 3 if commit else STOCK)


@pytest.mark.postgres
async def test_after_a_commit_the_session_finds_its_connection_again(pg: Database) -> None:
    [product_id] = await add_products(lambda: unit_of_work(pg), product("AGAIN", stock_quantity=STOCK))
    async with pg.sessions() as session:
        fast = await pg_fast_path.pg_fast_path(session)
        assert fast is not None
        assert await pg_fast_path.pg_fast_path(session) is fast  # kept for the transaction
        await fast.take_stock(product_id, 1, T0, None)
        await session.commit()
        forget_connection(session)
        again = await pg_fast_path.pg_fast_path(session)
        assert again is not None
        assert again is not fast
        await again.take_stock(product_id, 1, T0, None)
        await session.rollback()  # the second transaction's statement goes with it
    assert await stock_seen_elsewhere(pg, product_id) == STOCK - 1


async def test_sqlite_has_no_fast_path(sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    try:
        async with db.sessions() as session:
            assert await pg_fast_path.pg_fast_path(session) is None
    finally:
        await db.close()


# --- the time it stamps ----------------------------------------------------------------------------


@pytest.fixture(params=[SQLITE, POSTGRES])
def backend(request: pytest.FixtureRequest) -> Backend:
    return resolve_backend(request)


async def test_a_stock_change_stamps_the_product_with_the_clocks_time(backend: Backend) -> None:
    db = open_database(backend.url)
    clock = FakeClock(T0)
    try:
        uow = lambda: unit_of_work(db, clock)  # noqa: E731
        [product_id] = await add_products(uow, product("TIMED", stock_quantity=STOCK))
        clock.advance(60)
        async with uow() as tx:
            assert await tx.products.take_stock(product_id, 1) is not None  # the fast path on PostgreSQL
            await tx.commit()
        assert (await load(uow, product_id)).updated_at == T0 + timedelta(seconds=60)
        clock.advance(60)
        async with uow() as tx:
            assert await tx.products.change_stock(product_id, 5) == STOCK + 4
            await tx.commit()
        assert (await load(uow, product_id)).updated_at == T0 + timedelta(seconds=120)
    finally:
        await db.close()
