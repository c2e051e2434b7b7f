"""The `Orders` service: placing orders (`order_placement`), reading them (`order_queries`) and
moving them through their life (`order_moves`), as the drivers call them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shop_core.domain.actors import Actor
from shop_core.domain.errors import InvalidInput
from shop_core.services.cart import CartContext, resolve_owner
from shop_core.services.order_commands import ChangeOrderStatus, Checkout, PlaceOrder
from shop_core.services.order_context import OrderContext
from shop_core.services.order_moves import change_status, expire_unpaid, purge_idempotency_keys
from shop_core.services.order_placement import Placed, checkout_cart, confirm_active_user, place_order
from shop_core.services.order_queries import (
    OrderQuery,
    StaffOrderView,
    get_order,
    get_order_by_number,
    list_orders,
    list_orders_with_emails,
)
from shop_core.services.order_requests import check_idempotency_key
from shop_core.services.order_views import OrderView
from shop_core.services.views import Page

if TYPE_CHECKING:
    from shop_core.services.payments import Payments


class Orders:
    """Placing orders (from items or from the cart), reading them, and moving them along their life.

    `actor` says who asks: customers see and cancel only their own orders; staff see all and move
    them (checked here, in the core)."""

    def __init__(self, context: OrderContext, carts: CartContext, payments: Payments, *, secret: str) -> None:
        self.context = context
        self._carts = carts
        self._payments = payments  # cancelling a paid order refunds it first, through its gateway
        self._secret = secret

    async def place_order(
        self,
        user_id: int,
        actor: Actor,
        cmd: PlaceOrder,
        *,
        idempotency_key: str | None = None,
        confirm_user: bool = False,
    ) -> Placed:
        """`confirm_user`: the caller did not read the user afresh; see `place_order`."""
        try:
            key = check_idempotency_key(idempotency_key)
        except InvalidInput:
            if confirm_user:
                await confirm_active_user(user_id, self.context)
            raise
        return await place_order(user_id, actor, cmd, key=key, ctx=self.context, confirm_user=confirm_user)

    async def checkout_cart(
        self,
        user_id: int,
        actor: Actor,
        cmd: Checkout,
        *,
        idempotency_key: str | None = None,
        guest_cart_token: str | None = None,
    ) -> Placed:
        """The customer's cart becomes an order. A guest cart token sent along is merged into the
        customer's cart first (how a cart filled before logging in reaches checkout)."""
        key = check_idempotency_key(idempotency_key)
        owner, _ = await resolve_owner(
            user_id, guest_cart_token, create=False, secret=self._secret, ctx=self._carts
        )
        return await checkout_cart(user_id, owner, actor, cmd, key=key, ctx=self.context)

    async def get_order(self, order_id: int, viewer: Actor) -> OrderView:
        return await get_order(order_id, viewer, self.context)

    async def get_order_by_number(self, number: str, viewer: Actor) -> OrderView:
        return await get_order_by_number(number, viewer, self.context)

    async def list_orders(
        self, viewer: Actor, query: OrderQuery | None = None, *, offset: int = 0, limit: int = 20
    ) -> Page[OrderView]:
        return await list_orders(viewer, self.context, query or OrderQuery(), offset=offset, limit=limit)

    async def list_orders_with_emails(
        self, viewer: Actor, query: OrderQuery | None = None, *, offset: int = 0, limit: int = 20
    ) -> Page[StaffOrderView]:
        return await list_orders_with_emails(
            viewer, self.context, query or OrderQuery(), offset=offset, limit=limit
        )

    async def cancel_order(self, order_id: int, actor: Actor, note: str = "") -> OrderView:
        """A paid order cancelled by staff is refunded through its gateway first."""
        return await self._payments.cancel_order(order_id, actor, note)

    async def change_order_status(self, order_id: int, cmd: ChangeOrderStatus, actor: Actor) -> OrderView:
        return await change_status(order_id, cmd, actor, self.context)

    async def expire_unpaid_orders(self) -> int:
        """Maintenance (the shop's schedule, or an operator): cancel orders left unpaid too long."""
        return await expire_unpaid(self.context)

    async def purge_idempotency_keys(self) -> int:
        """Maintenance: forget Idempotency-Keys older than a day."""
        return await purge_idempotency_keys(self.context)
