"""A voucher with a `usage_limit` has its use held before the order's transaction, on PostgreSQL:
counted and committed by a statement of its own, so checkouts with the voucher queue on its row for
that one statement, not for a whole order placement. The order then counts only the customer's
use; an order that is not stored gives the held use back.

Each test holds a product's stock row in a transaction of its own (as a concurrent checkout would),
so that the checkout waits there, after its hold and before its order is stored, and looks at the
voucher from outside meanwhile."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg
import httpx

from tests.conftest import make_settings
from tests.http.conftest import Catalog, assert_error, open_catalog
from tests.http.test_cart_vouchers import add_voucher, sql, used_count
from tests.http.test_orders_concurrency import Call, answers_of
from tests.http.test_vouchers_concurrency import order_with

WAIT = 30.0  # seconds: far more than any step needs on a loaded machine; never reached when it works


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for `condition` (a database state another task brings about), polling it."""
    deadline = time.monotonic() + WAIT
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


@asynccontextmanager
async def stock_held(
    pg_url: str, product_id: int, *, empty: bool = False
) -> AsyncIterator[asyncpg.Connection]:
    """The product's default variant row locked by an open transaction (`empty`: its stock set to 0
    in it), committed when the block ends."""
    connection = await asyncpg.connect(pg_url.replace("+asyncpg", ""))
    try:
        async with connection.transaction():
            await connection.execute(
                "UPDATE product_variants SET stock_quantity = CASE WHEN $2 THEN 0 ELSE stock_quantity END"
                " WHERE product_id = $1 AND is_default",
                product_id,
                empty,
            )
            yield connection
    finally:
        await connection.close()


async def waiting_on_a_lock(watcher: asyncpg.Connection) -> bool:
    """Whether some backend of this database waits for a row lock (the checkout, on the stock)."""
    found = await watcher.fetchval(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return bool(found)


async def voucher_row(watcher: asyncpg.Connection, code: str) -> tuple[int, int]:
    """(used_count, the customers' counted uses) as committed: what any other transaction sees."""
    row = await watcher.fetchrow(
        "SELECT v.used_count, COALESCE((SELECT sum(count) FROM voucher_uses u WHERE u.voucher_id = v.id), 0)"
        " FROM vouchers v WHERE v.code = $1",
        code,
    )
    assert row is not None
    return int(row[0]), int(row[1])


async def place_while_stock_is_held(
    catalog: Catalog, pg_url: str, product_id: int, code: str, *, empty: bool
) -> tuple[httpx.Response, tuple[int, int]]:
    """Place an order with the voucher while another transaction holds the product's stock row;
    what the voucher's row showed (committed) while the order waited, and the order's answer."""
    watcher = await asyncpg.connect(pg_url.replace("+asyncpg", ""))
    try:
        async with stock_held(pg_url, product_id, empty=empty):
            call = Call("POST", "/api/orders/", order_with(product_id, code), dict(catalog.customer.headers))
            # On the app's own loop, in a thread: this loop goes on watching the database meanwhile.
            order = asyncio.create_task(answers_of(catalog.client, [call]))
            await until(lambda: waiting_on_a_lock(watcher), "the checkout to wait on the stock row")
            while_waiting = await voucher_row(watcher, code)
        [answer] = await asyncio.wait_for(order, WAIT)
    finally:
        await watcher.close()
    return answer, while_waiting


async def test_the_use_is_committed_before_the_order_and_counted_once(pg_url: str) -> None:
    async with open_catalog(make_settings(pg_url)) as catalog:
        lamp = await catalog.product("Lamp", "25.00", stock_quantity=5)
        await add_voucher(catalog, "HELD10", usage_limit=3, per_customer_limit=2)

        answer, while_waiting = await place_while_stock_is_held(
            catalog, pg_url, lamp["id"], "HELD10", empty=False
        )

        # While the order waited for the stock, its use for everyone was already counted and
        # committed; the customer's own use is counted with the order.
        assert while_waiting == (1, 0)
        assert answer.status_code == 201, answer.text
        assert answer.json()["voucher_code"] == "HELD10"
        assert await used_count(catalog, "HELD10") == 1
        uses = await sql(catalog, "SELECT user_id, count FROM voucher_uses")
        assert [(row.user_id, row.count) for row in uses] == [(catalog.customer.id, 1)]


async def test_an_order_refused_after_the_hold_gives_the_use_back(pg_url: str) -> None:
    async with open_catalog(make_settings(pg_url)) as catalog:
        lamp = await catalog.product("Lamp", "25.00", stock_quantity=5)
        await add_voucher(catalog, "HELD10", usage_limit=3)

        # The other transaction sells the last lamps while the order waits: it is then short.
        answer, while_waiting = await place_while_stock_is_held(
            catalog, pg_url, lamp["id"], "HELD10", empty=True
        )

        assert while_waiting == (1, 0)
        assert answer.status_code == 409, answer.text
        assert answer.json()["code"] == "insufficient_stock"
        assert await used_count(catalog, "HELD10") == 0
        assert await sql(catalog, "SELECT * FROM voucher_uses") == []
        assert await sql(catalog, "SELECT * FROM orders") == []


async def test_a_customer_over_their_own_limit_is_refused_and_the_hold_given_back(pg_url: str) -> None:
    async with open_catalog(make_settings(pg_url)) as catalog:
        lamp = await catalog.product("Lamp", "25.00", stock_quantity=5)
        # The last use for everyone, which the customer may not have: they used theirs already.
        await add_voucher(catalog, "ONCE", usage_limit=2, per_customer_limit=1)
        first = await catalog.client.post(
            "/api/orders/", json=order_with(lamp["id"], "ONCE"), headers=catalog.customer.headers
        )
        assert first.status_code == 201, first.text

        answer, while_waiting = await place_while_stock_is_held(
            catalog, pg_url, lamp["id"], "ONCE", empty=False
        )

        assert while_waiting == (2, 1)  # held: the voucher's last use, for now
        assert_error(answer, 409, "voucher_exhausted")
        assert await used_count(catalog, "ONCE") == 1  # given back: another customer may have it
        orders = await sql(catalog, "SELECT voucher_code FROM orders")
        assert [row.voucher_code for row in orders] == ["ONCE"]
        stock = await catalog.client.get(f"/api/products/{lamp['id']}/", headers=catalog.staff.headers)
        assert stock.json()["stock_quantity"] == 4


async def test_a_voucher_without_a_limit_holds_nothing(pg_url: str) -> None:
    async with open_catalog(make_settings(pg_url)) as catalog:
        lamp = await catalog.product("Lamp", "25.00", stock_quantity=5)
        await add_voucher(catalog, "OPEN10", per_customer_limit=1)

        answer, while_waiting = await place_while_stock_is_held(
            catalog, pg_url, lamp["id"], "OPEN10", empty=False
        )

        assert while_waiting == (0, 0)
        assert answer.status_code == 201, answer.text
        uses = await sql(catalog, "SELECT count FROM voucher_uses")
        assert [row.count for row in uses] == [1]
