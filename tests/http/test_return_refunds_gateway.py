"""A return's refund goes through the gateway that took the money: Stripe (its stand-in speaking
Stripe's wire protocol) gets one refund per return, of the return's exact share, and the order
becomes `refunded` when everything paid has come back."""

from __future__ import annotations

from typing import Any

from tests.http.test_payments import Shop, paid_by_stripe, shop  # noqa: F401 - a fixture


async def staff_call(shop: Shop, method: str, path: str, body: dict[str, Any] | None = None) -> Any:  # noqa: F811
    answer = await shop.client.request(method, path, json=body or {}, headers=shop.staff.headers)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def test_returns_are_refunded_through_stripe_once_each(shop: Shop) -> None:  # noqa: F811
    order, payment = await paid_by_stripe(shop, quantity=2)  # 2 lamps: 50.00 BDT
    for status in ("processing", "shipped", "delivered"):
        await staff_call(shop, "PATCH", f"/api/orders/{order['id']}/", {"status": status})
    (item,) = order["items"]
    refunds = []
    for _ in range(2):  # a lamp at a time
        asked = await shop.client.post(
            f"/api/orders/{order['id']}/returns/",
            json={"lines": [{"item_id": item["id"], "quantity": 1}], "reason": "Flickers"},
            headers=shop.customer.headers,
        )
        assert asked.status_code == 201, asked.text
        path = f"/api/returns/{asked.json()['id']}/"
        await staff_call(shop, "POST", f"{path}approve/")
        await staff_call(shop, "POST", f"{path}receive/", {"restock": True})
        refunded = await staff_call(shop, "POST", f"{path}refund/")
        assert (refunded["status"], refunded["refund_amount"]) == ("refunded", "25.00")
        refunds.append(refunded)
        # Refunding it again is refused and sends nothing more to Stripe.
        again = await shop.client.post(f"{path}refund/", json={}, headers=shop.staff.headers)
        assert again.status_code == 409, again.text

    sent = shop.stripe.refunds()
    assert sorted((r["amount"], r["payment_intent"]) for r in sent) == [
        (2500, payment["gateway_reference"]),
        (2500, payment["gateway_reference"]),
    ]
    now = await shop.order_as(order["id"], shop.staff)
    assert (now["status"], now["payment_status"], now["refunded_amount"]) == ("refunded", "refunded", "50.00")
    assert (await shop.payment(payment["id"]))["refunded_amount"] == "50.00"
