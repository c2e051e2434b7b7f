"""Part 2 ("Variants") of the cart: a line holds one variant of a product.

`POST /api/cart/add/` takes `variant_id` beside `product_id`, `PUT`/`DELETE
/api/cart/items/{product_id}/?variant_id=N` address one variant's line, and lines carry `variant_id`
and `variant_name`. The core flows run on every cart store (SQLite, PostgreSQL, Redis); the rules
on the embedded SQLite default. Multi-variant products are made through the repositories
(tests/variants_support.py) until the staff's variant endpoints land.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import httpx
import pytest

from shop_core.settings import Settings
from tests.conftest import make_settings
from tests.http.conftest import (
    Catalog,
    Client,
    assert_error,
    in_app,
    money,
    open_catalog,
    shop_of,
    sql_statements,
)
from tests.http.test_cart import ADDRESS, TOKEN, add, assert_cart, cart_of, settings_for
from tests.variants_support import add_variants, default_variant_id, set_variant_active, variant_stock

Line = tuple[int, int]


def lines(body: dict[str, Any]) -> dict[Line, int]:
    """The cart's lines by (product id, variant id)."""
    return {(line["product_id"], line["variant_id"]): line["quantity"] for line in body["items"]}


async def add_variant(
    client: Client, headers: dict[str, str], product_id: int, variant_id: Any, quantity: int = 1
) -> httpx.Response:
    body = {"product_id": product_id, "variant_id": variant_id, "quantity": quantity}
    return await client.post("/api/cart/add/", json=body, headers=headers)


async def put_line(
    client: Client, headers: dict[str, str], product_id: int, quantity: int, variant_id: Any = None
) -> httpx.Response:
    params = {} if variant_id is None else {"variant_id": variant_id}
    return await client.put(
        f"/api/cart/items/{product_id}/", params=params, json={"quantity": quantity}, headers=headers
    )


async def delete_line(
    client: Client, headers: dict[str, str], product_id: int, variant_id: Any = None
) -> httpx.Response:
    params = {} if variant_id is None else {"variant_id": variant_id}
    return await client.delete(f"/api/cart/items/{product_id}/", params=params, headers=headers)


async def shirt(
    catalog: Catalog, price: str = "20.00", **extra: Any
) -> tuple[dict[str, Any], dict[str, int]]:
    """A T-shirt in S (5 in stock), M (3) and L (0), L priced 24.00; its body and variant ids."""
    made = await catalog.product("Shirt", price, **extra)
    sizes = await variants_of(catalog, made["id"], "Size", {"S": 5, "M": 3, "L": 0}, prices={"L": 2400})
    return made, sizes


async def default_of(catalog: Catalog, product_id: int) -> int:
    found: int = await in_app(catalog.client, default_variant_id, shop_of(catalog.client), product_id)
    return found


async def variants_of(
    catalog: Catalog, product_id: int, option: str, stock: dict[str, int], **extra: Any
) -> dict[str, int]:
    """`add_variants` on the app's own loop."""
    made: dict[str, int] = await in_app(
        catalog.client, partial(add_variants, shop_of(catalog.client), product_id, option, stock, **extra)
    )
    return made


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def store_settings(request: pytest.FixtureRequest) -> Settings:
    return settings_for(request.param, request)


@pytest.fixture
async def stores(store_settings: Settings) -> AsyncIterator[Catalog]:
    """The app with its carts in the database (SQLite, PostgreSQL) or in Redis."""
    async with open_catalog(store_settings) as opened:
        yield opened


@pytest.fixture
async def cart_app(sqlite_url: str) -> AsyncIterator[Catalog]:
    async with open_catalog(make_settings(sqlite_url)) as opened:
        yield opened


# --- the core flows, on every store ------------------------------------------------------------------


