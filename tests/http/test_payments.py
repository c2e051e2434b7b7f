"""API.md's Payments table as clients (and the gateways) see it: the real app, the real gateway
adapters, and local stand-ins for Stripe and SSLCommerz, on the embedded SQLite default."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from shop_core.settings import Settings
from tests.conftest import gateway_settings, make_settings
from tests.http.conftest import (
    BEYOND_64_BITS,
    INT4_OVERFLOW,
    PAGE_FIELDS,
    Account,
    Client,
    assert_error,
    assert_utc,
    money,
    new_account,
    open_catalog,
)
from tests.stand_ins.sslcommerz_server import SslcommerzStandIn
from tests.stand_ins.stripe_server import StripeStandIn

PAYMENT_FIELDS = {
    "id",
    "order_id",
    "order_number",
    "gateway",
    "status",
    "amount",
    "currency",
    "gateway_reference",
    "refunded_amount",
    "held",
    "created_at",
    "updated_at",
}
ADDRESS = {
    "full_name": "Rahim Uddin",
    "line1": "House 12, Road 5",
    "city": "Dhaka",
    "postal_code": "1207",
    "country": "BD",
    "phone": "+8801700000000",
}
FORM = {"content-type": "application/x-www-form-urlencoded"}


@dataclass
class Shop:
    """The app with its gateways pointed at the stand-ins, a staff member, two customers and a
    25.00 BDT lamp."""

    client: Client
    staff: Account
    customer: Account
    other: Account
    stripe: StripeStandIn
    sslcommerz: SslcommerzStandIn
    lamp: int

    async def order(self, method: str, quantity: int = 1, who: Account | None = None) -> dict[str, Any]:
        body = {
            "items": [{"product_id": self.lamp, "quantity": quantity}],
            "shipping_address": ADDRESS,
            "payment_method": method,
        }
        placed = await self.client.post("/api/orders/", json=body, headers=(who or self.customer).headers)
        assert placed.status_code == 201, placed.text
        order: dict[str, Any] = placed.json()
        return order

    async def process(
        self, body: Any, *, key: str | None = None, who: Account | None = None
    ) -> httpx.Response:
        headers = dict((who or self.customer).headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        if isinstance(body, bytes):
            headers["Content-Type"] = "application/json"
            return await self.client.post("/api/payments/process/", content=body, headers=headers)
        return await self.client.post("/api/payments/process/", json=body, headers=headers)

    async def start(self, order: dict[str, Any], status: int = 201, **extra: Any) -> dict[str, Any]:
        return assert_payment(await self.process({"order_id": order["id"], **extra}), status)

    async def order_as(self, order_id: int, who: Account | None = None) -> dict[str, Any]:
        found = await self.client.get(f"/api/orders/{order_id}/", headers=(who or self.customer).headers)
        assert found.status_code == 200, found.text
        order: dict[str, Any] = found.json()
        return order

    async def payment(self, payment_id: int, who: Account | None = None) -> dict[str, Any]:
        found = await self.client.get(f"/api/payments/{payment_id}/", headers=(who or self.staff).headers)
        return assert_payment(found)

    async def all_payments(self, **params: Any) -> list[dict[str, Any]]:
        found = await self.client.get(
            "/api/payments/", params={"page_size": 100, **params}, headers=self.staff.headers
        )
        assert found.status_code == 200, found.text
        body = found.json()
        assert set(body) == PAGE_FIELDS
        for payment in body["results"]:
            assert set(payment) >= PAYMENT_FIELDS
        results: list[dict[str, Any]] = body["results"]
        return results

    async def stripe_webhook(self, event: dict[str, Any], **signing: Any) -> httpx.Response:
        body, headers = self.stripe.webhook(event, **signing)
        return await self.client.post("/api/payments/webhook/", content=body, headers=headers)

    async def ipn(self, fields: dict[str, str]) -> httpx.Response:
        return await self.client.post(
            "/api/payments/webhook/sslcommerz/", content=urlencode(fields).encode(), headers=FORM
        )

    def stripe_event(self, type_: str, reference: str) -> dict[str, Any]:
        (event,) = [e for e in self.stripe.events_of(type_) if e["data"]["object"]["id"] == reference]
        return event


def assert_payment(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """API.md's payment shape: money as two-place strings, a currency, UTC timestamps."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) >= PAYMENT_FIELDS, body
    assert isinstance(body["id"], int)
    assert isinstance(body["order_id"], int)
    assert body["order_number"].startswith("ORD-")
    assert body["currency"] == "BDT"
    money(body["amount"])
    money(body["refunded_amount"])
    assert isinstance(body["held"], bool)
    assert_utc(body["created_at"])
    assert_utc(body["updated_at"])
    return body


