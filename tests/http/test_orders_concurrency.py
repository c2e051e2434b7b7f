"""Orders under real concurrency, on PostgreSQL: the races where shops lose money.

Every burst below is started together with asyncio.gather on the app's own event loop (through an
ASGI transport), so the app serves the requests concurrently against one PostgreSQL database:
no overselling, no deadlock, no partial order, an Idempotency-Key that places once, a cart that
becomes one order, stock returned once, invoice numbers without gaps or duplicates.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shop_core.domain.actors import Actor
from shop_core.settings import Settings
from tests.conftest import make_settings
from tests.http.conftest import (
    PASSWORD,
    Account,
    Catalog,
    Client,
    engine_of,
    in_app,
    open_catalog,
    shop_of,
    unique_email,
)

ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "1 Main St",
    "city": "London",
    "postal_code": "N1",
    "country": "GB",
}
CHECKOUT = {"shipping_address": ADDRESS, "payment_method": "cod"}


@dataclass(frozen=True)
class Call:
    """One request of a burst."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None


async def burst(
    client: Client, calls: list[Call], *extra: Callable[[], Awaitable[Any]]
) -> tuple[list[httpx.Response], list[Any]]:
    """Send every call at once on the app's own loop (with any `extra` coroutine functions, e.g. a
    use case, started in the same gather); the responses in order, and what the extras returned."""

    async def run() -> tuple[list[httpx.Response], list[Any]]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as burst_client:
            results = await asyncio.gather(
                *(
                    burst_client.request(call.method, call.path, json=call.body, headers=call.headers)
                    for call in calls
                ),
                *(make() for make in extra),
            )
        return list(results[: len(calls)]), list(results[len(calls) :])

    answers: tuple[list[httpx.Response], list[Any]] = await in_app(client, run)
    return answers


async def answers_of(client: Client, calls: list[Call]) -> list[httpx.Response]:
    responses, _ = await burst(client, calls)
    return responses


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def no_server_errors(responses: list[httpx.Response]) -> None:
    failed = [r.text for r in responses if r.status_code >= 500]
    assert not failed, failed


async def customers(client: Client, count: int) -> list[Account]:
    """`count` customers, registered and logged in (each in one burst)."""
    emails = [unique_email("buyer") for _ in range(count)]
    registered = await answers_of(
        client, [Call("POST", "/api/auth/register/", {"email": e, "password": PASSWORD}) for e in emails]
    )
    assert statuses(registered) == {201: count}, {r.text for r in registered}
    logged_in = await answers_of(
        client, [Call("POST", "/api/auth/login/", {"email": e, "password": PASSWORD}) for e in emails]
    )
    assert statuses(logged_in) == {200: count}, {r.text for r in logged_in}
    return [
        Account(reg.json()["id"], email, PASSWORD, tok.json()["access"], tok.json()["refresh"])
        for email, reg, tok in zip(emails, registered, logged_in, strict=True)
    ]


def order_of(items: list[tuple[int, int]]) -> dict[str, Any]:
    return {"items": [{"product_id": p, "quantity": q} for p, q in items], **CHECKOUT}


