"""API.md's Orders table (and checkout from the cart) as a client sees it.

The core flows (placing, listing, checkout, idempotency, cancelling) run on both databases; the
rules (bad input, who sees what, the order's life, invoices) run on the embedded SQLite default.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from shop_core.domain.orders import TRANSITIONS, OrderStatus
from shop_core.settings import Settings
from tests.conftest import make_settings
from tests.http.conftest import (
    PAGE_FIELDS,
    Account,
    Catalog,
    Client,
    assert_error,
    assert_utc,
    money,
    new_account,
    open_catalog,
)

ORDER_FIELDS = {
    "id",
    "order_number",
    "status",
    "payment_status",
    "payment_method",
    "currency",
    "items",
    "subtotal",
    "discount_amount",
    "tax_amount",
    "shipping_cost",
    "total_price",
    "shipping_address",
    "billing_address",
    "created_at",
    "updated_at",
    "paid_at",
    "delivered_at",
}
ITEM_FIELDS = {
    "product_id",
    "product_name",
    "sku",
    "unit_price",
    "final_unit_price",
    "quantity",
    "line_total",
}
ADDRESS_FIELDS = {"full_name", "line1", "line2", "city", "postal_code", "country", "phone"}
ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}
REQUIRED_ADDRESS_FIELDS = ("full_name", "line1", "city", "postal_code", "country")


def priced_settings(url: str) -> Settings:
    """15% tax, 4.99 shipping, free from 100.00 of goods."""
    return make_settings(
        url, tax_rate=Decimal("0.15"), shipping_flat=Decimal("4.99"), free_shipping_over=Decimal("100")
    )


@pytest.fixture
async def shop(database_url: str) -> AsyncIterator[Catalog]:
    """The shop on each database (SQLite and PostgreSQL), with tax and shipping."""
    async with open_catalog(priced_settings(database_url)) as opened:
        yield opened


@pytest.fixture
async def app(sqlite_url: str) -> AsyncIterator[Catalog]:
    """The shop on the embedded SQLite default, with tax and shipping."""
    async with open_catalog(priced_settings(sqlite_url)) as opened:
        yield opened


# --- helpers -------------------------------------------------------------------------------------


def order_body(items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"items": items, "shipping_address": dict(ADDRESS), "payment_method": "cod", **extra}


async def place(
    client: Client,
    who: Account,
    items: list[tuple[int, int]],
    *,
    key: str | None = None,
    **extra: Any,
) -> httpx.Response:
    headers = dict(who.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    body = order_body([{"product_id": p, "quantity": q} for p, q in items], **extra)
    return await client.post("/api/orders/", json=body, headers=headers)


async def placed(client: Client, who: Account, items: list[tuple[int, int]], **extra: Any) -> dict[str, Any]:
    return assert_order(await place(client, who, items, **extra), 201)


def assert_order(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """API.md's order shape: money as two-place strings, a currency, lines and totals that add up."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) >= ORDER_FIELDS, set(body) ^ ORDER_FIELDS
    assert isinstance(body["id"], int)
    assert re.fullmatch(r"ORD-\d{4}-[0-9A-Z]{8}", body["order_number"]), body["order_number"]
    assert body["currency"] == "USD"
    assert body["items"]
    subtotal = Decimal("0.00")
    for item in body["items"]:
        assert set(item) >= ITEM_FIELDS, item
        assert isinstance(item["product_id"], int)
        assert isinstance(item["quantity"], int)
        assert money(item["line_total"]) == money(item["unit_price"]) * item["quantity"]
        subtotal += money(item["line_total"])
    assert money(body["subtotal"]) == subtotal
    total = (
        money(body["subtotal"])
        - money(body["discount_amount"])
        + money(body["tax_amount"])
        + money(body["shipping_cost"])
    )
    assert money(body["total_price"]) == total, body
    for name in ("shipping_address", "billing_address"):
        assert set(body[name]) == ADDRESS_FIELDS, body[name]
    for name in ("created_at", "updated_at"):
        assert_utc(body[name])
    for name in ("paid_at", "delivered_at"):
        if body[name] is not None:
            assert_utc(body[name])
    return body


def assert_out_of_stock(response: httpx.Response, shortages: list[dict[str, int]]) -> None:
    """409 `insufficient_stock`, naming every short line and what is available."""
    assert response.status_code == 409, response.text
    body = response.json()
    assert set(body) == {"detail", "code", "shortages"}, body
    assert body["code"] == "insufficient_stock"
    assert body["detail"]
    assert sorted(body["shortages"], key=lambda s: s["product_id"]) == shortages


async def stock_of(cat: Catalog, product_id: int) -> int:
    found = await cat.client.get(f"/api/products/{product_id}/", headers=cat.staff.headers)
    assert found.status_code == 200, found.text
    stock: int = found.json()["stock_quantity"]
    return stock


async def all_orders(cat: Catalog, **params: Any) -> list[dict[str, Any]]:
    """Every order as staff see it (first page of 100)."""
    found = await cat.client.get(
        "/api/orders/", params={"page_size": 100, **params}, headers=cat.staff.headers
    )
    assert found.status_code == 200, found.text
    results: list[dict[str, Any]] = found.json()["results"]
    return results


