"""The customer's (or a guest's) cart, always priced from the catalog's current prices.

A line whose product was deactivated or deleted stays in the cart with `in_stock: false` and
does not count towards the subtotal, so the customer sees what changed instead of a broken cart.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated

import msgspec

from shop_core.domain.cart import (
    DEFAULT_VARIANT,
    CartLimits,
    CartSnapshot,
    StockShortage,
    check_quantity,
    check_stock,
    customer_owner,
    guest_owner_of,
    limit_error,
    merged_quantity,
    new_guest_token,
)
from shop_core.domain.catalog import Product
from shop_core.domain.errors import NotFound
from shop_core.domain.ids import MAX_ID
from shop_core.domain.money import exponent_of, format_minor
from shop_core.ports.cart import CartLimitReached, CartStore
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWorkFactory
from shop_core.services.commands import Command

ProductId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]


class AddToCart(Command):
    product_id: ProductId
    quantity: Annotated[int, msgspec.Meta(ge=1)] = 1


class SetQuantity(Command):
    quantity: Annotated[int, msgspec.Meta(ge=0)]


class CartLineView(msgspec.Struct, kw_only=True):
    """One product in the cart, priced from the catalog now (an order freezes its prices)."""

    product_id: int
    name: str
    sku: str
    unit_price: Annotated[
        str,
        msgspec.Meta(
            description="One unit's price after the product's discount: what the customer pays (an "
            "order line's `final_unit_price`)."
        ),
    ]
    quantity: int
    line_total: Annotated[str, msgspec.Meta(description="`unit_price * quantity`, after the discount.")]
    in_stock: bool
    list_unit_price: Annotated[
        str,
        msgspec.Meta(
            description="One unit's list price, before the product's discount (an order line's `unit_price`)."
        ),
    ]


class CartView(msgspec.Struct, kw_only=True):
    items: list[CartLineView]
    item_count: int
    subtotal: str
    updated_at: datetime | None


@dataclass(frozen=True)
class CartContext:
    store: CartStore
    uow: UnitOfWorkFactory
    clock: Clock
    limits: CartLimits
    currency: str


async def resolve_owner(
    user_id: int | None, cart_token: str | None, *, create: bool, secret: str, ctx: CartContext
) -> tuple[str, str | None]:
    """Whose cart a request works on, and the guest token to hand back (None for customers).

    A customer works on their own cart; a guest token sent along with it first merges that guest
    cart into the customer's (how a guest cart follows its client through login). Otherwise the
    guest cart the token names; without a token, a fresh one, whose token is handed out only
    when the request creates the cart. A token we did not issue is InvalidInput.
    """
    guest = guest_owner_of(cart_token, secret) if cart_token is not None else None
    if user_id is not None:
        mine = customer_owner(user_id)
        if guest is not None:
            await merge_carts(guest, mine, ctx)
        return mine, None
    if guest is not None and cart_token is not None:
        return guest, cart_token.strip()
    fresh = new_guest_token(secret)
    return guest_owner_of(fresh, secret), fresh if create else None


async def view_cart(owner: str, ctx: CartContext) -> CartView:
    snapshot = await ctx.store.get(owner, ctx.clock.now(), ctx.limits)
    return await _priced(snapshot, ctx)


async def add_to_cart(owner: str, cmd: AddToCart, ctx: CartContext) -> CartView:
    """Add to the quantity already there; 404 for unknown or inactive products, 409 past the stock."""
    check_quantity(cmd.quantity, ctx.limits)
    product = await _sellable(cmd.product_id, ctx)
    now = ctx.clock.now()
    snapshot = await ctx.store.get(owner, now, ctx.limits)
    line = (cmd.product_id, DEFAULT_VARIANT)
    current = snapshot.lines.get(line, 0) if snapshot else 0
    check_stock(cmd.product_id, current + cmd.quantity, product.stock_quantity)
    # The store caps the line atomically, at the stock too: concurrent adds cannot together pass it.
    line_cap = min(ctx.limits.max_quantity, product.stock_quantity)
    try:
        await ctx.store.add(owner, line, cmd.quantity, now, replace(ctx.limits, max_quantity=line_cap))
    except CartLimitReached as exc:
        if not exc.lines and line_cap < ctx.limits.max_quantity:
            raise StockShortage(cmd.product_id, current + cmd.quantity, product.stock_quantity) from None
        raise limit_error(ctx.limits, lines=exc.lines) from None
    return await view_cart(owner, ctx)


async def set_quantity(owner: str, product_id: int, cmd: SetQuantity, ctx: CartContext) -> CartView:
    """Set a line's quantity; 0 removes it."""
    check_quantity(cmd.quantity, ctx.limits, allow_zero=True)
    now = ctx.clock.now()
    if cmd.quantity == 0:
        await ctx.store.remove(owner, (product_id, DEFAULT_VARIANT), now, ctx.limits)
        return await view_cart(owner, ctx)
    product = await _sellable(product_id, ctx)
    check_stock(product_id, cmd.quantity, product.stock_quantity)
    try:
        await ctx.store.set(owner, (product_id, DEFAULT_VARIANT), cmd.quantity, now, ctx.limits)
    except CartLimitReached as exc:
        raise limit_error(ctx.limits, lines=exc.lines) from None
    return await view_cart(owner, ctx)


