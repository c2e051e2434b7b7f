"""Payment use cases over the real databases and the real gateway adapters, against local
stand-ins for Stripe and SSLCommerz: money moves once, and only when it adds up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from shop_core.bootstrap import Shop, bootstrap
from shop_core.domain.actors import Actor
from shop_core.domain.errors import InvalidInput, NotFound
from shop_core.domain.orders import PaymentMethod
from shop_core.services.catalog_commands import CreateProduct
from shop_core.services.commands import RegisterUser
from shop_core.services.order_commands import AddressInput, OrderItemInput, PlaceOrder
from shop_core.services.order_views import OrderView
from shop_core.services.payment_views import PaymentView, RefundPayment, StartPayment
from shop_core.services.payments import OrderNotPayable
from tests.conftest import fast_hasher, gateway_settings, make_settings
from tests.fakes import FakeClock
from tests.stand_ins.sslcommerz_server import SslcommerzStandIn
from tests.stand_ins.stripe_server import StripeStandIn

T0 = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
STAFF = Actor("staff:boss", None, is_staff=True)
ADDRESS = AddressInput(
    full_name="Rahim Uddin", line1="House 12, Road 5", city="Dhaka", postal_code="1207", country="bd",
    phone="+8801700000000",
)  # fmt: skip


@dataclass
class World:
    shop: Shop
    clock: FakeClock
    stripe: StripeStandIn
    sslcommerz: SslcommerzStandIn
    customer: Actor
    other: Actor
    lamp: int  # 25.00

    async def order(self, method: str, quantity: int = 1, who: Actor | None = None) -> OrderView:
        who = who or self.customer
        assert who.user_id is not None
        cmd = PlaceOrder(
            items=[OrderItemInput(product_id=self.lamp, quantity=quantity)],
            shipping_address=ADDRESS,
            payment_method=method,
        )
        return (await self.shop.orders.place_order(who.user_id, who, cmd)).order

    async def start(self, order: OrderView, gateway: str | None = None) -> PaymentView:
        started = await self.shop.payments.start_payment(
            StartPayment(order_id=order.id, gateway=gateway), self.customer
        )
        return started.payment

    async def stripe_webhook(self, event: dict[str, object]) -> str:
        body, headers = self.stripe.webhook(event)
        return await self.shop.payments.handle_webhook(PaymentMethod.STRIPE, body, headers)

    async def ipn(self, fields: dict[str, str]) -> str:
        body = urlencode(fields).encode()
        headers = {"content-type": "application/x-www-form-urlencoded"}
        return await self.shop.payments.handle_webhook(PaymentMethod.SSLCOMMERZ, body, headers)


@pytest.fixture
async def world(
    database_url: str, stripe_stand_in: StripeStandIn, sslcommerz_stand_in: SslcommerzStandIn
) -> AsyncIterator[World]:
    settings = make_settings(
        database_url, currency="BDT", **gateway_settings(stripe_stand_in, sslcommerz_stand_in)
    )
    clock = FakeClock(T0)
    async with bootstrap(settings, hasher=fast_hasher(), clock=clock) as shop:
        users = [
            await shop.accounts.register(
                RegisterUser(email=f"{name}@example.com", password="correct horse battery")
            )
            for name in ("rahim", "karim")
        ]
        lamp = await shop.catalog.create_product(
            CreateProduct(name="Lamp", sku="LAMP", price=Decimal(25), stock_quantity=50),
            Actor("staff:boss", is_staff=True),
        )
        yield World(
            shop,
            clock,
            stripe_stand_in,
            sslcommerz_stand_in,
            *(Actor(f"user:{u.id}", u.id) for u in users),
            lamp=lamp.id,
        )


def database_param() -> list[str]:
    return ["sqlite", "postgres"]


@pytest.fixture(params=database_param())
def database_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


# --- Stripe ---------------------------------------------------------------------------------------


async def test_a_stripe_payment_pays_the_order_once_its_webhook_arrives(world: World) -> None:
    order = await world.order("stripe", quantity=2)
    payment = await world.start(order)
    assert payment.status == "pending"
    assert payment.client_secret
    assert payment.client_secret.startswith(payment.gateway_reference)
    intent = world.stripe.payment_intent(payment.gateway_reference)
    assert (intent["amount"], intent["currency"]) == (5000, "bdt")

    world.stripe.pay(payment.gateway_reference, "pm_card_visa")
    (succeeded,) = world.stripe.events_of("payment_intent.succeeded")
    assert await world.stripe_webhook(succeeded) == "applied"
    assert await world.stripe_webhook(succeeded) == "duplicate"

    paid = await world.shop.orders.get_order(order.id, world.customer)
    assert (paid.status, paid.payment_status, paid.paid_at) == ("paid", "paid", world.clock.now())
    assert (await world.shop.payments.get_payment(payment.id, world.customer)).status == "succeeded"
    with pytest.raises(OrderNotPayable):
        await world.start(order)


async def test_starting_twice_gives_the_same_payment(world: World) -> None:
    order = await world.order("stripe")
    first, again = await world.start(order), await world.start(order)
    assert again.id == first.id
    assert again.gateway_reference == first.gateway_reference
    assert len(world.stripe.payment_intents()) == 1


async def test_a_declined_card_leaves_the_order_payable_and_another_card_pays_it(world: World) -> None:
    order = await world.order("stripe")
    payment = await world.start(order)
    world.stripe.pay(payment.gateway_reference, "pm_card_chargeDeclined")
    (failed,) = world.stripe.events_of("payment_intent.payment_failed")
    assert await world.stripe_webhook(failed) == "applied"
    unpaid = await world.shop.orders.get_order(order.id, world.customer)
    assert (unpaid.status, unpaid.payment_status) == ("pending", "failed")

    again = await world.start(order)
    assert again.id == payment.id  # the same PaymentIntent takes another card
    world.stripe.pay(payment.gateway_reference, "pm_card_visa")
    (succeeded,) = world.stripe.events_of("payment_intent.succeeded")
    await world.stripe_webhook(succeeded)
    assert (await world.shop.orders.get_order(order.id, world.customer)).status == "paid"


async def test_events_out_of_order_end_paid(world: World) -> None:
    order = await world.order("stripe")
    payment = await world.start(order)
    world.stripe.pay(payment.gateway_reference, "pm_card_chargeDeclined")
    world.stripe.pay(payment.gateway_reference, "pm_card_visa")
    failed = world.stripe.events_of("payment_intent.payment_failed")[0]
    succeeded = world.stripe.events_of("payment_intent.succeeded")[0]
    assert await world.stripe_webhook(succeeded) == "applied"
    assert await world.stripe_webhook(failed) == "ignored"  # late news of an earlier attempt
    view = await world.shop.payments.get_payment(payment.id, world.customer)
    assert view.status == "succeeded"
    assert (await world.shop.orders.get_order(order.id, world.customer)).payment_status == "paid"


async def test_reconciliation_settles_a_payment_whose_webhook_never_came(world: World) -> None:
    order = await world.order("stripe")
    payment = await world.start(order)
    world.stripe.pay(payment.gateway_reference, "pm_card_visa")  # the webhook is withheld
    world.clock.advance(60)
    assert (await world.shop.payments.reconcile_payments(timedelta(minutes=15))).checked == 0  # too recent
    world.clock.advance(15 * 60)
    report = await world.shop.payments.reconcile_payments(timedelta(minutes=15))
    assert (report.checked, report.settled) == (1, 1)
    assert (await world.shop.orders.get_order(order.id, world.customer)).status == "paid"


async def test_refunds_in_part_then_in_full_follow_the_gateway(world: World) -> None:
    order = await world.order("stripe", quantity=2)  # 50.00
    payment = await world.start(order)
    world.stripe.pay(payment.gateway_reference, "pm_card_visa")
    await world.shop.payments.verify_payment(payment.id, world.customer)

    part = await world.shop.payments.refund_payment(payment.id, RefundPayment(amount="20.00"), STAFF)
    assert (part.status, part.refunded_amount) == ("succeeded", "20.00")
    assert (await world.shop.orders.get_order(order.id, STAFF)).status == "paid"
    with pytest.raises(InvalidInput):
        await world.shop.payments.refund_payment(payment.id, RefundPayment(amount="30.01"), STAFF)
    with pytest.raises(InvalidInput):
        await world.shop.payments.refund_payment(
            payment.id, RefundPayment(amount="1.00", reason="x" * 501), STAFF
        )

    rest = await world.shop.payments.refund_payment(payment.id, RefundPayment(), STAFF)
    assert (rest.status, rest.refunded_amount) == ("refunded", "50.00")
    assert [r.amount for r in rest.refunds or []] == ["20.00", "30.00"]
    refunded = await world.shop.orders.get_order(order.id, STAFF)
    assert (refunded.status, refunded.payment_status) == ("refunded", "refunded")
    assert sum(r["amount"] for r in world.stripe.refunds()) == 5000


async def test_staff_cancelling_a_paid_order_refunds_it_through_the_gateway(world: World) -> None:
    order = await world.order("stripe")
    payment = await world.start(order)
    world.stripe.pay(payment.gateway_reference, "pm_card_visa")
    await world.shop.payments.verify_payment(payment.id, world.customer)

    cancelled = await world.shop.orders.cancel_order(order.id, STAFF)

    assert (cancelled.status, cancelled.payment_status) == ("cancelled", "refunded")
    assert [r["amount"] for r in world.stripe.refunds()] == [2500]
    assert (await world.shop.payments.get_payment(payment.id, STAFF)).status == "refunded"


async def test_someone_elses_payment_is_not_found(world: World) -> None:
    order = await world.order("stripe")
    payment = await world.start(order)
    with pytest.raises(NotFound):
        await world.shop.payments.get_payment(payment.id, world.other)
    with pytest.raises(NotFound):
        await world.shop.payments.start_payment(StartPayment(order_id=order.id), world.other)


# --- SSLCommerz -----------------------------------------------------------------------------------


async def test_an_sslcommerz_payment_is_paid_by_its_validated_ipn(world: World) -> None:
    order = await world.order("sslcommerz")
    payment = await world.start(order)
    assert payment.redirect_url
    assert payment.redirect_url.startswith(world.sslcommerz.url)
    session = world.sslcommerz.session_for(payment.gateway_reference)
    assert (session.amount, session.currency) == ("25.00", "BDT")

    ipn = world.sslcommerz.complete(session.sessionkey, "VALID")
    assert await world.ipn(ipn) == "applied"
    assert await world.ipn(ipn) == "duplicate"
    assert (await world.shop.orders.get_order(order.id, world.customer)).status == "paid"


async def test_an_amount_that_does_not_match_holds_the_payment(world: World) -> None:
    order = await world.order("sslcommerz")
    payment = await world.start(order)
    session = world.sslcommerz.session_for(payment.gateway_reference)
    await world.ipn(world.sslcommerz.complete(session.sessionkey, "VALID", amount="20.00"))
    held = await world.shop.payments.get_payment(payment.id, STAFF)
    assert held.held
    assert held.status == "pending"
    assert (await world.shop.orders.get_order(order.id, STAFF)).status == "pending"
    assert [p.id for p in (await world.shop.payments.list_payments(Actor.operator(), held=True)).items] == [
        payment.id
    ]


async def test_a_risky_payment_is_held_for_review(world: World) -> None:
    order = await world.order("sslcommerz")
    payment = await world.start(order)
    session = world.sslcommerz.session_for(payment.gateway_reference)
    await world.ipn(world.sslcommerz.complete(session.sessionkey, "VALID", risk_level="1"))
    held = await world.shop.payments.get_payment(payment.id, STAFF)
    assert held.held
    assert (await world.shop.orders.get_order(order.id, STAFF)).status == "pending"


async def test_a_failed_sslcommerz_payment_is_started_afresh(world: World) -> None:
    order = await world.order("sslcommerz")
    payment = await world.start(order)
    session = world.sslcommerz.session_for(payment.gateway_reference)
    await world.ipn(world.sslcommerz.complete(session.sessionkey, "FAILED"))
    assert (await world.shop.payments.get_payment(payment.id, world.customer)).status == "failed"
    again = await world.start(order)
    assert again.id != payment.id
    assert again.gateway_reference != payment.gateway_reference
    fresh = world.sslcommerz.session_for(again.gateway_reference)
    await world.ipn(world.sslcommerz.complete(fresh.sessionkey, "VALID"))
    assert (await world.shop.orders.get_order(order.id, world.customer)).status == "paid"


async def test_sslcommerz_refunds_follow_the_gateway(world: World) -> None:
    order = await world.order("sslcommerz", quantity=2)
    payment = await world.start(order)
    session = world.sslcommerz.session_for(payment.gateway_reference)
    world.sslcommerz.complete(session.sessionkey, "VALID")  # the IPN is lost: verify finds it
    assert (await world.shop.payments.verify_payment(payment.id, world.customer)).status == "succeeded"
    world.sslcommerz.set_refund_mode("processing")
    pending = await world.shop.payments.refund_payment(payment.id, RefundPayment(amount="10.00"), STAFF)
    assert pending.refunded_amount == "0.00"
    (refund,) = pending.refunds or []
    world.sslcommerz.settle_refund(refund.gateway_reference)
    settled = await world.shop.payments.verify_payment(payment.id, STAFF)
    assert settled.refunded_amount == "10.00"


# --- cash on delivery ------------------------------------------------------------------------------


async def test_staff_confirm_cash_and_the_order_is_paid(world: World) -> None:
    order = await world.order("cod")
    confirmed = await world.shop.payments.confirm_cash(order.order_number, STAFF)
    assert (confirmed.gateway, confirmed.status) == ("cod", "succeeded")
    assert (await world.shop.orders.get_order(order.id, STAFF)).status == "paid"
    with pytest.raises(OrderNotPayable):
        await world.shop.payments.confirm_cash(order.order_number, STAFF)


async def test_a_pending_stripe_refund_settles_by_its_webhook(world: World) -> None:
    order = await world.order("stripe")
    payment = await world.start(order)
    world.stripe.pay(payment.gateway_reference, "pm_card_visa")
    await world.shop.payments.verify_payment(payment.id, world.customer)
    world.stripe.set_refund_mode("pending")

    pending = await world.shop.payments.refund_payment(payment.id, RefundPayment(amount="5.00"), STAFF)
    (refund,) = pending.refunds or []
    assert (refund.status, pending.refunded_amount) == ("pending", "0.00")
    world.stripe.settle_refund(refund.gateway_reference)
    (updated,) = world.stripe.events_of("refund.updated")
    assert await world.stripe_webhook(updated) == "applied"

    settled = await world.shop.payments.get_payment(payment.id, STAFF)
    assert (settled.status, settled.refunded_amount) == ("succeeded", "5.00")
    assert [r.status for r in settled.refunds or []] == ["succeeded"]


async def test_money_for_an_order_that_expired_meanwhile_is_held_not_counted(world: World) -> None:
    order = await world.order("stripe")
    payment = await world.start(order)
    world.clock.advance(world.shop.settings.order_payment_timeout + 1)
    assert await world.shop.orders.expire_unpaid_orders() == 1
    world.stripe.pay(payment.gateway_reference, "pm_card_visa")
    (succeeded,) = world.stripe.events_of("payment_intent.succeeded")

    assert await world.stripe_webhook(succeeded) == "applied"

    held = await world.shop.payments.get_payment(payment.id, STAFF)
    assert held.held
    assert held.hold_reason
    assert "cancelled" in held.hold_reason
    assert (await world.shop.orders.get_order(order.id, STAFF)).status == "cancelled"


async def test_a_refund_is_never_counted_beyond_what_the_payment_took(world: World) -> None:
    order = await world.order("cod", quantity=2)  # 50.00
    payment = await world.shop.payments.confirm_cash(order.order_number, STAFF)
    now = world.clock.now()

    async with world.shop.ports.uow() as uow:
        part = await uow.payments.record_refunded(payment.id, 2000, now)
        assert part is not None
        assert (part.status, part.refunded_amount) == ("succeeded", 2000)
        assert await uow.payments.record_refunded(payment.id, 3001, now) is None  # 0.01 too much
        rest = await uow.payments.record_refunded(payment.id, 3000, now)
        assert rest is not None
        assert (rest.status, rest.refunded_amount) == ("refunded", 5000)
        assert await uow.payments.record_refunded(payment.id, 1, now) is None
        await uow.commit()

    after = await world.shop.payments.get_payment(payment.id, STAFF)
    assert (after.status, after.refunded_amount) == ("refunded", "50.00")