async def test_add_set_remove_per_variant(stores: Catalog) -> None:
    client, me = stores.client, stores.customer.headers
    tee, size = await shirt(stores, discount_percentage="10")
    mug = await stores.product("Mug", "12.50", stock_quantity=20)
    mug_default = await default_of(stores, mug["id"])

    body = assert_cart(await add_variant(client, me, tee["id"], size["S"], 2))
    assert lines(body) == {(tee["id"], size["S"]): 2}
    assert body["items"][0] | {"product_id": 0} == {
        "product_id": 0,
        "variant_id": size["S"],
        "variant_name": "S",
        "name": "Shirt",
        "sku": f"{tee['sku']}-S",
        "unit_price": "18.00",  # the product's discount applies to its variants' prices
        "list_unit_price": "20.00",
        "quantity": 2,
        "line_total": "36.00",
        "in_stock": True,
    }
    await add_variant(client, me, tee["id"], size["M"], 1)
    await add_variant(client, me, tee["id"], size["S"], 1)  # adds to the S line
    body = assert_cart(await add(client, me, mug["id"], 2))  # Part 1: no variant named
    assert lines(body) == {(tee["id"], size["S"]): 3, (tee["id"], size["M"]): 1, (mug["id"], mug_default): 2}
    assert body["subtotal"] == "97.00"  # 4 x 18.00 + 2 x 12.50

    body = assert_cart(await put_line(client, me, tee["id"], 3, size["M"]))
    assert lines(body)[(tee["id"], size["M"])] == 3
    assert lines(body)[(tee["id"], size["S"])] == 3
    body = assert_cart(await delete_line(client, me, tee["id"], size["S"]))
    assert lines(body) == {(tee["id"], size["M"]): 3, (mug["id"], mug_default): 2}
    assert_error(await delete_line(client, me, tee["id"], size["S"]), 404, "not_found")
    # One line of the product left: a Part 1 client removes it without naming the variant.
    body = assert_cart(await delete_line(client, me, tee["id"]))
    assert lines(body) == {(mug["id"], mug_default): 2}
    # Naming the default variant is the same line as naming none.
    body = assert_cart(await add_variant(client, me, mug["id"], mug_default, 1))
    assert lines(body) == {(mug["id"], mug_default): 3}
    body = assert_cart(await put_line(client, me, mug["id"], 0, mug_default))
    assert body["items"] == []


async def test_checkout_of_two_variants_of_one_product(stores: Catalog) -> None:
    client, me = stores.client, stores.customer.headers
    tee, size = await shirt(stores)
    await add_variant(client, me, tee["id"], size["S"], 2)
    await add_variant(client, me, tee["id"], size["M"], 3)

    placed = await client.post(
        "/api/cart/checkout/", json={"shipping_address": ADDRESS, "payment_method": "cod"}, headers=me
    )

    assert placed.status_code == 201, placed.text
    items = sorted(placed.json()["items"], key=lambda i: i["variant_id"])
    assert [(i["variant_id"], i["variant_name"], i["sku"], i["quantity"]) for i in items] == [
        (size["S"], "S", f"{tee['sku']}-S", 2),
        (size["M"], "M", f"{tee['sku']}-M", 3),
    ]
    assert placed.json()["subtotal"] == "100.00"
    assert (await cart_of(client, me))["items"] == []
    stock = await in_app(client, variant_stock, shop_of(client), tee["id"])
    assert stock == {size["S"]: (3, True), size["M"]: (0, True), size["L"]: (0, True)}
    products = {p["id"]: p for p in (await stores.stored())[1]}
    assert products[tee["id"]]["stock_quantity"] == 3  # the sum over its active variants


async def test_a_guest_cart_merges_per_variant(stores: Catalog) -> None:
    client, me = stores.client, stores.customer.headers
    tee, size = await shirt(stores)
    first = await add_variant(client, {}, tee["id"], size["S"], 4)
    guest = {TOKEN: first.headers[TOKEN]}
    await add_variant(client, guest, tee["id"], size["M"], 2)
    await add_variant(client, me, tee["id"], size["S"], 3)
    await add_variant(client, me, tee["id"], size["M"], 2)

    merged = assert_cart(await client.get("/api/cart/", headers={**me, **guest}))

    # S: 4 + 3 capped by its stock (5); M: 2 + 2 capped by its stock (3)
    assert lines(merged) == {(tee["id"], size["S"]): 5, (tee["id"], size["M"]): 3}
    assert (await cart_of(client, guest))["items"] == []


