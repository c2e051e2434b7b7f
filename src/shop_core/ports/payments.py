"""The payment gateway port, provider-neutral, and where payments are kept.

Amounts cross the port in the shop's unit: the minor unit of the currency as ISO 4217 defines
it (cents, whole yen); an adapter converts to what its provider wants (SSLCommerz: a decimal
string). Gateway errors an adapter cannot resolve
are raised as `GatewayError` (the caller answers 502 and changes nothing it has not recorded).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shop_core.domain.orders import PaymentMethod
from shop_core.domain.payments import Outcome, Payment, Refund, RefundState


class GatewayError(Exception):
    """The gateway could not be reached, or refused in a way the customer cannot fix."""


class PaymentDeclined(Exception):
    """The gateway refused the customer's payment details (the customer may try again)."""


class BadWebhook(Exception):
    """A webhook whose signature, timestamp or body does not check out: it changes nothing."""


@dataclass(frozen=True)
class Customer:
    name: str
    email: str
    phone: str
    line1: str
    city: str
    postal_code: str
    country: str


@dataclass(frozen=True)
class StartRequest:
    """Start collecting `payment` (already stored, so it has an id). Idempotent: the same payment
    and attempt start the same provider payment, however often asked."""

    payment_id: int
    order_id: int
    order_number: str
    attempt: int
    amount: int
    currency: str
    customer: Customer
    item_count: int
    description: str


@dataclass(frozen=True)
class Started:
    reference: str  # the provider's id for this payment
    client_secret: str = ""
    redirect_url: str = ""


@dataclass(frozen=True)
class GatewayState:
    """What the provider says about a payment now (or in an event)."""

    reference: str
    outcome: Outcome
    amount: int | None = None  # what the provider collected, in minor units
    currency: str | None = None
    payment_id: int | None = None  # our id, as the provider echoes it back (metadata, value_a)
    failure: str = ""
    hold_reason: str = ""  # the provider asks us to hold it (SSLCommerz risk_level 1)
    provider_data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundRequest:
    refund_id: int
    payment_reference: str
    amount: int
    currency: str
    reason: str
    provider_data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundAnswer:
    """What the provider says about a refund."""

    reference: str
    state: RefundState
    failure: str = ""


@dataclass(frozen=True)
class ProviderEvent:
    """A verified webhook, in the shop's terms. `event_id` is the provider's id of the delivery's
    event: the same event delivered twice carries the same id."""

    event_id: str
    kind: str  # "payment" or "refund"
    payment: GatewayState | None = None
    refund: RefundAnswer | None = None
    refund_amount: int | None = None  # a refund the provider made on its own (dashboard)
    type: str = ""  # the provider's name for it, for the record


class PaymentGateway(Protocol):
    gateway: PaymentMethod

    async def start(self, request: StartRequest) -> Started:
        """PaymentDeclined, GatewayError."""
        ...

    async def fetch(self, payment: Payment) -> GatewayState:
        """The provider's current view of `payment` (GatewayError when it cannot tell)."""
        ...

    async def refund(self, request: RefundRequest) -> RefundAnswer:
        """Idempotent by `refund_id`. GatewayError when the provider refuses or cannot be reached."""
        ...

    async def refund_status(self, refund: Refund, payment: Payment) -> RefundAnswer: ...

    async def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
        """Verify and read a webhook (BadWebhook if it does not check out); None for an event
        that concerns no payment of ours."""
        ...


class PaymentRepository(Protocol):
    async def add(self, payment: Payment) -> Payment | None:
        """Store a new payment; None when (order, attempt) is taken (a concurrent start)."""
        ...

    async def get(self, payment_id: int, *, for_update: bool = False) -> Payment | None: ...

    async def by_reference(
        self, gateway: PaymentMethod, reference: str, *, for_update: bool = False
    ) -> Payment | None: ...

    async def of_order(self, order_id: int) -> list[Payment]:
        """Every attempt, oldest first."""
        ...

    async def save(self, payment: Payment) -> None:
        """Write changes (optimistic: Conflict when another transaction changed it meanwhile)."""
        ...

    async def record_refunded(self, payment_id: int, amount: int, at: datetime) -> Payment | None:
        """Add `amount` to what the succeeded payment gave back (it becomes `refunded` once all of it
        is), in one conditional statement of this transaction; the payment as it is now, or None,
        changing nothing, when it is not succeeded or has less than `amount` left. The only way a
        refund is counted: a payment is never refunded beyond what it took."""
        ...

    async def pending(self, *, older_than: datetime, limit: int) -> list[Payment]:
        """Live payments (pending or failed, not held) last changed before `older_than`."""
        ...

    async def with_pending_refunds(self, *, older_than: datetime, limit: int) -> list[Payment]:
        """Payments with a refund still pending since before `older_than`."""
        ...

    async def page(
        self, *, status: str | None, held: bool | None, offset: int, limit: int
    ) -> tuple[list[Payment], int]: ...

    async def record_event(self, gateway: PaymentMethod, event_id: str, type_: str, at: datetime) -> bool:
        """Remember a provider event; False when it was already recorded (a redelivery)."""
        ...

    async def add_refund(self, refund: Refund) -> Refund: ...

    async def get_refund(self, refund_id: int, *, for_update: bool = False) -> Refund | None: ...

    async def refund_by_reference(self, reference: str, *, for_update: bool = False) -> Refund | None: ...

    async def refunds_of(self, payment_id: int) -> list[Refund]: ...

    async def save_refund(self, refund: Refund) -> None: ...
