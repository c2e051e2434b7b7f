"""Vouchers on the cart and at checkout (API.md Part 2, "Vouchers and sales"), on SQLite and
PostgreSQL: the cart shows a voucher's effect live and reports one that stopped applying; checkout
counts its use with the order, spreads the discount over the eligible lines, and refuses what does
not apply, leaving the cart as it was."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from shop_core.domain.vouchers import Voucher, VoucherKind
from tests.conftest import make_settings
from tests.http.conftest import (
    Account,
    Catalog,
    Client,
    assert_error,
    engine_of,
    in_app,
    money,
    new_account,
    open_catalog,
    shop_of,
)

ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "1 Main St",
    "city": "London",
    "postal_code": "N1",
    "country": "GB",
}
CHECKOUT = {"shipping_address": ADDRESS, "payment_method": "cod"}


@pytest.fixture
async def shop(database_url: str) -> AsyncIterator[Catalog]:
    """A shop with a flat shipping fee and 10% tax, so every part of the totals shows."""
    settings = make_settings(database_url, shipping_flat=Decimal("5.00"), tax_rate=Decimal("0.10"))
    async with open_catalog(settings) as opened:
        yield opened


async def add_voucher(
    catalog: Catalog, code: str, kind: str = "percentage", value: str = "10", **extra: Any
) -> Voucher:
    """A voucher stored through the repository (the staff API has its own tests)."""
    return await add_voucher_to(catalog.client, code, kind, value, **extra)


async def add_voucher_to(
    client: Client, code: str, kind: str = "percentage", value: str = "10", **extra: Any
) -> Voucher:
    voucher = Voucher(code=code, kind=VoucherKind(kind), value=Decimal(value), **extra)

    async def run() -> Voucher:
        async with shop_of(client).ports.uow() as uow:
            stored = await uow.vouchers.add(voucher, datetime.now(UTC))
            await uow.commit()
        return stored

    stored: Voucher = await in_app(client, run)
    return stored


async def sql(catalog: Catalog, statement: str, **params: Any) -> list[Any]:
    async def run() -> list[Any]:
        async with engine_of(catalog.client).begin() as conn:
            result = await conn.execute(sa.text(statement), params)
            return list(result.all()) if result.returns_rows else []

    rows: list[Any] = await in_app(catalog.client, run)
    return rows


async def used_count(catalog: Catalog, code: str) -> int:
    """The voucher's `used_count` as staff see it."""
    found = await catalog.client.get("/api/vouchers/", params={"search": code}, headers=catalog.staff.headers)
    assert found.status_code == 200, found.text
    [voucher] = [v for v in found.json()["results"] if v["code"] == code]
    count: int = voucher["used_count"]
    return count


async def fill(catalog: Catalog, account: Account, *items: tuple[int, int]) -> None:
    for product_id, quantity in items:
        added = await catalog.client.post(
            "/api/cart/add/", json={"product_id": product_id, "quantity": quantity}, headers=account.headers
        )
        assert added.status_code == 200, added.text


async def cart(catalog: Catalog, account: Account) -> dict[str, Any]:
    found = await catalog.client.get("/api/cart/", headers=account.headers)
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


async def apply(catalog: Catalog, account: Account, code: str) -> Any:
    return await catalog.client.post("/api/cart/voucher/", json={"code": code}, headers=account.headers)


def assert_totals_identity(order: dict[str, Any]) -> None:
    """Every order's identity, and the lines adding up to the order, voucher shares included."""
    items = order["items"]
    assert money(order["subtotal"]) == sum(money(i["line_total"]) for i in items)
    assert money(order["discount_amount"]) == sum(money(i["discount_amount"]) for i in items)
    assert money(order["tax_amount"]) == sum(money(i["tax_amount"]) for i in items)
    assert money(order["voucher_discount"]) == sum(money(i["voucher_discount"]) for i in items)
    assert money(order["total_price"]) == (
        money(order["subtotal"])
        - money(order["discount_amount"])
        + money(order["tax_amount"])
        + money(order["shipping_cost"])
    )
    for item in items:
        assert (
            0
            <= money(item["voucher_discount"])
            <= money(item["discount_amount"])
            <= money(item["line_total"])
        )


