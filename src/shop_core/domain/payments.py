"""Payments: one attempt to collect an order's total through a gateway, and its refunds.

A payment only ever moves forward: `pending` → `succeeded` | `failed` | `cancelled`, a failed
one may still succeed (the customer tries another card on the same Stripe PaymentIntent), and a
succeeded one becomes `refunded` once refunds cover all of it. Whatever the gateway says out of
order or twice, applying it again changes nothing (see `Payment.settle`).

Before a payment counts as money received, the gateway's amount and currency must equal ours;
otherwise the payment is *held* (`hold_reason`) for staff, and the order is not paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shop_core.domain.errors import Conflict, InvalidInput
from shop_core.domain.money import exponent_of, format_minor


class Gateway(StrEnum):
    STRIPE = "stripe"
    SSLCOMMERZ = "sslcommerz"
    COD = "cod"


class PaymentState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class RefundState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Outcome(StrEnum):
    """What a gateway says happened to a payment (provider-neutral)."""

    PENDING = "pending"  # nothing final yet (processing, awaiting the customer, 3-D Secure)
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # declined or abandoned; a Stripe payment may still be paid afterwards
    CANCELLED = "cancelled"


P = PaymentState
# The moves a payment may make. A settled state never goes back to pending.
PAYMENT_MOVES: dict[PaymentState, frozenset[PaymentState]] = {
    P.PENDING: frozenset({P.SUCCEEDED, P.FAILED, P.CANCELLED}),
    P.FAILED: frozenset({P.SUCCEEDED, P.CANCELLED}),
    P.SUCCEEDED: frozenset({P.REFUNDED}),
    P.REFUNDED: frozenset(),
    P.CANCELLED: frozenset(),
}
LIVE = frozenset({P.PENDING, P.FAILED})  # may still collect money


def parse_gateway(raw: str) -> Gateway:
    try:
        return Gateway(raw)
    except ValueError:
        names = ", ".join(g.value for g in Gateway)
        raise InvalidInput.field("gateway", f"Unknown gateway {raw!r}; one of {names}.") from None


@dataclass(eq=False)
class Payment:
    order_id: int
    user_id: int
    gateway: Gateway
    attempt: int
    status: PaymentState
    amount: int  # in the minor unit of `currency`, as every amount of the shop
    currency: str
    created_at: datetime
    updated_at: datetime
    order_number: str = ""  # the order's, kept with the payment (it never changes)
    reference: str = ""  # the gateway's id: a PaymentIntent id, an SSLCommerz tran_id
    client_secret: str = ""
    redirect_url: str = ""
    refunded_amount: int = 0
    hold_reason: str = ""
    failure: str = ""
    provider_data: str = ""  # what a refund needs later (SSLCommerz bank_tran_id), JSON
    settled_at: datetime | None = None
    version: int = 1
    id: int | None = None

    @property
    def is_live(self) -> bool:
        return self.status in LIVE and not self.hold_reason

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded_amount if self.status is P.SUCCEEDED else 0

    def settle(
        self, outcome: Outcome, now: datetime, *, amount: int | None, currency: str | None, failure: str = ""
    ) -> bool:
        """Apply what the gateway says; True when it changed the payment.

        A success whose amount or currency differs from ours is held, not counted. A report that
        comes late (a failure after the success, a second success) changes nothing.
        """
        if outcome is Outcome.PENDING:
            return False
        target = {
            Outcome.SUCCEEDED: P.SUCCEEDED,
            Outcome.FAILED: P.FAILED,
            Outcome.CANCELLED: P.CANCELLED,
        }[outcome]
        if target is P.SUCCEEDED and self.status is P.CANCELLED:
            # Money for a payment given up on (a late success): never drop it, never count it.
            return self.hold("the gateway reports it paid after it was cancelled: refund it", now)
        if target is self.status or target not in PAYMENT_MOVES[self.status]:
            return False
        if target is P.SUCCEEDED and (amount != self.amount or (currency or "").upper() != self.currency):
            reason = (
                f"the gateway reported {self._shown(amount)} {(currency or '?').upper()}; "
                f"the order is for {self._shown(self.amount)} {self.currency}"
            )
            if self.hold_reason == reason:
                return False
            self.hold_reason = reason
            self.updated_at = now
            return True
        self.status = target
        self.failure = failure if target is P.FAILED else ""
        self.updated_at = now
        if target is P.SUCCEEDED:
            self.settled_at = now
        return True

    def _shown(self, amount: int | None) -> str:
        return "nothing" if amount is None else format_minor(amount, exponent_of(self.currency))

    def hold(self, reason: str, now: datetime) -> bool:
        if self.hold_reason:
            return False
        self.hold_reason = reason
        self.updated_at = now
        return True

    def check_refund(self, amount: int | None) -> int:
        """The amount a refund of `amount` (None: all that is left) would return; Conflict otherwise."""
        if self.status is not P.SUCCEEDED:
            raise Conflict(f"Payment {self.id} is {self.status.value}; only a succeeded payment is refunded.")
        wanted = self.refundable if amount is None else amount
        if wanted <= 0:
            raise InvalidInput.field("amount", "A refund must be more than zero.")
        if wanted > self.refundable:
            raise InvalidInput.field(
                "amount", f"At most {self._shown(self.refundable)} {self.currency} is left to refund."
            )
        return wanted

    def refunded(self, amount: int, now: datetime) -> None:
        """A refund of `amount` went through (once per refund; the caller makes sure)."""
        self.refunded_amount = min(self.amount, self.refunded_amount + amount)
        if self.refunded_amount >= self.amount:
            self.status = P.REFUNDED
        self.updated_at = now


@dataclass(eq=False)
class Refund:
    payment_id: int
    amount: int
    status: RefundState
    reason: str
    actor: str
    created_at: datetime
    updated_at: datetime
    reference: str = ""
    failure: str = ""
    id: int | None = None

    def settle(self, state: RefundState, now: datetime, failure: str = "") -> bool:
        """True when this moved the refund out of pending (a refund settles once)."""
        if self.status is not RefundState.PENDING or state is RefundState.PENDING:
            return False
        self.status = state
        self.failure = failure
        self.updated_at = now
        return True