def place(account: Account, items: list[tuple[int, int]], key: str | None = None) -> Call:
    headers = dict(account.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return Call("POST", "/api/orders/", order_of(items), headers)


async def stock_of(catalog: Catalog, product_id: int) -> int:
    found = await catalog.client.get(f"/api/products/{product_id}/", headers=catalog.staff.headers)
    assert found.status_code == 200, found.text
    stock: int = found.json()["stock_quantity"]
    return stock


async def all_orders(catalog: Catalog) -> list[dict[str, Any]]:
    """Every order, as staff list them (this suite never places more than 100 at once)."""
    found = await catalog.client.get("/api/orders/", params={"page_size": 100}, headers=catalog.staff.headers)
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["next"] is None
    assert body["count"] == len(body["results"])
    results: list[dict[str, Any]] = body["results"]
    return results


async def movements(catalog: Catalog, sku: str, reason: str) -> list[Any]:
    history = await in_app(catalog.client, shop_of(catalog.client).stock.stock_history, sku, Actor.operator())
    return [m for m in history if m.reason == reason]


async def read_sql(catalog: Catalog, statement: str, **params: Any) -> list[Any]:
    """A query run on the app's engine, on the app's loop."""

    async def run() -> list[Any]:
        async with engine_of(catalog.client).connect() as conn:
            return list((await conn.execute(sa.text(statement), params)).all())

    rows: list[Any] = await in_app(catalog.client, run)
    return rows


def quantities(order: dict[str, Any]) -> dict[int, int]:
    return {item["product_id"]: item["quantity"] for item in order["items"]}


async def cart_of(catalog: Catalog, account: Account) -> dict[str, Any]:
    found = await catalog.client.get("/api/cart/", headers=account.headers)
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


async def fill_cart(catalog: Catalog, account: Account, items: list[tuple[int, int]]) -> None:
    for product_id, quantity in items:
        added = await catalog.client.post(
            "/api/cart/add/", json={"product_id": product_id, "quantity": quantity}, headers=account.headers
        )
        assert added.status_code == 200, added.text


def invoice_number_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/pdf")
    assert response.content.startswith(b"%PDF")
    match = re.search(r'filename="([^"]+)\.pdf"', response.headers["content-disposition"])
    assert match, response.headers["content-disposition"]
    return match.group(1)


@pytest.fixture
async def shop_app(pg_url: str) -> AsyncIterator[Catalog]:
    """The app on PostgreSQL with a staff member and a customer, carts in the database."""
    async with open_catalog(make_settings(pg_url)) as opened:
        yield opened


@pytest.fixture(params=["postgres", "redis"])
def cart_settings(request: pytest.FixtureRequest, pg_url: str) -> Settings:
    """PostgreSQL, with the carts in it or in Redis."""
    if request.param == "redis":
        return make_settings(
            pg_url,
            redis_url=request.getfixturevalue("redis_url"),
            redis_key_prefix=request.getfixturevalue("redis_prefix"),
        )
    return make_settings(pg_url)


@pytest.fixture
async def cart_app(cart_settings: Settings) -> AsyncIterator[Catalog]:
    """As `shop_app`, with the carts in PostgreSQL or in Redis."""
    async with open_catalog(cart_settings) as opened:
        yield opened


# --- 1. no overselling ---------------------------------------------------------------------------


async def test_fifty_customers_racing_for_ten_units_buy_exactly_ten(pg_url: str) -> None:
    async with open_catalog(make_settings(pg_url, database_pool_size=60)) as catalog:
        lamp = await catalog.product("Lamp", "25.00", stock_quantity=10)
        buyers = await customers(catalog.client, 50)

        answers = await answers_of(catalog.client, [place(b, [(lamp["id"], 1)]) for b in buyers])

        assert statuses(answers) == {201: 10, 409: 40}, {r.text for r in answers}
        for refused in (r for r in answers if r.status_code == 409):
            body = refused.json()
            assert body["code"] == "insufficient_stock", body
            assert len(body["shortages"]) == 1, body
            short = body["shortages"][0]
            assert short["product_id"] == lamp["id"], body
            assert short["requested"] == 1, body
            assert 0 <= short["available"] < 1, body  # had one been left, this order would have got it
        placed = [r.json() for r in answers if r.status_code == 201]
        assert len({o["id"] for o in placed}) == 10
        assert all(quantities(o) == {lamp["id"]: 1} for o in placed)
        buyer_ids = {b.id for b in buyers}

        assert await stock_of(catalog, lamp["id"]) == 0
        orders = await all_orders(catalog)
        assert len(orders) == 10
        assert {o["id"] for o in orders} == {o["id"] for o in placed}
        rows = await read_sql(catalog, "SELECT user_id FROM orders")
        owners = [row.user_id for row in rows]
        assert len(set(owners)) == 10
        assert set(owners) <= buyer_ids
        sales = await movements(catalog, lamp["sku"], "sale")
        assert len(sales) == 10
        assert sorted(m.balance_after for m in sales) == list(range(10))  # 9, 8, ... 0: one unit each
        assert all(m.delta == -1 for m in sales)
        # Stock lives on the variant: it holds none either, and every sale names it.
        variant = await read_sql(
            catalog, "SELECT id, stock_quantity FROM product_variants WHERE product_id = :p", p=lamp["id"]
        )
        assert [row.stock_quantity for row in variant] == [0]
        sold_from = await read_sql(catalog, "SELECT variant_id FROM stock_movements WHERE reason = 'sale'")
        assert {row.variant_id for row in sold_from} == {variant[0].id}


# --- 2. opposite line orders cannot deadlock, and never make half an order ------------------------


@pytest.mark.parametrize("stock", [30, 15])
async def test_opposite_line_orders_neither_deadlock_nor_split(shop_app: Catalog, stock: int) -> None:
    catalog = shop_app
    a = await catalog.product("A", "3.00", stock_quantity=stock)
    b = await catalog.product("B", "4.00", stock_quantity=stock)
    buyers = await customers(catalog.client, 40)
    calls = [
        place(buyer, [(a["id"], 1), (b["id"], 1)] if n % 2 else [(b["id"], 1), (a["id"], 1)])
        for n, buyer in enumerate(buyers)
    ]

    answers = await answers_of(catalog.client, calls)

    no_server_errors(answers)
    assert set(statuses(answers)) <= {201, 409}, {r.text for r in answers}
    expected_placed = min(40, stock)
    assert statuses(answers)[201] == expected_placed, {r.text for r in answers}
    for refused in (r for r in answers if r.status_code == 409):
        body = refused.json()
        assert body["code"] == "insufficient_stock", body
        assert body["shortages"], body
        assert {s["product_id"] for s in body["shortages"]} <= {a["id"], b["id"]}
        assert all(s["available"] >= 0 for s in body["shortages"]), body
    placed = [r.json() for r in answers if r.status_code == 201]
    assert all(quantities(o) == {a["id"]: 1, b["id"]: 1} for o in placed), placed

    orders = await all_orders(catalog)
    assert len(orders) == len(placed)
    assert all(quantities(o) == {a["id"]: 1, b["id"]: 1} for o in orders), orders  # no partial order
    for product in (a, b):
        final = await stock_of(catalog, product["id"])
        assert final >= 0
        sold = sum(quantities(o).get(product["id"], 0) for o in orders)
        assert stock - final == sold
        assert len(await movements(catalog, product["sku"], "sale")) == len(orders)
    lines = await read_sql(catalog, "SELECT order_id, count(*) AS n FROM order_lines GROUP BY order_id")
    assert sorted(row.order_id for row in lines) == sorted(o["id"] for o in orders)
    assert all(row.n == 2 for row in lines)


# --- 3. one Idempotency-Key, ten requests at once: one order ----------------------------------------


async def test_ten_concurrent_orders_with_one_key_place_one(shop_app: Catalog) -> None:
    catalog, me = shop_app, shop_app.customer
    mug = await catalog.product("Mug", "9.50", stock_quantity=20)
    key = str(uuid.uuid4())

    answers = await answers_of(catalog.client, [place(me, [(mug["id"], 3)], key) for _ in range(10)])

    assert statuses(answers) == {201: 10}, {r.text for r in answers}
    assert len({r.json()["id"] for r in answers}) == 1
    assert len({r.json()["order_number"] for r in answers}) == 1
    assert len(await all_orders(catalog)) == 1
    assert await stock_of(catalog, mug["id"]) == 17
    assert len(await movements(catalog, mug["sku"], "sale")) == 1


async def test_ten_concurrent_checkouts_with_one_key_place_one(cart_app: Catalog) -> None:
    catalog, me = cart_app, cart_app.customer
    mug = await catalog.product("Mug", "9.50", stock_quantity=20)
    pen = await catalog.product("Pen", "1.25", stock_quantity=20)
    await fill_cart(catalog, me, [(mug["id"], 2), (pen["id"], 5)])
    headers = {**me.headers, "Idempotency-Key": str(uuid.uuid4())}

    answers = await answers_of(
        catalog.client, [Call("POST", "/api/cart/checkout/", CHECKOUT, headers) for _ in range(10)]
    )

    assert statuses(answers) == {201: 10}, {r.text for r in answers}
    assert len({r.json()["id"] for r in answers}) == 1
    assert quantities(answers[0].json()) == {mug["id"]: 2, pen["id"]: 5}
    assert len(await all_orders(catalog)) == 1
    assert (await cart_of(catalog, me))["items"] == []
    assert await stock_of(catalog, mug["id"]) == 18
    assert await stock_of(catalog, pen["id"]) == 15
    assert len(await movements(catalog, mug["sku"], "sale")) == 1
    assert len(await movements(catalog, pen["sku"], "sale")) == 1


async def test_one_key_with_different_bodies_at_once_places_one_order(shop_app: Catalog) -> None:
    catalog, me = shop_app, shop_app.customer
    mug = await catalog.product("Mug", "9.50", stock_quantity=20)
    key = str(uuid.uuid4())

    answers = await answers_of(catalog.client, [place(me, [(mug["id"], n)], key) for n in range(1, 6)])

    assert statuses(answers) == {201: 1, 409: 4}, {r.text for r in answers}
    for refused in (r for r in answers if r.status_code == 409):
        assert refused.json()["code"] == "idempotency_key_reused", refused.text
    (placed,) = [r.json() for r in answers if r.status_code == 201]
    assert len(await all_orders(catalog)) == 1
    assert await stock_of(catalog, mug["id"]) == 20 - quantities(placed)[mug["id"]]
    assert len(await movements(catalog, mug["sku"], "sale")) == 1


async def test_one_key_whose_order_cannot_be_served_takes_nothing(shop_app: Catalog) -> None:
    catalog, me = shop_app, shop_app.customer
    mug = await catalog.product("Mug", "9.50", stock_quantity=2)
    key = str(uuid.uuid4())

    answers = await answers_of(catalog.client, [place(me, [(mug["id"], 3)], key) for _ in range(5)])

    assert statuses(answers) == {409: 5}, {r.text for r in answers}
    assert {r.json()["code"] for r in answers} == {"insufficient_stock"}
    assert await all_orders(catalog) == []
    assert await stock_of(catalog, mug["id"]) == 2
    assert await read_sql(catalog, "SELECT key FROM idempotency_keys") == []  # the key is free again
    retried = await catalog.client.post(
        "/api/orders/", json=order_of([(mug["id"], 2)]), headers={**me.headers, "Idempotency-Key": key}
    )
    assert retried.status_code == 201, retried.text


# --- 4. a double click without a key: one order, the rest find the cart empty -------------------


async def test_five_concurrent_checkouts_without_a_key_place_one(cart_app: Catalog) -> None:
    catalog, me = cart_app, cart_app.customer
    mug = await catalog.product("Mug", "9.50", stock_quantity=20)
    pen = await catalog.product("Pen", "1.25", stock_quantity=20)
    await fill_cart(catalog, me, [(mug["id"], 2), (pen["id"], 1)])

    answers = await answers_of(
        catalog.client, [Call("POST", "/api/cart/checkout/", CHECKOUT, me.headers) for _ in range(5)]
    )

    assert statuses(answers) == {201: 1, 400: 4}, {r.text for r in answers}
    for refused in (r for r in answers if r.status_code == 400):
        assert "cart" in refused.json().get("errors", {}), refused.text
    (placed,) = [r.json() for r in answers if r.status_code == 201]
    assert quantities(placed) == {mug["id"]: 2, pen["id"]: 1}
    assert len(await all_orders(catalog)) == 1
    assert (await cart_of(catalog, me))["items"] == []
    assert await stock_of(catalog, mug["id"]) == 18
    assert await stock_of(catalog, pen["id"]) == 19
    assert len(await movements(catalog, mug["sku"], "sale")) == 1


# --- 5. concurrent cancels return the stock once ---------------------------------------------------


@pytest.mark.parametrize("cancels", [2, 10])
async def test_concurrent_cancels_return_the_stock_once(shop_app: Catalog, cancels: int) -> None:
    catalog, me = shop_app, shop_app.customer
    mug = await catalog.product("Mug", "9.50", stock_quantity=20)
    pen = await catalog.product("Pen", "1.25", stock_quantity=20)
    placed = await catalog.client.post(
        "/api/orders/", json=order_of([(mug["id"], 4), (pen["id"], 2)]), headers=me.headers
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    assert await stock_of(catalog, mug["id"]) == 16

    answers = await answers_of(
        catalog.client, [Call("DELETE", f"/api/orders/{order_id}/", None, me.headers) for _ in range(cancels)]
    )

    assert statuses(answers) == {200: 1, 409: cancels - 1}, {r.text for r in answers}
    (cancelled,) = [r.json() for r in answers if r.status_code == 200]
    assert cancelled["status"] == "cancelled"
    for refused in (r for r in answers if r.status_code == 409):
        assert refused.json()["code"], refused.text
    assert await stock_of(catalog, mug["id"]) == 20
    assert await stock_of(catalog, pen["id"]) == 20
    for product in (mug, pen):
        returned = await movements(catalog, product["sku"], "cancellation")
        assert len(returned) == 1, returned
    again = await catalog.client.get(f"/api/orders/{order_id}/", headers=me.headers)
    assert again.json()["status"] == "cancelled"


# --- 6. invoices: one per order, numbered without gaps -------------------------------------------


async def test_ten_concurrent_invoice_requests_issue_one_invoice(shop_app: Catalog) -> None:
    catalog, me = shop_app, shop_app.customer
    mug = await catalog.product("Mug", "9.50", stock_quantity=20)
    placed = await catalog.client.post("/api/orders/", json=order_of([(mug["id"], 1)]), headers=me.headers)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    paid = await catalog.client.patch(  # invoices are numbered once paid
        f"/api/orders/{order_id}/", json={"status": "paid"}, headers=catalog.staff.headers
    )
    assert paid.status_code == 200, paid.text

    answers = await answers_of(
        catalog.client, [Call("GET", f"/api/orders/{order_id}/invoice/", None, me.headers) for _ in range(10)]
    )

    numbers = {invoice_number_of(r) for r in answers}
    year = datetime.now(UTC).year
    assert numbers == {f"INV-{year}-000001"}
    assert len({r.content for r in answers}) == 1  # the one stored PDF, every time
    rows = await read_sql(catalog, "SELECT order_id, sequence FROM invoices")
    assert [(r.order_id, r.sequence) for r in rows] == [(order_id, 1)]
    counters = await read_sql(catalog, "SELECT year, last FROM invoice_counters")
    assert [(r.year, r.last) for r in counters] == [(year, 1)]


async def test_invoices_for_eight_orders_at_once_are_numbered_without_gaps(shop_app: Catalog) -> None:
    catalog, me = shop_app, shop_app.customer
    mug = await catalog.product("Mug", "9.50", stock_quantity=20)
    order_ids = []
    for _ in range(8):
        placed = await catalog.client.post(
            "/api/orders/", json=order_of([(mug["id"], 1)]), headers=me.headers
        )
        assert placed.status_code == 201, placed.text
        order_ids.append(placed.json()["id"])
    for order_id in order_ids:  # invoices are numbered once paid
        paid = await catalog.client.patch(
            f"/api/orders/{order_id}/", json={"status": "paid"}, headers=catalog.staff.headers
        )
        assert paid.status_code == 200, paid.text
    calls = [Call("GET", f"/api/orders/{i}/invoice/", None, me.headers) for i in order_ids]

    answers = await answers_of(catalog.client, calls)

    numbers = [invoice_number_of(r) for r in answers]
    by_order = dict(zip(order_ids, numbers, strict=True))
    year = datetime.now(UTC).year
    assert sorted(by_order.values()) == [f"INV-{year}-{n:06d}" for n in range(1, 9)]
    rows = await read_sql(catalog, "SELECT order_id, sequence FROM invoices ORDER BY sequence")
    assert [r.sequence for r in rows] == list(range(1, 9))
    assert {r.order_id: f"INV-{year}-{r.sequence:06d}" for r in rows} == by_order
    counters = await read_sql(catalog, "SELECT year, last FROM invoice_counters")
    assert [(r.year, r.last) for r in counters] == [(year, 8)]


# --- 7. the expiry job racing the customers' cancels ----------------------------------------------


async def test_expiry_racing_cancels_cancels_each_order_once(pg_url: str) -> None:
    async with open_catalog(make_settings(pg_url, order_payment_timeout=1, cod_order_timeout=1)) as catalog:
        mug = await catalog.product("Mug", "9.50", stock_quantity=50)
        pen = await catalog.product("Pen", "1.25", stock_quantity=50)
        buyers = await customers(catalog.client, 12)
        placed = await answers_of(
            catalog.client, [place(b, [(mug["id"], 2), (pen["id"], 1)]) for b in buyers]
        )
        assert statuses(placed) == {201: 12}, {r.text for r in placed}
        assert await stock_of(catalog, mug["id"]) == 26

        async def backdate() -> None:
            async with engine_of(catalog.client).begin() as conn:
                await conn.execute(sa.text("UPDATE orders SET created_at = created_at - interval '1 hour'"))

        await in_app(catalog.client, backdate)
        cancels = [
            Call("DELETE", f"/api/orders/{r.json()['id']}/", None, b.headers)
            for b, r in zip(buyers, placed, strict=True)
        ]

        answers, (expired,) = await burst(
            catalog.client, cancels, shop_of(catalog.client).orders.expire_unpaid_orders
        )

        no_server_errors(answers)
        assert set(statuses(answers)) <= {200, 409}, {r.text for r in answers}
        assert statuses(answers)[200] + expired == 12, (statuses(answers), expired)
        orders = await all_orders(catalog)
        assert len(orders) == 12
        assert {o["status"] for o in orders} == {"cancelled"}
        assert await stock_of(catalog, mug["id"]) == 50
        assert await stock_of(catalog, pen["id"]) == 50
        for product in (mug, pen):
            returned = await movements(catalog, product["sku"], "cancellation")
            assert len(returned) == 12, returned
            assert sorted(m.note for m in returned) == sorted(o["order_number"] for o in orders)
        assert await in_app(catalog.client, shop_of(catalog.client).orders.expire_unpaid_orders) == 0
