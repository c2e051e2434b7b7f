"""The customer's (or a guest's) cart, always priced from the catalog's current prices.

A cart line holds one variant of a product (`domain.cart.LineKey`): for a product without options
its one (default) variant, which is what every line of a cart from before variants holds. The line
shows the variant's sku and price (after the product's discount) and is checked against the
variant's stock.

A line whose product or variant was deactivated or deleted stays in the cart with `in_stock: false`
and does not count towards the subtotal, so the customer sees what changed instead of a broken cart.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from shop_core.domain.cart import (
    CartLimits,
    CartSnapshot,
    LineKey,
    StockShortage,
    check_quantity,
    check_stock,
    customer_of,
    customer_owner,
    guest_owner_of,
    keyed_variant,
    limit_error,
    line_key,
    merged_quantity,
    new_guest_token,
)
from shop_core.domain.catalog import Product
from shop_core.domain.errors import NotFound
from shop_core.domain.ids import MAX_ID
from shop_core.domain.money import exponent_of, format_minor
from shop_core.domain.shipping import parcel_weight
from shop_core.domain.variants import Variant, line_variant, name_in
from shop_core.domain.vouchers import Deal, VoucherInvalid, VoucherLine
from shop_core.ports.cart import CartLimitReached, CartStore
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWorkFactory
from shop_core.services.commands import NO_NUL, Command
from shop_core.services.sale_prices import sale_percentages, sale_price
from shop_core.services.voucher_deals import check_for_cart, code_of

ProductId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
VariantId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
VARIANT_ID_RULE = (
    "The variant's id (a product's `variants`). May be left out for a product with one active "
    "variant (every product without options); required (400 `variant_required`) for a product "
    "with several."
)


class AddToCart(Command):
    product_id: ProductId
    variant_id: Annotated[VariantId | None, msgspec.Meta(description=VARIANT_ID_RULE)] = None
    quantity: Annotated[int, msgspec.Meta(ge=1)] = 1


class SetQuantity(Command):
    quantity: Annotated[int, msgspec.Meta(ge=0)]


class CartLineView(msgspec.Struct, kw_only=True):
    """One variant of a product in the cart, priced from the catalog now (an order freezes its
    prices)."""

    product_id: int
    variant_id: Annotated[
        int,
        msgspec.Meta(
            description="The variant the line holds (for a product without options, its one default "
            "variant); `?variant_id=` of `PUT`/`DELETE /api/cart/items/{product_id}/` names it. 0 "
            "for a line of a product's default variant that no longer exists (the product got "
            "options or was deleted): it shows `in_stock: false`, and `?variant_id=0` removes it."
        ),
    ]
    variant_name: Annotated[
        str,
        msgspec.Meta(
            description='The variant\'s option values, "M / Red"; "" for a product without options.'
        ),
    ]
    name: str
    sku: Annotated[str, msgspec.Meta(description="The variant's sku.")]
    unit_price: Annotated[
        str,
        msgspec.Meta(
            description="One unit's price after the product's discount, or a running sale's when that is "
            "better (never both): what the customer pays before a voucher (an order line's "
            "`final_unit_price`). The variant's own price, when it has one."
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


class ApplyVoucher(Command):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=NO_NUL, examples=["SAVE10"])]


class VoucherProblem(msgspec.Struct, kw_only=True):
    """Why the cart's voucher does not apply now (it stays on the cart; checkout refuses it)."""

    code: Annotated[str, msgspec.Meta(examples=["voucher_invalid"])]
    reason: Annotated[
        str,
        msgspec.Meta(
            description="unknown, not_started, expired, minimum_not_met, not_applicable or used_up",
            examples=["expired"],
        ),
    ]
    detail: str


