"""Fulfilling orders: staff record what left in each parcel, with carrier and tracking number.

A fulfilment is recorded under the order's row lock (`orders.get(for_update=True)`): racing
fulfilments of one order take turns, each reading what the others shipped, so together they never
ship more than was ordered. The order's `fulfillment_status` moves with it (and its version, so a
concurrent move of the order is refused rather than lost), and its audit trail gets a `fulfilled`
event. When everything has shipped, a paid order moves to `shipped` through the order's life table
(`processing` first when it is `paid`), which sends the shipped email; a cash-on-delivery order
still waiting for its cash keeps `pending` (the cash comes on delivery; the life table has no
`pending` → `shipped`) but its customer gets the shipped email all the same. Anything shipped short
of everything sends the partly-shipped email of that parcel.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from shop_core.domain import webhooks
from shop_core.domain.actors import Actor, require_staff
from shop_core.domain.errors import Conflict, NotFound
from shop_core.domain.fulfilment import (
    Fulfilment,
    check_fulfillable,
    label,
    left_to_ship,
    requested_lines,
    status_of,
)
from shop_core.domain.ids import MAX_ID
from shop_core.domain.orders import FulfillmentStatus, Order, OrderEvent, OrderStatus
from shop_core.ports.persistence import UnitOfWork
from shop_core.services import jobs
from shop_core.services.commands import Command
from shop_core.services.order_context import OrderContext
from shop_core.services.order_moves import move
from shop_core.services.order_queries import visible_order
from shop_core.services.order_views import FulfillmentView, fulfillment_view, order_view
from shop_core.services.webhook_events import emit

ONE_LINE = r"^[^\x00-\x1f\x7f]*$"  # what staff type: no control characters (NUL, newlines, tabs)
MAX_QUANTITY = 1_000_000  # as an order's item
STAFF_ONLY = "Only staff can record fulfilments."


class FulfilmentLineInput(Command):
    item_id: Annotated[
        int, msgspec.Meta(ge=1, le=MAX_ID, description="The order line's `id` (one of the order's `items`).")
    ]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=MAX_QUANTITY)]


Label = Annotated[str, msgspec.Meta(max_length=100, pattern=ONE_LINE)]


class RecordFulfilment(Command):
    """The lines shipped in one parcel. A line named twice counts once, its quantities added up."""

    lines: Annotated[list[FulfilmentLineInput], msgspec.Meta(min_length=1, max_length=500)]
    carrier: Annotated[Label | None, msgspec.Meta(examples=["DHL"])] = None
    tracking_number: Annotated[Label | None, msgspec.Meta(examples=["JD014600006281230498"])] = None


async def record_fulfilment(
    order_id: int, cmd: RecordFulfilment, actor: Actor, ctx: OrderContext
) -> FulfillmentView:
    """Staff only. 409 `over_fulfilment` past what is left of a line, `order_not_fulfillable` for
    an order that cannot ship now; 400 for an item that is not one of the order's lines."""
    require_staff(actor, STAFF_ONLY)
    carrier = label("carrier", cmd.carrier)
    tracking = label("tracking_number", cmd.tracking_number)
    async with ctx.uow() as uow:
        order = await uow.orders.get(order_id, for_update=True)
        if order is None or order.id is None:
            raise NotFound("No such order.")
        check_fulfillable(order)
        left = left_to_ship(order, await uow.fulfilments.shipped(order.id))
        lines = requested_lines(order, [(line.item_id, line.quantity) for line in cmd.lines], left)
        now = ctx.clock.now()
        fulfilment = await uow.fulfilments.add(
            Fulfilment(order.id, lines, now, actor.label, carrier, tracking)
        )
        for line in lines:
            left[line.order_line_id] -= line.quantity
        before = order.fulfillment_status
        order.fulfillment_status = status_of(
            left, {line.id: line.quantity for line in order.lines if line.id}
        )
        order.updated_at = now
        note = _note(fulfilment, before, order.fulfillment_status)
        await uow.orders.add_events(order.id, [OrderEvent("fulfilled", now, actor.label, note=note)])
        await _after(uow, order, fulfilment, actor, ctx)
        await uow.commit()
    return fulfillment_view(fulfilment)


async def _after(
    uow: UnitOfWork, order: Order, fulfilment: Fulfilment, actor: Actor, ctx: OrderContext
) -> None:
    """Store the order's new state, moving it to `shipped` once everything has, with its email."""
    assert order.id is not None
    assert fulfilment.id is not None
    now = fulfilment.created_at
    if order.fulfillment_status is not FulfillmentStatus.FULFILLED:
        await _save(uow, order)
        name, key, payload = jobs.ORDER_PARTLY_SHIPPED_EMAIL, fulfilment.id, {"fulfillment_id": fulfilment.id}
        await jobs.record(uow, name, f"{name}:{key}", payload, now)
        return
    await emit(uow, webhooks.ORDER_FULFILLED, lambda: order_view(order), now)
    path = {
        OrderStatus.PAID: (OrderStatus.PROCESSING, OrderStatus.SHIPPED),
        OrderStatus.PROCESSING: (OrderStatus.SHIPPED,),
    }.get(order.status, ())
    if not path:  # cash on delivery, not paid yet: it stays pending until the cash comes
        await _save(uow, order)
        name = jobs.ORDER_SHIPPED_EMAIL
        await jobs.record(uow, name, f"{name}:{order.id}", {"order_id": order.id}, now)
    for target in path:
        await move(uow, order, target, actor, ctx=ctx, note="everything has shipped")


async def _save(uow: UnitOfWork, order: Order) -> None:
    if not await uow.orders.save(order):
        raise Conflict(f"Order {order.number} was changed by someone else meanwhile; try again.")


def _note(fulfilment: Fulfilment, before: FulfillmentStatus, after: FulfillmentStatus) -> str:
    shipped = ", ".join(f"item {line.order_line_id} x {line.quantity}" for line in fulfilment.lines)
    parts = [f"fulfilment #{fulfilment.id}: {shipped}"]
    if fulfilment.carrier:
        parts.append(f"carrier {fulfilment.carrier}")
    if fulfilment.tracking_number:
        parts.append(f"tracking {fulfilment.tracking_number}")
    parts.append(f"{before.value} → {after.value}")
    return "; ".join(parts)


async def list_fulfilments(order_id: int, viewer: Actor, ctx: OrderContext) -> list[FulfillmentView]:
    """The order's fulfilments, oldest first: its owner and staff (another's order is NotFound)."""
    async with ctx.uow() as uow:
        order = await visible_order(uow, order_id, viewer)
        assert order.id is not None
        found = await uow.fulfilments.of_order(order.id)
    return [fulfillment_view(f) for f in found]


class Fulfilments:
    """Recording fulfilments (staff) and listing an order's (owner and staff)."""

    def __init__(self, context: OrderContext) -> None:
        self.context = context

    async def record(self, order_id: int, cmd: RecordFulfilment, actor: Actor) -> FulfillmentView:
        return await record_fulfilment(order_id, cmd, actor, self.context)

    async def list_of_order(self, order_id: int, viewer: Actor) -> list[FulfillmentView]:
        return await list_fulfilments(order_id, viewer, self.context)
