"""∥ PostgreSQL, through the app: the gateways' deliveries arriving together move money once.

Each burst is started with asyncio.gather on the app's own event loop (an ASGI transport), so the
app serves the requests concurrently against one PostgreSQL database.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa

from tests.http.conftest import Client, engine_of, in_app
from tests.http.test_payments import FORM, Shop, open_shop
from tests.stand_ins.sslcommerz_server import SslcommerzStandIn
from tests.stand_ins.stripe_server import StripeStandIn

pytestmark = pytest.mark.postgres

AT_ONCE = 10


@pytest.fixture
async def shop(
    pg_url: str, stripe_stand_in: StripeStandIn, sslcommerz_stand_in: SslcommerzStandIn
) -> AsyncIterator[Shop]:
    async with open_shop(pg_url, stripe_stand_in, sslcommerz_stand_in) as opened:
        yield opened


async def posted_at_once(
    client: Client, requests: list[tuple[str, bytes, dict[str, str]]]
) -> list[httpx.Response]:
    """POST every (path, body, headers) at once on the app's loop; the answers in order."""

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as burst:
            return list(
                await asyncio.gather(
                    *(burst.post(path, content=body, headers=headers) for path, body, headers in requests)
                )
            )

    answers: list[httpx.Response] = await in_app(client, run)
    return answers


async def moves_to_paid(client: Client, order_id: int) -> int:
    async def count() -> int:
        async with engine_of(client).connect() as conn:
            found = await conn.execute(
                sa.text("SELECT count(*) FROM order_events WHERE order_id = :o AND to_status = 'paid'"),
                {"o": order_id},
            )
            return int(found.scalar_one())

    moved: int = await in_app(client, count)
    return moved


def outcomes(answers: list[httpx.Response]) -> Counter[Any]:
    return Counter(a.json().get("status") if a.status_code == 200 else a.status_code for a in answers)


async def test_one_stripe_event_delivered_ten_times_at_once_pays_the_order_once(shop: Shop) -> None:
    order = await shop.order("stripe")
    payment = await shop.start(order)
    shop.stripe.pay(payment["gateway_reference"], "pm_card_visa")
    body, headers = shop.stripe.webhook(
        shop.stripe_event("payment_intent.succeeded", payment["gateway_reference"])
    )

    answers = await posted_at_once(shop.client, [("/api/payments/webhook/", body, headers)] * AT_ONCE)

    assert outcomes(answers) == Counter({"applied": 1, "duplicate": AT_ONCE - 1})
    assert await moves_to_paid(shop.client, order["id"]) == 1
    assert (await shop.order_as(order["id"]))["status"] == "paid"


async def test_ipns_and_verify_calls_at_once_pay_the_order_once(shop: Shop) -> None:
    order = await shop.order("sslcommerz")
    payment = await shop.start(order)
    session = shop.sslcommerz.session_for(payment["gateway_reference"])
    ipn = urlencode(shop.sslcommerz.complete(session.sessionkey, "VALID")).encode()
    verify = (f"/api/payments/{payment['id']}/verify/", b"", dict(shop.customer.headers))

    answers = await posted_at_once(
        shop.client, [("/api/payments/webhook/sslcommerz/", ipn, FORM)] * 4 + [verify] * (AT_ONCE - 4)
    )

    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200]
    assert outcomes(answers[:4])["applied"] <= 1
    assert await moves_to_paid(shop.client, order["id"]) == 1
    assert (await shop.payment(payment["id"]))["status"] == "succeeded"


async def test_a_staff_cancel_and_refunds_of_a_paid_cash_order_at_once_move_the_money_once(
    shop: Shop,
) -> None:
    order = await shop.order("cod")
    confirmed = await shop.client.post(f"/api/orders/{order['id']}/confirm-cash/", headers=shop.staff.headers)
    assert confirmed.status_code == 200, confirmed.text
    payment_id = confirmed.json()["id"]
    staff = dict(shop.staff.headers)

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=shop.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as burst:
            refund = f"/api/payments/{payment_id}/refund/"
            return list(
                await asyncio.gather(
                    burst.delete(f"/api/orders/{order['id']}/", headers=staff),
                    *(burst.post(refund, json={}, headers=staff) for _ in range(4)),
                )
            )

    answers: list[httpx.Response] = await in_app(shop.client, run)

    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409, 409], [a.text for a in answers]

    async def refunds() -> list[tuple[int, str]]:
        async with engine_of(shop.client).connect() as conn:
            found = await conn.execute(
                sa.text("SELECT amount, status FROM refunds WHERE payment_id = :p"), {"p": payment_id}
            )
            return [(int(r.amount), str(r.status)) for r in found]

    assert await in_app(shop.client, refunds) == [(2500, "succeeded")]
    after = await shop.payment(payment_id)
    assert (after["status"], after["refunded_amount"]) == ("refunded", "25.00")
