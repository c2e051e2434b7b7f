"""Part 2 ("Variants") of orders: `POST /api/orders/` items and the cart's checkout take stock per
variant, and order lines name the variant (`variant_id`, `variant_name`), on invoices and in emails
too. On both databases; the 50-way race on PostgreSQL. Multi-variant products are made through the
repositories (tests/variants_support.py) until the staff's variant endpoints land.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from tests.conftest import make_settings
from tests.http.conftest import Account, Catalog, Client, assert_error, in_app, open_catalog, shop_of
from tests.http.test_orders_concurrency import (
    Call,
    answers_of,
    customers,
    no_server_errors,
    read_sql,
    statuses,
)
from tests.variants_support import add_variants, default_variant_id, set_variant_active, variant_stock

ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "1 Main St",
    "city": "London",
    "postal_code": "N1",
    "country": "GB",
}
CHECKOUT = {"shipping_address": ADDRESS, "payment_method": "cod"}


def item(product_id: int, quantity: int, variant_id: int | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"product_id": product_id, "quantity": quantity}
    if variant_id is not None:
        found["variant_id"] = variant_id
    return found


async def place(client: Client, who: Account, *items: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/orders/", json={"items": list(items), **CHECKOUT}, headers=who.headers)


async def shirt(catalog: Catalog, **stock: int) -> tuple[dict[str, Any], dict[str, int]]:
    """A T-shirt (20.00; L costs 24.00) with a variant per size given, holding that stock."""
    made = await catalog.product("Shirt", "20.00")
    sizes: dict[str, int] = await in_app(
        catalog.client,
        partial(add_variants, shop_of(catalog.client), made["id"], "Size", stock, prices={"L": 2400}),
    )
    return made, sizes


async def stock_of(catalog: Catalog, product_id: int) -> dict[int, tuple[int, bool]]:
    found: dict[int, tuple[int, bool]] = await in_app(
        catalog.client, variant_stock, shop_of(catalog.client), product_id
    )
    return found


async def product_total(catalog: Catalog, product_id: int) -> int:
    found = await catalog.client.get(f"/api/products/{product_id}/", headers=catalog.staff.headers)
    assert found.status_code == 200, found.text
    total: int = found.json()["stock_quantity"]
    return total


def by_variant(order: dict[str, Any]) -> dict[int, tuple[str, str, int]]:
    return {i["variant_id"]: (i["variant_name"], i["sku"], i["quantity"]) for i in order["items"]}


@pytest.fixture
async def shop(database_url: str) -> AsyncIterator[Catalog]:
    async with open_catalog(make_settings(database_url)) as opened:
        yield opened


# --- placing per variant (both databases) -----------------------------------------------------------


async def test_an_order_takes_each_variants_own_stock_and_names_it(shop: Catalog) -> None:
    tee, size = await shirt(shop, S=5, M=3, L=2)
    mug = await shop.product("Mug", "4.00", stock_quantity=9)
    mug_variant = await in_app(shop.client, default_variant_id, shop_of(shop.client), mug["id"])

    answer = await place(
        shop.client,
        shop.customer,
        item(tee["id"], 2, size["S"]),
        item(tee["id"], 1, size["L"]),
        item(tee["id"], 1, size["S"]),  # the same variant again: the lines add up
        item(mug["id"], 2),  # Part 1: no variant
    )

    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert by_variant(order) == {
        size["S"]: ("S", f"{tee['sku']}-S", 3),
        size["L"]: ("L", f"{tee['sku']}-L", 1),
        mug_variant: ("", mug["sku"], 2),
    }
    prices = {i["variant_id"]: i["unit_price"] for i in order["items"]}
    assert prices == {size["S"]: "20.00", size["L"]: "24.00", mug_variant: "4.00"}
    assert order["subtotal"] == "92.00"
    assert await stock_of(shop, tee["id"]) == {
        size["S"]: (2, True),
        size["M"]: (3, True),
        size["L"]: (1, True),
    }
    assert await product_total(shop, tee["id"]) == 6
    shown = await shop.client.get(f"/api/orders/{order['id']}/", headers=shop.customer.headers)
    assert shown.json()["items"] == order["items"]


async def test_a_product_with_several_variants_needs_variant_id(shop: Catalog) -> None:
    tee, size = await shirt(shop, S=5, M=3)
    body = assert_error(await place(shop.client, shop.customer, item(tee["id"], 1)), 400, "variant_required")
    assert "variant_id" in body["errors"]
    assert await stock_of(shop, tee["id"]) == {size["S"]: (5, True), size["M"]: (3, True)}
    listed = await shop.client.get("/api/orders/", headers=shop.customer.headers)
    assert listed.json()["count"] == 0


async def test_a_product_with_one_active_variant_needs_none(shop: Catalog) -> None:
    tee, size = await shirt(shop, S=5, M=3)
    await in_app(shop.client, set_variant_active, shop_of(shop.client), size["S"], False)
    answer = await place(shop.client, shop.customer, item(tee["id"], 2))
    assert answer.status_code == 201, answer.text
    assert by_variant(answer.json()) == {size["M"]: ("M", f"{tee['sku']}-M", 2)}
    assert await stock_of(shop, tee["id"]) == {size["S"]: (5, False), size["M"]: (1, True)}
    assert await product_total(shop, tee["id"]) == 1  # inactive variants do not count


async def test_unknown_foreign_and_inactive_variants_cannot_be_ordered(shop: Catalog) -> None:
    tee, size = await shirt(shop, S=5, M=3)
    other, other_size = await shirt(shop, S=5)
    await in_app(shop.client, set_variant_active, shop_of(shop.client), size["M"], False)
    for variant_id in (other_size["S"], 999_999, size["M"]):
        body = assert_error(await place(shop.client, shop.customer, item(tee["id"], 1, variant_id)), 400)
        assert body["detail"] == f"No such product: {tee['id']} (variant {variant_id}).", body
    assert await stock_of(shop, tee["id"]) == {size["S"]: (5, True), size["M"]: (3, False)}
    assert await stock_of(shop, other["id"]) == {other_size["S"]: (5, True)}


async def test_a_short_variant_is_named_in_the_409(shop: Catalog) -> None:
    tee, size = await shirt(shop, S=5, M=1)
    mug = await shop.product("Mug", "4.00", stock_quantity=1)

    answer = await place(
        shop.client,
        shop.customer,
        item(tee["id"], 2, size["S"]),
        item(tee["id"], 2, size["M"]),
        item(mug["id"], 3),
    )

    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["code"] == "insufficient_stock"
    assert sorted(body["shortages"], key=lambda s: s["product_id"]) == [
        {
            "product_id": tee["id"],
            "requested": 2,
            "available": 1,
            "variant_id": size["M"],
            "variant_name": "M",
        },
        {"product_id": mug["id"], "requested": 3, "available": 1},  # a default variant: as in Part 1
    ]
    assert f"product {tee['id']} (M): 2 wanted, 1 available" in body["detail"]
    assert await stock_of(shop, tee["id"]) == {size["S"]: (5, True), size["M"]: (1, True)}  # nothing taken


async def test_naming_a_products_default_variant_is_ordering_the_product(shop: Catalog) -> None:
    mug = await shop.product("Mug", "4.00", stock_quantity=5)
    default = await in_app(shop.client, default_variant_id, shop_of(shop.client), mug["id"])
    answer = await place(shop.client, shop.customer, item(mug["id"], 2, default))
    assert answer.status_code == 201, answer.text
    assert by_variant(answer.json()) == {default: ("", mug["sku"], 2)}
    assert await product_total(shop, mug["id"]) == 3


async def test_checkout_of_two_variants_then_cancel_returns_each(shop: Catalog) -> None:
    client, me = shop.client, shop.customer.headers
    tee, size = await shirt(shop, S=5, M=3, L=4)
    for variant, quantity in (("S", 2), ("L", 3)):
        added = await client.post(
            "/api/cart/add/",
            json={"product_id": tee["id"], "variant_id": size[variant], "quantity": quantity},
            headers=me,
        )
        assert added.status_code == 200, added.text

    placed = await client.post("/api/cart/checkout/", json=CHECKOUT, headers=me)

    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert by_variant(order) == {
        size["S"]: ("S", f"{tee['sku']}-S", 2),
        size["L"]: ("L", f"{tee['sku']}-L", 3),
    }
    assert await stock_of(shop, tee["id"]) == {
        size["S"]: (3, True),
        size["M"]: (3, True),
        size["L"]: (1, True),
    }
    cancelled = await client.delete(f"/api/orders/{order['id']}/", headers=me)
    assert cancelled.status_code == 200, cancelled.text
    assert await stock_of(shop, tee["id"]) == {
        size["S"]: (5, True),
        size["M"]: (3, True),
        size["L"]: (4, True),
    }
    assert await product_total(shop, tee["id"]) == 12


async def test_checkout_of_a_variant_that_ran_out_keeps_the_cart(shop: Catalog) -> None:
    client, me = shop.client, shop.customer.headers
    tee, size = await shirt(shop, S=5, M=3)
    for variant in ("S", "M"):
        body = {"product_id": tee["id"], "variant_id": size[variant], "quantity": 2}
        assert (await client.post("/api/cart/add/", json=body, headers=me)).status_code == 200
    await in_app(shop.client, set_variant_active, shop_of(shop.client), size["M"], False)

    refused = await client.post("/api/cart/checkout/", json=CHECKOUT, headers=me)

    assert refused.status_code == 409, refused.text
    assert refused.json()["shortages"] == [
        {
            "product_id": tee["id"],
            "requested": 2,
            "available": 0,
            "variant_id": size["M"],
            "variant_name": "M",
        }
    ]
    cart = (await client.get("/api/cart/", headers=me)).json()
    assert {i["variant_id"]: i["quantity"] for i in cart["items"]} == {size["S"]: 2, size["M"]: 2}
    assert await stock_of(shop, tee["id"]) == {size["S"]: (5, True), size["M"]: (3, False)}


async def test_the_invoice_names_the_variant(shop: Catalog) -> None:
    tee, size = await shirt(shop, S=5, M=3)
    mug = await shop.product("Mug", "4.00", stock_quantity=5)
    answer = await place(shop.client, shop.customer, item(tee["id"], 1, size["M"]), item(mug["id"], 1))
    assert answer.status_code == 201, answer.text

    pdf = await shop.client.get(f"/api/orders/{answer.json()['id']}/invoice/", headers=shop.customer.headers)

    assert pdf.status_code == 200, pdf.text
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Shirt (M)" in text
    assert "Mug" in text
    assert "Mug (" not in text


def test_the_schema_documents_variants_in_orders() -> None:
    from tests.conftest import build_app

    app = build_app(make_settings("sqlite+aiosqlite:///never-opened.db"))
    schemas = app.openapi_schema.to_schema()["components"]["schemas"]
    assert "variant_id" in schemas["OrderItemInput"]["properties"]
    assert "variant_id" not in schemas["OrderItemInput"].get("required", [])
    assert {"variant_id", "variant_name"} <= set(schemas["OrderItemView"]["properties"])


# --- the per-variant oversell race, on PostgreSQL ---------------------------------------------------


async def test_fifty_checkouts_racing_for_a_products_variants_oversell_none(pg_url: str) -> None:
    """50 carts check out at once: 20 hold S and M (one each: two variants of one product in one
    order), 15 hold M, 15 hold L. S (30) never runs out; M (15) and L (5) do, so exactly 15 and 5
    orders that need them are placed. An inactive variant (XL) is left alone, and the product's
    total stays the sum over its active variants."""
    async with open_catalog(make_settings(pg_url, database_pool_size=60)) as catalog:
        client = catalog.client
        tee, size = await shirt(catalog, S=30, M=15, L=5, XL=3)
        await in_app(client, set_variant_active, shop_of(client), size["XL"], False)
        buyers = await customers(client, 50)
        carts = [["S", "M"]] * 20 + [["M"]] * 15 + [["L"]] * 15
        fills = [
            Call(
                "POST",
                "/api/cart/add/",
                {"product_id": tee["id"], "variant_id": size[variant], "quantity": 1},
                buyer.headers,
            )
            for buyer, held in zip(buyers, carts, strict=True)
            for variant in held
        ]
        assert statuses(await answers_of(client, fills)) == {200: len(fills)}

        answers = await answers_of(
            client, [Call("POST", "/api/cart/checkout/", CHECKOUT, buyer.headers) for buyer in buyers]
        )

        no_server_errors(answers)
        assert statuses(answers) == {201: 20, 409: 30}, {r.text for r in answers}
        placed = {
            buyer.id: r.json() for buyer, r in zip(buyers, answers, strict=True) if r.status_code == 201
        }
        sold = Counter[int]()
        for buyer, held in zip(buyers, carts, strict=True):
            if buyer.id in placed:
                names = sorted(i["variant_name"] for i in placed[buyer.id]["items"])
                assert names == sorted(held)  # all of a cart, never part of it
                sold.update(size[v] for v in held)
        for refused in (r.json() for r in answers if r.status_code == 409):
            assert refused["code"] == "insufficient_stock", refused
            for short in refused["shortages"]:
                assert short["variant_id"] in (size["M"], size["L"]), refused
                assert short["available"] == 0, refused
        assert sold[size["M"]] == 15
        assert sold[size["L"]] == 5
        after = await stock_of(catalog, tee["id"])
        assert after == {
            size["S"]: (30 - sold[size["S"]], True),
            size["M"]: (0, True),
            size["L"]: (0, True),
            size["XL"]: (3, False),
        }
        assert all(stock >= 0 for stock, _ in after.values())
        assert await product_total(catalog, tee["id"]) == 30 - sold[size["S"]]
        sales = await read_sql(
            catalog, "SELECT variant_id, balance_after FROM stock_movements WHERE reason = 'sale'"
        )
        for variant, units in (("S", sold[size["S"]]), ("M", 15), ("L", 5)):
            balances = sorted(row.balance_after for row in sales if row.variant_id == size[variant])
            start = {"S": 30, "M": 15, "L": 5}[variant]
            assert balances == list(range(start - units, start))  # one unit each, none twice
        # The refused carts were left as they were.
        for buyer, answer in zip(buyers, answers, strict=True):
            if answer.status_code == 409:
                cart = (await client.get("/api/cart/", headers=buyer.headers)).json()
                assert len(cart["items"]) >= 1


async def test_cancels_of_two_variant_orders_racing_orders_of_one_variant_return_stock_once(
    pg_url: str,
) -> None:
    """A cancellation returns an order's lines one variant after another, as a placement takes them:
    with the product's variants locked first, it cannot deadlock with an order of one of them."""
    async with open_catalog(make_settings(pg_url, database_pool_size=60)) as catalog:
        client = catalog.client
        tee, size = await shirt(catalog, S=20, M=20)
        buyers = await customers(client, 20)
        both = [item(tee["id"], 1, size["S"]), item(tee["id"], 1, size["M"])]
        first = await answers_of(
            client, [Call("POST", "/api/orders/", {"items": both, **CHECKOUT}, b.headers) for b in buyers]
        )
        assert statuses(first) == {201: 20}, {r.text for r in first}
        cancels = [
            Call("DELETE", f"/api/orders/{r.json()['id']}/", None, b.headers)
            for b, r in zip(buyers, first, strict=True)
        ]
        orders = [
            Call("POST", "/api/orders/", {"items": [item(tee["id"], 1, size["M"])], **CHECKOUT}, b.headers)
            for b in buyers
        ]

        answers = await answers_of(
            client, [call for pair in zip(cancels, orders, strict=True) for call in pair]
        )

        no_server_errors(answers)
        cancelled, placed = answers[::2], answers[1::2]
        assert statuses(cancelled) == {200: 20}, {r.text for r in cancelled}
        assert set(statuses(placed)) <= {201, 409}, {r.text for r in placed}
        assert await stock_of(catalog, tee["id"]) == {
            size["S"]: (20, True),
            size["M"]: (20 - statuses(placed)[201], True),
        }
        assert await product_total(catalog, tee["id"]) == 40 - statuses(placed)[201]