def webhook_answer(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"status"}, body
    status: str = body["status"]
    return status


def settings_for(url: str, stripe: StripeStandIn, sslcommerz: SslcommerzStandIn) -> Settings:
    return make_settings(url, currency="BDT", **gateway_settings(stripe, sslcommerz))


@asynccontextmanager
async def open_shop(url: str, stripe: StripeStandIn, sslcommerz: SslcommerzStandIn) -> AsyncIterator[Shop]:
    """The app on the database at `url`, its gateways pointed at the stand-ins."""
    async with open_catalog(settings_for(url, stripe, sslcommerz)) as catalog:
        lamp = await catalog.product("Lamp", "25.00", stock_quantity=50)
        other = await new_account(catalog.client)
        yield Shop(catalog.client, catalog.staff, catalog.customer, other, stripe, sslcommerz, lamp["id"])


@pytest.fixture
async def shop(
    sqlite_url: str, stripe_stand_in: StripeStandIn, sslcommerz_stand_in: SslcommerzStandIn
) -> AsyncIterator[Shop]:
    async with open_shop(sqlite_url, stripe_stand_in, sslcommerz_stand_in) as opened:
        yield opened


async def paid_by_stripe(shop: Shop, quantity: int = 1) -> tuple[dict[str, Any], dict[str, Any]]:
    """A Stripe order paid through the webhook: (order, payment)."""
    order = await shop.order("stripe", quantity)
    payment = await shop.start(order)
    shop.stripe.pay(payment["gateway_reference"], "pm_card_visa")
    event = shop.stripe_event("payment_intent.succeeded", payment["gateway_reference"])
    assert webhook_answer(await shop.stripe_webhook(event)) == "applied"
    return order, payment


# --- Stripe ----------------------------------------------------------------------------------------


async def test_a_stripe_payment_pays_the_order_once_its_webhook_arrives(shop: Shop) -> None:
    order = await shop.order("stripe", quantity=2)
    payment = await shop.start(order)
    assert (payment["order_id"], payment["gateway"], payment["status"]) == (order["id"], "stripe", "pending")
    assert (payment["amount"], payment["refunded_amount"], payment["held"]) == ("50.00", "0.00", False)
    assert payment["client_secret"].startswith(payment["gateway_reference"])
    assert "redirect_url" not in payment
    intent = shop.stripe.payment_intent(payment["gateway_reference"])
    assert (intent["amount"], intent["currency"]) == (5000, "bdt")

    again = await shop.start(order, 200)
    assert (again["id"], again["client_secret"]) == (payment["id"], payment["client_secret"])
    assert len(shop.stripe.payment_intents()) == 1

    shop.stripe.pay(payment["gateway_reference"], "pm_card_visa")
    event = shop.stripe_event("payment_intent.succeeded", payment["gateway_reference"])
    assert webhook_answer(await shop.stripe_webhook(event)) == "applied"
    assert webhook_answer(await shop.stripe_webhook(event)) == "duplicate"

    paid = await shop.order_as(order["id"])
    assert (paid["status"], paid["payment_status"]) == ("paid", "paid")
    assert_utc(paid["paid_at"])
    shown = await shop.payment(payment["id"], shop.customer)
    assert shown["status"] == "succeeded"
    assert "client_secret" not in shown  # a settled payment no longer needs it
    assert_error(await shop.process({"order_id": order["id"]}), 409, "order_not_payable")
    listed = await shop.client.get(f"/api/orders/{order['id']}/payments/", headers=shop.customer.headers)
    assert listed.status_code == 200, listed.text
    assert [(p["id"], p["status"]) for p in listed.json()] == [(payment["id"], "succeeded")]