# --- the rules ---------------------------------------------------------------------------------------


async def test_a_product_with_several_variants_needs_variant_id(cart_app: Catalog) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    tee, size = await shirt(cart_app)
    for answer in (await add(client, me, tee["id"]), await put_line(client, me, tee["id"], 1)):
        body = assert_error(answer, 400, "variant_required")
        assert "variant_id" in body["errors"]
    await add_variant(client, me, tee["id"], size["S"])
    await add_variant(client, me, tee["id"], size["M"])
    # Two lines of it: which one to remove must be said too.
    assert_error(await delete_line(client, me, tee["id"]), 400, "variant_required")
    assert_error(await put_line(client, me, tee["id"], 0), 400, "variant_required")
    assert lines(await cart_of(client, me)) == {(tee["id"], size["S"]): 1, (tee["id"], size["M"]): 1}


async def test_a_product_with_one_active_variant_needs_none(cart_app: Catalog) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    made = await cart_app.product("Cap", "9.00")
    [one] = (await variants_of(cart_app, made["id"], "Size", {"One size": 4})).values()
    body = assert_cart(await add(client, me, made["id"], 2))
    assert lines(body) == {(made["id"], one): 2}
    assert body["items"][0]["variant_name"] == "One size"
    assert lines(assert_cart(await put_line(client, me, made["id"], 3))) == {(made["id"], one): 3}


async def test_unknown_foreign_and_inactive_variants_are_404(cart_app: Catalog) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    tee, size = await shirt(cart_app)
    other, other_size = await shirt(cart_app)
    await in_app(client, set_variant_active, shop_of(client), size["M"], False)
    for variant_id in (other_size["S"], 999_999, size["M"]):
        assert_error(await add_variant(client, me, tee["id"], variant_id), 404, "not_found")
        assert_error(await put_line(client, me, tee["id"], 1, variant_id), 404, "not_found")
    assert (await cart_of(client, me))["items"] == []
    assert lines(assert_cart(await add_variant(client, me, other["id"], other_size["S"]))) == {
        (other["id"], other_size["S"]): 1
    }


async def test_stock_is_the_variants(cart_app: Catalog) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    tee, size = await shirt(cart_app)
    refused = await add_variant(client, me, tee["id"], size["M"], 4)
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert (body["code"], body["available"]) == ("insufficient_stock", 3)
    assert "(M)" in body["detail"]
    assert_cart(await add_variant(client, me, tee["id"], size["S"], 5))  # S has 5 of its own
    over = await put_line(client, me, tee["id"], 4, size["M"])
    assert (over.status_code, over.json()["available"]) == (409, 3)
    sold_out = await add_variant(client, me, tee["id"], size["L"], 1)
    assert (sold_out.status_code, sold_out.json()["available"]) == (409, 0)
    assert lines(await cart_of(client, me)) == {(tee["id"], size["S"]): 5}


async def test_a_variants_own_price_is_charged(cart_app: Catalog) -> None:
    client, me, staff = cart_app.client, cart_app.customer.headers, cart_app.staff.headers
    made = await cart_app.product("Hoodie", "30.00")
    size = await variants_of(cart_app, made["id"], "Size", {"M": 5, "XL": 5}, prices={"XL": 3500})
    await add_variant(client, me, made["id"], size["M"], 1)
    body = assert_cart(await add_variant(client, me, made["id"], size["XL"], 2))
    prices = {line["variant_name"]: (line["unit_price"], line["line_total"]) for line in body["items"]}
    assert prices == {"M": ("30.00", "30.00"), "XL": ("35.00", "70.00")}
    await client.patch(f"/api/products/{made['id']}/", json={"discount_percentage": "20"}, headers=staff)
    body = await cart_of(client, me)
    prices = {line["variant_name"]: (line["unit_price"], line["list_unit_price"]) for line in body["items"]}
    assert prices == {"M": ("24.00", "30.00"), "XL": ("28.00", "35.00")}
    assert money(body["subtotal"]) == money("80.00")