class CartView(msgspec.Struct, kw_only=True):
    items: list[CartLineView]
    item_count: int
    subtotal: Annotated[
        str, msgspec.Meta(description="The in-stock lines' `line_total`s: goods after product discounts.")
    ]
    updated_at: datetime | None
    voucher_code: Annotated[
        str | None, msgspec.Meta(description="The voucher applied to the cart (`POST /api/cart/voucher/`).")
    ] = None
    voucher_error: Annotated[
        VoucherProblem | None,
        msgspec.Meta(
            description="Set when the cart's voucher does not apply now (expired, minimum not met, "
            "nothing it applies to...): checked again on every read, reported here rather than "
            "dropped; checkout refuses it with 400 `voucher_invalid`."
        ),
    ] = None
    discount: Annotated[
        str, msgspec.Meta(description="What the voucher takes off the goods now (0 when none applies).")
    ] = "0"
    free_shipping: Annotated[bool, msgspec.Meta(description="The voucher makes shipping free.")] = False
    total: Annotated[str, msgspec.Meta(description="`subtotal - discount`, before shipping and tax.")] = "0"


@dataclass(frozen=True)
class CartContext:
    store: CartStore
    uow: UnitOfWorkFactory
    clock: Clock
    limits: CartLimits
    currency: str


@dataclass(frozen=True)
class _Sellable:
    """A product and the variant of it a line holds, both active."""

    product: Product
    variant: Variant

    @property
    def line(self) -> LineKey:
        return line_key(self.variant)

    @property
    def variant_name(self) -> str:
        return _name_of(self.product, self.variant)


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
    return await _priced(owner, snapshot, ctx)


async def apply_voucher(owner: str, cmd: ApplyVoucher, ctx: CartContext) -> CartView:
    """Put a voucher on the cart (replacing any other): only one that applies to the cart now, else
    400 `voucher_invalid` saying why, and the cart keeps what it had."""
    code = code_of(cmd.code)
    now = ctx.clock.now()
    snapshot = await ctx.store.get(owner, now, ctx.limits)
    _, lines, _ = await _voucher_lines(snapshot, ctx)
    async with ctx.uow() as unit:
        await check_for_cart(unit, code, lines, user_id=customer_of(owner), now=now)
    await ctx.store.set_voucher(owner, code, now, ctx.limits)
    return await view_cart(owner, ctx)


async def remove_voucher(owner: str, ctx: CartContext) -> CartView:
    """Take the voucher off the cart (nothing to take off is fine)."""
    now = ctx.clock.now()
    snapshot = await ctx.store.get(owner, now, ctx.limits)
    if snapshot is not None and snapshot.voucher_code is not None:
        await ctx.store.set_voucher(owner, None, now, ctx.limits)
    return await view_cart(owner, ctx)


async def add_to_cart(owner: str, cmd: AddToCart, ctx: CartContext) -> CartView:
    """Add to the quantity already there; 404 for unknown or inactive products and variants, 400
    `variant_required` for a product with several variants and none named, 409 past the variant's
    stock."""
    check_quantity(cmd.quantity, ctx.limits)
    sellable = await _sellable(cmd.product_id, cmd.variant_id, ctx)
    stock = sellable.variant.stock_quantity
    now = ctx.clock.now()
    snapshot = await ctx.store.get(owner, now, ctx.limits)
    current = snapshot.lines.get(sellable.line, 0) if snapshot else 0
    check_stock(cmd.product_id, current + cmd.quantity, stock, sellable.variant_name)
    # The store caps the line atomically, at the stock too: concurrent adds cannot together pass it.
    line_cap = min(ctx.limits.max_quantity, stock)
    try:
        await ctx.store.add(
            owner, sellable.line, cmd.quantity, now, replace(ctx.limits, max_quantity=line_cap)
        )
    except CartLimitReached as exc:
        if not exc.lines and line_cap < ctx.limits.max_quantity:
            raise StockShortage(
                cmd.product_id, current + cmd.quantity, stock, sellable.variant_name
            ) from None
        raise limit_error(ctx.limits, lines=exc.lines) from None
    return await view_cart(owner, ctx)


