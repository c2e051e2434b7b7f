"""Payments: one attempt to collect an order's total through a gateway, and its refunds.

A payment only ever moves forward: `pending` → `succeeded` | `failed` | `cancelled`, a failed
one may still succeed (the customer tries another card on the same Stripe PaymentIntent), and a
succeeded one becomes `refunded` once refunds cover all of it. Whatever the gateway says out of
order or twice, applying it again changes nothing (see `Payment.settle`).

Before a payment counts as money received, the gateway's amount and currency must equal ours;
otherwise the payment is *held* (`hold_reason`) for staff, and the order is not paid.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shop_core.domain.errors import Conflict, InvalidInput
from shop_core.domain.money import exponent_of, format_minor
from shop_core.domain.orders import Order, PaymentMethod


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


# The moves a payment may make. A settled state never goes back to pending.
PAYMENT_MOVES: dict[PaymentState, frozenset[PaymentState]] = {
    PaymentState.PENDING: frozenset({PaymentState.SUCCEEDED, PaymentState.FAILED, PaymentState.CANCELLED}),
    PaymentState.FAILED: frozenset({PaymentState.SUCCEEDED, PaymentState.CANCELLED}),
    PaymentState.SUCCEEDED: frozenset({PaymentState.REFUNDED}),
    PaymentState.REFUNDED: frozenset(),
    PaymentState.CANCELLED: frozenset(),
}
LIVE = frozenset({PaymentState.PENDING, PaymentState.FAILED})  # may still collect money


def parse_gateway(raw: str) -> PaymentMethod:
    try:
        return PaymentMethod(raw)
    except ValueError:
        names = ", ".join(g.value for g in PaymentMethod)
        raise InvalidInput.field("gateway", f"Unknown gateway {raw!r}; one of {names}.") from None


@dataclass(eq=False)
class Payment:
    order_id: int
    user_id: int
    gateway: PaymentMethod
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

    @classmethod
    def attempt_of(
        cls, order: Order, gateway: PaymentMethod, *, attempt: int, now: datetime, reference: str = ""
    ) -> Payment:
        """A new pending attempt to collect `order`'s total through `gateway`."""
        assert order.id is not None
        return cls(
            order_id=order.id,
            order_number=order.number,
            user_id=order.user_id,
            gateway=gateway,
            attempt=attempt,
            status=PaymentState.PENDING,
            amount=order.total_price,
            currency=order.currency,
            created_at=now,
            updated_at=now,
            reference=reference,
        )

    @property
    def is_live(self) -> bool:
        return self.status in LIVE and not self.hold_reason

    def opened(self, reference: str, client_secret: str, redirect_url: str, now: datetime) -> bool:
        """The gateway made its side of the payment; False (changing nothing) if it was recorded already."""
        if self.reference:
            return False
        self.reference, self.client_secret, self.redirect_url = reference, client_secret, redirect_url
        self.updated_at = now
        return True

    def take_reference(self, reference: str) -> bool:
        """Whether the provider's `reference` is this payment's; news that outran our recording of
        the provider's id records it."""
        if not self.reference:
            self.reference = reference
        return self.reference == reference

    @property
    def kept_provider_data(self) -> dict[str, Any]:
        """What the gateway said a refund will need later (SSLCommerz's bank_tran_id)."""
        kept: dict[str, Any] = json.loads(self.provider_data) if self.provider_data else {}
        return kept

    def keep_provider_data(self, data: Mapping[str, Any]) -> None:
        """Keep what the gateway said a refund will need later, over what was kept before."""
        self.provider_data = json.dumps({**self.kept_provider_data, **data})

    def counted_as(self, stored: Payment) -> None:
        """Take the refund count and state just stored for this payment (see `record_refunded`)."""
        self.refunded_amount, self.status = stored.refunded_amount, stored.status
        self.updated_at, self.version = stored.updated_at, stored.version

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded_amount if self.status is PaymentState.SUCCEEDED else 0

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
            Outcome.SUCCEEDED: PaymentState.SUCCEEDED,
            Outcome.FAILED: PaymentState.FAILED,
            Outcome.CANCELLED: PaymentState.CANCELLED,
        }[outcome]
        if target is PaymentState.SUCCEEDED and self.status is PaymentState.CANCELLED:
            # Money for a payment given up on (a late success): never drop it, never count it.
            return self.hold("the gateway reports it paid after it was cancelled: refund it", now)
        if target is self.status or target not in PAYMENT_MOVES[self.status]:
            return False
        if target is PaymentState.SUCCEEDED and (
            amount != self.amount or (currency or "").upper() != self.currency
        ):
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
        self.failure = failure if target is PaymentState.FAILED else ""
        self.updated_at = now
        if target is PaymentState.SUCCEEDED:
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
        if self.status is not PaymentState.SUCCEEDED:
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
            self.status = PaymentState.REFUNDED
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

    def take_reference(self, reference: str) -> None:
        """Record the gateway's id for this refund, once."""
        if reference and not self.reference:
            self.reference = reference

    def unconfirmed(self, failure: str) -> bool:
        """The gateway could not say whether it went through: a pending refund keeps why; False for
        a settled one (nothing changes)."""
        if self.status is not RefundState.PENDING:
            return False
        self.failure = failure[:500]
        return True

    def settle(self, state: RefundState, now: datetime, failure: str = "") -> bool:
        """True when this moved the refund out of pending (a refund settles once)."""
        if self.status is not RefundState.PENDING or state is RefundState.PENDING:
            return False
        self.status = state
        self.failure = failure
        self.updated_at = now
        return True
