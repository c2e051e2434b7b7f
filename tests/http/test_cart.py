"""API.md's Cart table: the customer's or guest's cart, priced from the catalog.

The core flows run on each cart store: the database (SQLite, PostgreSQL) and Redis. The rules
(quantities, stock, tokens, prices) run on the embedded SQLite default.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from shop_core.domain.actors import Actor
from shop_core.services.catalog_commands import CreateProduct, UpdateProduct
from shop_core.settings import Settings
from tests.conftest import build_app, make_settings
from tests.http.conftest import (
    Account,
    Catalog,
    Client,
    assert_error,
    assert_utc,
    in_app,
    money,
    new_account,
    open_catalog,
    post_concurrently,
    shop_of,
)

# Part 2 ("Vouchers and sales") adds the cart's voucher and its effect.
CART_FIELDS = {
    "items",
    "item_count",
    "subtotal",
    "updated_at",
    "voucher_code",
    "voucher_error",
    "discount",
    "free_shipping",
    "total",
}
# Part 2 ("Variants") adds the variant a line holds: `variant_id` and `variant_name`.
LINE_FIELDS = {
    "product_id",
    "variant_id",
    "variant_name",
    "name",
    "sku",
    "unit_price",
    "list_unit_price",
    "quantity",
    "line_total",
    "in_stock",
}
TOKEN = "X-Cart-Token"


def assert_cart(response: httpx.Response) -> dict[str, Any]:
    """API.md's cart shape, with money as two-place strings and totals that add up."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == CART_FIELDS, body
    subtotal = Decimal("0.00")
    count = 0
    for line in body["items"]:
        assert set(line) == LINE_FIELDS, line
        assert money(line["line_total"]) == money(line["unit_price"]) * line["quantity"]
        if line["in_stock"]:
            subtotal += money(line["line_total"])
            count += line["quantity"]
    assert money(body["subtotal"]) == subtotal
    assert body["item_count"] == count
    assert money(body["total"]) == subtotal - money(body["discount"])
    if body["voucher_code"] is None or body["voucher_error"] is not None:
        assert money(body["discount"]) == 0
    if body["updated_at"] is not None:
        assert_utc(body["updated_at"])
    return body


def lines(body: dict[str, Any]) -> dict[int, int]:
    return {line["product_id"]: line["quantity"] for line in body["items"]}


async def add(client: Client, headers: dict[str, str], product_id: int, quantity: Any = 1) -> httpx.Response:
    return await client.post(
        "/api/cart/add/", json={"product_id": product_id, "quantity": quantity}, headers=headers
    )


async def set_quantity(
    client: Client, headers: dict[str, str], product_id: int, quantity: Any
) -> httpx.Response:
    return await client.put(f"/api/cart/items/{product_id}/", json={"quantity": quantity}, headers=headers)


async def cart_of(client: Client, headers: dict[str, str]) -> dict[str, Any]:
    return assert_cart(await client.get("/api/cart/", headers=headers))


def settings_for(backend: str, request: pytest.FixtureRequest, **changes: Any) -> Settings:
    """Settings with the carts in the database (SQLite, PostgreSQL) or in Redis."""
    if backend == "redis":
        return make_settings(
            request.getfixturevalue("sqlite_url"),
            redis_url=request.getfixturevalue("redis_url"),
            redis_key_prefix=request.getfixturevalue("redis_prefix"),
            **changes,
        )
    return make_settings(
        request.getfixturevalue("pg_url" if backend == "postgres" else "sqlite_url"), **changes
    )


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def store_settings(request: pytest.FixtureRequest) -> Settings:
    return settings_for(request.param, request)


@pytest.fixture
async def stores(store_settings: Settings) -> AsyncIterator[Catalog]:
    """The app with its carts in the database (SQLite, PostgreSQL) or in Redis."""
    async with open_catalog(store_settings) as opened:
        yield opened


@pytest.fixture(params=["redis", "postgres"])
def shared_settings(request: pytest.FixtureRequest) -> Settings:
    return settings_for(request.param, request, cart_max_quantity=99)