# --- the cart ---------------------------------------------------------------------------------------


async def test_a_voucher_shows_its_effect_in_the_cart_live(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "30.00", stock_quantity=10)
    mug = await shop.product("Mug", "10.00", stock_quantity=10, discount_percentage="10")
    await add_voucher(shop, "SAVE10")
    await fill(shop, shop.customer, (lamp["id"], 1), (mug["id"], 2))

    applied = await apply(shop, shop.customer, "save10")  # codes are case-insensitive

    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert body["voucher_code"] == "SAVE10"
    assert body["voucher_error"] is None
    assert body["subtotal"] == "48.00"  # 30 + 2 x 9 (the mug's own discount first)
    assert body["discount"] == "4.80"
    assert body["total"] == "43.20"
    assert body["free_shipping"] is False
    # Live: the cart's next read follows its lines.
    await fill(shop, shop.customer, (lamp["id"], 1))
    again = await cart(shop, shop.customer)
    assert (again["subtotal"], again["discount"], again["total"]) == ("78.00", "7.80", "70.20")

    removed = await shop.client.delete("/api/cart/voucher/", headers=shop.customer.headers)
    assert removed.status_code == 200, removed.text
    assert (removed.json()["voucher_code"], removed.json()["discount"], removed.json()["total"]) == (
        None,
        "0.00",
        "78.00",
    )


async def test_a_guest_applies_a_voucher_and_keeps_it_through_login(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "30.00", stock_quantity=10)
    await add_voucher(shop, "FIVEOFF", "fixed", "500")
    added = await shop.client.post("/api/cart/add/", json={"product_id": lamp["id"]})
    token = added.headers["X-Cart-Token"]
    applied = await shop.client.post(
        "/api/cart/voucher/", json={"code": "fiveoff"}, headers={"X-Cart-Token": token}
    )
    assert applied.status_code == 200, applied.text
    assert (applied.json()["discount"], applied.json()["total"]) == ("5.00", "25.00")
    assert applied.headers["X-Cart-Token"] == token


@pytest.mark.parametrize(
    ("voucher", "reason"),
    [
        ({"code": "NOPE"}, "unknown"),
        ({"code": "LATER", "starts_at": datetime.now(UTC) + timedelta(days=1)}, "not_started"),
        ({"code": "OLD", "ends_at": datetime.now(UTC) - timedelta(days=1)}, "expired"),
        ({"code": "BIGSPEND", "min_subtotal": 100_000}, "minimum_not_met"),
        ({"code": "GONE", "usage_limit": 1, "used_count": 1}, "used_up"),
        ({"code": "OFF", "is_active": False}, "unknown"),
    ],
)
async def test_a_voucher_that_does_not_apply_is_400_with_its_reason_and_the_cart_keeps_its_own(
    shop: Catalog, voucher: dict[str, Any], reason: str
) -> None:
    lamp = await shop.product("Lamp", "30.00", stock_quantity=10)
    await add_voucher(shop, "GOOD")
    if voucher["code"] != "NOPE":
        stored = await add_voucher(shop, **{k: v for k, v in voucher.items() if k != "used_count"})
        if "used_count" in voucher:
            await sql(
                shop,
                "UPDATE vouchers SET used_count = :n WHERE id = :i",
                n=voucher["used_count"],
                i=stored.id,
            )
    await fill(shop, shop.customer, (lamp["id"], 1))
    assert (await apply(shop, shop.customer, "GOOD")).status_code == 200

    refused = await apply(shop, shop.customer, voucher["code"].lower())

    body = assert_error(refused, 400, "voucher_invalid")
    assert body["reason"] == reason, body
    assert body["errors"]["code"], body
    kept = await cart(shop, shop.customer)
    assert (kept["voucher_code"], kept["discount"], kept["total"]) == ("GOOD", "3.00", "27.00")


