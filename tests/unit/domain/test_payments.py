"""A payment only moves forward, counts money only when it adds up, and refunds within its amount."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shop_core.domain.errors import Conflict, InvalidInput
from shop_core.domain.payments import (
    PAYMENT_MOVES,
    Gateway,
    Outcome,
    Payment,
    PaymentState,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def payment(status: PaymentState = PaymentState.PENDING, amount: int = 5000) -> Payment:
    return Payment(1, 1, Gateway.STRIPE, 1, status, amount, "BDT", NOW, NOW, id=7)


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