async def test_a_deactivated_variant_stays_in_the_cart_out_of_stock(cart_app: Catalog) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    tee, size = await shirt(cart_app)
    await add_variant(client, me, tee["id"], size["S"], 2)
    await add_variant(client, me, tee["id"], size["M"], 1)
    await in_app(client, set_variant_active, shop_of(client), size["S"], False)

    body = await cart_of(client, me)

    shown = {line["variant_id"]: line["in_stock"] for line in body["items"]}
    assert shown == {size["S"]: False, size["M"]: True}
    assert (body["subtotal"], body["item_count"]) == ("20.00", 1)
    # It can be removed, not added to.
    assert_error(await add_variant(client, me, tee["id"], size["S"]), 404, "not_found")
    body = assert_cart(await delete_line(client, me, tee["id"], size["S"]))
    assert lines(body) == {(tee["id"], size["M"]): 1}


async def test_a_line_of_a_product_that_got_options_is_out_of_stock(cart_app: Catalog) -> None:
    """A line of a product's default variant (what every line from before variants is) whose
    product has since got options, and so no default variant any more."""
    client, me = cart_app.client, cart_app.customer.headers
    mug = await cart_app.product("Mug", "8.00", stock_quantity=10)
    pen = await cart_app.product("Pen", "2.00", stock_quantity=10)
    await add(client, me, mug["id"], 2)
    await add(client, me, pen["id"], 1)
    await variants_of(cart_app, mug["id"], "Color", {"Blue": 5, "Red": 5})

    body = await cart_of(client, me)

    [old] = [line for line in body["items"] if line["product_id"] == mug["id"]]
    assert (old["in_stock"], old["variant_id"], old["variant_name"], old["quantity"]) == (False, 0, "", 2)
    assert (body["subtotal"], body["item_count"]) == ("2.00", 1)
    refused = await client.post(
        "/api/cart/checkout/", json={"shipping_address": ADDRESS, "payment_method": "cod"}, headers=me
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["shortages"] == [{"product_id": mug["id"], "requested": 2, "available": 0}]
    assert len((await cart_of(client, me))["items"]) == 2  # the cart is left as it was
    # The client, knowing no variants, removes it as it always did.
    body = assert_cart(await delete_line(client, me, mug["id"]))
    assert [line["product_id"] for line in body["items"]] == [pen["id"]]


async def test_a_line_showing_variant_0_is_removed_by_naming_0(cart_app: Catalog) -> None:
    """Beside lines of its new variants, a line from before the product got options is still the
    client's to remove: by the `variant_id` it shows, 0 (without it, which line is ambiguous)."""
    client, me = cart_app.client, cart_app.customer.headers
    mug = await cart_app.product("Mug", "8.00", stock_quantity=10)
    await add(client, me, mug["id"], 2)
    color = await variants_of(cart_app, mug["id"], "Color", {"Blue": 5, "Red": 5})
    await add_variant(client, me, mug["id"], color["Blue"], 1)
    assert_error(await delete_line(client, me, mug["id"]), 400, "variant_required")
    assert_error(await put_line(client, me, mug["id"], 1, 0), 404, "not_found")  # nothing to sell

    body = assert_cart(await delete_line(client, me, mug["id"], 0))

    assert lines(body) == {(mug["id"], color["Blue"]): 1}
    assert_error(await delete_line(client, me, mug["id"], 0), 404, "not_found")
    assert lines(assert_cart(await put_line(client, me, mug["id"], 0, 0))) == {(mug["id"], color["Blue"]): 1}


async def test_a_deactivated_default_variant_line_is_out_of_stock(cart_app: Catalog) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    mug = await cart_app.product("Mug", "8.00", stock_quantity=10)
    mug_default = await default_of(cart_app, mug["id"])
    await add(client, me, mug["id"], 2)
    color = await variants_of(cart_app, mug["id"], "Color", {"Blue": 5}, default="deactivate")
    [line] = (await cart_of(client, me))["items"]
    assert (line["in_stock"], line["variant_id"]) == (False, mug_default)
    assert_cart(await add(client, me, mug["id"]))  # without variant_id: its one active variant, Blue
    body = await cart_of(client, me)
    assert lines(body) == {(mug["id"], mug_default): 2, (mug["id"], color["Blue"]): 1}
    assert [x["in_stock"] for x in body["items"]] == [False, True]
    # Two lines of it now, one active variant: a line named by no variant is that variant's.
    assert lines(assert_cart(await delete_line(client, me, mug["id"]))) == {(mug["id"], mug_default): 2}


@pytest.mark.parametrize("variant_id", ["abc", "-1", "1.5", str(10**20), "", "3000000000"])
async def test_a_malformed_variant_id_in_the_query_is_400(cart_app: Catalog, variant_id: str) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    tee, size = await shirt(cart_app)
    await add_variant(client, me, tee["id"], size["S"], 2)
    path = f"/api/cart/items/{tee['id']}/?variant_id={variant_id}"
    for answer in (
        await client.put(path, json={"quantity": 1}, headers=me),
        await client.delete(path, headers=me),
    ):
        body = assert_error(answer, 400, "invalid")
        assert "variant_id" in body["errors"], body
    assert lines(await cart_of(client, me)) == {(tee["id"], size["S"]): 2}


@pytest.mark.parametrize("variant_id", [0, -1, "one", 1.5, 10**20, 3_000_000_000, True, [1]])
async def test_a_malformed_variant_id_in_the_body_is_400(cart_app: Catalog, variant_id: Any) -> None:
    client, me = cart_app.client, cart_app.customer.headers
    tee, _ = await shirt(cart_app)
    body = assert_error(await add_variant(client, me, tee["id"], variant_id), 400, "invalid")
    assert "variant_id" in body["errors"], body
    assert (await cart_of(client, me))["items"] == []


async def test_a_cart_view_costs_the_same_queries_however_many_variants(cart_app: Catalog) -> None:
    """Two for the cart (its row, its lines), one for the products, one for their variants."""
    client, me = cart_app.client, cart_app.customer.headers
    tee, size = await shirt(cart_app)
    mug = await cart_app.product("Mug", stock_quantity=5)
    await add(client, me, mug["id"])
    with sql_statements(client) as few:
        assert_cart(await client.get("/api/cart/", headers=me))
    await add_variant(client, me, tee["id"], size["S"])
    await add_variant(client, me, tee["id"], size["M"])
    with sql_statements(client) as many:
        assert_cart(await client.get("/api/cart/", headers=me))
    cart_reads = [s for s in many if re.search(r"FROM (carts|cart_lines|products|product_variants)\b", s)]
    assert len(cart_reads) == 4, many  # (authentication makes its own: the same for every request)
    assert len(many) == len(few)


async def test_the_schema_documents_variants_in_the_cart(client: Client) -> None:
    schema = (await client.get("/api/schema/openapi.json")).json()
    line = schema["components"]["schemas"]["CartLineView"]
    assert {"variant_id", "variant_name"} <= set(line["required"])
    assert "variant_id" in schema["components"]["schemas"]["AddToCart"]["properties"]
    for method in ("put", "delete"):
        operation = schema["paths"]["/api/cart/items/{product_id}"][method]
        [query] = [p for p in operation["parameters"] if p["in"] == "query"]
        assert (query["name"], query.get("required", False)) == ("variant_id", False)
        assert "400" in operation["responses"]
    examples = schema["paths"]["/api/cart"]["get"]["responses"]["200"]["content"]["application/json"]
    assert any(
        line["variant_name"]
        for example in examples["examples"].values()
        for line in example["value"]["items"]
    )
