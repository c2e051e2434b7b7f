"""Reading orders: one order (by id or number), and pages of them. Customers see only their own;
someone else's order looks exactly like a missing one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import msgspec

from shop_core.domain.actors import Actor, require_staff
from shop_core.domain.errors import NotFound
from shop_core.domain.orders import Order, parse_status
from shop_core.ports.orders import OrderFilter
from shop_core.ports.persistence import UnitOfWork
from shop_core.services.order_context import OrderContext
from shop_core.services.order_views import OrderView, order_view
from shop_core.services.views import Page


async def get_order(order_id: int, viewer: Actor, ctx: OrderContext) -> OrderView:
    async with ctx.uow() as uow:
        order = await visible_order(uow, order_id, viewer)
        events = await uow.orders.events(order_id) if viewer.is_staff else None
    return order_view(order, events)


async def get_order_by_number(number: str, viewer: Actor, ctx: OrderContext) -> OrderView:
    async with ctx.uow() as uow:
        order = await uow.orders.get_by_number(number.strip().upper())
        if order is None or not _may_see(order, viewer):
            raise NotFound(f"No order {number}.")
        assert order.id is not None
        events = await uow.orders.events(order.id) if viewer.is_staff else None
    return order_view(order, events)


@dataclass(frozen=True)
class OrderQuery:
    """Which orders a list shows (every filter optional)."""

    status: str | None = None
    user_id: int | None = None
    """Staff only: one customer's orders (customers always see their own)."""
    since: datetime | None = None
    voucher_code: str | None = None
    """The orders that used the voucher with this code (any case)."""


async def list_orders(
    viewer: Actor, ctx: OrderContext, query: OrderQuery, *, offset: int = 0, limit: int = 20
) -> Page[OrderView]:
    """Newest first; customers see their own orders only (their `user_id` filter is ignored)."""
    where = OrderFilter(
        user_id=query.user_id if viewer.is_staff else viewer.user_id,
        status=parse_status(query.status) if query.status else None,
        since=query.since,
        voucher_code=None if query.voucher_code is None else query.voucher_code.strip().upper(),
    )
    async with ctx.uow() as uow:
        found, total = await uow.orders.page(where, offset=offset, limit=limit)
    return Page(items=[order_view(o) for o in found], total=total)


class StaffOrderView(OrderView, kw_only=True):
    """An order and the email of its customer (None if the account is gone)."""

    customer_email: str | None


async def list_orders_with_emails(
    viewer: Actor, ctx: OrderContext, query: OrderQuery, *, offset: int = 0, limit: int = 20
) -> Page[StaffOrderView]:
    """`list_orders` as staff see it, with one more query for the emails of the page's customers."""
    require_staff(viewer)
    found = await list_orders(viewer, ctx, query, offset=offset, limit=limit)
    async with ctx.uow() as uow:
        emails = await uow.users.emails_of({o.user_id for o in found.items})
    return Page(
        items=[
            StaffOrderView(**msgspec.structs.asdict(o), customer_email=emails.get(o.user_id))
            for o in found.items
        ],
        total=found.total,
    )


async def visible_order(uow: UnitOfWork, order_id: int, viewer: Actor) -> Order:
    """The order if `viewer` may see it (its owner, or staff); NotFound otherwise."""
    order = await uow.orders.get(order_id)
    if order is None or not _may_see(order, viewer):
        raise NotFound("No such order.")  # someone else's order looks exactly like a missing one
    return order


def _may_see(order: Order, viewer: Actor) -> bool:
    return viewer.is_staff or (viewer.user_id is not None and order.user_id == viewer.user_id)
