"""A return's refund goes through the gateway that took the money: Stripe (its stand-in speaking
Stripe's wire protocol) gets one refund per return, of the return's exact share, and the order
becomes `refunded` when everything paid has come back; SSLCommerz (its stand-in) likewise, including a
refund it settles later."""

from __future__ import annotations

from decimal import Decimal
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


async def paid_by_sslcommerz(shop: Shop, quantity: int) -> tuple[dict[str, Any], dict[str, Any]]:  # noqa: F811
    """An order paid through SSLCommerz (its validated IPN), then shipped and delivered."""
    order = await shop.order("sslcommerz", quantity=quantity)
    payment = await shop.start(order)
    session = shop.sslcommerz.session_for(payment["gateway_reference"])
    answer = await shop.ipn(shop.sslcommerz.complete(session.sessionkey, "VALID"))
    assert answer.status_code == 200, answer.text
    for status in ("processing", "shipped", "delivered"):
        await staff_call(shop, "PATCH", f"/api/orders/{order['id']}/", {"status": status})
    return order, payment


async def received_return(shop: Shop, order: dict[str, Any]) -> str:  # noqa: F811
    """A lamp of the order asked back, approved and received; the return's path."""
    (item,) = order["items"]
    asked = await shop.client.post(
        f"/api/orders/{order['id']}/returns/",
        json={"lines": [{"item_id": item["id"], "quantity": 1}], "reason": "Flickers"},
        headers=shop.customer.headers,
    )
    assert asked.status_code == 201, asked.text
    path = f"/api/returns/{asked.json()['id']}/"
    await staff_call(shop, "POST", f"{path}approve/")
    await staff_call(shop, "POST", f"{path}receive/", {"restock": False})
    return path


async def test_returns_refunded_through_sslcommerz_settle_once_each(shop: Shop) -> None:  # noqa: F811
    order, payment = await paid_by_sslcommerz(shop, quantity=2)  # 2 lamps: 50.00 BDT

    # SSLCommerz takes the first refund but settles it later: the return waits, received, and
    # asking again once it has settled completes it with the same refund, not a second one.
    shop.sslcommerz.set_refund_mode("processing")
    first = await received_return(shop, order)
    waiting = await staff_call(shop, "POST", f"{first}refund/")
    assert (waiting["status"], waiting["refunded_at"]) == ("received", None)
    (refund,) = shop.sslcommerz.refunds.values()
    assert (refund.amount, refund.status) == (Decimal("25.00"), "processing")
    shop.sslcommerz.settle_refund(refund.refund_ref_id)
    settled = await staff_call(shop, "POST", f"{first}refund/")
    assert (settled["status"], settled["refund_amount"]) == ("refunded", "25.00")
    assert len(shop.sslcommerz.refunds) == 1
    half = await shop.order_as(order["id"], shop.staff)
    assert (half["status"], half["refunded_amount"]) == ("delivered", "25.00")

    # The second lamp's refund settles at once; everything paid has come back.
    shop.sslcommerz.set_refund_mode("refunded")
    second = await received_return(shop, order)
    assert (await staff_call(shop, "POST", f"{second}refund/"))["status"] == "refunded"
    sent = sorted((r.amount, r.bank_tran_id, r.status) for r in shop.sslcommerz.refunds.values())
    assert [(amount, status) for amount, _, status in sent] == [(Decimal("25.00"), "refunded")] * 2
    assert len({bank for _, bank, _ in sent}) == 1  # both against the payment's transaction
    now = await shop.order_as(order["id"], shop.staff)
    assert (now["status"], now["payment_status"], now["refunded_amount"]) == ("refunded", "refunded", "50.00")
    assert (await shop.payment(payment["id"]))["refunded_amount"] == "50.00"