async def test_a_voucher_restricted_to_a_category_counts_its_subcategories_only(shop: Catalog) -> None:
    home = await shop.category("Home")
    lighting = await shop.category("Lighting", parent=home["id"])
    books = await shop.category("Books")
    lamp = await shop.product("Lamp", "30.00", stock_quantity=10, category=lighting["id"])
    novel = await shop.product("Novel", "20.00", stock_quantity=10, category=books["id"])
    await add_voucher(shop, "HOME20", value="20", category_ids=frozenset({home["id"]}))
    await add_voucher(shop, "NOVEL", value="50", product_ids=frozenset({novel["id"]}))
    await fill(shop, shop.customer, (novel["id"], 1))

    nothing = assert_error(await apply(shop, shop.customer, "HOME20"), 400, "voucher_invalid")
    assert nothing["reason"] == "not_applicable"
    await fill(shop, shop.customer, (lamp["id"], 1))
    applied = (await apply(shop, shop.customer, "HOME20")).json()
    assert (applied["subtotal"], applied["discount"], applied["total"]) == ("50.00", "6.00", "44.00")
    by_product = (await apply(shop, shop.customer, "NOVEL")).json()
    assert (by_product["discount"], by_product["total"]) == ("10.00", "40.00")


async def test_a_voucher_that_stops_applying_is_reported_in_the_cart_and_refused_at_checkout(
    shop: Catalog,
) -> None:
    lamp = await shop.product("Lamp", "30.00", stock_quantity=10)
    await add_voucher(shop, "SPEND50", "fixed", "1000", min_subtotal=5000)
    await fill(shop, shop.customer, (lamp["id"], 2))
    assert (await apply(shop, shop.customer, "SPEND50")).status_code == 200
    await shop.client.put(
        f"/api/cart/items/{lamp['id']}/", json={"quantity": 1}, headers=shop.customer.headers
    )

    below = await cart(shop, shop.customer)
    assert below["voucher_code"] == "SPEND50"
    assert below["voucher_error"]["reason"] == "minimum_not_met"
    assert below["voucher_error"]["code"] == "voucher_invalid"
    assert (below["discount"], below["total"]) == ("0.00", "30.00")

    refused = await shop.client.post("/api/cart/checkout/", json=CHECKOUT, headers=shop.customer.headers)
    assert_error(refused, 400, "voucher_invalid")
    kept = await cart(shop, shop.customer)
    assert [(i["product_id"], i["quantity"]) for i in kept["items"]] == [(lamp["id"], 1)]
    assert kept["voucher_code"] == "SPEND50"
    assert await used_count(shop, "SPEND50") == 0

    await sql(shop, "UPDATE vouchers SET ends_at = :t", t=datetime.now(UTC) - timedelta(seconds=1))
    await fill(shop, shop.customer, (lamp["id"], 1))
    expired = await cart(shop, shop.customer)
    assert expired["voucher_error"]["reason"] == "expired"


# --- checkout ---------------------------------------------------------------------------------------


async def test_checkout_spreads_the_voucher_over_the_eligible_lines_and_counts_the_use(shop: Catalog) -> None:
    home = await shop.category("Home")
    lamp = await shop.product("Lamp", "30.00", stock_quantity=10, category=home["id"])
    rug = await shop.product("Rug", "10.01", stock_quantity=10, category=home["id"], discount_percentage="10")
    novel = await shop.product("Novel", "20.00", stock_quantity=10)
    await add_voucher(shop, "HOME15", value="15", category_ids=frozenset({home["id"]}), usage_limit=5)
    await fill(shop, shop.customer, (lamp["id"], 1), (rug["id"], 3), (novel["id"], 1))
    assert (await apply(shop, shop.customer, "HOME15")).status_code == 200
    shown = await cart(shop, shop.customer)

    placed = await shop.client.post("/api/cart/checkout/", json=CHECKOUT, headers=shop.customer.headers)

    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["voucher_code"] == "HOME15"
    assert order["voucher_discount"] == shown["discount"]
    by_product = {i["product_id"]: i for i in order["items"]}
    # Eligible: the lamp (30.00) and the rug (3 x 9.01 = 27.03 after its own 10%): 15% of 57.03
    # is 8.5545, 8.55; shared in proportion, the rounding unit to the larger line.
    assert order["voucher_discount"] == "8.55"
    assert by_product[novel["id"]]["voucher_discount"] == "0.00"
    assert money(by_product[lamp["id"]]["voucher_discount"]) + money(
        by_product[rug["id"]]["voucher_discount"]
    ) == Decimal("8.55")
    assert by_product[lamp["id"]]["voucher_discount"] == "4.50"
    assert by_product[rug["id"]]["voucher_discount"] == "4.05"
    # The rug's unit price stays what the cart showed (its own discount only).
    assert by_product[rug["id"]]["final_unit_price"] == "9.01"
    assert_totals_identity(order)
    assert order["shipping_cost"] == "5.00"
    # Tax is on each line after its share of the voucher.
    assert by_product[lamp["id"]]["tax_amount"] == "2.55"
    assert await used_count(shop, "HOME15") == 1
    assert (await cart(shop, shop.customer))["items"] == []

    listed = await shop.client.get(
        "/api/orders/", params={"voucher_code": "home15"}, headers=shop.staff.headers
    )
    assert [o["id"] for o in listed.json()["results"]] == [order["id"]]
    other = await shop.client.get(
        "/api/orders/", params={"voucher_code": "OTHER"}, headers=shop.staff.headers
    )
    assert other.json()["count"] == 0