async def test_a_declined_card_leaves_the_order_payable_and_another_card_pays_it(shop: Shop) -> None:
    order = await shop.order("stripe")
    payment = await shop.start(order)
    shop.stripe.pay(payment["gateway_reference"], "pm_card_chargeDeclined")
    failed = shop.stripe_event("payment_intent.payment_failed", payment["gateway_reference"])
    assert webhook_answer(await shop.stripe_webhook(failed)) == "applied"
    unpaid = await shop.order_as(order["id"])
    assert (unpaid["status"], unpaid["payment_status"], unpaid["paid_at"]) == ("pending", "failed", None)
    assert (await shop.payment(payment["id"]))["status"] == "failed"

    again = await shop.start(order, 200)
    assert again["id"] == payment["id"]  # the same PaymentIntent takes another card
    assert again["client_secret"] == payment["client_secret"]
    shop.stripe.pay(payment["gateway_reference"], "pm_card_visa")
    succeeded = shop.stripe_event("payment_intent.succeeded", payment["gateway_reference"])
    assert webhook_answer(await shop.stripe_webhook(succeeded)) == "applied"
    paid = await shop.order_as(order["id"])
    assert (paid["status"], paid["payment_status"]) == ("paid", "paid")
    assert len(shop.stripe.payment_intents()) == 1


async def test_staff_refund_in_part_then_in_full(shop: Shop) -> None:
    order, payment = await paid_by_stripe(shop, quantity=2)  # 50.00
    path = f"/api/payments/{payment['id']}/refund/"
    assert_error(await shop.client.post(path, json={}, headers=shop.customer.headers), 403)
    assert shop.stripe.refunds() == []

    part = assert_payment(
        await shop.client.post(
            path, json={"amount": "20.00", "reason": "one broke"}, headers=shop.staff.headers
        )
    )
    assert (part["status"], part["refunded_amount"]) == ("succeeded", "20.00")
    assert [(r["amount"], r["status"], r["reason"]) for r in part["refunds"]] == [
        ("20.00", "succeeded", "one broke")
    ]
    assert (await shop.order_as(order["id"]))["status"] == "paid"
    too_much = await shop.client.post(path, json={"amount": "30.01"}, headers=shop.staff.headers)
    assert "amount" in assert_error(too_much, 400, "invalid")["errors"]
    assert_error(await shop.client.post(path, json={"amount": "ten"}, headers=shop.staff.headers), 400)

    for bad in (b"[]", b"{x", b'{"amount": 5}', b'{"refund": "all"}'):
        malformed = await shop.client.post(
            path, content=bad, headers={**shop.staff.headers, "Content-Type": "application/json"}
        )
        assert_error(malformed, 400, "invalid")
    assert (await shop.payment(payment["id"]))["refunded_amount"] == "20.00"

    rest = assert_payment(await shop.client.post(path, headers=shop.staff.headers))  # no body: the rest
    assert (rest["status"], rest["refunded_amount"]) == ("refunded", "50.00")
    assert [r["amount"] for r in rest["refunds"]] == ["20.00", "30.00"]
    refunded = await shop.order_as(order["id"])
    assert (refunded["status"], refunded["payment_status"]) == ("refunded", "refunded")
    assert sorted(r["amount"] for r in shop.stripe.refunds()) == [2000, 3000]
    assert_error(await shop.client.post(path, json={}, headers=shop.staff.headers), 409)
    assert_error(
        await shop.client.post("/api/payments/999999/refund/", json={}, headers=shop.staff.headers), 404
    )


async def test_a_gateway_answering_500_twice_makes_one_payment_intent(shop: Shop) -> None:
    order = await shop.order("stripe")
    shop.stripe.fail_next(2)
    payment = await shop.start(order)
    assert payment["client_secret"]
    assert len(shop.stripe.payment_intents()) == 1
    creates = [r for r in shop.stripe.requests if r.method == "POST" and r.path == "/v1/payment_intents"]
    assert [r.status for r in creates] == [500, 500, 200]
    keys = {r.idempotency_key for r in creates}
    assert len(keys) == 1
    assert None not in keys


async def test_a_gateway_that_keeps_failing_is_502_and_a_retry_makes_one_payment_intent(shop: Shop) -> None:
    order = await shop.order("stripe")
    shop.stripe.fail_next(3)  # the first try and both of the SDK's retries
    assert_error(await shop.process({"order_id": order["id"]}), 502, "gateway_error")
    assert shop.stripe.payment_intents() == []
    unpaid = await shop.order_as(order["id"])
    assert (unpaid["status"], unpaid["payment_status"]) == ("pending", "unpaid")

    retried = await shop.process({"order_id": order["id"]})
    payment = assert_payment(retried, retried.status_code)
    assert retried.status_code in {200, 201}  # the payment row was made by the failed call
    assert payment["client_secret"]
    assert len(shop.stripe.payment_intents()) == 1
    assert len(await shop.all_payments()) == 1


