"""Where orders, their audit trail, idempotency keys and invoices are kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shop_core.domain.catalog import TakenProduct
from shop_core.domain.invoices import Invoice, InvoiceDocument
from shop_core.domain.jobs import Job
from shop_core.domain.orders import Order, OrderEvent, OrderPaymentStatus, OrderStatus, PaymentMethod
from shop_core.domain.stock import OrderStockMovement


@dataclass(frozen=True)
class OrderFilter:
    user_id: int | None = None
    status: OrderStatus | None = None
    since: datetime | None = None
    unpaid_before: datetime | None = None
    """Only pending, unpaid orders placed before this moment (the expiry sweep)."""
    payment_methods: frozenset[PaymentMethod] | None = None
    """Only orders to be paid by one of these."""
    voucher_code: str | None = None
    """Only orders that used the voucher with this (normalized) code."""


@dataclass(frozen=True)
class OrderJob:
    """A background job recorded with a new order, in the statement that stores it where the store
    can: keyed `<name>:<order id>`, with the payload `{"order_id": <order id>}`."""

    name: str
    max_attempts: int

    def key(self, order_id: int) -> str:
        return f"{self.name}:{order_id}"

    def job(self, order_id: int, now: datetime) -> Job:
        return Job(
            name=self.name,
            key=self.key(order_id),
            payload={"order_id": order_id},
            created_at=now,
            max_attempts=self.max_attempts,
        )


class CustomerGone(Exception):
    """The order's customer is no longer an active user (deactivated or deleted), found when the
    order was stored with `confirm_user`: nothing was stored."""


class VoucherUseRefused(Exception):
    """The order's voucher had no use left (for everyone, or for its customer), or was deactivated,
    when the order was stored."""


class OrderRepository(Protocol):
    async def add_placed(
        self,
        order: Order,
        movements: Sequence[OrderStockMovement],
        events: Sequence[OrderEvent],
        key: PlacementKey | None,
        *,
        confirm_user: bool = False,
        job: OrderJob | None = None,
        voucher_held: bool = False,
    ) -> bool:
        """Store a newly placed order with everything that goes with it: its lines, the stock
        movements of what it took, its first events, and its Idempotency-Key (claimed now, or
        already claimed by the caller) pointing at it. Sets `order.id`.

        False when the key is already another order's (a request with it committed first): the
        caller must then roll back and answer with that order.

        An order that used a voucher (`order.voucher_id`) counts that use here too, for everyone
        and for its customer (`VoucherRepository.count_use`), as late in the transaction as it can
        be: the voucher's row is every checkout's with that voucher, so it is held for as short a
        time as possible. Raises VoucherUseRefused when the use cannot be counted (the caller rolls
        back). `voucher_held`: the use for everyone was counted before the transaction
        (`VoucherRepository.hold_use`); only the customer's is counted here.

        `confirm_user`: first check, in the same statement where the store can, that the order's
        customer is still an active user; CustomerGone (nothing stored) when not. Authentication
        leaves its per-request read of the user to this check on the order placement's path.

        `job`: record this job for the order too (in the unit of work's job ledger, handed to the
        queue after the commit like any other), unless a job with its key exists.
        """
        ...

    async def place_at_once(
        self,
        order: Order,
        quoted: Sequence[tuple[TakenProduct, int]],
        movements: Sequence[OrderStockMovement],
        events: Sequence[OrderEvent],
        key: PlacementKey | None,
        *,
        confirm_user: bool = False,
        job: OrderJob | None = None,
        voucher_held: bool = False,
        low_stock: int = 0,
    ) -> bool:
        """Take the stock of the `quoted` lines (each as `ProductRepository.quote` read it, and its
        quantity, in (product, variant) order, no two of one product) and store the order as
        `add_placed` would, at once: one step that writes everything or nothing, committed on its
        own (the unit of work's commit still hands its job to the queue). Sets `order.id`.

        False, writing nothing, when the order cannot be placed so: a line's product or variant is
        no longer active or no longer priced, discounted, categorised or weighed as quoted, has
        less stock than the line takes plus `low_stock` (a take that would set off the low-stock
        alert), the customer is not active (`confirm_user`), the order's voucher is not usable as
        it stands (its use for everyone not `voucher_held`, and it has a limit or is inactive; a
        voucher with a per-customer limit is never placed at once), the key is already taken, the
        order's number was drawn before, a transaction is already open, or the database cannot
        (SQLite). The caller then places the order the usual way, which says what changed."""
        ...

    async def get(self, order_id: int, *, for_update: bool = False) -> Order | None:
        """`for_update`: lock the order's row until the transaction ends (what serialises the
        fulfilments of one order)."""
        ...

    async def get_by_number(self, number: str) -> Order | None: ...

    async def save(self, order: Order) -> bool:
        """Store the order's state if nobody changed it since it was read (its `version`); bumps the
        version. False, storing nothing, when someone did."""
        ...

    async def page(self, where: OrderFilter, *, offset: int, limit: int) -> tuple[list[Order], int]:
        """Newest first, with the count of all that match."""
        ...

    async def ids(self, where: OrderFilter, *, limit: int) -> list[int]: ...

    async def add_events(self, order_id: int, events: Sequence[OrderEvent]) -> None: ...

    async def events(self, order_id: int) -> list[OrderEvent]:
        """Oldest first."""
        ...

    async def events_after(self, order_id: int, after_id: int, *, limit: int) -> list[OrderEvent]:
        """The order's audit events with an id above `after_id`, oldest first, at most `limit`
        (one indexed query: what a live stream catches up with)."""
        ...

    async def last_event_id(self, order_id: int) -> int:
        """The id of the order's latest audit event; 0 when it has none."""
        ...

    async def product_is_ordered(self, product_id: int) -> bool: ...