async def test_a_voucher_code_in_the_body_wins_over_the_carts(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "40.00", stock_quantity=10)
    await add_voucher(shop, "TEN", value="10")
    await add_voucher(shop, "SHIPFREE", "free_shipping", "0")
    await fill(shop, shop.customer, (lamp["id"], 1))
    assert (await apply(shop, shop.customer, "TEN")).status_code == 200

    placed = await shop.client.post(
        "/api/cart/checkout/", json={**CHECKOUT, "voucher_code": "shipfree"}, headers=shop.customer.headers
    )

    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["voucher_code"], order["voucher_discount"], order["shipping_cost"]) == (
        "SHIPFREE",
        "0.00",
        "0.00",
    )
    assert order["discount_amount"] == "0.00"
    assert_totals_identity(order)
    assert (await used_count(shop, "SHIPFREE"), await used_count(shop, "TEN")) == (1, 0)


async def test_placing_an_order_with_a_fixed_voucher_never_takes_more_than_the_goods(shop: Catalog) -> None:
    pen = await shop.product("Pen", "3.00", stock_quantity=10)
    await add_voucher(shop, "BIG", "fixed", "10000")
    placed = await shop.client.post(
        "/api/orders/",
        json={"items": [{"product_id": pen["id"], "quantity": 2}], **CHECKOUT, "voucher_code": "big"},
        headers=shop.customer.headers,
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["voucher_discount"], order["discount_amount"], order["tax_amount"]) == (
        "6.00",
        "6.00",
        "0.00",
    )
    assert order["total_price"] == "5.00"  # the shipping alone
    assert_totals_identity(order)


async def test_a_used_up_voucher_is_409_at_checkout_and_the_cart_is_untouched(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "30.00", stock_quantity=10)
    await add_voucher(shop, "ONCE", usage_limit=1)
    other = await new_account(shop.client)
    for account in (shop.customer, other):
        await fill(shop, account, (lamp["id"], 1))
        assert (await apply(shop, account, "ONCE")).status_code == 200
    first = await shop.client.post("/api/cart/checkout/", json=CHECKOUT, headers=shop.customer.headers)
    assert first.status_code == 201, first.text

    second = await shop.client.post("/api/cart/checkout/", json=CHECKOUT, headers=other.headers)

    assert_error(second, 409, "voucher_exhausted")
    kept = await cart(shop, other)
    assert [(i["product_id"], i["quantity"]) for i in kept["items"]] == [(lamp["id"], 1)]
    assert kept["voucher_code"] == "ONCE"
    assert kept["voucher_error"]["reason"] == "used_up"
    staff_view = await shop.client.get(f"/api/products/{lamp['id']}/", headers=shop.staff.headers)
    assert staff_view.json()["stock_quantity"] == 9  # only the first order took stock
    assert await used_count(shop, "ONCE") == 1