async def test_a_gateway_that_is_not_configured(
    sqlite_url: str, stripe_stand_in: StripeStandIn, sslcommerz_stand_in: SslcommerzStandIn
) -> None:
    settings = make_settings(sqlite_url, currency="BDT", **gateway_settings(stripe_stand_in, None))
    async with open_catalog(settings) as catalog:
        lamp = await catalog.product("Lamp", "25.00", stock_quantity=5)
        body = {
            "items": [{"product_id": lamp["id"], "quantity": 1}],
            "shipping_address": ADDRESS,
            "payment_method": "sslcommerz",
        }
        placed = await catalog.client.post("/api/orders/", json=body, headers=catalog.customer.headers)
        assert placed.status_code == 201, placed.text
        started = await catalog.client.post(
            "/api/payments/process/", json={"order_id": placed.json()["id"]}, headers=catalog.customer.headers
        )
        assert "Retry-After" in started.headers
        assert_error(started, 503, "service_unavailable")
        ipn = await catalog.client.post(
            "/api/payments/webhook/sslcommerz/", content=b"tran_id=x&status=VALID", headers=FORM
        )
        assert_error(ipn, 503, "service_unavailable")  # the gateway delivers it again later
    assert sslcommerz_stand_in.sessions == {}


async def test_verify_asks_the_gateway_when_the_webhook_is_late(shop: Shop) -> None:
    order = await shop.order("stripe")
    payment = await shop.start(order)
    path = f"/api/payments/{payment['id']}/verify/"
    assert assert_payment(await shop.client.post(path, headers=shop.customer.headers))["status"] == "pending"
    shop.stripe.pay(payment["gateway_reference"], "pm_card_visa")  # the webhook is withheld
    assert_error(await shop.client.post(path, headers=shop.other.headers), 404)
    verified = assert_payment(await shop.client.post(path, headers=shop.customer.headers))
    assert verified["status"] == "succeeded"
    assert (await shop.order_as(order["id"]))["status"] == "paid"
    assert "refunds" in assert_payment(await shop.client.post(path, headers=shop.staff.headers))
    event = shop.stripe_event("payment_intent.succeeded", payment["gateway_reference"])
    assert webhook_answer(await shop.stripe_webhook(event)) in {"applied", "ignored"}
    assert (await shop.order_as(order["id"]))["status"] == "paid"


# --- SSLCommerz ------------------------------------------------------------------------------------


async def test_an_sslcommerz_payment_is_paid_by_its_validated_ipn(shop: Shop) -> None:
    order = await shop.order("sslcommerz")
    payment = await shop.start(order)
    assert payment["gateway"] == "sslcommerz"
    assert payment["redirect_url"].startswith(shop.sslcommerz.url)
    assert "client_secret" not in payment
    tran_id = payment["gateway_reference"]
    session = shop.sslcommerz.session_for(tran_id)
    assert (session.amount, session.currency) == ("25.00", "BDT")
    assert (await shop.start(order, 200))["id"] == payment["id"]

    returned = await shop.client.get("/api/payments/sslcommerz/return/", params={"tran_id": tran_id})
    assert returned.status_code == 200, returned.text
    assert returned.json() == {"status": "pending", "order_id": order["id"]}

    ipn = shop.sslcommerz.complete(session.sessionkey, "VALID")
    assert webhook_answer(await shop.ipn(ipn)) == "applied"
    assert webhook_answer(await shop.ipn(ipn)) == "duplicate"
    paid = await shop.order_as(order["id"])
    assert (paid["status"], paid["payment_status"]) == ("paid", "paid")

    # The browser comes back: by POST (as SSLCommerz sends it) or GET; only tran_id is read.
    posted = await shop.client.post(
        "/api/payments/sslcommerz/return/",
        content=urlencode({**ipn, "status": "FAILED", "amount": "1.00"}).encode(),
        headers=FORM,
    )
    assert posted.status_code == 200, posted.text
    assert posted.json() == {"status": "succeeded", "order_id": order["id"]}
    got = await shop.client.get("/api/payments/sslcommerz/return", params={"tran_id": tran_id})
    assert got.json() == {"status": "succeeded", "order_id": order["id"]}


