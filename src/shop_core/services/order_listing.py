"""Orders as staff list them: each with its customer's email, found in one batched lookup."""

from __future__ import annotations

from datetime import datetime

import msgspec

from shop_core.services import orders
from shop_core.services.order_commands import Actor
from shop_core.services.order_views import OrderView
from shop_core.services.views import Page


class StaffOrderView(OrderView, kw_only=True):
    """An order and the email of its customer (None if the account is gone)."""

    customer_email: str | None


async def list_orders_with_emails(
    viewer: Actor,
    ctx: orders.OrderContext,
    *,
    status: str | None = None,
    user_id: int | None = None,
    since: datetime | None = None,
    offset: int = 0,
    limit: int = 20,
) -> Page[StaffOrderView]:
    """`orders.list_orders`, with one more query for the emails of the page's customers."""
    found = await orders.list_orders(
        viewer, ctx, status=status, user_id=user_id, since=since, offset=offset, limit=limit
    )
    async with ctx.uow() as uow:
        emails = await uow.users.emails_of({o.user_id for o in found.items})
    return Page(
        items=[
            StaffOrderView(**msgspec.structs.asdict(o), customer_email=emails.get(o.user_id))
            for o in found.items
        ],
        total=found.total,
    )