@dataclass(frozen=True)
class PlacementKey:
    user_id: int
    key: str
    fingerprint: str
    created_at: datetime
    claimed: bool
    """True when the caller claimed it already (in a transaction of its own)."""


@dataclass(frozen=True)
class StoredKey:
    fingerprint: str
    order_id: int | None
    """None while the request that claimed the key is still placing its order."""
    created_at: datetime


class IdempotencyRepository(Protocol):
    async def claim(self, user_id: int, key: str, fingerprint: str, now: datetime) -> bool:
        """Record the key in this transaction. False when it is already recorded: then another
        request with the key committed first (a concurrent claim waits for that request's
        transaction to end)."""
        ...

    async def get(self, user_id: int, key: str) -> StoredKey | None: ...

    async def release(self, user_id: int, key: str) -> None:
        """Forget a claim whose request placed no order (so the key can be tried again)."""
        ...

    async def purge(self, before: datetime) -> int: ...


class InvoiceRepository(Protocol):
    async def get(self, order_id: int) -> Invoice | None: ...

    async def next_number(self, year: int) -> int:
        """The year's next invoice number, counted in this transaction (a rollback gives it back)."""
        ...

    async def add(self, invoice: Invoice) -> bool:
        """False, storing nothing, when the order already has an invoice."""
        ...

    async def store_pdf(self, order_id: int, pdf: bytes, payment_status: OrderPaymentStatus) -> bytes:
        """Keep the rendered PDF of an invoice that has none yet, if the order's payment status is
        still the one it shows; the PDF kept (another request's, if it stored one first), or `pdf`
        when it was not kept (the order changed meanwhile)."""
        ...

    async def discard_pdf(self, order_id: int) -> None:
        """Forget the kept PDF (the order's payment status changed): the next request renders it
        again, under the same number."""
        ...


class InvoiceRenderer(Protocol):
    def render(self, document: InvoiceDocument) -> bytes:
        """The invoice as a PDF."""
        ...
