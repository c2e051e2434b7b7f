"""A payment only moves forward, counts money only when it adds up, and refunds within its amount."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shop_core.domain.addresses import Address
from shop_core.domain.errors import Conflict, InvalidInput
from shop_core.domain.orders import Order, PaymentMethod
from shop_core.domain.payments import PAYMENT_MOVES, Outcome, Payment, PaymentState, Refund, RefundState
from shop_core.domain.pricing import PricedLine, Totals

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def payment(status: PaymentState = PaymentState.PENDING, amount: int = 5000) -> Payment:
    return Payment(1, 1, PaymentMethod.STRIPE, 1, status, amount, "BDT", NOW, NOW, id=7)


def settle(p: Payment, outcome: Outcome, amount: int | None = 5000, currency: str = "bdt") -> bool:
    return p.settle(outcome, NOW, amount=amount, currency=currency)


@pytest.mark.parametrize("start", list(PaymentState))
@pytest.mark.parametrize("outcome", [Outcome.SUCCEEDED, Outcome.FAILED, Outcome.CANCELLED])
def test_a_payment_moves_only_along_its_table(start: PaymentState, outcome: Outcome) -> None:
    p = payment(start)
    changed = settle(p, outcome)
    target = PaymentState(outcome.value)
    if start is PaymentState.CANCELLED and outcome is Outcome.SUCCEEDED:
        assert changed
        assert p.hold_reason  # money for a cancelled payment: held, never dropped
        assert p.status is PaymentState.CANCELLED
    elif target in PAYMENT_MOVES[start]:
        assert changed
        assert p.status is target
    else:
        assert not changed
        assert p.status is start


def test_pending_news_changes_nothing() -> None:
    p = payment()
    assert not settle(p, Outcome.PENDING)
    assert p.status is PaymentState.PENDING


@pytest.mark.parametrize(("amount", "currency"), [(4999, "bdt"), (5001, "bdt"), (5000, "usd"), (None, "bdt")])
def test_a_success_that_does_not_add_up_is_held(amount: int | None, currency: str) -> None:
    p = payment()
    assert settle(p, Outcome.SUCCEEDED, amount, currency)
    assert p.hold_reason
    assert p.status is PaymentState.PENDING
    assert not p.is_live
    assert not settle(p, Outcome.SUCCEEDED, amount, currency)  # the same news again: nothing new


def test_refunds_stay_within_what_was_paid() -> None:
    p = payment(PaymentState.SUCCEEDED)
    assert p.check_refund(None) == 5000
    assert p.check_refund(2000) == 2000
    p.refunded(2000, NOW)
    assert (p.status, p.refundable) == (PaymentState.SUCCEEDED, 3000)
    with pytest.raises(InvalidInput):
        p.check_refund(3001)
    with pytest.raises(InvalidInput):
        p.check_refund(0)
    p.refunded(3000, NOW)
    assert (p.status, p.refunded_amount) == (PaymentState.REFUNDED, 5000)
    with pytest.raises(Conflict):
        p.check_refund(None)


def test_a_payment_not_collected_cannot_be_refunded() -> None:
    with pytest.raises(Conflict):
        payment(PaymentState.PENDING).check_refund(None)


# --- one way to make an attempt, and the changes the service asks of a payment ------------------------


def an_order() -> Order:
    address = Address(full_name="Ada", line1="1 Main St", city="Dhaka", postal_code="1207", country="BD")
    line = PricedLine(
        product_id=3,
        product_name="Lamp",
        sku="L-1",
        unit_price=5000,
        quantity=1,
        line_total=5000,
        discount_amount=0,
        tax_amount=0,
    )
    order = Order.place(
        user_id=9,
        lines=[line],
        totals=Totals(subtotal=5000, discount_amount=0, tax_amount=0, shipping_cost=0),
        currency="BDT",
        payment_method=PaymentMethod.STRIPE,
        shipping_address=address,
        billing_address=address,
        now=NOW,
    )
    order.id = 41
    return order


def test_an_attempt_collects_the_order_total_pending() -> None:
    order = an_order()
    p = Payment.attempt_of(order, PaymentMethod.COD, attempt=2, now=NOW, reference="cod-x-2")
    assert (p.order_id, p.order_number, p.user_id, p.gateway, p.attempt) == (
        41,
        order.number,
        9,
        PaymentMethod.COD,
        2,
    )
    assert (p.status, p.amount, p.currency, p.reference) == (PaymentState.PENDING, 5000, "BDT", "cod-x-2")
    assert p.created_at == p.updated_at == NOW
    assert p.id is None


def test_opened_records_the_gateway_side_once() -> None:
    p = payment()
    assert p.opened("pi_1", "secret", "https://pay", NOW) is True
    assert p.opened("pi_2", "other", "", NOW) is False
    assert (p.reference, p.client_secret, p.redirect_url) == ("pi_1", "secret", "https://pay")


def test_a_reference_is_taken_once_then_only_matches_itself() -> None:
    p = payment()
    assert p.take_reference("pi_1") is True
    assert p.take_reference("pi_1") is True
    assert p.take_reference("pi_other") is False
    assert p.reference == "pi_1"


def test_provider_data_is_kept_and_merged() -> None:
    p = payment()
    assert p.kept_provider_data == {}
    p.keep_provider_data({"bank_tran_id": "b1", "card": "visa"})
    p.keep_provider_data({"bank_tran_id": "b2"})
    assert p.kept_provider_data == {"bank_tran_id": "b2", "card": "visa"}


def test_counted_as_takes_the_stored_refund_count() -> None:
    p, stored = payment(PaymentState.SUCCEEDED), payment(PaymentState.REFUNDED)
    stored.refunded_amount, stored.version = 5000, 4
    p.counted_as(stored)
    assert (p.status, p.refunded_amount, p.version) == (PaymentState.REFUNDED, 5000, 4)


def test_a_refund_keeps_why_it_is_unconfirmed_only_while_pending() -> None:
    refund = Refund(7, 100, RefundState.PENDING, "r", "staff", NOW, NOW)
    assert refund.unconfirmed("timeout " * 100) is True
    assert len(refund.failure) == 500
    refund.take_reference("re_1")
    refund.take_reference("re_2")
    assert refund.reference == "re_1"
    refund.settle(RefundState.SUCCEEDED, NOW)
    assert refund.unconfirmed("late") is False
    assert refund.failure == ""