@pytest.fixture
async def cart_app(sqlite_url: str) -> AsyncIterator[Catalog]:
    async with open_catalog(make_settings(sqlite_url)) as opened:
        yield opened


# --- the core flows, on every store -------------------------------------------------------------


async def test_view_add_set_remove_clear(stores: Catalog) -> None:
    client, me = stores.client, stores.customer.headers
    mug = await stores.product("Mug", "12.50", stock_quantity=20)
    pen = await stores.product("Pen", "1.99", stock_quantity=20, discount_percentage="10")

    empty = await cart_of(client, me)
    assert empty == {
        "items": [],
        "item_count": 0,
        "subtotal": "0.00",
        "updated_at": None,
        "voucher_code": None,
        "voucher_error": None,
        "discount": "0.00",
        "free_shipping": False,
        "total": "0.00",
    }

    assert lines(assert_cart(await add(client, me, mug["id"], 2))) == {mug["id"]: 2}
    body = assert_cart(await add(client, me, mug["id"]))  # quantity defaults to 1 and adds up
    assert lines(body) == {mug["id"]: 3}
    assert body["items"][0] == {
        "product_id": mug["id"],
        "variant_id": mug["variants"][0]["id"],  # Part 2: its one (default) variant
        "variant_name": "",
        "name": "Mug",
        "sku": mug["sku"],
        "unit_price": "12.50",
        "quantity": 3,
        "line_total": "37.50",
        "in_stock": True,
        "list_unit_price": "12.50",
    }
    assert body["updated_at"] is not None

    body = assert_cart(await add(client, me, pen["id"], 4))
    assert lines(body) == {mug["id"]: 3, pen["id"]: 4}
    assert body["subtotal"] == "44.66"  # 37.50 + 4 x 1.79 (the pen's final price)
    assert body["item_count"] == 7

    assert lines(assert_cart(await set_quantity(client, me, mug["id"], 5))) == {mug["id"]: 5, pen["id"]: 4}
    assert lines(assert_cart(await set_quantity(client, me, pen["id"], 0))) == {mug["id"]: 5}
    assert lines(await cart_of(client, me)) == {mug["id"]: 5}

    assert lines(assert_cart(await client.delete(f"/api/cart/items/{mug['id']}/", headers=me))) == {}
    assert_error(await client.delete(f"/api/cart/items/{mug['id']}/", headers=me), 404, "not_found")

    await add(client, me, mug["id"], 2)
    await add(client, me, pen["id"], 1)
    cleared = assert_cart(await client.post("/api/cart/clear/", headers=me))
    assert cleared["items"] == []
    assert cleared["subtotal"] == "0.00"
    assert (await cart_of(client, me))["items"] == []


async def test_paths_work_without_the_trailing_slash(stores: Catalog) -> None:
    client, me = stores.client, stores.customer.headers
    mug = await stores.product("Mug", stock_quantity=5)
    added = await client.post("/api/cart/add", json={"product_id": mug["id"]}, headers=me)
    assert lines(assert_cart(added)) == {mug["id"]: 1}
    changed = await client.put(f"/api/cart/items/{mug['id']}", json={"quantity": 2}, headers=me)
    assert lines(assert_cart(changed)) == {mug["id"]: 2}
    assert lines(assert_cart(await client.get("/api/cart", headers=me))) == {mug["id"]: 2}
    assert lines(assert_cart(await client.delete(f"/api/cart/items/{mug['id']}", headers=me))) == {}
    assert assert_cart(await client.post("/api/cart/clear", headers=me))["items"] == []