async def test_the_return_trusts_nothing_but_the_tran_id(shop: Shop) -> None:
    order = await shop.order("sslcommerz")
    payment = await shop.start(order)
    forged = {"tran_id": payment["gateway_reference"], "status": "VALID", "amount": "25.00", "val_id": "x"}
    posted = await shop.client.post(
        "/api/payments/sslcommerz/return/", content=urlencode(forged).encode(), headers=FORM
    )
    assert posted.status_code == 200, posted.text
    assert posted.json() == {"status": "pending", "order_id": order["id"]}
    assert (await shop.order_as(order["id"]))["status"] == "pending"

    path = "/api/payments/sslcommerz/return/"
    assert_error(await shop.client.get(path, params={"tran_id": "nobody-knows"}), 404, "not_found")
    assert_error(await shop.client.get(path), 400, "invalid")
    assert_error(await shop.client.post(path, content=b"", headers=FORM), 400, "invalid")
    assert_error(await shop.client.get(path, params={"tran_id": "x" * 256}), 400, "invalid")


async def test_an_amount_that_does_not_match_holds_the_payment(shop: Shop) -> None:
    order = await shop.order("sslcommerz")
    payment = await shop.start(order)
    session = shop.sslcommerz.session_for(payment["gateway_reference"])
    webhook_answer(await shop.ipn(shop.sslcommerz.complete(session.sessionkey, "VALID", amount="20.00")))
    held = await shop.payment(payment["id"])
    assert (held["held"], held["status"]) == (True, "pending")
    assert held["hold_reason"]
    unpaid = await shop.order_as(order["id"])
    assert (unpaid["status"], unpaid["payment_status"]) == ("pending", "unpaid")
    assert [p["id"] for p in await shop.all_payments(held="true")] == [payment["id"]]
    assert await shop.all_payments(held="false") == []
    assert_error(await shop.process({"order_id": order["id"]}), 409, "order_not_payable")


async def test_a_risky_payment_is_held_for_review(shop: Shop) -> None:
    order = await shop.order("sslcommerz")
    payment = await shop.start(order)
    session = shop.sslcommerz.session_for(payment["gateway_reference"])
    webhook_answer(await shop.ipn(shop.sslcommerz.complete(session.sessionkey, "VALID", risk_level="1")))
    assert (await shop.payment(payment["id"]))["held"] is True
    assert (await shop.order_as(order["id"]))["status"] == "pending"
    assert [p["id"] for p in await shop.all_payments(held="true")] == [payment["id"]]


# --- staff views -----------------------------------------------------------------------------------


async def test_staff_list_payments_with_filters_and_pages(shop: Shop) -> None:
    _, paid = await paid_by_stripe(shop)
    pending = await shop.start(await shop.order("stripe"))
    assert [p["id"] for p in await shop.all_payments()] == [pending["id"], paid["id"]]
    assert [p["id"] for p in await shop.all_payments(status="succeeded")] == [paid["id"]]
    assert [p["id"] for p in await shop.all_payments(status="pending")] == [pending["id"]]
    first = await shop.client.get("/api/payments/", params={"page_size": 1}, headers=shop.staff.headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["count"], len(body["results"]), body["previous"]) == (2, 1, None)
    assert "page=2" in body["next"]
    past = await shop.client.get(
        "/api/payments/", params={"page": 3, "page_size": 1}, headers=shop.staff.headers
    )
    assert_error(past, 404)
    for params in ({"status": "lost"}, {"held": "maybe"}, {"page": 0}, {"page_size": 101}):
        assert_error(await shop.client.get("/api/payments/", params=params, headers=shop.staff.headers), 400)
    assert_error(await shop.client.get("/api/payments/", headers=shop.customer.headers), 403)
    assert_error(await shop.client.get("/api/payments/"), 401)