async def test_a_per_customer_limit_holds_for_each_customer(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "30.00", stock_quantity=10)
    await add_voucher(shop, "WELCOME", per_customer_limit=1)
    order = {"items": [{"product_id": lamp["id"], "quantity": 1}], **CHECKOUT, "voucher_code": "WELCOME"}
    assert (
        await shop.client.post("/api/orders/", json=order, headers=shop.customer.headers)
    ).status_code == 201

    again = await shop.client.post("/api/orders/", json=order, headers=shop.customer.headers)

    assert_error(again, 409, "voucher_exhausted")
    await fill(shop, shop.customer, (lamp["id"], 1))
    assert (
        assert_error(await apply(shop, shop.customer, "WELCOME"), 400, "voucher_invalid")["reason"]
        == "used_up"
    )
    other = await new_account(shop.client)
    assert (await shop.client.post("/api/orders/", json=order, headers=other.headers)).status_code == 201
    assert await used_count(shop, "WELCOME") == 2


async def test_a_limit_set_on_a_voucher_in_use_counts_the_uses_so_far(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "30.00", stock_quantity=10)
    voucher = await add_voucher(shop, "OPEN")
    order = {"items": [{"product_id": lamp["id"], "quantity": 1}], **CHECKOUT, "voucher_code": "OPEN"}
    for _ in range(3):
        assert (
            await shop.client.post("/api/orders/", json=order, headers=shop.customer.headers)
        ).status_code == 201
    assert await used_count(shop, "OPEN") == 3

    limited = await shop.client.patch(
        f"/api/vouchers/{voucher.id}/", json={"usage_limit": 4}, headers=shop.staff.headers
    )

    assert limited.status_code == 200, limited.text
    assert (limited.json()["used_count"], limited.json()["uses_left"]) == (3, 1)
    assert (
        await shop.client.post("/api/orders/", json=order, headers=shop.customer.headers)
    ).status_code == 201
    assert_error(
        await shop.client.post("/api/orders/", json=order, headers=shop.customer.headers),
        409,
        "voucher_exhausted",
    )
    assert await used_count(shop, "OPEN") == 4
    # Lifted again, the uses keep counting.
    lifted = await shop.client.patch(
        f"/api/vouchers/{voucher.id}/", json={"usage_limit": None}, headers=shop.staff.headers
    )
    assert (lifted.json()["used_count"], lifted.json()["uses_left"]) == (4, None)
    assert (
        await shop.client.post("/api/orders/", json=order, headers=shop.customer.headers)
    ).status_code == 201
    assert await used_count(shop, "OPEN") == 5