async def test_guest_cart_then_login_merges_it(stores: Catalog) -> None:
    client = stores.client
    mug = await stores.product("Mug", stock_quantity=10)
    pen = await stores.product("Pen", stock_quantity=4)
    hat = await stores.product("Hat", stock_quantity=200)
    lamp = await stores.product("Lamp", stock_quantity=10)

    anonymous = await client.get("/api/cart/")
    assert assert_cart(anonymous)["items"] == []
    assert TOKEN not in anonymous.headers  # looking creates nothing

    first = await add(client, {}, mug["id"], 3)
    token = first.headers[TOKEN]
    assert lines(assert_cart(first)) == {mug["id"]: 3}
    guest = {TOKEN: token}
    again = await add(client, guest, pen["id"], 3)
    assert again.headers[TOKEN] == token
    assert lines(assert_cart(again)) == {mug["id"]: 3, pen["id"]: 3}
    await add(client, guest, hat["id"], 60)
    await add(client, guest, lamp["id"], 2)
    viewed = await client.get("/api/cart/", headers=guest)
    assert viewed.headers[TOKEN] == token
    assert lines(assert_cart(viewed)) == {mug["id"]: 3, pen["id"]: 3, hat["id"]: 60, lamp["id"]: 2}

    # The guest cart is not the customer's until the client sends both.
    me = stores.customer.headers
    await add(client, me, mug["id"], 2)
    await add(client, me, pen["id"], 2)
    await add(client, me, hat["id"], 60)
    assert lines(await cart_of(client, me)) == {mug["id"]: 2, pen["id"]: 2, hat["id"]: 60}

    await client.patch(
        f"/api/products/{lamp['id']}/", json={"is_active": False}, headers=stores.staff.headers
    )
    merged = await client.get("/api/cart/", headers={**me, **guest})
    assert TOKEN not in merged.headers
    # 3+2 mugs; pens capped by stock (4); hats capped by the line maximum (99); the inactive lamp dropped
    assert lines(assert_cart(merged)) == {mug["id"]: 5, pen["id"]: 4, hat["id"]: 99}

    # The guest cart is gone: the token now names an empty cart, and merging again changes nothing.
    assert (await cart_of(client, guest))["items"] == []
    assert lines(await cart_of(client, {**me, **guest})) == {mug["id"]: 5, pen["id"]: 4, hat["id"]: 99}


async def test_merge_happens_before_the_change_the_request_asks_for(cart_app: Catalog) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    mug = await cart_app.product("Mug", stock_quantity=10)
    token = (await add(client, {}, mug["id"], 2)).headers[TOKEN]
    body = assert_cart(await add(client, {**me, TOKEN: token}, mug["id"], 1))
    assert lines(body) == {mug["id"]: 3}
    assert (await cart_of(client, {TOKEN: token}))["items"] == []


async def test_fifty_concurrent_adds_all_count(shared_settings: Settings) -> None:
    async with open_catalog(shared_settings) as catalog:
        mug = await catalog.product("Mug", stock_quantity=80)
        me = catalog.customer.headers
        answers = await post_concurrently(
            catalog.client, "/api/cart/add/", {"product_id": mug["id"], "quantity": 1}, me, 50
        )
        assert [a.status_code for a in answers] == [200] * 50, {a.text for a in answers}
        assert lines(await cart_of(catalog.client, me)) == {mug["id"]: 50}


async def test_concurrent_adds_cannot_together_pass_the_stock(shared_settings: Settings) -> None:
    async with open_catalog(shared_settings) as catalog:
        mug = await catalog.product("Mug", stock_quantity=10)
        me = catalog.customer.headers
        answers = await post_concurrently(
            catalog.client, "/api/cart/add/", {"product_id": mug["id"], "quantity": 1}, me, 30
        )
        codes = sorted(a.status_code for a in answers)
        assert codes == [200] * 10 + [409] * 20, {a.text for a in answers}
        for refused in (a for a in answers if a.status_code == 409):
            assert refused.json()["code"] == "insufficient_stock"
            assert refused.json()["available"] == 10
        assert lines(await cart_of(catalog.client, me)) == {mug["id"]: 10}


# --- prices and products that change ------------------------------------------------------------


