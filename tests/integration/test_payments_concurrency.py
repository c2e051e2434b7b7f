"""∥ PostgreSQL, really parallel: money moves once however often, and however concurrently, the
gateways and the customers knock. Each test fires its calls at once on separate connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import asyncpg
import pytest

from shop_core.bootstrap import Shop, bootstrap
from shop_core.domain.actors import Actor
from shop_core.domain.errors import DomainError
from shop_core.domain.orders import PaymentMethod
from shop_core.services.catalog_commands import CreateProduct
from shop_core.services.commands import RegisterUser
from shop_core.services.order_commands import AddressInput, OrderItemInput, PlaceOrder
from shop_core.services.order_views import OrderView
from shop_core.services.payment_views import PaymentView, RefundPayment, StartPayment
from tests.conftest import fast_hasher, gateway_settings, make_settings
from tests.stand_ins.sslcommerz_server import SslcommerzStandIn
from tests.stand_ins.stripe_server import StripeStandIn

pytestmark = pytest.mark.postgres

STAFF = Actor("staff:boss", None, is_staff=True)
ADDRESS = AddressInput(
    full_name="Rahim Uddin", line1="Road 5", city="Dhaka", postal_code="1207", country="bd"
)
AT_ONCE = 10


class Harness:
    def __init__(self, shop: Shop, pg: str, stripe: StripeStandIn, sslcommerz: SslcommerzStandIn) -> None:
        self.shop, self.pg, self.stripe, self.sslcommerz = shop, pg, stripe, sslcommerz
        self.customer = Actor("user:0", None)

    async def order(self, method: str) -> OrderView:
        assert self.customer.user_id is not None
        cmd = PlaceOrder(
            items=[OrderItemInput(product_id=self.lamp, quantity=2)],
            shipping_address=ADDRESS,
            payment_method=method,
        )
        return (await self.shop.orders.place_order(self.customer.user_id, self.customer, cmd)).order

    async def start(self, order: OrderView) -> PaymentView:
        return (
            await self.shop.payments.start_payment(StartPayment(order_id=order.id), self.customer)
        ).payment

    async def rows(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.pg.replace("postgresql+asyncpg", "postgresql"))
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    async def order_actions(self, order_id: int) -> list[str]:
        found = await self.rows(
            "SELECT action, to_status FROM order_events WHERE order_id = $1 ORDER BY id", order_id
        )
        return [f"{r['action']}:{r['to_status']}" for r in found]

    lamp: int = 0


@pytest.fixture
async def harness(
    pg_url: str, stripe_stand_in: StripeStandIn, sslcommerz_stand_in: SslcommerzStandIn
) -> AsyncIterator[Harness]:
    settings = make_settings(pg_url, currency="BDT", **gateway_settings(stripe_stand_in, sslcommerz_stand_in))
    async with bootstrap(settings, hasher=fast_hasher()) as shop:
        user = await shop.accounts.register(
            RegisterUser(email="rahim@example.com", password="correct horse battery")
        )
        lamp = await shop.catalog.create_product(
            CreateProduct(name="Lamp", sku="LAMP", price=Decimal(25), stock_quantity=500),
            Actor("staff:boss", is_staff=True),
        )
        harness = Harness(shop, pg_url, stripe_stand_in, sslcommerz_stand_in)
        harness.customer = Actor(f"user:{user.id}", user.id)
        harness.lamp = lamp.id
        yield harness


async def at_once(*calls: Any) -> list[Any]:
    return await asyncio.gather(*calls, return_exceptions=True)


async def test_one_webhook_delivered_ten_times_at_once_moves_the_order_once(harness: Harness) -> None:
    order = await harness.order("stripe")
    payment = await harness.start(order)
    harness.stripe.pay(payment.gateway_reference, "pm_card_visa")
    (event,) = harness.stripe.events_of("payment_intent.succeeded")
    body, headers = harness.stripe.webhook(event)

    outcomes = await at_once(
        *(harness.shop.payments.handle_webhook(PaymentMethod.STRIPE, body, headers) for _ in range(AT_ONCE))
    )

    assert sorted(outcomes) == ["applied"] + ["duplicate"] * (AT_ONCE - 1)
    assert len(await harness.rows("SELECT 1 FROM payment_events WHERE event_id = $1", event["id"])) == 1
    assert (await harness.order_actions(order.id)).count("status:paid") == 1
    assert (await harness.shop.orders.get_order(order.id, STAFF)).status == "paid"


async def test_an_ipn_racing_verify_calls_moves_the_order_once(harness: Harness) -> None:
    order = await harness.order("sslcommerz")
    payment = await harness.start(order)
    session = harness.sslcommerz.session_for(payment.gateway_reference)
    ipn = urlencode(harness.sslcommerz.complete(session.sessionkey, "VALID")).encode()
    form = {"content-type": "application/x-www-form-urlencoded"}

    outcomes = await at_once(
        harness.shop.payments.handle_webhook(PaymentMethod.SSLCOMMERZ, ipn, form),
        harness.shop.payments.handle_webhook(PaymentMethod.SSLCOMMERZ, ipn, form),
        *(harness.shop.payments.verify_payment(payment.id, harness.customer) for _ in range(AT_ONCE - 2)),
    )

    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert sorted(o for o in outcomes if isinstance(o, str)) in (
        ["applied", "duplicate"],
        ["duplicate", "ignored"],
    )
    assert (await harness.order_actions(order.id)).count("status:paid") == 1
    assert (await harness.shop.payments.get_payment(payment.id, STAFF)).status == "succeeded"


async def test_ten_concurrent_starts_make_one_payment_and_one_payment_intent(harness: Harness) -> None:
    order = await harness.order("stripe")

    started = await at_once(*(harness.start(order) for _ in range(AT_ONCE)))

    assert not [s for s in started if isinstance(s, BaseException)], started
    assert len({s.id for s in started}) == 1
    assert len({s.gateway_reference for s in started}) == 1
    assert len(harness.stripe.payment_intents()) == 1
    assert len(await harness.rows("SELECT 1 FROM payments WHERE order_id = $1", order.id)) == 1


async def test_concurrent_full_refunds_refund_once(harness: Harness) -> None:
    order = await harness.order("stripe")
    payment = await harness.start(order)
    harness.stripe.pay(payment.gateway_reference, "pm_card_visa")
    await harness.shop.payments.verify_payment(payment.id, harness.customer)

    outcomes = await at_once(
        *(harness.shop.payments.refund_payment(payment.id, RefundPayment(), STAFF) for _ in range(5))
    )

    done = [o for o in outcomes if isinstance(o, PaymentView)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(done) == 1, outcomes
    assert len(refused) == 4, outcomes
    assert [r["amount"] for r in harness.stripe.refunds()] == [5000]
    after = await harness.shop.payments.get_payment(payment.id, STAFF)
    assert (after.status, after.refunded_amount) == ("refunded", "50.00")


async def test_a_staff_cancel_racing_refunds_of_a_paid_cash_order_moves_the_money_once(
    harness: Harness,
) -> None:
    for _ in range(3):  # a few rounds: either side may win the race
        order = await harness.order("cod")
        payment = await harness.shop.payments.confirm_cash(order.order_number, STAFF)

        outcomes = await at_once(
            harness.shop.orders.cancel_order(order.id, STAFF, "customer sent it back"),
            *(harness.shop.payments.refund_payment(payment.id, RefundPayment(), STAFF) for _ in range(3)),
        )

        assert not [o for o in outcomes if not isinstance(o, OrderView | PaymentView | DomainError)], outcomes
        assert sum(isinstance(o, OrderView | PaymentView) for o in outcomes) == 1, outcomes
        refunds = await harness.rows("SELECT amount, status FROM refunds WHERE payment_id = $1", payment.id)
        assert [(r["amount"], r["status"]) for r in refunds] == [(5000, "succeeded")]
        after = await harness.shop.payments.get_payment(payment.id, STAFF)
        assert (after.status, after.refunded_amount) == ("refunded", "50.00")
        final = await harness.shop.orders.get_order(order.id, STAFF)
        assert (final.status, final.payment_status) in {("cancelled", "refunded"), ("refunded", "refunded")}
        assert harness.stripe.refunds() == []
