"""What a live order stream sends: each event's payload, and the stream ticket."""

from __future__ import annotations

from datetime import datetime

import msgspec

from shop_core.domain.money import exponent_of, format_minor
from shop_core.domain.orders import Order, OrderEvent


class OrderChange(msgspec.Struct, frozen=True, kw_only=True):
    """An event's `data`: which order, what happened (the audit action, and when), and the order's
    state now. No actor or note: those are the staff's audit trail."""

    order_id: int
    order_number: str
    action: str
    at: datetime
    status: str
    payment_status: str
    fulfillment_status: str
    refunded_amount: str
    currency: str
    updated_at: datetime


class StreamItem(msgspec.Struct, frozen=True, kw_only=True):
    """One Server-Sent Event: `id` is the audit event's id (what Last-Event-ID names)."""

    id: int
    event: str
    data: OrderChange


class StreamTicket(msgspec.Struct, frozen=True, kw_only=True):
    ticket: str
    """Pass as `?ticket=` to GET /api/orders/{id}/events/; once, within `expires_in` seconds."""
    expires_in: int


def change_of(order: Order, event: OrderEvent) -> OrderChange:
    assert order.id is not None
    return OrderChange(
        order_id=order.id,
        order_number=order.number,
        action=event.action,
        at=event.at,
        status=order.status.value,
        payment_status=order.payment_status.value,
        fulfillment_status=order.fulfillment_status.value,
        refunded_amount=format_minor(order.refunded_amount, exponent_of(order.currency)),
        currency=order.currency,
        updated_at=order.updated_at,
    )