async def test_prices_follow_the_catalog(cart_app: Catalog) -> None:
    client, me, staff = cart_app.client, cart_app.customer.headers, cart_app.staff.headers
    mug = await cart_app.product("Mug", "10.00", stock_quantity=10)
    await add(client, me, mug["id"], 3)
    changed = await client.patch(f"/api/products/{mug['id']}/", json={"price": "12.00"}, headers=staff)
    assert changed.status_code == 200, changed.text
    body = await cart_of(client, me)
    assert body["items"][0]["unit_price"] == "12.00"
    assert body["subtotal"] == "36.00"
    await client.patch(f"/api/products/{mug['id']}/", json={"discount_percentage": "25"}, headers=staff)
    assert (await cart_of(client, me))["subtotal"] == "27.00"


async def test_deactivated_and_deleted_products_stay_out_of_the_subtotal(cart_app: Catalog) -> None:
    client, me, staff = cart_app.client, cart_app.customer.headers, cart_app.staff.headers
    mug = await cart_app.product("Mug", "10.00", stock_quantity=10)
    pen = await cart_app.product("Pen", "2.00", stock_quantity=10)
    hat = await cart_app.product("Hat", "5.00", stock_quantity=10)
    for product in (mug, pen, hat):
        await add(client, me, product["id"], 2)
    assert (await cart_of(client, me))["subtotal"] == "34.00"

    await client.patch(f"/api/products/{pen['id']}/", json={"is_active": False}, headers=staff)
    deleted = await client.delete(f"/api/products/{hat['id']}/", headers=staff)
    assert deleted.status_code == 204, deleted.text
    body = await cart_of(client, me)
    stock = {line["product_id"]: line["in_stock"] for line in body["items"]}
    assert stock == {mug["id"]: True, pen["id"]: False, hat["id"]: False}
    assert body["subtotal"] == "20.00"
    assert body["item_count"] == 2
    # A gone line can still be removed; an inactive product cannot be added again.
    assert lines(assert_cart(await client.delete(f"/api/cart/items/{hat['id']}/", headers=me))) == {
        mug["id"]: 2,
        pen["id"]: 2,
    }
    assert_error(await add(client, me, pen["id"]), 404, "not_found")


async def test_stock_that_drops_below_the_cart_shows_the_line_out_of_stock(cart_app: Catalog) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    mug = await cart_app.product("Mug", "10.00", stock_quantity=5)
    await add(client, me, mug["id"], 4)
    await client.patch(
        f"/api/products/{mug['id']}/", json={"stock_quantity": 3}, headers=cart_app.staff.headers
    )
    body = await cart_of(client, me)
    assert body["items"][0]["in_stock"] is False
    assert body["subtotal"] == "0.00"


# --- quantity rules and bad input -------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [0, -1, 1.5, "two", 10**9, 10**20, None, True])
async def test_bad_quantities_on_add_are_400_and_change_nothing(cart_app: Catalog, quantity: Any) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    mug = await cart_app.product("Mug", stock_quantity=10)
    await add(client, me, mug["id"], 2)
    body = assert_error(await add(client, me, mug["id"], quantity), 400, "invalid")
    assert "quantity" in body["errors"]
    assert lines(await cart_of(client, me)) == {mug["id"]: 2}


@pytest.mark.parametrize("quantity", [-1, 1.5, "two", 10**9, 100])
async def test_bad_quantities_on_set_are_400(cart_app: Catalog, quantity: Any) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    mug = await cart_app.product("Mug", stock_quantity=500)
    await add(client, me, mug["id"], 2)
    body = assert_error(await set_quantity(client, me, mug["id"], quantity), 400, "invalid")
    assert "quantity" in body["errors"]
    assert lines(await cart_of(client, me)) == {mug["id"]: 2}


async def test_the_line_maximum_counts_what_is_already_there(cart_app: Catalog) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    mug = await cart_app.product("Mug", stock_quantity=500)
    assert_error(await add(client, me, mug["id"], 100), 400, "invalid")
    await add(client, me, mug["id"], 60)
    body = assert_error(await add(client, me, mug["id"], 40), 400, "invalid")
    assert "99" in body["errors"]["quantity"][0]
    assert lines(assert_cart(await add(client, me, mug["id"], 39))) == {mug["id"]: 99}