async def set_quantity(
    owner: str, product_id: int, cmd: SetQuantity, ctx: CartContext, variant_id: int | None = None
) -> CartView:
    """Set the quantity of the line of a product's variant (`variant_id`, which may be left out as
    on adding); 0 removes the line (any line of the product, when it holds only one)."""
    check_quantity(cmd.quantity, ctx.limits, allow_zero=True)
    now = ctx.clock.now()
    if cmd.quantity == 0:
        line = await _line_in_cart(owner, product_id, variant_id, ctx)
        if line is not None:
            await ctx.store.remove(owner, line, now, ctx.limits)
        return await view_cart(owner, ctx)
    sellable = await _sellable(product_id, variant_id, ctx)
    check_stock(product_id, cmd.quantity, sellable.variant.stock_quantity, sellable.variant_name)
    try:
        await ctx.store.set(owner, sellable.line, cmd.quantity, now, ctx.limits)
    except CartLimitReached as exc:
        raise limit_error(ctx.limits, lines=exc.lines) from None
    return await view_cart(owner, ctx)


NOT_IN_CART = "That variant of the product is not in the cart."


async def remove_line(
    owner: str, product_id: int, ctx: CartContext, variant_id: int | None = None
) -> CartView:
    """Drop the line of a product's variant. Without `variant_id`, the cart's one line of the
    product (whatever became of its product or variant); when it holds several, the line of the
    product's one active variant (400 `variant_required` when it has several)."""
    line = await _line_in_cart(owner, product_id, variant_id, ctx)
    if line is None or not await ctx.store.remove(owner, line, ctx.clock.now(), ctx.limits):
        raise NotFound("That product is not in the cart." if variant_id is None else NOT_IN_CART)
    return await view_cart(owner, ctx)


async def clear_cart(owner: str, ctx: CartContext) -> CartView:
    await ctx.store.clear(owner)
    return await view_cart(owner, ctx)


async def merge_carts(guest: str, customer: str, ctx: CartContext) -> CartView:
    """Move a guest cart into the customer's, line by line (a line per variant): quantities add up,
    capped by the variant's stock and the line maximum."""
    now = ctx.clock.now()
    snapshot = await ctx.store.get(guest, now, ctx.limits)
    if snapshot is not None and snapshot.lines:
        mine = await ctx.store.get(customer, now, ctx.limits)
        products, variants, _ = await _catalog(snapshot, ctx)
        for line, quantity in sorted(snapshot.lines.items()):
            product = products.get(line[0])
            variant = keyed_variant(line, variants.get(line[0], ()))
            if product is None or not product.is_active or variant is None or not variant.is_active:
                continue
            have = mine.lines.get(line, 0) if mine else 0
            merged = merged_quantity(quantity, have, variant.stock_quantity, ctx.limits)
            if merged > have:
                try:
                    await ctx.store.set(customer, line, merged, now, ctx.limits)
                except CartLimitReached:
                    break  # the customer's cart is full: the rest of the guest cart is dropped
    await ctx.store.clear(guest)
    return await view_cart(customer, ctx)


async def purge_expired(ctx: CartContext) -> int:
    return await ctx.store.purge_expired(ctx.clock.now(), ctx.limits)


async def _sellable(product_id: int, variant_id: int | None, ctx: CartContext) -> _Sellable:
    """The active product and active variant a line is to hold: NotFound for an unknown or inactive
    product or variant (or a variant of another product), VariantRequired when none is named and
    the product has several."""
    async with ctx.uow() as unit:
        product = (await unit.products.by_ids([product_id])).get(product_id)
        if product is None or not product.is_active:
            raise NotFound("No such product.")
        variants = await unit.variants.for_product(product_id)
    variant = line_variant(product_id, variants, variant_id)
    if not variant.is_active:
        raise NotFound("No such variant of this product.")
    return _Sellable(product, variant)


async def _line_in_cart(
    owner: str, product_id: int, variant_id: int | None, ctx: CartContext
) -> LineKey | None:
    """The cart's line that a request about a product (and maybe a variant of it) means; None when
    the cart has no such line."""
    snapshot = await ctx.store.get(owner, ctx.clock.now(), ctx.limits)
    held = [line for line in snapshot.lines if line[0] == product_id] if snapshot else []
    if not held:
        return None
    if variant_id is None and len(held) == 1:
        return held[0]  # what a client without variants means, even for a product gone since
    if variant_id is not None and (product_id, variant_id) in held:
        return product_id, variant_id  # a variant other than the default is keyed by its id
    async with ctx.uow() as unit:
        variants = await unit.variants.for_product(product_id)
    if variant_id is None:
        wanted = line_key(line_variant(product_id, variants, None))
    else:
        named = next((v for v in variants if v.id == variant_id), None)
        if named is None:
            return None
        wanted = line_key(named)  # the default variant, whose line is keyed 0
    return wanted if wanted in held else None