async def test_who_sees_a_payment(shop: Shop) -> None:
    order = await shop.order("stripe")
    payment = await shop.start(order)
    mine = await shop.payment(payment["id"], shop.customer)
    assert "refunds" not in mine
    assert (await shop.payment(payment["id"], shop.staff))["refunds"] == []
    refund = await shop.client.post(f"/api/payments/{payment['id']}/refund/", headers=shop.staff.headers)
    assert_error(refund, 409)  # nothing was paid yet
    assert shop.stripe.refunds() == []
    assert_error(await shop.client.get(f"/api/payments/{payment['id']}/", headers=shop.other.headers), 404)
    assert_error(await shop.client.get("/api/payments/424242/", headers=shop.customer.headers), 404)
    assert_error(await shop.client.get(f"/api/payments/{payment['id']}/"), 401)
    assert_error(await shop.client.get(f"/api/payments/{INT4_OVERFLOW}/", headers=shop.staff.headers), 400)
    assert_error(
        await shop.client.get(f"/api/orders/{order['id']}/payments/", headers=shop.other.headers), 404
    )
    staff_view = await shop.client.get(f"/api/orders/{order['id']}/payments/", headers=shop.staff.headers)
    assert [p["id"] for p in staff_view.json()] == [payment["id"]]


# --- bad input -------------------------------------------------------------------------------------


async def assert_untouched(shop: Shop, order: dict[str, Any], payments: int = 0) -> None:
    assert len(await shop.all_payments()) == payments
    now = await shop.order_as(order["id"], shop.staff)
    assert (now["status"], now["payment_status"]) == (order["status"], order["payment_status"])


async def test_bad_starts_change_nothing(shop: Shop) -> None:
    order = await shop.order("stripe")
    mine = {"order_id": order["id"]}
    assert_error(await shop.process({"order_id": 424242}), 404, "not_found")
    assert_error(await shop.process(mine, who=shop.other), 404, "not_found")
    assert_error(await shop.process(mine, who=shop.staff), 404, "not_found")  # staff do not pay
    assert (
        "gateway" in assert_error(await shop.process({**mine, "gateway": "paypal"}), 400, "invalid")["errors"]
    )
    assert_error(await shop.process({**mine, "gateway": "sslcommerz"}), 409, "order_not_payable")
    assert_error(await shop.process({**mine, "gateway": "cod"}), 409, "order_not_payable")
    for body in (
        b"{not json",
        b"",
        b"[]",
        {},
        {"order_id": 0},
        {"order_id": -1},
        {"order_id": "one"},
        {"order_id": 1.5},
        {"order_id": None},
        {"order_id": INT4_OVERFLOW},
        {"order_id": BEYOND_64_BITS},
        {**mine, "gateway": ""},
        {**mine, "extra": True},
    ):
        assert_error(await shop.process(body), 400, "invalid")
    assert_error(await shop.client.post("/api/payments/process/", json=mine), 401)
    assert shop.stripe.payment_intents() == []
    await assert_untouched(shop, order)


async def test_an_already_paid_order_is_not_payable(shop: Shop) -> None:
    order = await shop.order("cod")
    confirmed = await shop.client.post(f"/api/orders/{order['id']}/confirm-cash/", headers=shop.staff.headers)
    assert confirmed.status_code == 200, confirmed.text
    assert_error(await shop.process({"order_id": order["id"]}), 409, "order_not_payable")
    paid = await shop.order_as(order["id"])
    assert (paid["status"], paid["payment_status"]) == ("paid", "paid")
    assert len(await shop.all_payments()) == 1


async def test_idempotency_keys(shop: Shop) -> None:
    order, other_order = await shop.order("stripe"), await shop.order("stripe")
    for key in ("has space", "k" * 256, "tab\there"):
        assert_error(await shop.process({"order_id": order["id"]}, key=key), 400, "invalid")
    await assert_untouched(shop, order)

    key = str(uuid.uuid4())
    first = assert_payment(await shop.process({"order_id": order["id"]}, key=key), 201)
    again = assert_payment(await shop.process({"order_id": order["id"]}, key=key), 201)  # as the first
    assert again["id"] == first["id"]
    without_key = assert_payment(await shop.process({"order_id": order["id"]}), 200)  # the live one
    assert without_key["id"] == first["id"]
    reused = await shop.process({"order_id": other_order["id"]}, key=key)
    assert_error(reused, 409, "idempotency_key_reused")
    await assert_untouched(shop, other_order, payments=1)
    assert len(shop.stripe.payment_intents()) == 1