async def order_as(client: Client, who: Account, order_id: int) -> dict[str, Any]:
    return assert_order(await client.get(f"/api/orders/{order_id}/", headers=who.headers))


async def move(
    client: Client, staff: Account, order_id: int, status: str, method: str = "PATCH"
) -> httpx.Response:
    return await client.request(
        method, f"/api/orders/{order_id}/", json={"status": status}, headers=staff.headers
    )


async def cart_lines(client: Client, headers: dict[str, str]) -> dict[int, int]:
    cart = await client.get("/api/cart/", headers=headers)
    assert cart.status_code == 200, cart.text
    return {line["product_id"]: line["quantity"] for line in cart.json()["items"]}


async def add_to_cart(
    client: Client, headers: dict[str, str], product_id: int, quantity: int
) -> httpx.Response:
    added = await client.post(
        "/api/cart/add/", json={"product_id": product_id, "quantity": quantity}, headers=headers
    )
    assert added.status_code == 200, added.text
    return added


async def checkout(client: Client, headers: dict[str, str], **extra: Any) -> httpx.Response:
    body = {"shipping_address": dict(ADDRESS), "payment_method": "stripe", **extra}
    return await client.post("/api/cart/checkout/", json=body, headers=headers)


# --- placing, listing, showing (both databases) ------------------------------------------------------


async def test_place_an_order_with_exact_totals(shop: Catalog) -> None:
    client, me = shop.client, shop.customer
    lamp = await shop.product("Lamp", "19.99", stock_quantity=10, discount_percentage="10")
    bulb = await shop.product("Bulb", "5.00", stock_quantity=4)
    order = await placed(
        client, me, [(lamp["id"], 3), (bulb["id"], 1)], payment_method="stripe", billing_address=None
    )
    # Lamp: 19.99 less 10% is 17.99; 3 of them: 59.97 list, 6.00 discount, 53.97 net, tax 8.0955 → 8.10.
    # Bulb: 5.00, tax 0.75. Goods 58.97 are under 100.00, so shipping is 4.99.
    assert order["subtotal"] == "64.97"
    assert order["discount_amount"] == "6.00"
    assert order["tax_amount"] == "8.85"
    assert order["shipping_cost"] == "4.99"
    assert order["total_price"] == "72.81"
    assert order["status"] == "pending"
    assert order["payment_status"] == "unpaid"
    assert order["payment_method"] == "stripe"
    assert order["paid_at"] is None
    assert order["delivered_at"] is None
    assert "events" not in order
    by_product = {item["product_id"]: item for item in order["items"]}
    assert by_product[lamp["id"]] == by_product[lamp["id"]] | {
        "product_name": "Lamp",
        "sku": lamp["sku"],
        "unit_price": "19.99",
        "quantity": 3,
        "line_total": "59.97",
    }
    assert by_product[bulb["id"]] == by_product[bulb["id"]] | {
        "product_name": "Bulb",
        "sku": bulb["sku"],
        "unit_price": "5.00",
        "quantity": 1,
        "line_total": "5.00",
    }
    assert order["shipping_address"] == {**ADDRESS, "line2": "", "phone": ""}
    assert order["billing_address"] == order["shipping_address"]
    assert await stock_of(shop, lamp["id"]) == 7
    assert await stock_of(shop, bulb["id"]) == 3

    listed = await client.get("/api/orders/", headers=me.headers)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert set(page) == PAGE_FIELDS
    assert page["count"] == 1
    assert page["next"] is None
    assert page["previous"] is None
    assert [assert_order(httpx.Response(200, json=o))["id"] for o in page["results"]] == [order["id"]]
    shown = await order_as(client, me, order["id"])
    assert shown == order
    no_slash = await client.get(f"/api/orders/{order['id']}", headers=me.headers)
    assert no_slash.status_code == 200
    assert no_slash.json() == order


async def test_free_shipping_from_the_threshold(shop: Catalog) -> None:
    chair = await shop.product("Chair", "50.00", stock_quantity=5)
    order = await placed(shop.client, shop.customer, [(chair["id"], 2)])
    assert order["subtotal"] == "100.00"
    assert order["tax_amount"] == "15.00"
    assert order["shipping_cost"] == "0.00"
    assert order["total_price"] == "115.00"


async def test_lines_of_the_same_product_are_added_up(shop: Catalog) -> None:
    mug = await shop.product("Mug", "3.00", stock_quantity=10)
    order = await placed(shop.client, shop.customer, [(mug["id"], 2), (mug["id"], 3)])
    assert [(i["product_id"], i["quantity"]) for i in order["items"]] == [(mug["id"], 5)]
    assert await stock_of(shop, mug["id"]) == 5


async def test_orders_are_listed_newest_first_and_paged(shop: Catalog) -> None:
    client, me = shop.client, shop.customer
    mug = await shop.product("Mug", "3.00", stock_quantity=10)
    ids = [(await placed(client, me, [(mug["id"], 1)]))["id"] for _ in range(3)]
    first = await client.get("/api/orders/", params={"page_size": 2}, headers=me.headers)
    assert first.status_code == 200, first.text
    assert first.json()["count"] == 3
    assert [o["id"] for o in first.json()["results"]] == ids[::-1][:2]
    assert first.json()["next"] is not None
    second = await client.get("/api/orders/", params={"page_size": 2, "page": 2}, headers=me.headers)
    assert [o["id"] for o in second.json()["results"]] == ids[:1]
    assert_error(
        await client.get("/api/orders/", params={"page": 3, "page_size": 2}, headers=me.headers), 404
    )