async def _catalog(
    snapshot: CartSnapshot, ctx: CartContext, *, with_sales: bool = False
) -> tuple[dict[int, Product], dict[int, list[Variant]], dict[int, Decimal]]:
    """The products of the cart's lines and their variants (two queries), and `with_sales` the
    percentage of the best sale running now for each product one covers (a third)."""
    ids = sorted({product_id for product_id, _ in snapshot.lines})
    async with ctx.uow() as unit:
        products, variants = await unit.products.by_ids(ids), await unit.variants.for_products(ids)
        sales: dict[int, Decimal] = {}
        if with_sales and products:
            on_sale = {p.id: p.category_id for p in products.values() if p.id is not None}
            sales = await sale_percentages(unit, on_sale, ctx.clock.now())
        return products, variants, sales


def _name_of(product: Product, variant: Variant) -> str:
    return name_in(product.options, variant.options)


@dataclass(frozen=True)
class Goods:
    """What shipping looks at of a cart's in-stock lines."""

    amount: int
    """After discounts (the voucher's included), at the prices the customer sees."""
    weight_grams: int
    free_shipping: bool = False
    """Its voucher makes shipping free."""


async def goods_of(
    snapshot: CartSnapshot | None, owner: str | None, ctx: CartContext, *, in_stock_only: bool = True
) -> Goods:
    """The goods of a cart (or of any lines put in a snapshot), as shipping prices them: its
    in-stock lines (`in_stock_only`, else every line of what is sold) and its voucher, if it still
    applies."""
    _, lines, weight = await _voucher_lines(snapshot, ctx, in_stock_only=in_stock_only)
    amount = sum(line.amount for line in lines)
    if snapshot is None or snapshot.voucher_code is None or not lines:
        return Goods(amount, weight)
    try:
        applied = await _deal(snapshot.voucher_code, lines, owner, ctx)
    except VoucherInvalid:
        return Goods(amount, weight)
    return Goods(amount - sum(applied.shares([line.amount for line in lines])), weight, applied.free_shipping)


async def _deal(code: str, lines: list[VoucherLine], owner: str | None, ctx: CartContext) -> Deal:
    """The cart's voucher as it applies to these lines now; VoucherInvalid says why it does not."""
    async with ctx.uow() as unit:
        user_id = None if owner is None else customer_of(owner)
        return await check_for_cart(unit, code, lines, user_id=user_id, now=ctx.clock.now())


async def _priced(owner: str, snapshot: CartSnapshot | None, ctx: CartContext) -> CartView:
    exponent = exponent_of(ctx.currency)
    items, lines, _ = await _voucher_lines(snapshot, ctx)
    subtotal = sum(line.amount for line in lines)
    view = CartView(
        items=items,
        item_count=sum(item.quantity for item in items if item.in_stock),
        subtotal=format_minor(subtotal, exponent),
        updated_at=snapshot.updated_at if snapshot else None,
        discount=format_minor(0, exponent),
        total=format_minor(subtotal, exponent),
    )
    if snapshot is None or snapshot.voucher_code is None:
        return view
    view.voucher_code = snapshot.voucher_code
    try:
        applied = await _deal(snapshot.voucher_code, lines, owner, ctx)
    except VoucherInvalid as exc:
        view.voucher_error = VoucherProblem(code=exc.code, reason=exc.reason.value, detail=exc.detail)
        return view
    discount = sum(applied.shares([line.amount for line in lines]))
    view.discount = format_minor(discount, exponent)
    view.total = format_minor(subtotal - discount, exponent)
    view.free_shipping = applied.free_shipping
    return view