async def remove_line(owner: str, product_id: int, ctx: CartContext) -> CartView:
    if not await ctx.store.remove(owner, (product_id, DEFAULT_VARIANT), ctx.clock.now(), ctx.limits):
        raise NotFound("That product is not in the cart.")
    return await view_cart(owner, ctx)


async def clear_cart(owner: str, ctx: CartContext) -> CartView:
    await ctx.store.clear(owner)
    return await view_cart(owner, ctx)


async def merge_carts(guest: str, customer: str, ctx: CartContext) -> CartView:
    """Move a guest cart into the customer's: quantities add up, capped by stock and the line maximum."""
    now = ctx.clock.now()
    snapshot = await ctx.store.get(guest, now, ctx.limits)
    if snapshot is not None and snapshot.lines:
        mine = await ctx.store.get(customer, now, ctx.limits)
        products = await _products([product_id for product_id, _ in snapshot.lines], ctx)
        for (product_id, _), quantity in snapshot.lines.items():
            product = products.get(product_id)
            if product is None or not product.is_active:
                continue
            have = mine.lines.get((product_id, DEFAULT_VARIANT), 0) if mine else 0
            merged = merged_quantity(quantity, have, product.stock_quantity, ctx.limits)
            if merged > have:
                try:
                    await ctx.store.set(customer, (product_id, DEFAULT_VARIANT), merged, now, ctx.limits)
                except CartLimitReached:
                    break  # the customer's cart is full: the rest of the guest cart is dropped
    await ctx.store.clear(guest)
    return await view_cart(customer, ctx)


async def purge_expired(ctx: CartContext) -> int:
    return await ctx.store.purge_expired(ctx.clock.now(), ctx.limits)


async def _sellable(product_id: int, ctx: CartContext) -> Product:
    product = (await _products([product_id], ctx)).get(product_id)
    if product is None or not product.is_active:
        raise NotFound("No such product.")
    return product


async def _products(ids: list[int], ctx: CartContext) -> dict[int, Product]:
    async with ctx.uow() as unit:
        return await unit.products.by_ids(ids)


async def _priced(snapshot: CartSnapshot | None, ctx: CartContext) -> CartView:
    if snapshot is None or not snapshot.lines:
        return CartView(
            items=[],
            item_count=0,
            subtotal=format_minor(0, exponent_of(ctx.currency)),
            updated_at=snapshot.updated_at if snapshot else None,
        )
    exponent = exponent_of(ctx.currency)
    products = await _products(sorted({product_id for product_id, _ in snapshot.lines}), ctx)
    items: list[CartLineView] = []
    subtotal = count = 0
    for (product_id, _), quantity in sorted(snapshot.lines.items()):
        product = products.get(product_id)
        available = product is not None and product.is_active and product.stock_quantity >= quantity
        unit = product.final_price if product is not None else 0
        if available:
            subtotal += unit * quantity
            count += quantity
        items.append(
            CartLineView(
                product_id=product_id,
                name=product.name if product is not None else "(no longer sold)",
                sku=product.sku if product is not None else "",
                unit_price=format_minor(unit, exponent),
                quantity=quantity,
                line_total=format_minor(unit * quantity, exponent),
                in_stock=available,
                list_unit_price=format_minor(product.price if product is not None else 0, exponent),
            )
        )
    return CartView(
        items=items,
        item_count=count,
        subtotal=format_minor(subtotal, exponent),
        updated_at=snapshot.updated_at,
    )


class Carts:
    """Customers' and guests' carts. `owner` is `domain.cart.customer_owner(user_id)` or what
    `guest_owner` returns for a guest's cart token."""

    def __init__(
        self,
        *,
        store: CartStore,
        uow: UnitOfWorkFactory,
        clock: Clock,
        limits: CartLimits,
        currency: str,
        secret: str,
    ) -> None:
        self.context = CartContext(store, uow, clock, limits, currency)
        self._secret = secret

    def new_guest_token(self) -> str:
        return new_guest_token(self._secret)

    def guest_owner(self, token: str) -> str:
        """The owner a guest cart token names; InvalidInput when we did not issue it."""
        return guest_owner_of(token, self._secret)

    async def cart_owner(
        self, user_id: int | None, cart_token: str | None, *, create: bool
    ) -> tuple[str, str | None]:
        """See `resolve_owner`: the owner a request works on, and the guest token to echo."""
        return await resolve_owner(user_id, cart_token, create=create, secret=self._secret, ctx=self.context)

    async def view_cart(self, owner: str) -> CartView:
        return await view_cart(owner, self.context)

    async def add_to_cart(self, owner: str, cmd: AddToCart) -> CartView:
        return await add_to_cart(owner, cmd, self.context)

    async def set_cart_quantity(self, owner: str, product_id: int, cmd: SetQuantity) -> CartView:
        return await set_quantity(owner, product_id, cmd, self.context)

    async def remove_from_cart(self, owner: str, product_id: int) -> CartView:
        return await remove_line(owner, product_id, self.context)

    async def clear_cart(self, owner: str) -> CartView:
        return await clear_cart(owner, self.context)

    async def merge_carts(self, guest: str, customer: str) -> CartView:
        return await merge_carts(guest, customer, self.context)

    async def purge_expired_carts(self) -> int:
        """Maintenance (the shop's schedule, or an operator): drop carts past their lifetime."""
        return await purge_expired(self.context)
