"""Fulfilment: shipping an order's lines, in one or several parcels, never more than was ordered.

A fulfilment names order lines (by their id, `item_id` to clients) and how many of each left in
one parcel, with the carrier and tracking number staff enter. The same line named twice in one
request counts once with the quantities added up (two rows of a packing list for one item are one
shipment of their sum), then the sum is checked against what is left.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from shop_core.domain.errors import Conflict, InvalidInput
from shop_core.domain.orders import FulfillmentStatus, Order, OrderStatus, PaymentMethod

MAX_LABEL = 100
"""Carrier names and tracking numbers: at most this many characters."""


@dataclass(frozen=True)
class FulfilmentLine:
    order_line_id: int
    quantity: int


@dataclass
class Fulfilment:
    """One parcel: what left, when, by whom, and how to follow it."""

    order_id: int
    lines: list[FulfilmentLine]
    created_at: datetime
    actor: str
    carrier: str | None = None
    tracking_number: str | None = None
    id: int | None = field(default=None)


class OverFulfilment(Conflict):
    """A line asked for more than is left to ship; nothing was recorded."""

    code = "over_fulfilment"


class OrderNotFulfillable(Conflict):
    """The order cannot ship now (unpaid and not cash on delivery, cancelled, refunded, shipped)."""

    code = "order_not_fulfillable"


def left_to_ship(order: Order, fulfilled: Mapping[int, int]) -> dict[int, int]:
    """Per line id: ordered minus already fulfilled."""
    return {line.id: line.quantity - fulfilled.get(line.id, 0) for line in order.lines if line.id is not None}


def status_of(left: Mapping[int, int], ordered: Mapping[int, int]) -> FulfillmentStatus:
    """`unfulfilled` while nothing has shipped, `fulfilled` once everything has, else `partial`."""
    if all(left[i] <= 0 for i in left):
        return FulfillmentStatus.FULFILLED
    if all(left[i] == ordered[i] for i in left):
        return FulfillmentStatus.UNFULFILLED
    return FulfillmentStatus.PARTIAL


def check_fulfillable(order: Order) -> None:
    """OrderNotFulfillable, saying why, unless the order may ship: paid (status paid or
    processing), or cash on delivery and neither cancelled, refunded nor shipped (pending too)."""
    why = _refusal(order)
    if why is not None:
        raise OrderNotFulfillable(f"Order {order.number} cannot be fulfilled: {why}.")


def _refusal(order: Order) -> str | None:
    if order.fulfillment_status is FulfillmentStatus.FULFILLED:
        return "everything has already shipped"
    status = order.status
    if status is OrderStatus.CANCELLED:
        return "it is cancelled"
    if status is OrderStatus.REFUNDED:
        return "it is refunded"
    if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        return f"it is already {status.value}"
    if status is OrderStatus.PENDING and order.payment_method is not PaymentMethod.COD:
        return f"it is unpaid and paid by {order.payment_method.value}, not cash on delivery"
    return None


def requested_lines(
    order: Order, wanted: Iterable[tuple[int, int]], left: Mapping[int, int]
) -> list[FulfilmentLine]:
    """The lines of a requested fulfilment, checked: each (item id, quantity) names a line of this
    order (InvalidInput otherwise) and a quantity of at least 1; lines named twice are summed; no
    line may ship more than is left (OverFulfilment naming each line that would)."""
    summed: dict[int, int] = {}
    for item_id, quantity in wanted:
        if item_id not in left:
            raise InvalidInput.field("lines", f"Item {item_id} is not a line of order {order.number}.")
        if quantity < 1:
            raise InvalidInput.field("lines", f"Item {item_id}: the quantity must be at least 1.")
        summed[item_id] = summed.get(item_id, 0) + quantity
    if not summed:
        raise InvalidInput.field("lines", "A fulfilment ships at least one line.")
    over = [f"item {i}: {q} asked, {max(left[i], 0)} left to ship" for i, q in summed.items() if q > left[i]]
    if over:
        raise OverFulfilment(f"More than is left to ship on order {order.number}: {'; '.join(over)}.")
    return [FulfilmentLine(i, q) for i, q in summed.items()]


def label(name: str, value: str | None) -> str | None:
    """A carrier or tracking number as kept: trimmed, None when blank; InvalidInput when longer
    than MAX_LABEL or holding a control character (a NUL, a newline: staff type one line)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > MAX_LABEL:
        raise InvalidInput.field(name, f"At most {MAX_LABEL} characters.")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise InvalidInput.field(name, "No control characters (newlines, tabs, NUL).")
    return value