async def _voucher_lines(
    snapshot: CartSnapshot | None, ctx: CartContext, *, in_stock_only: bool = True
) -> tuple[list[CartLineView], list[VoucherLine], int]:
    """The cart's lines as the customer sees them, its in-stock lines (`in_stock_only`, else those
    of what is sold) as a voucher sees them (what they cost after the product's discount), and what
    those weigh (grams)."""
    if snapshot is None or not snapshot.lines:
        return [], [], 0
    exponent = exponent_of(ctx.currency)
    products, variants, sales = await _catalog(snapshot, ctx, with_sales=True)
    items: list[CartLineView] = []
    lines: list[VoucherLine] = []
    weights: list[tuple[int | None, int]] = []
    for line, quantity in sorted(snapshot.lines.items()):
        product = products.get(line[0])
        variant = keyed_variant(line, variants.get(line[0], ()))
        view, unit = _line_view(line, quantity, product, variant, exponent, sale=sales.get(line[0]))
        sold = product is not None and product.is_active and variant is not None and variant.is_active
        if (view.in_stock or (sold and not in_stock_only)) and product is not None and variant is not None:
            lines.append(VoucherLine(line[0], product.category_id, unit * quantity))
            weights.append((variant.weight_grams, quantity))
        items.append(view)
    return items, lines, parcel_weight(weights)


def _line_view(
    line: LineKey,
    quantity: int,
    product: Product | None,
    variant: Variant | None,
    exponent: int,
    *,
    sale: Decimal | None = None,
) -> tuple[CartLineView, int]:
    """A line as the customer sees it, and its unit price (minor units): after the better of the
    product's own discount and the running `sale` that covers it, if any (never both). A line of a
    deleted product shows nothing of it; one whose variant is gone (deleted, or the default variant
    of a product that got options) shows the product's name and price. Either is out of stock."""
    product_id, variant_key = line
    if product is None:
        zero = format_minor(0, exponent)
        view = CartLineView(
            product_id=product_id,
            variant_id=variant_key,
            variant_name="",
            name="(no longer sold)",
            sku="",
            unit_price=zero,
            quantity=quantity,
            line_total=zero,
            in_stock=False,
            list_unit_price=zero,
        )
        return view, 0
    listed = product.price if variant is None else variant.effective_price(product.price)
    unit = sale_price(listed, product.discount_percentage, () if sale is None else (sale,))
    view = CartLineView(
        product_id=product_id,
        variant_id=variant_key if variant is None or variant.id is None else variant.id,
        variant_name="" if variant is None else _name_of(product, variant),
        name=product.name,
        sku=product.sku if variant is None else variant.sku,
        unit_price=format_minor(unit, exponent),
        quantity=quantity,
        line_total=format_minor(unit * quantity, exponent),
        in_stock=product.is_active
        and variant is not None
        and variant.is_active
        and variant.stock_quantity >= quantity,
        list_unit_price=format_minor(listed, exponent),
    )
    return view, unit


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

    async def set_cart_quantity(
        self, owner: str, product_id: int, cmd: SetQuantity, *, variant_id: int | None = None
    ) -> CartView:
        """The line of the product's variant `variant_id` (see `set_quantity`)."""
        return await set_quantity(owner, product_id, cmd, self.context, variant_id)

    async def remove_from_cart(
        self, owner: str, product_id: int, *, variant_id: int | None = None
    ) -> CartView:
        """The line of the product's variant `variant_id` (see `remove_line`)."""
        return await remove_line(owner, product_id, self.context, variant_id)

    async def clear_cart(self, owner: str) -> CartView:
        return await clear_cart(owner, self.context)

    async def apply_voucher(self, owner: str, cmd: ApplyVoucher) -> CartView:
        """See `apply_voucher`: 400 `voucher_invalid` with the reason when it does not apply."""
        return await apply_voucher(owner, cmd, self.context)

    async def remove_voucher(self, owner: str) -> CartView:
        return await remove_voucher(owner, self.context)

    async def merge_carts(self, guest: str, customer: str) -> CartView:
        return await merge_carts(guest, customer, self.context)

    async def purge_expired_carts(self) -> int:
        """Maintenance (the shop's schedule, or an operator): drop carts past their lifetime."""
        return await purge_expired(self.context)