async def test_prices_are_frozen_when_the_order_is_placed(shop: Catalog) -> None:
    client = shop.client
    lamp = await shop.product("Lamp", "20.00", stock_quantity=10)
    order = await placed(client, shop.customer, [(lamp["id"], 2)])
    changed = await client.patch(
        f"/api/products/{lamp['id']}/",
        json={"price": "99.00", "name": "Fancy lamp", "discount_percentage": "50"},
        headers=shop.staff.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["final_price"] == "49.50"
    shown = await order_as(client, shop.customer, order["id"])
    assert shown["items"] == order["items"]
    assert shown["items"][0]["unit_price"] == "20.00"
    assert shown["items"][0]["product_name"] == "Lamp"
    assert shown["total_price"] == order["total_price"] == "50.99"


async def test_orders_need_a_customer(shop: Catalog) -> None:
    mug = await shop.product("Mug", stock_quantity=5)
    body = order_body([{"product_id": mug["id"], "quantity": 1}])
    assert_error(await shop.client.post("/api/orders/", json=body), 401)
    assert_error(await shop.client.get("/api/orders/"), 401)
    assert await stock_of(shop, mug["id"]) == 5
    assert await all_orders(shop) == []


async def test_more_than_the_stock_is_409_naming_every_short_line(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", stock_quantity=2)
    bulb = await shop.product("Bulb", stock_quantity=1)
    mug = await shop.product("Mug", stock_quantity=10)
    answer = await place(shop.client, shop.customer, [(lamp["id"], 3), (mug["id"], 1), (bulb["id"], 5)])
    assert_out_of_stock(
        answer,
        [
            {"product_id": lamp["id"], "requested": 3, "available": 2},
            {"product_id": bulb["id"], "requested": 5, "available": 1},
        ],
    )
    assert [await stock_of(shop, p["id"]) for p in (lamp, bulb, mug)] == [2, 1, 10]
    assert await all_orders(shop) == []


# --- checkout from the cart (both databases) ---------------------------------------------------------


async def test_checkout_turns_the_cart_into_an_order(shop: Catalog) -> None:
    client, me = shop.client, shop.customer.headers
    lamp = await shop.product("Lamp", "19.99", stock_quantity=10, discount_percentage="10")
    bulb = await shop.product("Bulb", "5.00", stock_quantity=4)
    await add_to_cart(client, me, lamp["id"], 3)
    await add_to_cart(client, me, bulb["id"], 1)
    billing = {**ADDRESS, "full_name": "Charles Babbage", "country": "us", "line2": "Flat 2"}
    order = assert_order(await checkout(client, me, billing_address=billing), 201)
    assert {(i["product_id"], i["quantity"]) for i in order["items"]} == {(lamp["id"], 3), (bulb["id"], 1)}
    assert order["total_price"] == "72.81"
    assert order["payment_method"] == "stripe"
    assert order["billing_address"]["full_name"] == "Charles Babbage"
    assert order["billing_address"]["country"] == "US"
    assert order["shipping_address"]["full_name"] == "Ada Lovelace"
    assert await cart_lines(client, me) == {}
    assert await stock_of(shop, lamp["id"]) == 7
    assert await stock_of(shop, bulb["id"]) == 3
    listed = (await client.get("/api/orders/", headers=me)).json()
    assert [o["id"] for o in listed["results"]] == [order["id"]]

    again = assert_error(await checkout(client, me), 400)
    assert "empty" in again["detail"].lower()
    assert len(await all_orders(shop)) == 1
    assert await stock_of(shop, lamp["id"]) == 7


async def test_checkout_past_the_stock_is_409_and_leaves_cart_and_stock(shop: Catalog) -> None:
    client, me = shop.client, shop.customer.headers
    lamp = await shop.product("Lamp", stock_quantity=5)
    mug = await shop.product("Mug", stock_quantity=5)
    await add_to_cart(client, me, lamp["id"], 3)
    await add_to_cart(client, me, mug["id"], 2)
    lowered = await client.patch(
        f"/api/products/{lamp['id']}/", json={"stock_quantity": 1}, headers=shop.staff.headers
    )
    assert lowered.status_code == 200, lowered.text
    assert_out_of_stock(
        await checkout(client, me), [{"product_id": lamp["id"], "requested": 3, "available": 1}]
    )
    assert await cart_lines(client, me) == {lamp["id"]: 3, mug["id"]: 2}
    assert await stock_of(shop, lamp["id"]) == 1
    assert await stock_of(shop, mug["id"]) == 5
    assert await all_orders(shop) == []


async def test_guests_cannot_check_out(shop: Catalog) -> None:
    client = shop.client
    mug = await shop.product("Mug", stock_quantity=5)
    added = await client.post("/api/cart/add/", json={"product_id": mug["id"], "quantity": 2})
    assert added.status_code == 200, added.text
    token = added.headers["X-Cart-Token"]
    assert_error(await checkout(client, {}), 401)
    assert_error(await checkout(client, {"X-Cart-Token": token}), 401)
    assert await cart_lines(client, {"X-Cart-Token": token}) == {mug["id"]: 2}
    assert await stock_of(shop, mug["id"]) == 5
    assert await all_orders(shop) == []


async def test_checkout_with_a_guest_token_merges_the_guest_cart_first(shop: Catalog) -> None:
    client, me = shop.client, shop.customer.headers
    mug = await shop.product("Mug", stock_quantity=10)
    lamp = await shop.product("Lamp", stock_quantity=10)
    await add_to_cart(client, me, mug["id"], 1)
    added = await client.post("/api/cart/add/", json={"product_id": mug["id"], "quantity": 2})
    token = added.headers["X-Cart-Token"]
    await add_to_cart(client, {"X-Cart-Token": token}, lamp["id"], 1)
    order = assert_order(await checkout(client, {**me, "X-Cart-Token": token}), 201)
    assert {(i["product_id"], i["quantity"]) for i in order["items"]} == {(mug["id"], 3), (lamp["id"], 1)}
    assert await cart_lines(client, me) == {}
    assert await stock_of(shop, mug["id"]) == 7


# --- idempotency (both databases) ------------------------------------------------------------------


async def test_the_same_key_and_body_places_once(shop: Catalog) -> None:
    client, me = shop.client, shop.customer
    mug = await shop.product("Mug", stock_quantity=10)
    key = str(uuid.uuid4())
    first = assert_order(await place(client, me, [(mug["id"], 2)], key=key), 201)
    second = assert_order(await place(client, me, [(mug["id"], 2)], key=key), 201)
    assert second["id"] == first["id"]
    assert second["order_number"] == first["order_number"]
    assert await stock_of(shop, mug["id"]) == 8
    assert [o["id"] for o in await all_orders(shop)] == [first["id"]]

    reused = assert_error(await place(client, me, [(mug["id"], 3)], key=key), 409, "idempotency_key_reused")
    assert reused["detail"]
    assert await stock_of(shop, mug["id"]) == 8
    assert len(await all_orders(shop)) == 1

    other = await new_account(client)
    theirs = assert_order(await place(client, other, [(mug["id"], 2)], key=key), 201)
    assert theirs["id"] != first["id"]
    assert await stock_of(shop, mug["id"]) == 6
    assert len(await all_orders(shop)) == 2

    fresh = assert_order(await place(client, me, [(mug["id"], 2)], key=str(uuid.uuid4())), 201)
    assert fresh["id"] not in (first["id"], theirs["id"])
    assert await stock_of(shop, mug["id"]) == 4


async def test_a_checkout_retried_with_its_key_places_once(shop: Catalog) -> None:
    client, me = shop.client, shop.customer.headers
    mug = await shop.product("Mug", stock_quantity=10)
    await add_to_cart(client, me, mug["id"], 2)
    keyed = {**me, "Idempotency-Key": str(uuid.uuid4())}
    first = assert_order(await checkout(client, keyed), 201)
    second = assert_order(await checkout(client, keyed), 201)
    assert second["id"] == first["id"]
    assert await stock_of(shop, mug["id"]) == 8
    assert len(await all_orders(shop)) == 1
    assert_error(await checkout(client, keyed, payment_method="cod"), 409, "idempotency_key_reused")


@pytest.mark.parametrize(
    "key",
    [b"has space", b"k" * 256, "kl\u00fcch".encode(), b"tab\there"],
    ids=["space", "256", "utf8", "tab"],
)
async def test_malformed_idempotency_keys_are_400_and_store_nothing(app: Catalog, key: bytes) -> None:
    client, me = app.client, app.customer
    mug = await app.product("Mug", stock_quantity=10)
    body = order_body([{"product_id": mug["id"], "quantity": 1}])
    headers = [(name.encode(), value.encode()) for name, value in me.headers.items()]
    headers.append((b"Idempotency-Key", key))
    answer = await client.post("/api/orders/", json=body, headers=headers)
    assert_error(answer, 400)
    await add_to_cart(client, me.headers, mug["id"], 1)
    answer = await client.post(
        "/api/cart/checkout/",
        json={"shipping_address": ADDRESS, "payment_method": "cod"},
        headers=headers,
    )
    assert_error(answer, 400)
    assert await cart_lines(client, me.headers) == {mug["id"]: 1}
    assert await stock_of(app, mug["id"]) == 10
    assert await all_orders(app) == []


async def test_the_longest_key_is_accepted(app: Catalog) -> None:
    mug = await app.product("Mug", stock_quantity=10)
    key = "k" * 255
    first = assert_order(await place(app.client, app.customer, [(mug["id"], 1)], key=key), 201)
    second = assert_order(await place(app.client, app.customer, [(mug["id"], 1)], key=key), 201)
    assert first["id"] == second["id"]
    assert await stock_of(app, mug["id"]) == 9


# --- bad input changes nothing ----------------------------------------------------------------------


def _without(field: str) -> Any:
    def change(body: dict[str, Any]) -> None:
        del body["shipping_address"][field]

    return change


def _address(**values: Any) -> Any:
    def change(body: dict[str, Any]) -> None:
        body["shipping_address"].update(values)

    return change


def _item(**values: Any) -> Any:
    def change(body: dict[str, Any]) -> None:
        body["items"][0].update(values)

    return change


def _top(**values: Any) -> Any:
    def change(body: dict[str, Any]) -> None:
        body.update(values)

    return change


def _drop(field: str) -> Any:
    def change(body: dict[str, Any]) -> None:
        del body[field]

    return change


BAD_ORDERS: dict[str, Any] = {
    "no items": _top(items=[]),
    "items not a list": _top(items={"product_id": 1}),
    "unknown product": _item(product_id=999_999),
    "product 0": _item(product_id=0),
    "product -1": _item(product_id=-1),
    "product x": _item(product_id="x"),
    "product past 64 bits": _item(product_id=10**20),
    "product null": _item(product_id=None),
    "quantity 0": _item(quantity=0),
    "quantity -1": _item(quantity=-1),
    "quantity 1.5": _item(quantity=1.5),
    "quantity two": _item(quantity="two"),
    "quantity 10**9": _item(quantity=10**9),
    "quantity over the line maximum": _item(quantity=100),
    "quantity true": _item(quantity=True),
    "item extra field": _item(price="0.01"),
    "no shipping_address": _drop("shipping_address"),
    "shipping_address null": _top(shipping_address=None),
    "shipping_address a string": _top(shipping_address="12 Main St"),
    "no payment_method": _drop("payment_method"),
    "no items field": _drop("items"),
    **{f"no {field}": _without(field) for field in REQUIRED_ADDRESS_FIELDS},
    **{f"blank {field}": _address(**{field: "   "}) for field in REQUIRED_ADDRESS_FIELDS},
    "country XX": _address(country="XX"),
    "country USA": _address(country="USA"),
    "name 201 chars": _address(full_name="n" * 201),
    "line1 201 chars": _address(line1="l" * 201),
    "city 101 chars": _address(city="c" * 101),
    "postal code 21 chars": _address(postal_code="1" * 21),
    "phone with letters": _address(phone="call me"),
    "NUL in name": _address(full_name="Ada\x00Lovelace"),
    "NUL in line1": _address(line1="12\x00Main"),
    "address extra field": _address(state="CA"),
    "bad billing country": _top(billing_address={**ADDRESS, "country": "ZZ"}),
    "payment bitcoin": _top(payment_method="bitcoin"),
    "payment empty": _top(payment_method=""),
    "payment number": _top(payment_method=1),
    "extra top field": _top(status="paid"),
    "extra total": _top(total_price="0.01"),
}


@pytest.mark.parametrize("change", BAD_ORDERS.values(), ids=BAD_ORDERS.keys())
async def test_bad_orders_are_400_and_store_nothing(app: Catalog, change: Any) -> None:
    client = app.client
    mug = await app.product("Mug", stock_quantity=10)
    body = order_body([{"product_id": mug["id"], "quantity": 1}])
    change(body)
    assert_error(await client.post("/api/orders/", json=body, headers=app.customer.headers), 400)
    assert await stock_of(app, mug["id"]) == 10
    assert await all_orders(app) == []


async def test_bad_bodies_are_400(app: Catalog) -> None:
    client, me = app.client, app.customer.headers
    mug = await app.product("Mug", stock_quantity=10)
    for content in (b"", b"{", b"[]", b"null", b'"order"', b"\xff\xfe"):
        for path in ("/api/orders/", "/api/cart/checkout/"):
            answer = await client.post(
                path, content=content, headers={**me, "Content-Type": "application/json"}
            )
            assert_error(answer, 400)
    assert_error(await client.post("/api/orders/", headers=me), 400)
    assert await stock_of(app, mug["id"]) == 10
    assert await all_orders(app) == []


async def test_an_inactive_product_cannot_be_ordered(app: Catalog) -> None:
    mug = await app.product("Mug", stock_quantity=10, is_active=False)
    assert_error(await place(app.client, app.customer, [(mug["id"], 1)]), 400)
    assert await stock_of(app, mug["id"]) == 10
    assert await all_orders(app) == []


CHECKOUT_CHANGES: dict[str, Any] = {
    "no shipping_address": _drop("shipping_address"),
    "no city": _without("city"),
    "country USA": _address(country="USA"),
    "NUL in name": _address(full_name="\x00"),
    "payment bitcoin": _top(payment_method="bitcoin"),
    "items given": _top(items=[{"product_id": 1, "quantity": 1}]),
}


@pytest.mark.parametrize("change", CHECKOUT_CHANGES.values(), ids=CHECKOUT_CHANGES.keys())
async def test_bad_checkouts_are_400_and_leave_the_cart(app: Catalog, change: Any) -> None:
    client, me = app.client, app.customer.headers
    mug = await app.product("Mug", stock_quantity=10)
    await add_to_cart(client, me, mug["id"], 2)
    body = {"shipping_address": dict(ADDRESS), "payment_method": "cod"}
    change(body)
    assert_error(await client.post("/api/cart/checkout/", json=body, headers=me), 400)
    assert await cart_lines(client, me) == {mug["id"]: 2}
    assert await stock_of(app, mug["id"]) == 10
    assert await all_orders(app) == []


async def test_bad_status_changes_are_400_and_change_nothing(app: Catalog) -> None:
    client, staff = app.client, app.staff.headers
    mug = await app.product("Mug", stock_quantity=10)
    order = await placed(client, app.customer, [(mug["id"], 1)])
    bodies: list[Any] = [
        {},
        {"status": "lost"},
        {"status": 5},
        {"status": None},
        {"status": "paid", "note": "x"},
        [],
    ]
    for body in bodies:
        answer = await client.patch(f"/api/orders/{order['id']}/", json=body, headers=staff)
        assert_error(answer, 400)
    assert_error(await client.put(f"/api/orders/{order['id']}/", json={"status": "PAID"}, headers=staff), 400)
    shown = await order_as(client, app.staff, order["id"])
    assert (shown["status"], shown["updated_at"]) == ("pending", order["updated_at"])


async def test_bad_order_ids_are_400_or_404(app: Catalog) -> None:
    client, me = app.client, app.customer.headers
    for path in ("/api/orders/999999/", "/api/orders/999999/invoice/"):
        assert_error(await client.get(path, headers=me), 404)
    assert_error(await client.delete("/api/orders/999999/", headers=me), 404)
    for bad in ("0", "-1", str(10**20)):
        answer = await client.get(f"/api/orders/{bad}/", headers=me)
        assert answer.status_code in (400, 404), answer.text
        assert_error(answer, answer.status_code)
    assert_error(await client.get("/api/orders/", params={"status": "lost"}, headers=me), 400)
    assert_error(await client.get("/api/orders/", params={"user": "x"}, headers=app.staff.headers), 400)


# --- who sees what ---------------------------------------------------------------------------------


async def test_other_customers_orders_are_404(app: Catalog) -> None:
    client, me = app.client, app.customer
    mug = await app.product("Mug", stock_quantity=10)
    mine = await placed(client, me, [(mug["id"], 1)])
    other = await new_account(client)
    theirs = await placed(client, other, [(mug["id"], 2)])

    listed = (await client.get("/api/orders/", headers=me.headers)).json()
    assert [o["id"] for o in listed["results"]] == [mine["id"]]
    assert listed["count"] == 1
    filtered = (await client.get("/api/orders/", params={"user": other.id}, headers=me.headers)).json()
    assert [o["id"] for o in filtered["results"]] == [mine["id"]]
    for answer in (
        await client.get(f"/api/orders/{theirs['id']}/", headers=me.headers),
        await client.delete(f"/api/orders/{theirs['id']}/", headers=me.headers),
        await client.get(f"/api/orders/{theirs['id']}/invoice/", headers=me.headers),
    ):
        assert_error(answer, 404)
    assert_error(await move(client, me, theirs["id"], "paid"), 403)
    assert (await order_as(client, other, theirs["id"]))["status"] == "pending"
    assert await stock_of(app, mug["id"]) == 7


async def test_staff_see_every_order_and_filter_them(app: Catalog) -> None:
    client, staff = app.client, app.staff
    mug = await app.product("Mug", stock_quantity=10)
    other = await new_account(client)
    mine = await placed(client, app.customer, [(mug["id"], 1)])
    theirs = await placed(client, other, [(mug["id"], 1)])
    paid = await placed(client, other, [(mug["id"], 1)])
    assert (await move(client, staff, paid["id"], "paid")).status_code == 200

    assert [o["id"] for o in await all_orders(app)] == [paid["id"], theirs["id"], mine["id"]]
    assert [o["id"] for o in await all_orders(app, user=other.id)] == [paid["id"], theirs["id"]]
    assert [o["id"] for o in await all_orders(app, status="pending")] == [theirs["id"], mine["id"]]
    assert [o["id"] for o in await all_orders(app, status="paid", user=other.id)] == [paid["id"]]
    assert await all_orders(app, status="paid", user=app.customer.id) == []
    assert await all_orders(app, status="refunded") == []
    assert_error(await client.get("/api/orders/", params={"status": "unknown"}, headers=staff.headers), 400)
    shown = await order_as(client, staff, mine["id"])
    assert "events" in shown
    assert (await client.get(f"/api/orders/{mine['id']}/invoice/", headers=staff.headers)).status_code == 200


# --- the order's life --------------------------------------------------------------------------------


async def test_customer_cancels_their_pending_order_once(shop: Catalog) -> None:
    client, me = shop.client, shop.customer
    mug = await shop.product("Mug", stock_quantity=10)
    order = await placed(client, me, [(mug["id"], 4)])
    assert await stock_of(shop, mug["id"]) == 6
    cancelled = assert_order(await client.delete(f"/api/orders/{order['id']}/", headers=me.headers))
    assert cancelled["status"] == "cancelled"
    assert cancelled["payment_status"] == "unpaid"
    assert "events" not in cancelled
    assert await stock_of(shop, mug["id"]) == 10
    assert_error(await client.delete(f"/api/orders/{order['id']}/", headers=me.headers), 409)
    assert await stock_of(shop, mug["id"]) == 10
    assert (await order_as(client, me, order["id"]))["status"] == "cancelled"


async def test_customer_cannot_cancel_a_paid_order_but_staff_can_and_it_is_refunded(shop: Catalog) -> None:
    client, me, staff = shop.client, shop.customer, shop.staff
    mug = await shop.product("Mug", stock_quantity=10)
    order = await placed(client, me, [(mug["id"], 3)])
    paid = assert_order(await move(client, staff, order["id"], "paid"))
    assert paid["payment_status"] == "paid"
    assert paid["paid_at"] is not None
    assert_error(await client.delete(f"/api/orders/{order['id']}/", headers=me.headers), 409)
    after = await order_as(client, me, order["id"])
    assert (after["status"], after["payment_status"]) == ("paid", "paid")
    assert await stock_of(shop, mug["id"]) == 7

    cancelled = assert_order(await client.delete(f"/api/orders/{order['id']}/", headers=staff.headers))
    assert cancelled["status"] == "cancelled"
    assert cancelled["payment_status"] == "refunded"
    assert await stock_of(shop, mug["id"]) == 10
    assert (await order_as(client, me, order["id"]))["payment_status"] == "refunded"


async def test_staff_walk_an_order_through_its_life(app: Catalog) -> None:
    client, staff = app.client, app.staff
    mug = await app.product("Mug", stock_quantity=10)
    order = await placed(client, app.customer, [(mug["id"], 1)])
    walk = ["paid", "processing", "shipped", "delivered", "refunded"]
    before = "pending"
    for index, status in enumerate(walk):
        method = "PATCH" if index % 2 == 0 else "PUT"
        moved = assert_order(await move(client, staff, order["id"], status, method))
        assert moved["status"] == status
        moves = [(e["from_status"], e["to_status"]) for e in moved["events"] if e["action"] == "status"]
        assert moves[-1] == (before, status)
        before = status
    shown = await order_as(client, staff, order["id"])
    assert [(e["from_status"], e["to_status"]) for e in shown["events"] if e["action"] == "status"] == list(
        zip(["pending", *walk[:-1]], walk, strict=True)
    )
    for event in shown["events"]:
        assert_utc(event["at"])
        assert event["actor"]
    assert shown["payment_status"] == "refunded"
    assert shown["paid_at"] is not None
    assert shown["delivered_at"] is not None
    assert "events" not in await order_as(client, app.customer, order["id"])
    assert await stock_of(app, mug["id"]) == 9  # the goods left the warehouse: no stock back


PATHS: dict[OrderStatus, list[str]] = {
    OrderStatus.PENDING: [],
    OrderStatus.PAID: ["paid"],
    OrderStatus.PROCESSING: ["paid", "processing"],
    OrderStatus.SHIPPED: ["paid", "processing", "shipped"],
    OrderStatus.DELIVERED: ["paid", "processing", "shipped", "delivered"],
    OrderStatus.CANCELLED: ["cancelled"],
    OrderStatus.REFUNDED: ["paid", "refunded"],
}


@pytest.mark.parametrize("state", list(TRANSITIONS), ids=[s.value for s in TRANSITIONS])
async def test_every_illegal_move_is_409_and_changes_nothing(app: Catalog, state: OrderStatus) -> None:
    assert set(PATHS) == set(TRANSITIONS)
    client, staff = app.client, app.staff
    mug = await app.product("Mug", stock_quantity=10)
    order = await placed(client, app.customer, [(mug["id"], 1)])
    for status in PATHS[state]:
        assert (await move(client, staff, order["id"], status)).status_code == 200
    start = await order_as(client, staff, order["id"])
    assert start["status"] == state.value
    stock = await stock_of(app, mug["id"])
    illegal = [s for s in OrderStatus if s not in TRANSITIONS[state]]
    assert illegal
    for target in illegal:
        for method in ("PATCH", "PUT"):
            body = assert_error(await move(client, staff, order["id"], target.value, method), 409)
            assert state.value in body["detail"]
    if state not in (OrderStatus.PENDING, OrderStatus.PAID):
        assert_error(await client.delete(f"/api/orders/{order['id']}/", headers=staff.headers), 409)
    after = await order_as(client, staff, order["id"])
    assert after == start
    assert await stock_of(app, mug["id"]) == stock


async def test_customers_cannot_move_orders(app: Catalog) -> None:
    client, me = app.client, app.customer
    mug = await app.product("Mug", stock_quantity=10)
    order = await placed(client, me, [(mug["id"], 1)])
    assert_error(await move(client, me, order["id"], "paid"), 403)
    assert_error(await move(client, me, order["id"], "cancelled", "PUT"), 403)
    assert_error(await client.patch(f"/api/orders/{order['id']}/", json={"status": "paid"}), 401)
    assert (await order_as(client, me, order["id"]))["status"] == "pending"


async def test_refund_after_payment_returns_the_stock(app: Catalog) -> None:
    client, staff = app.client, app.staff
    mug = await app.product("Mug", stock_quantity=10)
    order = await placed(client, app.customer, [(mug["id"], 2)])
    assert (await move(client, staff, order["id"], "paid")).status_code == 200
    refunded = assert_order(await move(client, staff, order["id"], "refunded"))
    assert (refunded["status"], refunded["payment_status"]) == ("refunded", "refunded")
    assert await stock_of(app, mug["id"]) == 10


# --- invoices ------------------------------------------------------------------------------------


def pdf_text(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/pdf")
    assert response.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def invoice_name(response: httpx.Response) -> str:
    found = re.search(r'filename="([^"]+)"', response.headers["content-disposition"])
    assert found, response.headers["content-disposition"]
    return found.group(1)


async def test_the_invoice_is_a_pdf_numbered_once(app: Catalog) -> None:
    client, me = app.client, app.customer
    lamp = await app.product("Lamp", "19.99", stock_quantity=10, discount_percentage="10")
    order = await placed(client, me, [(lamp["id"], 3)])
    assert (await move(client, app.staff, order["id"], "paid")).status_code == 200  # numbered when paid
    first = await client.get(f"/api/orders/{order['id']}/invoice/", headers=me.headers)
    text = pdf_text(first)
    assert order["order_number"] in text
    assert order["total_price"] in text
    assert "Lamp" in text
    name = invoice_name(first)
    matched = re.fullmatch(r"INV-(\d{4})-(\d{6})\.pdf", name)
    assert matched, name
    assert matched.group(2) == "000001"
    assert name.removesuffix(".pdf") in text
    again = await client.get(f"/api/orders/{order['id']}/invoice", headers=app.staff.headers)
    pdf_text(again)
    assert invoice_name(again) == name

    second = await placed(client, me, [(lamp["id"], 1)])
    assert (await move(client, app.staff, second["id"], "paid")).status_code == 200
    next_one = await client.get(f"/api/orders/{second['id']}/invoice/", headers=me.headers)
    assert second["order_number"] in pdf_text(next_one)
    assert invoice_name(next_one) == f"INV-{matched.group(1)}-000002.pdf"
    assert_error(await client.get(f"/api/orders/{order['id']}/invoice/"), 401)


async def test_the_invoice_is_also_a_plain_binary_download(app: Catalog) -> None:
    """For generic clients (and generators that know no `application/pdf`): the same bytes as
    `application/octet-stream` when `Accept` prefers it; a PDF otherwise."""
    client, me = app.client, app.customer
    lamp = await app.product("Lamp", "19.99", stock_quantity=10)
    order = await placed(client, me, [(lamp["id"], 1)])
    path = f"/api/orders/{order['id']}/invoice/"
    as_pdf = await client.get(path, headers=me.headers)
    binary = await client.get(path, headers={**me.headers, "Accept": "application/octet-stream"})
    either = await client.get(path, headers={**me.headers, "Accept": "application/octet-stream;q=0.5, */*"})
    assert as_pdf.headers["content-type"] == either.headers["content-type"] == "application/pdf"
    assert binary.status_code == 200
    assert binary.headers["content-type"] == "application/octet-stream"
    assert binary.headers["content-disposition"] == as_pdf.headers["content-disposition"]
    assert pdf_text(as_pdf)
    assert binary.content.startswith(b"%PDF-")


# --- products that orders reference --------------------------------------------------------------------


async def test_deleting_a_product_an_order_references_deactivates_it(shop: Catalog) -> None:
    client, staff = shop.client, shop.staff.headers
    lamp = await shop.product("Lamp", "20.00", stock_quantity=10)
    spare = await shop.product("Spare", stock_quantity=10)
    order = await placed(client, shop.customer, [(lamp["id"], 1)])
    gone = await client.delete(f"/api/products/{lamp['id']}/", headers=staff)
    assert gone.status_code == 204, gone.text
    kept = await client.get(f"/api/products/{lamp['id']}/", headers=staff)
    assert kept.status_code == 200, kept.text
    assert kept.json()["is_active"] is False
    assert_error(await client.get(f"/api/products/{lamp['id']}/"), 404)
    shown = await order_as(client, shop.customer, order["id"])
    assert [(i["product_id"], i["product_name"], i["unit_price"]) for i in shown["items"]] == [
        (lamp["id"], "Lamp", "20.00")
    ]
    assert_error(await place(client, shop.customer, [(lamp["id"], 1)]), 400)

    erased = await client.delete(f"/api/products/{spare['id']}/", headers=staff)
    assert erased.status_code == 204, erased.text
    assert_error(await client.get(f"/api/products/{spare['id']}/", headers=staff), 404)


# --- the schema --------------------------------------------------------------------------------------


async def test_the_schema_documents_orders_and_checkout(app: Catalog) -> None:
    schema = (await app.client.get("/api/schema/openapi.json")).json()
    paths = schema["paths"]
    expected = {
        ("/api/orders", "get"): {"200", "401"},
        ("/api/orders", "post"): {"201", "400", "401", "409"},
        ("/api/orders/{order_id}", "get"): {"200", "401", "404"},
        ("/api/orders/{order_id}", "patch"): {"200", "400", "401", "403", "404", "409"},
        ("/api/orders/{order_id}", "put"): {"200", "400", "401", "403", "404", "409"},
        ("/api/orders/{order_id}", "delete"): {"200", "401", "404", "409"},
        ("/api/orders/{order_id}/invoice", "get"): {"200", "401", "404"},
        ("/api/cart/checkout", "post"): {"201", "400", "401", "409"},
    }
    for (path, method), codes in expected.items():
        assert path in paths, sorted(paths)
        operation = paths[path][method]
        assert operation["summary"], (path, method)
        assert codes <= set(operation["responses"]), (path, method, sorted(operation["responses"]))
        assert "501" not in operation["responses"]
    assert "application/pdf" in paths["/api/orders/{order_id}/invoice"]["get"]["responses"]["200"]["content"]
    place_op = paths["/api/orders"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in place_op.get("parameters", [])}
    assert "insufficient_stock" in place_op["responses"]["409"]["description"]