async def test_more_than_the_stock_is_409_with_the_available_quantity(cart_app: Catalog) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    mug = await cart_app.product("Mug", stock_quantity=3)
    answer = await add(client, me, mug["id"], 4)
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["available"] == 3
    assert body["code"] == "insufficient_stock"
    assert body["detail"]
    await add(client, me, mug["id"], 2)
    assert (await add(client, me, mug["id"], 2)).json()["available"] == 3
    over = await set_quantity(client, me, mug["id"], 5)
    assert over.status_code == 409, over.text
    assert over.json()["available"] == 3
    assert lines(await cart_of(client, me)) == {mug["id"]: 2}


async def test_too_many_lines_is_409(sqlite_url: str) -> None:
    async with open_catalog(make_settings(sqlite_url, cart_max_lines=2)) as catalog:
        client, me = catalog.client, catalog.customer.headers
        products = [await catalog.product(f"P{i}", stock_quantity=5) for i in range(3)]
        await add(client, me, products[0]["id"])
        await add(client, me, products[1]["id"])
        assert_error(await add(client, me, products[2]["id"]), 409, "conflict")
        assert_error(await set_quantity(client, me, products[2]["id"], 1), 409, "conflict")
        # more of a line already there is fine
        assert lines(assert_cart(await add(client, me, products[0]["id"]))) == {
            products[0]["id"]: 2,
            products[1]["id"]: 1,
        }


async def test_unknown_and_inactive_products_are_404(cart_app: Catalog) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    hidden = await cart_app.product("Hidden", stock_quantity=5, is_active=False)
    for product_id in (hidden["id"], 999_999):
        assert_error(await add(client, me, product_id), 404, "not_found")
        assert_error(await set_quantity(client, me, product_id, 1), 404, "not_found")
    assert (await cart_of(client, me))["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"quantity": 1},
        {"product_id": 1, "colour": "red"},
        {"product_id": "one"},
        [1],
        {"product_id": 0},
    ],
)
async def test_malformed_add_bodies_are_400(cart_app: Catalog, body: Any) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    answer = await client.post("/api/cart/add/", json=body, headers=me) if body is not None else None
    answer = answer or await client.post("/api/cart/add/", headers=me)
    assert_error(answer, 400, "invalid")
    assert (await cart_of(client, me))["items"] == []


async def test_malformed_set_bodies_and_paths_are_400_or_404(cart_app: Catalog) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    mug = await cart_app.product("Mug", stock_quantity=5)
    assert_error(await client.put(f"/api/cart/items/{mug['id']}/", headers=me), 400, "invalid")
    assert_error(await client.put(f"/api/cart/items/{mug['id']}/", json={}, headers=me), 400, "invalid")
    extra = {"quantity": 1, "price": "0.01"}
    assert_error(await client.put(f"/api/cart/items/{mug['id']}/", json=extra, headers=me), 400, "invalid")
    assert_error(await set_quantity(client, me, 0, 1), 400, "invalid")
    assert_error(await client.delete(f"/api/cart/items/{10**20}/", headers=me), 400)
    assert_error(await client.delete("/api/cart/items/abc/", headers=me), 404)


# --- who owns which cart -------------------------------------------------------------------------


async def test_two_customers_never_see_each_others_carts(cart_app: Catalog) -> None:
    client = cart_app.client
    other: Account = await new_account(client)
    mug = await cart_app.product("Mug", stock_quantity=10)
    pen = await cart_app.product("Pen", stock_quantity=10)
    await add(client, cart_app.customer.headers, mug["id"], 2)
    await add(client, other.headers, pen["id"], 3)
    assert lines(await cart_of(client, cart_app.customer.headers)) == {mug["id"]: 2}
    assert lines(await cart_of(client, other.headers)) == {pen["id"]: 3}
    assert_error(await client.delete(f"/api/cart/items/{mug['id']}/", headers=other.headers), 404)
    await client.post("/api/cart/clear/", headers=other.headers)
    assert lines(await cart_of(client, cart_app.customer.headers)) == {mug["id"]: 2}
    # and a guest's cart is not a customer's
    assert (await cart_of(client, {}))["items"] == []