async def test_bad_stripe_webhooks_are_400_and_change_nothing(shop: Shop) -> None:
    order = await shop.order("stripe")
    payment = await shop.start(order)
    shop.stripe.pay(payment["gateway_reference"], "pm_card_visa")
    event = shop.stripe_event("payment_intent.succeeded", payment["gateway_reference"])
    body, headers = shop.stripe.webhook(event)
    unsigned = {k: v for k, v in headers.items() if k != "Stripe-Signature"}
    not_json = b"this is not json"
    refused = [
        await shop.stripe_webhook(event, secret="whsec_not_ours"),
        await shop.stripe_webhook(event, timestamp=int(time.time()) - 3600),
        await shop.client.post("/api/payments/webhook/", content=body, headers=unsigned),
        await shop.client.post(
            "/api/payments/webhook/",
            content=not_json,
            headers={**unsigned, "Stripe-Signature": shop.stripe.sign(not_json)},
        ),
        await shop.client.post(
            "/api/payments/webhook/",
            content=body + b" ",
            headers=headers,  # signed over other bytes
        ),
        await shop.client.post("/api/payments/webhook/", content=b"", headers=headers),
    ]
    for answer in refused:
        assert_error(answer, 400, "invalid")
    await assert_untouched(shop, order, payments=1)
    assert (await shop.payment(payment["id"]))["status"] == "pending"

    giant = b'{"id": "evt_x", "pad": "' + b"x" * (1_048_576 + 1) + b'"}'
    too_big = await shop.client.post(
        "/api/payments/webhook/",
        content=giant,
        headers={**unsigned, "Stripe-Signature": shop.stripe.sign(giant)},
    )
    assert_error(too_big, 413)
    await assert_untouched(shop, order, payments=1)

    assert webhook_answer(await shop.stripe_webhook(event)) == "applied"  # the real one still works


async def test_bad_ipns_are_400_and_change_nothing(shop: Shop) -> None:
    order = await shop.order("sslcommerz")
    payment = await shop.start(order)
    session = shop.sslcommerz.session_for(payment["gateway_reference"])
    tampered = shop.sslcommerz.complete(session.sessionkey, "VALID", tamper={"amount": "1.00"})
    assert_error(await shop.ipn(tampered), 400, "invalid")
    assert_error(await shop.ipn({}), 400, "invalid")
    assert_error(await shop.ipn({"tran_id": payment["gateway_reference"], "status": "VALID"}), 400, "invalid")
    assert_error(
        await shop.client.post("/api/payments/webhook/sslcommerz/", content=b"\xff\xfe", headers=FORM), 400
    )
    await assert_untouched(shop, order, payments=1)
    assert (await shop.payment(payment["id"]))["status"] == "pending"


# --- cash on delivery, cancelling ---------------------------------------------------------------------


async def test_staff_confirm_cash_on_delivery(shop: Shop) -> None:
    order = await shop.order("cod")
    path = f"/api/orders/{order['id']}/confirm-cash/"
    assert_error(await shop.client.post(path, headers=shop.customer.headers), 403)
    assert_error(await shop.client.post(path), 401)
    assert (await shop.order_as(order["id"]))["status"] == "pending"

    confirmed = assert_payment(await shop.client.post(path, headers=shop.staff.headers))
    assert (confirmed["gateway"], confirmed["status"], confirmed["amount"]) == ("cod", "succeeded", "25.00")
    paid = await shop.order_as(order["id"])
    assert (paid["status"], paid["payment_status"]) == ("paid", "paid")
    assert_error(await shop.client.post(path, headers=shop.staff.headers), 409, "order_not_payable")
    assert_error(await shop.client.post("/api/orders/424242/confirm-cash/", headers=shop.staff.headers), 404)

    stripe_order = await shop.order("stripe")
    answer = await shop.client.post(
        f"/api/orders/{stripe_order['id']}/confirm-cash/", headers=shop.staff.headers
    )
    assert_error(answer, 409, "order_not_payable")
    await assert_untouched(shop, stripe_order, payments=1)


async def test_staff_cancelling_a_paid_stripe_order_refunds_it(shop: Shop) -> None:
    order, payment = await paid_by_stripe(shop)
    cancelled = await shop.client.delete(f"/api/orders/{order['id']}/", headers=shop.staff.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["payment_status"]) == ("cancelled", "refunded")
    assert [r["amount"] for r in shop.stripe.refunds()] == [2500]
    refunded = await shop.payment(payment["id"])
    assert (refunded["status"], refunded["refunded_amount"]) == ("refunded", "25.00")