async def test_cancelling_an_unpaid_order_gives_the_use_back_once(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "30.00", stock_quantity=10)
    await add_voucher(shop, "ONCE", usage_limit=1, per_customer_limit=1)
    order = {"items": [{"product_id": lamp["id"], "quantity": 1}], **CHECKOUT, "voucher_code": "ONCE"}
    placed = (await shop.client.post("/api/orders/", json=order, headers=shop.customer.headers)).json()
    assert await used_count(shop, "ONCE") == 1

    cancelled = await shop.client.delete(f"/api/orders/{placed['id']}/", headers=shop.customer.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert await used_count(shop, "ONCE") == 0
    again = await shop.client.delete(f"/api/orders/{placed['id']}/", headers=shop.customer.headers)
    assert again.status_code == 409
    assert await used_count(shop, "ONCE") == 0
    uses = await sql(shop, "SELECT count FROM voucher_uses")
    assert [row.count for row in uses] == [0]
    events = await shop.client.get(f"/api/orders/{placed['id']}/", headers=shop.staff.headers)
    assert [e["action"] for e in events.json()["events"]].count("voucher_returned") == 1

    # The use is free again, for this customer too.
    replaced = await shop.client.post("/api/orders/", json=order, headers=shop.customer.headers)
    assert replaced.status_code == 201, replaced.text


async def test_a_paid_order_keeps_its_use_when_cancelled(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "30.00", stock_quantity=10)
    await add_voucher(shop, "KEEP", usage_limit=3)
    order = {"items": [{"product_id": lamp["id"], "quantity": 1}], **CHECKOUT, "voucher_code": "KEEP"}
    placed = (await shop.client.post("/api/orders/", json=order, headers=shop.customer.headers)).json()
    paid = await shop.client.post(f"/api/orders/{placed['id']}/confirm-cash/", headers=shop.staff.headers)
    assert paid.status_code == 200, paid.text
    cancelled = await shop.client.delete(f"/api/orders/{placed['id']}/", headers=shop.staff.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert await used_count(shop, "KEEP") == 1


async def test_malformed_voucher_input_is_400_and_changes_nothing(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "30.00", stock_quantity=10)
    await fill(shop, shop.customer, (lamp["id"], 1))
    for body in (
        {},
        {"code": ""},
        {"code": 5},
        {"code": "A" * 65},
        {"code": "SAVE\x0010"},
        {"code": None},
        [],
    ):
        refused = await shop.client.post("/api/cart/voucher/", json=body, headers=shop.customer.headers)
        assert refused.status_code == 400, (body, refused.text)
    for code in ("has space", "ünïcode", "--", "x"):
        assert_error(await apply(shop, shop.customer, code), 400, "voucher_invalid")
    placed = await shop.client.post(
        "/api/orders/",
        json={"items": [{"product_id": lamp["id"], "quantity": 1}], **CHECKOUT, "voucher_code": 7},
        headers=shop.customer.headers,
    )
    assert placed.status_code == 400
    unknown = await shop.client.post(
        "/api/orders/",
        json={"items": [{"product_id": lamp["id"], "quantity": 1}], **CHECKOUT, "voucher_code": "NOSUCH"},
        headers=shop.customer.headers,
    )
    assert_error(unknown, 400, "voucher_invalid")
    kept = await cart(shop, shop.customer)
    assert (kept["voucher_code"], len(kept["items"])) == (None, 1)
    staff_view = await shop.client.get(f"/api/products/{lamp['id']}/", headers=shop.staff.headers)
    assert staff_view.json()["stock_quantity"] == 10
    assert (await sql(shop, "SELECT count(*) AS n FROM orders"))[0].n == 0


async def test_the_voucher_endpoint_is_rate_limited_like_login(sqlite_url: str) -> None:
    """Guessing codes hits the limit that login has (per client, shared with the auth endpoints)."""
    settings = make_settings(sqlite_url, rate_limit_enabled=True, auth_rate_limit_per_minute=10)
    async with open_catalog(settings) as shop:
        await add_voucher(shop, "REAL")
        answers = [await apply(shop, shop.customer, f"GUESS{n}") for n in range(12)]
        statuses = [a.status_code for a in answers]
        guessed = statuses.count(400)
        assert 0 < guessed <= 10, statuses
        assert statuses == [400] * guessed + [429] * (12 - guessed), statuses
        assert all(int(a.headers["Retry-After"]) > 0 for a in answers[guessed:])
        # Even the right code waits now; the cart is as it was.
        assert (await apply(shop, shop.customer, "REAL")).status_code == 429
        assert (await cart(shop, shop.customer))["voucher_code"] is None


async def test_what_a_voucher_is_restricted_to_cannot_be_erased_from_under_it(shop: Catalog) -> None:
    """Erasing the last product or category a voucher names would make it apply to everything."""
    spare = await shop.category("Spare")
    lamp = await shop.product("Lamp", "30.00", stock_quantity=10)
    await add_voucher(shop, "LAMPS", product_ids=frozenset({lamp["id"]}))
    await add_voucher(shop, "SPARE", category_ids=frozenset({spare["id"]}))

    deleted = await shop.client.delete(f"/api/products/{lamp['id']}/", headers=shop.staff.headers)
    refused = await shop.client.delete(f"/api/categories/{spare['id']}/", headers=shop.staff.headers)

    assert deleted.status_code == 204, deleted.text
    kept = await shop.client.get(f"/api/products/{lamp['id']}/", headers=shop.staff.headers)
    assert kept.status_code == 200
    assert kept.json()["is_active"] is False  # deactivated, not erased
    assert "SPARE" in assert_error(refused, 409)["detail"]
    assert (await shop.client.get(f"/api/categories/{spare['id']}/")).status_code == 200
    restricted = await sql(shop, "SELECT count(*) AS n FROM voucher_products")
    assert restricted[0].n == 1
