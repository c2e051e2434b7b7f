"""Voucher limits under load, on PostgreSQL with requests really in parallel: however many checkouts
race for a voucher's last uses, exactly `usage_limit` orders get it (per customer,
`per_customer_limit`), the others are 409 `voucher_exhausted` with their carts untouched, and a
cancelled or expired unpaid order gives its use back exactly once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.http.conftest import assert_error, open_catalog, shop_of
from tests.http.test_cart_vouchers import add_voucher, assert_totals_identity, sql, used_count
from tests.http.test_orders_concurrency import (
    CHECKOUT,
    Call,
    answers_of,
    burst,
    cart_of,
    customers,
    fill_cart,
    no_server_errors,
    statuses,
)


def order_with(product_id: int, code: str) -> dict[str, Any]:
    return {"items": [{"product_id": product_id, "quantity": 1}], **CHECKOUT, "voucher_code": code}


async def test_fifty_checkouts_racing_for_ten_uses_place_exactly_ten_orders(pg_url: str) -> None:
    async with open_catalog(make_settings(pg_url, database_pool_size=60)) as catalog:
        # Each buyer a product of their own: nothing but the voucher's row queues the checkouts.
        lamps = [await catalog.product(f"Lamp {n}", "25.00", stock_quantity=1) for n in range(50)]
        voucher = await add_voucher(catalog, "RACE10", value="20", usage_limit=10)
        buyers = await customers(catalog.client, 50)
        for buyer, lamp in zip(buyers, lamps, strict=True):
            await fill_cart(catalog, buyer, [(lamp["id"], 1)])
        await answers_of(
            catalog.client,
            [Call("POST", "/api/cart/voucher/", {"code": "race10"}, dict(b.headers)) for b in buyers],
        )

        answers = await answers_of(
            catalog.client,
            [
                Call(
                    "POST",
                    "/api/cart/checkout/",
                    CHECKOUT,
                    {**b.headers, "Idempotency-Key": str(uuid.uuid4())},
                )
                for b in buyers
            ],
        )

        no_server_errors(answers)
        assert statuses(answers) == {201: 10, 409: 40}, {r.text for r in answers}
        assert {r.json()["code"] for r in answers if r.status_code == 409} == {"voucher_exhausted"}
        placed = [r.json() for r in answers if r.status_code == 201]
        for order in placed:
            assert (order["voucher_code"], order["voucher_discount"]) == ("RACE10", "5.00")
            assert_totals_identity(order)
        assert await used_count(catalog, "RACE10") == 10
        rows = await sql(catalog, "SELECT count(*) AS n FROM orders WHERE voucher_id = :v", v=voucher.id)
        assert rows[0].n == 10
        uses = await sql(catalog, "SELECT sum(count) AS n, max(count) AS m FROM voucher_uses")
        assert (uses[0].n, uses[0].m) == (10, 1)
        # The refused checkouts took no stock, and each refused customer still has their cart,
        # voucher and all.
        for buyer, lamp, answer in zip(buyers, lamps, answers, strict=True):
            stock = await catalog.client.get(f"/api/products/{lamp['id']}/", headers=catalog.staff.headers)
            assert stock.json()["stock_quantity"] == (0 if answer.status_code == 201 else 1)
            if answer.status_code == 201:
                continue
            kept = await cart_of(catalog, buyer)
            assert [(i["product_id"], i["quantity"]) for i in kept["items"]] == [(lamp["id"], 1)]
            assert kept["voucher_code"] == "RACE10"
            assert kept["voucher_error"]["reason"] == "used_up"


@pytest.mark.parametrize("usage_limit", [100, None])
async def test_one_customer_racing_orders_gets_exactly_the_per_customer_limit(
    pg_url: str, usage_limit: int | None
) -> None:
    """With a usage limit the voucher's row queues the orders; without one, only the customer's."""
    async with open_catalog(make_settings(pg_url, database_pool_size=40)) as catalog:
        lamp = await catalog.product("Lamp", "25.00", stock_quantity=100)
        await add_voucher(catalog, "TWICE", per_customer_limit=2, usage_limit=usage_limit)
        buyer = catalog.customer

        answers = await answers_of(
            catalog.client,
            [
                Call("POST", "/api/orders/", order_with(lamp["id"], "TWICE"), dict(buyer.headers))
                for _ in range(20)
            ],
        )

        no_server_errors(answers)
        assert statuses(answers) == {201: 2, 409: 18}, {r.text for r in answers}
        assert {r.json()["code"] for r in answers if r.status_code == 409} == {"voucher_exhausted"}
        assert await used_count(catalog, "TWICE") == 2
        uses = await sql(catalog, "SELECT user_id, count FROM voucher_uses")
        assert [(row.user_id, row.count) for row in uses] == [(buyer.id, 2)]


async def test_racing_cancels_and_the_expiry_give_a_use_back_exactly_once(pg_url: str) -> None:
    async with open_catalog(make_settings(pg_url, database_pool_size=40)) as catalog:
        lamp = await catalog.product("Lamp", "25.00", stock_quantity=100)
        await add_voucher(catalog, "BACK", usage_limit=5, per_customer_limit=5)
        buyer = catalog.customer
        orders = []
        for _ in range(3):
            placed = await catalog.client.post(
                "/api/orders/", json=order_with(lamp["id"], "BACK"), headers=buyer.headers
            )
            assert placed.status_code == 201, placed.text
            orders.append(placed.json())
        assert await used_count(catalog, "BACK") == 3
        # Old enough to expire (online payment, past the payment timeout).
        await sql(
            catalog,
            "UPDATE orders SET payment_method = 'stripe', created_at = :t",
            t=datetime.now(UTC) - timedelta(days=2),
        )
        shop = shop_of(catalog.client)

        cancels = [
            Call("DELETE", f"/api/orders/{order['id']}/", None, dict(holder.headers))
            for order in orders
            for holder in (buyer, buyer, catalog.staff)
        ]
        answers, expired = await burst(catalog.client, cancels, shop.orders.expire_unpaid_orders)

        no_server_errors(answers)
        cancelled_by_request = sum(1 for r in answers if r.status_code == 200)
        assert cancelled_by_request + expired[0] == 3, ([r.status_code for r in answers], expired)
        assert await used_count(catalog, "BACK") == 0
        uses = await sql(catalog, "SELECT count FROM voucher_uses")
        assert [row.count for row in uses] == [0]
        returned = await sql(
            catalog, "SELECT count(*) AS n FROM order_events WHERE action = 'voucher_returned'"
        )
        assert returned[0].n == 3


async def test_a_limit_set_while_checkouts_race_is_never_passed(pg_url: str) -> None:
    """Checkouts of a voucher without a limit take only a share lock on its row; a limit set
    meanwhile waits for them and counts their uses, so no order gets past it."""
    async with open_catalog(make_settings(pg_url, database_pool_size=60)) as catalog:
        lamps = [await catalog.product(f"Lamp {n}", "25.00", stock_quantity=5) for n in range(30)]
        voucher = await add_voucher(catalog, "OPEN")
        buyers = await customers(catalog.client, 30)
        orders = [
            Call("POST", "/api/orders/", order_with(lamp["id"], "OPEN"), dict(buyer.headers))
            for buyer, lamp in zip(buyers, lamps, strict=True)
        ]
        limit = Call(
            "PATCH", f"/api/vouchers/{voucher.id}/", {"usage_limit": 12}, dict(catalog.staff.headers)
        )

        answers = await answers_of(catalog.client, [*orders[:15], limit, *orders[15:]])

        no_server_errors(answers)
        placed = sum(1 for r in answers if r.status_code == 201)
        changed = answers[15]
        if changed.status_code == 200:  # the limit came in time: no order got past it
            assert placed <= 12, (placed, changed.text)
        else:  # more than 12 had counted before it: refused, nothing changed
            assert "usage_limit" in assert_error(changed, 400)["errors"]
        rows = await sql(catalog, "SELECT count(*) AS n FROM orders WHERE voucher_id = :v", v=voucher.id)
        assert rows[0].n == placed == await used_count(catalog, "OPEN")
        final = (
            await catalog.client.get(f"/api/vouchers/{voucher.id}/", headers=catalog.staff.headers)
        ).json()
        if final["usage_limit"] is not None:
            assert final["used_count"] <= final["usage_limit"]