async def test_a_paid_cash_order_cancelled_by_staff_is_refunded_once(shop: Shop) -> None:
    order = await shop.order("cod")
    confirm = f"/api/orders/{order['id']}/confirm-cash/"
    payment = assert_payment(await shop.client.post(confirm, headers=shop.staff.headers))

    cancelled = await shop.client.delete(f"/api/orders/{order['id']}/", headers=shop.staff.headers)

    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["payment_status"]) == ("cancelled", "refunded")
    (note,) = [e["note"] for e in cancelled.json()["events"] if e["action"] == "refund"]
    assert note.startswith("refund to be made by hand")
    assert f"recorded on payment #{payment['id']} (cod)" in note
    refunded = await shop.payment(payment["id"])
    assert (refunded["status"], refunded["refunded_amount"]) == ("refunded", "25.00")
    assert [(r["amount"], r["status"]) for r in refunded["refunds"]] == [("25.00", "succeeded")]

    path = f"/api/payments/{payment['id']}/refund/"
    assert_error(await shop.client.post(path, json={}, headers=shop.staff.headers), 409)
    part = await shop.client.post(path, json={"amount": "1.00"}, headers=shop.staff.headers)
    assert_error(part, 409)

    after = await shop.payment(payment["id"])
    assert (after["status"], after["refunded_amount"]) == ("refunded", "25.00")
    assert len(after["refunds"]) == 1
    assert (await shop.order_as(order["id"]))["status"] == "cancelled"


async def test_a_cash_order_refunded_through_the_api_cannot_be_cancelled_into_a_second_refund(
    shop: Shop,
) -> None:
    order = await shop.order("cod")
    confirm = f"/api/orders/{order['id']}/confirm-cash/"
    payment = assert_payment(await shop.client.post(confirm, headers=shop.staff.headers))
    path = f"/api/payments/{payment['id']}/refund/"
    part = assert_payment(await shop.client.post(path, json={"amount": "10.00"}, headers=shop.staff.headers))
    assert (part["status"], part["refunded_amount"]) == ("succeeded", "10.00")

    cancelled = await shop.client.delete(f"/api/orders/{order['id']}/", headers=shop.staff.headers)

    assert cancelled.status_code == 200, cancelled.text
    after = await shop.payment(payment["id"])
    assert (after["status"], after["refunded_amount"]) == ("refunded", "25.00")
    assert [r["amount"] for r in after["refunds"]] == ["10.00", "15.00"]  # only what was left
    assert_error(await shop.client.post(path, json={}, headers=shop.staff.headers), 409)


# --- the schema ------------------------------------------------------------------------------------


async def test_the_schema_documents_payments(shop: Shop) -> None:
    schema = (await shop.client.get("/api/schema/openapi.json")).json()
    paths = schema["paths"]
    expected = {
        ("/api/payments/process", "post"): {"200", "201", "400", "401", "402", "404", "409", "502", "503"},
        ("/api/payments/webhook", "post"): {"200", "400", "413", "503"},
        ("/api/payments/webhook/sslcommerz", "post"): {"200", "400", "413", "503"},
        ("/api/payments/sslcommerz/return", "get"): {"200", "400", "404"},
        ("/api/payments/sslcommerz/return", "post"): {"200", "400", "404"},
        ("/api/payments", "get"): {"200", "400", "401", "403"},
        ("/api/payments/{payment_id}", "get"): {"200", "401", "404"},
        ("/api/payments/{payment_id}/verify", "post"): {"200", "401", "404", "502"},
        ("/api/payments/{payment_id}/refund", "post"): {"200", "400", "401", "403", "404", "409", "502"},
        ("/api/orders/{order_id}/payments", "get"): {"200", "401", "404"},
        ("/api/orders/{order_id}/confirm-cash", "post"): {"200", "401", "403", "404", "409"},
    }
    operation_ids = set()
    for (path, method), codes in expected.items():
        assert path in paths, sorted(paths)
        operation = paths[path][method]
        assert operation["summary"], (path, method)
        operation_ids.add(operation["operationId"])
        assert codes <= set(operation["responses"]), (path, method, sorted(operation["responses"]))
    assert len(operation_ids) == len(expected)
    for path in (
        "/api/payments/webhook",
        "/api/payments/webhook/sslcommerz",
        "/api/payments/sslcommerz/return",
    ):
        assert paths[path]["post"]["security"] == [], path  # public: no credentials
    assert "Idempotency-Key" in {p["name"] for p in paths["/api/payments/process"]["post"]["parameters"]}