@pytest.mark.parametrize("token", ["forged", "abc.def", "", ".", "x" * 300])
async def test_forged_cart_tokens_are_400(cart_app: Catalog, token: str) -> None:
    client = cart_app.client
    mug = await cart_app.product("Mug", stock_quantity=10)
    real = (await add(client, {}, mug["id"], 2)).headers[TOKEN]
    guest = {TOKEN: token}
    assert_error(await client.get("/api/cart/", headers=guest), 400, "invalid")
    assert_error(await add(client, guest, mug["id"]), 400, "invalid")
    assert_error(await client.post("/api/cart/clear/", headers=guest), 400, "invalid")
    assert_error(
        await client.get("/api/cart/", headers={**cart_app.customer.headers, **guest}), 400, "invalid"
    )
    assert lines(await cart_of(client, {TOKEN: real})) == {mug["id"]: 2}
    assert (await cart_of(client, cart_app.customer.headers))["items"] == []


async def test_a_token_signed_with_another_secret_is_400(cart_app: Catalog) -> None:
    from shop_core.domain.cart import new_guest_token

    stranger = new_guest_token("some-other-secret-0123456789abcdef")
    assert_error(await cart_app.client.get("/api/cart/", headers={TOKEN: stranger}), 400, "invalid")
    assert (
        shop_of(cart_app.client)
        .cart.guest_owner(shop_of(cart_app.client).cart.new_guest_token())
        .startswith("guest:")
    )


async def test_a_bad_bearer_token_is_401_not_a_guest(cart_app: Catalog) -> None:
    answer = await cart_app.client.get("/api/cart/", headers={"Authorization": "Bearer nonsense"})
    assert_error(answer, 401)


async def test_guest_without_a_token_removing_is_404_and_clearing_is_empty(cart_app: Catalog) -> None:
    client = cart_app.client
    assert_error(await client.delete("/api/cart/items/1/"), 404, "not_found")
    cleared = await client.post("/api/cart/clear/")
    assert assert_cart(cleared)["items"] == []
    assert TOKEN not in cleared.headers


# --- checkout, Redis down, the schema, CORS ---------------------------------------------------------


ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "1 Main St",
    "city": "London",
    "postal_code": "N1",
    "country": "GB",
}


async def checkout(client: Client, headers: dict[str, str], **extra: Any) -> httpx.Response:
    body = {"shipping_address": ADDRESS, "payment_method": "cod", **extra}
    return await client.post("/api/cart/checkout/", json=body, headers=headers)


async def test_checkout_places_the_cart_and_empties_it(stores: Catalog) -> None:
    client, me = stores.client, stores.customer.headers
    mug = await stores.product("Mug", "4.50", stock_quantity=10)
    lamp = await stores.product("Lamp", "20.00", stock_quantity=3)
    await add(client, me, mug["id"], 2)
    await add(client, me, lamp["id"], 1)
    placed = await checkout(client, me)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert {(i["product_id"], i["quantity"], i["unit_price"]) for i in order["items"]} == {
        (mug["id"], 2, "4.50"),
        (lamp["id"], 1, "20.00"),
    }
    assert order["subtotal"] == order["total_price"] == "29.00"
    assert order["status"] == "pending"
    assert order["currency"] == "USD"
    assert lines(await cart_of(client, me)) == {}
    stock = {p["id"]: p["stock_quantity"] for p in (await stores.stored())[1]}
    assert (stock[mug["id"]], stock[lamp["id"]]) == (8, 2)
    shown = await client.get(f"/api/orders/{order['id']}/", headers=me)
    assert shown.status_code == 200, shown.text
    assert shown.json()["items"] == order["items"]

    again = assert_error(await checkout(client, me), 400)
    assert "empty" in again["detail"].lower()
    listed = await client.get("/api/orders/", headers=me)
    assert listed.json()["count"] == 1


async def test_checkout_past_the_stock_is_409_and_keeps_the_cart(stores: Catalog) -> None:
    client, me = stores.client, stores.customer.headers
    mug = await stores.product("Mug", stock_quantity=5)
    await add(client, me, mug["id"], 4)
    lowered = await client.patch(
        f"/api/products/{mug['id']}/", json={"stock_quantity": 2}, headers=stores.staff.headers
    )
    assert lowered.status_code == 200, lowered.text
    refused = await checkout(client, me)
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["code"] == "insufficient_stock"
    assert body["shortages"] == [{"product_id": mug["id"], "requested": 4, "available": 2}]
    assert lines(await cart_of(client, me)) == {mug["id"]: 4}
    stock = {p["id"]: p["stock_quantity"] for p in (await stores.stored())[1]}
    assert stock[mug["id"]] == 2


async def test_guests_must_log_in_to_check_out(cart_app: Catalog) -> None:
    client = cart_app.client
    mug = await cart_app.product("Mug", stock_quantity=10)
    added = await add(client, {}, mug["id"], 2)
    token = added.headers[TOKEN]
    body = assert_error(await checkout(client, {TOKEN: token}), 401)
    assert "X-Cart-Token" in body["detail"]
    assert lines(await cart_of(client, {TOKEN: token})) == {mug["id"]: 2}
    placed = await checkout(client, {**cart_app.customer.headers, TOKEN: token})
    assert placed.status_code == 201, placed.text
    assert [(i["product_id"], i["quantity"]) for i in placed.json()["items"]] == [(mug["id"], 2)]
    assert lines(await cart_of(client, cart_app.customer.headers)) == {}


async def test_redis_down_is_503_for_carts_and_the_catalog_still_answers(sqlite_url: str) -> None:
    settings = make_settings(
        sqlite_url, redis_url="redis://127.0.0.1:1/0", cache_enabled=False, rate_limit_enabled=False
    )
    async with AsyncTestClient(build_app(settings)) as client:
        shop = shop_of(client)
        mug = await in_app(
            client,
            shop.catalog.create_product,
            CreateProduct(name="Mug", sku="MUG-1", price=Decimal("5.00"), stock_quantity=5),
            Actor("t", is_staff=True),
        )
        catalog = await client.get("/api/products/")
        assert catalog.status_code == 200, catalog.text
        assert [p["id"] for p in catalog.json()["results"]] == [mug.id]
        assert (await client.get(f"/api/products/{mug.id}/")).status_code == 200
        for answer in (
            await client.get("/api/cart/"),
            await add(client, {}, mug.id),
            await client.post("/api/cart/clear/"),
        ):
            assert_error(answer, 503, "service_unavailable")
            assert int(answer.headers["Retry-After"]) >= 1


async def test_the_schema_documents_the_cart(client: Client) -> None:
    schema = (await client.get("/api/schema/openapi.json")).json()
    paths = schema["paths"]
    for path in ("/api/cart", "/api/cart/add", "/api/cart/items/{product_id}", "/api/cart/clear"):
        assert path in paths, sorted(paths)
    add_op = paths["/api/cart/add"]["post"]
    assert add_op["summary"]
    assert "X-Cart-Token" in add_op["description"]
    assert "merge" in add_op["description"]
    assert {"200", "400", "404", "409"} <= set(add_op["responses"])
    checkout_op = paths["/api/cart/checkout"]["post"]
    assert checkout_op["summary"]
    assert {"201", "400", "401", "409"} <= set(checkout_op["responses"])
    assert "501" not in checkout_op["responses"]


async def test_cors_exposes_the_cart_token(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, cors_origins=("https://shop.example",))
    async with AsyncTestClient(build_app(settings)) as client:
        answer = await client.get("/api/cart/", headers={"Origin": "https://shop.example"})
        assert answer.status_code == 200, answer.text
        exposed = answer.headers["access-control-expose-headers"]
        assert "x-cart-token" in exposed.lower()


async def test_with_redis_down_the_catalog_serves_from_the_database_and_carts_say_503(
    sqlite_url: str,
) -> None:
    """The cache and the rate limiter stand aside and sign-in falls back to the database (see
    test_revocation_shared); carts, which live only in Redis, answer 503 with Retry-After."""
    settings = make_settings(
        sqlite_url, redis_url="redis://127.0.0.1:1/0", cache_enabled=True, rate_limit_enabled=True
    )
    async with AsyncTestClient(build_app(settings)) as client:
        shop = shop_of(client)
        mug = await in_app(
            client,
            shop.catalog.create_product,
            CreateProduct(name="Mug", sku="MUG-1", price=Decimal("5.00"), stock_quantity=5),
            Actor("t", is_staff=True),
        )
        for _ in range(2):  # the second read would be a cache hit if the cache were up
            listed = await client.get("/api/products/")
            assert listed.status_code == 200, listed.text
            assert [p["id"] for p in listed.json()["results"]] == [mug.id]
            assert (await client.get(f"/api/products/{mug.id}/")).json()["price"] == "5.00"
        await in_app(
            client,
            shop.catalog.update_product,
            mug.id,
            UpdateProduct(price=Decimal("6.00")),
            Actor("t", is_staff=True),
        )
        assert (await client.get(f"/api/products/{mug.id}/")).json()["price"] == "6.00"
        me = await new_account(client)
        assert (await client.get("/api/auth/profile/", headers=me.headers)).status_code == 200
        answer = await client.get("/api/cart/", headers=me.headers)
        assert_error(answer, 503, "service_unavailable")
        assert int(answer.headers["Retry-After"]) >= 1


async def test_cart_and_order_lines_show_both_prices_of_a_discounted_product(cart_app: Catalog) -> None:
    """A cart line's `unit_price` is after the discount and its `list_unit_price` before; the order
    line keeps `unit_price` as the list price and adds `final_unit_price`, the cart's price."""
    client, me = cart_app.client, cart_app.customer.headers
    lamp = await cart_app.product("Lamp", "120.46", discount_percentage="25", stock_quantity=10)
    await add(client, me, lamp["id"], 3)
    [line] = (await cart_of(client, me))["items"]
    assert (line["unit_price"], line["list_unit_price"], line["line_total"]) == ("90.35", "120.46", "271.05")

    placed = await checkout(client, me)
    assert placed.status_code == 201, placed.text
    [item] = placed.json()["items"]
    assert (item["unit_price"], item["final_unit_price"]) == ("120.46", "90.35")
    assert (item["line_total"], item["discount_amount"]) == ("361.38", "90.33")
    assert (
        money(item["final_unit_price"]) * item["quantity"]
        == money(item["line_total"]) - money(item["discount_amount"])
        == money(line["line_total"])
    )
    again = await client.get(f"/api/orders/{placed.json()['id']}/", headers=me)
    assert again.json()["items"] == [item]


def test_the_schema_says_what_each_price_of_a_line_means() -> None:
    app = build_app(make_settings("sqlite+aiosqlite:///never-opened.db"))
    schemas = app.openapi_schema.to_schema()["components"]["schemas"]
    cart_line = schemas["CartLineView"]["properties"]
    order_line = schemas["OrderItemView"]["properties"]
    assert "after" in cart_line["unit_price"]["description"]
    assert "before" in cart_line["list_unit_price"]["description"]
    assert "before" in order_line["unit_price"]["description"]
    assert "after" in order_line["final_unit_price"]["description"]
    assert "rounded half-up" in order_line["final_unit_price"]["description"]
    for name in ("line_total", "discount_amount", "tax_amount"):
        assert order_line[name]["description"]
    assert {"list_unit_price"} <= set(schemas["CartLineView"]["required"])
    assert {"final_unit_price"} <= set(schemas["OrderItemView"]["required"])
