"""Placing orders and moving them through their life: the rules where shops lose money.

- Stock is taken in the transaction that creates the order, one conditional statement per line
  (a line is a product's variant), in (product id, variant key) order, every variant row of a
  product before its product row (so two checkouts lock rows in the same order and cannot
  deadlock; an order with several lines of one product locks all its variants first). If any line
  is short, nothing is taken and every short line is named.
- An `Idempotency-Key` is recorded with the order, in the same transaction (on PostgreSQL in the
  same statement). A concurrent request with the same key waits on the rows the first one locked,
  then finds the key taken (or the stock gone) and answers with the first request's order; the
  same key with a different body is 409. Cart checkout claims its key before it takes the cart,
  in a transaction of its own, so a retry waits for the first request's order instead of finding
  the cart empty.
- Every change is one optimistic update (the order's version) plus its audit event, so two
  concurrent cancels return the stock once: the second finds the order changed and is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NoReturn

import msgspec

from shop_core.domain import webhooks
from shop_core.domain.actors import SYSTEM, Actor, require_staff
from shop_core.domain.address_book import Default
from shop_core.domain.addresses import Address, address_of
from shop_core.domain.cart import DEFAULT_VARIANT, CartSnapshot, LineKey, keyed_variant
from shop_core.domain.catalog import TakenProduct
from shop_core.domain.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from shop_core.domain.money import exponent_of, format_minor
from shop_core.domain.orders import (
    Order,
    OrderEvent,
    OrderPaymentStatus,
    OrderStatus,
    OutOfStock,
    PaymentMethod,
    Shortage,
    parse_payment_method,
    parse_status,
)
from shop_core.domain.payments import PaymentState, Refund, RefundState
from shop_core.domain.pricing import Pricing
from shop_core.domain.shipping import parcel_weight
from shop_core.domain.stock import OrderStockMovement, StockMovement, StockReason, fell_below
from shop_core.domain.variants import Variant, line_variant, name_in
from shop_core.domain.vouchers import Deal, VoucherLine
from shop_core.ports.cart import CartLimitReached
from shop_core.ports.clock import Clock
from shop_core.ports.orders import CustomerGone, OrderFilter, PlacementKey, VoucherUseRefused
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.services import jobs
from shop_core.services.address_book import address_for_order
from shop_core.services.cart import CartContext, resolve_owner
from shop_core.services.order_commands import (
    IDEMPOTENCY_KEY,
    AddressInput,
    ChangeOrderStatus,
    Checkout,
    PlaceOrder,
)
from shop_core.services.order_terms import OrderTerms, check_weight, order_terms
from shop_core.services.order_views import OrderView, order_view
from shop_core.services.sale_prices import best_discount
from shop_core.services.sessions import USER_GONE
from shop_core.services.stock import record_low_stock
from shop_core.services.stock_movements import record_movements
from shop_core.services.views import Page
from shop_core.services.voucher_deals import HeldUse, checkout_voucher, code_of, for_checkout, refused_use
from shop_core.services.webhook_events import emit

if TYPE_CHECKING:
    from shop_core.services.payments import Payments

log = logging.getLogger("shop.orders")

IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
IN_PROGRESS_WAIT = 15.0  # seconds a retry waits for the request that holds its key
IN_PROGRESS_ABANDONED = timedelta(minutes=2)  # a claim this old without an order: its request died
EXPIRY_BATCH = 200


@dataclass(frozen=True)
class OrderContext:
    uow: UnitOfWorkFactory
    clock: Clock
    pricing: Pricing
    currency: str
    cart: CartContext
    max_quantity: int
    max_lines: int
    payment_timeout: timedelta
    low_stock_threshold: int = 0
    cod_timeout: timedelta | None = None
    """How long a cash-on-delivery order may wait for its cash; None: for ever (the default)."""


@dataclass(frozen=True)
class Placed:
    order: OrderView
    replayed: bool
    """True when an earlier request with the same Idempotency-Key placed it."""


@dataclass(frozen=True)
class _Request:
    shipping: Address
    billing: Address
    method: PaymentMethod
    fingerprint: str
    voucher_code: str | None = None
    """The code sent with the request (normalized): it wins over the cart's."""
    shipping_method_id: int | None = None


@dataclass(frozen=True)
class _Items:
    """What an order is for: its lines, and the code of the voucher the cart carried."""

    lines: dict[LineKey, int]
    voucher_code: str | None = None


# --- placing ---------------------------------------------------------------------------------------


async def place_order(
    user_id: int,
    actor: Actor,
    cmd: PlaceOrder,
    *,
    key: str | None,
    ctx: OrderContext,
    confirm_user: bool = False,
) -> Placed:
    """An order for the items given (POST /api/orders/). An item names a product's variant; one
    without `variant_id` means the product's only active variant (400 `variant_required` when it
    has several). Items of the same variant add up.

    `confirm_user`: the caller took the user from what its process remembers, not from the
    database; the order's own statement then checks that the customer is still an active user
    (AuthenticationFailed, nothing stored, when not). Any other answer (a refusal, a replay) is
    given only after the same check, made on its own."""
    if not confirm_user:
        return await _place_items(user_id, actor, cmd, key=key, ctx=ctx, confirm_user=False)
    try:
        placed = await _place_items(user_id, actor, cmd, key=key, ctx=ctx, confirm_user=True)
    except DomainError as exc:
        if not isinstance(exc, AuthenticationFailed):
            await _confirm_user(user_id, ctx)
        raise
    if placed.replayed:
        await _confirm_user(user_id, ctx)
    return placed


async def _confirm_user(user_id: int, ctx: OrderContext) -> None:
    """AuthenticationFailed unless the user is (still) active: read from the database."""
    async with ctx.uow() as uow:
        user = await uow.users.get_read_only(user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed(USER_GONE)


async def _place_items(
    user_id: int,
    actor: Actor,
    cmd: PlaceOrder,
    *,
    key: str | None,
    ctx: OrderContext,
    confirm_user: bool,
) -> Placed:
    request = await _checked(cmd, "orders", user_id, ctx)
    wanted: dict[LineKey, int] = {}
    for item in cmd.items:
        # 0: no variant named. The product's default variant is taken, which is its only active
        # one unless it has options (`_take_stock` then finds the one meant, or refuses).
        line = (item.product_id, item.variant_id or DEFAULT_VARIANT)
        wanted[line] = wanted.get(line, 0) + item.quantity
    _check_items(wanted, ctx)

    async def items() -> _Items:
        return _Items(wanted)

    return await _place(
        user_id,
        actor,
        request,
        key=key,
        items=items,
        undo=None,
        ctx=ctx,
        strict_products=True,
        confirm_user=confirm_user,
    )


async def checkout_cart(
    user_id: int, owner: str, actor: Actor, cmd: Checkout, *, key: str | None, ctx: OrderContext
) -> Placed:
    """An order for everything in the customer's cart, which is emptied (POST /api/cart/checkout/).

    The cart is taken atomically, so a double click cannot turn it into two orders; if the order
    cannot be placed, the lines go back into the cart. With an Idempotency-Key the key is claimed
    (and committed) before the cart is touched, so a concurrent retry waits for this request's
    order instead of finding the cart empty.
    """
    request = await _checked(cmd, "cart", user_id, ctx)
    if key is not None and (replayed := await _claim_apart(user_id, key, request.fingerprint, ctx)):
        return replayed
    taken: list[CartSnapshot] = []

    async def items() -> _Items:
        snapshot = await ctx.cart.store.take(owner, ctx.clock.now(), ctx.cart.limits)
        if snapshot is None or not snapshot.lines:
            raise InvalidInput("The cart is empty.", {"cart": ["The cart is empty."]})
        taken.append(snapshot)
        return _Items(dict(snapshot.lines), snapshot.voucher_code)

    async def put_back() -> None:
        now = ctx.clock.now()
        for snapshot in taken:
            for line, quantity in snapshot.lines.items():
                try:
                    await ctx.cart.store.add(owner, line, quantity, now, ctx.cart.limits)
                except (CartLimitReached, DomainError):
                    log.warning("checkout failed and line %s could not go back into cart %s", line, owner)
            if snapshot.voucher_code is not None:
                await ctx.cart.store.set_voucher(owner, snapshot.voucher_code, now, ctx.cart.limits)

    try:
        return await _place(
            user_id,
            actor,
            request,
            key=key,
            claimed=True,
            items=items,
            undo=put_back,
            ctx=ctx,
            strict_products=False,
        )
    except BaseException:
        if key is not None:
            await _release(user_id, key, ctx)
        raise


async def _claim_apart(user_id: int, key: str, fingerprint: str, ctx: OrderContext) -> Placed | None:
    """Claim the key in a transaction of its own; None when claimed, the earlier order when a request
    with the key already placed it. While that request is still at work, wait for it (a while)."""
    deadline = time.monotonic() + IN_PROGRESS_WAIT
    delay = 0.02
    while True:
        now = ctx.clock.now()
        async with ctx.uow() as uow:
            if await uow.idempotency.claim(user_id, key, fingerprint, now):
                await uow.commit()
                return None
            stored = await uow.idempotency.get(user_id, key)
            if stored is not None and stored.fingerprint != fingerprint:
                raise IdempotencyKeyReused()
            if stored is not None and stored.order_id is not None:
                return await _replay(uow, user_id, key, fingerprint)
            if stored is not None and stored.created_at < now - IN_PROGRESS_ABANDONED:
                await uow.idempotency.release(user_id, key)  # its request died: free the key
                await uow.commit()
                continue
        if stored is not None:
            if time.monotonic() > deadline:
                raise IdempotencyKeyInUse()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)


async def _release(user_id: int, key: str, ctx: OrderContext) -> None:
    async with ctx.uow() as uow:
        await uow.idempotency.release(user_id, key)
        await uow.commit()


async def _place(
    user_id: int,
    actor: Actor,
    request: _Request,
    *,
    key: str | None,
    claimed: bool = False,
    items: Callable[[], Awaitable[_Items]],
    undo: Callable[[], Awaitable[None]] | None,
    ctx: OrderContext,
    strict_products: bool,
    confirm_user: bool = False,
) -> Placed:
    now = ctx.clock.now()
    got_items = False
    claim = None if key is None else PlacementKey(user_id, key, request.fingerprint, now, claimed)
    held = HeldUse()
    try:
        async with ctx.uow() as uow:
            wanted = await items()
            got_items = True
            code = request.voucher_code or wanted.voucher_code
            # Read, and a limited voucher's use held, before the order's transaction begins.
            voucher, held = await checkout_voucher(uow, code)
            address = request.shipping
            terms = await order_terms(uow, address, request.shipping_method_id, ctx.pricing.tax)
            taken = _on_sale(await _take_stock(uow, wanted.lines, strict_products=strict_products))
            check_weight(terms, parcel_weight((p.weight_grams, q) for p, q in taken), address.country)
            sold = [VoucherLine(p.id, p.category_id, p.final_price * q) for p, q in taken]
            deal = None if code is None else await for_checkout(uow, voucher, sold, now=now)
            order, movements, placed = _placed_order(
                user_id, actor, request, taken=taken, deal=deal, terms=terms, now=now, ctx=ctx
            )
            voucher_held = held.covers(order.voucher_id)
            if not await uow.orders.add_placed(
                order,
                movements,
                [placed],
                claim,
                confirm_user=confirm_user,
                job=_CONFIRMATION,
                voucher_held=voucher_held,
            ):
                raise _KeyTaken
            await _record_placement_jobs(uow, order, movements, ctx)
            await uow.commit()
            held.stored_with(order.voucher_id)
    except (_KeyTaken, OutOfStock) as exc:
        if got_items and undo is not None:
            await undo()
        # The key claimed last: a request with it that committed first placed the order; the stock
        # this one found missing may be what that order took. Answer with that order.
        if claim is not None and not claimed and (replayed := await _stored(user_id, key, request, ctx)):
            return replayed
        if isinstance(exc, _KeyTaken):
            raise IdempotencyKeyReused() from None
        raise
    except CustomerGone:
        if got_items and undo is not None:
            await undo()
        raise AuthenticationFailed(USER_GONE) from None
    except VoucherUseRefused:
        if got_items and undo is not None:
            await undo()
        assert order.voucher_id is not None
        await held.give_back(ctx.uow)  # first: the reason is read from the voucher's count
        raise await refused_use(ctx.uow, order.voucher_id) from None
    except BaseException:
        if got_items and undo is not None:
            await undo()
        raise
    finally:
        await held.give_back(ctx.uow)  # unless its order was stored with it
    return Placed(order_view(order), replayed=False)


def _placed_order(
    user_id: int,
    actor: Actor,
    request: _Request,
    *,
    taken: list[tuple[TakenProduct, int]],
    deal: Deal | None,
    terms: OrderTerms,
    now: datetime,
    ctx: OrderContext,
) -> tuple[Order, list[OrderStockMovement], OrderEvent]:
    """The order priced from the stock taken, the movements of that stock and its first event."""
    shipping = terms.shipping(ctx.pricing.shipping)
    lines, totals = ctx.pricing.price(taken, deal, tax=terms.tax, shipping=shipping)
    order = Order.place(
        user_id=user_id,
        lines=lines,
        totals=totals,
        currency=ctx.currency,
        payment_method=request.method,
        shipping_address=request.shipping,
        billing_address=request.billing,
        now=now,
        voucher=None if deal is None or deal.voucher.id is None else (deal.voucher.id, deal.voucher.code),
        shipping_method=terms.choice,
        tax=terms.tax,
    )
    order.lines = [
        replace(line, variant_id=product.variant_id, variant_name=product.variant_name)
        for line, (product, _) in zip(order.lines, taken, strict=True)
    ]
    sale = StockReason.SALE.value
    movements = [
        OrderStockMovement(
            product.id,
            -quantity,
            sale,
            product.variant_stock,
            now,
            actor.label,
            order.number,
            product.variant_id,
        )
        for product, quantity in taken
    ]
    placed = OrderEvent("placed", now, actor.label, "", order.status.value, _placed_note(order))
    return order, movements, placed


async def _record_placement_jobs(
    uow: UnitOfWork, order: Order, taken: list[OrderStockMovement], ctx: OrderContext
) -> None:
    """An alert for each product this order took below the threshold (the confirmation email's job
    is recorded with the order: `_CONFIRMATION`), and the webhook event if anyone listens."""
    await emit(uow, webhooks.ORDER_CREATED, lambda: order_view(order), order.created_at)
    for take in taken:
        if fell_below(ctx.low_stock_threshold, take.balance_after, take.delta):
            await record_low_stock(uow, take.product_id, take.balance_after, order.created_at)


_CONFIRMATION = jobs.with_order(jobs.ORDER_CONFIRMATION_EMAIL)
"""The confirmation email: a job recorded with every order, by the statement that stores it."""


class _KeyTaken(Exception):
    """The Idempotency-Key belongs to an order another request committed meanwhile."""


async def _stored(user_id: int, key: str | None, request: _Request, ctx: OrderContext) -> Placed | None:
    assert key is not None
    async with ctx.uow() as uow:
        stored = await uow.idempotency.get(user_id, key)
        if stored is None:
            return None
        return await _replay(uow, user_id, key, request.fingerprint)


async def _take_stock(
    uow: UnitOfWork, wanted: dict[LineKey, int], *, strict_products: bool
) -> list[tuple[TakenProduct, int]]:
    """Take every line's stock, in (product id, variant key) order: no deadlocks. Variant key 0 is
    the product's default variant (a cart's line of it); for an order's item (`strict_products`) it
    is an item that names no variant: the product's only active variant, which is its default one
    unless the product has options (then found here, or VariantRequired)."""
    taken: list[tuple[TakenProduct, int]] = []
    short: list[tuple[LineKey, int]] = []
    lines = sorted(wanted.items())
    shared = _shared(product_id for (product_id, _), _ in lines)
    for (product_id, variant_key), quantity in lines:
        await _lock_if_shared(uow, product_id, shared)
        tried = variant_key
        product = await uow.products.take_stock(product_id, quantity, _named((product_id, tried)))
        if product is None and tried == DEFAULT_VARIANT and strict_products:
            meant = await _only_variant(uow, product_id)
            if meant is not None and not meant.is_default:
                assert meant.id is not None
                tried = meant.id
                product = await uow.products.take_stock(product_id, quantity, tried)
        if product is None:
            short.append(((product_id, tried), quantity))
        else:
            taken.append((product, quantity))
    if short:
        _refuse(*await _shortages(uow, short), strict_products=strict_products)
    return taken


def _on_sale(taken: list[tuple[TakenProduct, int]]) -> list[tuple[TakenProduct, int]]:
    """The taken products at the discount they sell at: the better of their own and the best sale
    running when their stock was taken (never both), which the order's lines then keep."""
    return [
        (replace(p, discount_percentage=best_discount(p.discount_percentage, (p.sale_percentage,))), q)
        if p.sale_percentage is not None
        else (p, q)
        for p, q in taken
    ]


def _shared(product_ids: Iterable[int]) -> set[int]:
    """The products that more than one line of an order takes from (or gives back to)."""
    return {product_id for product_id, n in Counter(product_ids).items() if n > 1}


async def _lock_if_shared(uow: UnitOfWork, product_id: int, shared: set[int]) -> None:
    """Before the first line of a product that several lines move: lock all its variants, in id
    order. Each stock change locks a variant row, then the product's row; a second variant taken
    while holding the product's row would deadlock with a concurrent change of that variant
    (holding it, waiting for the product's row). Lines are handled in (product, variant) order, so
    these locks come in product order too."""
    if product_id in shared:
        shared.discard(product_id)
        await uow.variants.for_product(product_id, for_update=True)


async def _only_variant(uow: UnitOfWork, product_id: int) -> Variant | None:
    """The variant an item without `variant_id` means: the product's only active variant; None for
    an unknown product or one without an active variant; VariantRequired when it has several."""
    try:
        return line_variant(product_id, await uow.variants.for_product(product_id), None)
    except NotFound:
        return None


async def _shortages(
    uow: UnitOfWork, short: list[tuple[LineKey, int]]
) -> tuple[list[LineKey], list[Shortage]]:
    """The short lines that cannot be sold at all (unknown or inactive product or variant), and what
    the others have."""
    ids = sorted({product_id for (product_id, _), _ in short})
    known = await uow.products.by_ids(ids)
    variants = await uow.variants.for_products(ids)
    unsellable: list[LineKey] = []
    shortages: list[Shortage] = []
    for line, quantity in short:
        product = known.get(line[0])
        variant = keyed_variant(line, variants.get(line[0], ()))
        sellable = product is not None and product.is_active and variant is not None and variant.is_active
        if not sellable:
            unsellable.append(line)
        # A default variant's line is the product's, as in Part 1; any other names its variant.
        shown = _named(line) if variant is None or not variant.is_default else None
        name = ""
        if shown is not None and product is not None and variant is not None:
            name = name_in(product.options, variant.options)
        available = variant.stock_quantity if sellable and variant is not None else 0
        shortages.append(Shortage(line[0], quantity, available, shown, name))
    return unsellable, shortages


def _named(line: LineKey) -> int | None:
    return None if line[1] == DEFAULT_VARIANT else line[1]


def _refuse(unsellable: list[LineKey], shortages: list[Shortage], *, strict_products: bool) -> NoReturn:
    """An order's items naming what is not sold are InvalidInput; anything else short is OutOfStock
    (a cart's lines of what is no longer sold: none available)."""
    if unsellable and strict_products:
        named = ", ".join(
            str(pid) if key == DEFAULT_VARIANT else f"{pid} (variant {key})" for pid, key in unsellable
        )
        message = f"No such product: {named}."
        raise InvalidInput(message, {"items": [message]})
    raise OutOfStock(shortages)


async def _replay(uow: UnitOfWork, user_id: int, key: str, fingerprint: str) -> Placed:
    stored = await uow.idempotency.get(user_id, key)
    if stored is None or stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    order = await uow.orders.get(stored.order_id) if stored.order_id is not None else None
    if order is None:
        raise IdempotencyKeyReused()
    return Placed(order_view(order), replayed=True)


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"

    def __init__(self) -> None:
        super().__init__("A request with this Idempotency-Key is still being processed; retry shortly.")


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used for a different request; use a new key for a new order."
        )


def check_idempotency_key(raw: str | None) -> str | None:
    """The key as sent, or InvalidInput when it is not 1-255 printable ASCII characters."""
    if raw is None:
        return None
    if re.fullmatch(IDEMPOTENCY_KEY, raw) is None:
        raise InvalidInput.field(
            "Idempotency-Key", "Use 1 to 255 printable ASCII characters (a UUID is ideal)."
        )
    return raw


# Fields after Part 1's: left out of a request's fingerprint when not sent, so the same request
# is fingerprinted as it was before they existed.
_NEWER_FIELDS = ("voucher_code", "shipping_address_id", "billing_address_id", "shipping_method_id")


async def _checked(cmd: PlaceOrder | Checkout, scope: str, user_id: int, ctx: OrderContext) -> _Request:
    errors: dict[str, list[str]] = {}
    shipping = billing = None
    for kind in ("shipping", "billing"):
        if getattr(cmd, f"{kind}_address") is not None and getattr(cmd, f"{kind}_address_id") is not None:
            errors[f"{kind}_address_id"] = [f"Send {kind}_address or {kind}_address_id, not both."]
    try:
        shipping = (
            None if cmd.shipping_address is None else _address(cmd.shipping_address, "shipping_address")
        )
    except InvalidInput as exc:
        errors.update(exc.errors)
    try:
        billing = None if cmd.billing_address is None else _address(cmd.billing_address, "billing_address")
    except InvalidInput as exc:
        errors.update(exc.errors)
    method = None
    try:
        method = parse_payment_method(cmd.payment_method)
    except InvalidInput as exc:
        errors.update(exc.errors)
    if errors or method is None:
        raise InvalidInput("The order cannot be placed as sent.", errors)
    if shipping is None or cmd.billing_address_id is not None:
        shipping, billing = await _saved_addresses(cmd, user_id, shipping, billing, ctx)
    code = None if cmd.voucher_code is None else code_of(cmd.voucher_code)
    fields = {k: v for k, v in msgspec.structs.asdict(cmd).items() if v is not None or k not in _NEWER_FIELDS}
    for name in ("shipping_address", "billing_address"):
        if isinstance(sent := fields[name], AddressInput):
            # An address without a region is fingerprinted as it was before regions existed.
            fields[name] = {k: v for k, v in msgspec.structs.asdict(sent).items() if k != "region" or v}
    body = msgspec.json.encode(fields, order="sorted")
    fingerprint = hashlib.sha256(scope.encode() + b"\0" + body).hexdigest()
    return _Request(shipping, billing or shipping, method, fingerprint, code, cmd.shipping_method_id)


async def _saved_addresses(
    cmd: PlaceOrder | Checkout,
    user_id: int,
    shipping: Address | None,
    billing: Address | None,
    ctx: OrderContext,
) -> tuple[Address, Address | None]:
    """The addresses an order names from the customer's address book (by id, or the defaults when
    it sends no shipping address): copied, so a later change of the book changes no order."""
    async with ctx.uow() as uow:
        if cmd.shipping_address_id is not None:
            shipping = await address_for_order(uow, user_id, cmd.shipping_address_id, "shipping_address_id")
        elif shipping is None:
            default = await uow.addresses.default(user_id, Default.SHIPPING)
            if default is None:
                raise InvalidInput(
                    "The order cannot be placed as sent.",
                    {"shipping_address": ["This field is required (or save a default shipping address)."]},
                )
            shipping = default.address
            if billing is None and cmd.billing_address_id is None:
                found = await uow.addresses.default(user_id, Default.BILLING)
                billing = None if found is None else found.address
        if cmd.billing_address_id is not None:
            billing = await address_for_order(uow, user_id, cmd.billing_address_id, "billing_address_id")
    return shipping, billing


def _address(raw: AddressInput, field: str) -> Address:
    return address_of(msgspec.structs.asdict(raw), field)


def _check_items(wanted: dict[LineKey, int], ctx: OrderContext) -> None:
    if len(wanted) > ctx.max_lines:
        raise InvalidInput.field("items", f"At most {ctx.max_lines} different products per order.")
    errors = {
        _item_field(line): [f"At most {ctx.max_quantity} of one product per order."]
        for line, quantity in wanted.items()
        if quantity > ctx.max_quantity
    }
    if errors:
        raise InvalidInput("A quantity is too large.", errors)


def _item_field(line: LineKey) -> str:
    product_id, variant_key = line
    if variant_key == DEFAULT_VARIANT:
        return f"items.{product_id}.quantity"
    return f"items.{product_id}.variant.{variant_key}.quantity"


def _placed_note(order: Order) -> str:
    count = sum(line.quantity for line in order.lines)
    return f"{count} item(s), {len(order.lines)} line(s), paid by {order.payment_method.value}"


# --- reading -------------------------------------------------------------------------------------------


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


# --- the order's life ----------------------------------------------------------------------------------


async def cancel_order(
    order_id: int, actor: Actor, ctx: OrderContext, note: str = "", *, refunded_by: str = ""
) -> OrderView:
    """Customers cancel their own unpaid orders; staff also paid ones (refunded: `refunded_by`
    says how, see payments.cancel_order; without it the refund is recorded as owed by hand)."""
    async with ctx.uow() as uow:
        order = await visible_order(uow, order_id, actor)
        if not actor.is_staff and not order.is_unpaid:
            raise Conflict(
                f"Order {order.number} is {order.status.value}; only unpaid orders can be cancelled."
            )
        events = await move(
            uow, order, OrderStatus.CANCELLED, actor, ctx=ctx, note=note, refunded_by=refunded_by
        )
        await uow.commit()
    return order_view(order, events if actor.is_staff else None)


async def change_status(order_id: int, cmd: ChangeOrderStatus, actor: Actor, ctx: OrderContext) -> OrderView:
    """Staff move an order along its life; any move the table does not allow is a Conflict."""
    if not actor.is_staff:
        raise PermissionDenied("Only staff can change an order's status.")
    target = parse_status(cmd.status)
    async with ctx.uow() as uow:
        order = await visible_order(uow, order_id, actor)
        events = await move(uow, order, target, actor, ctx=ctx)
        await uow.commit()
    return order_view(order, events)


async def move(
    uow: UnitOfWork,
    order: Order,
    target: OrderStatus,
    actor: Actor,
    *,
    ctx: OrderContext,
    note: str = "",
    refunded_by: str = "",
) -> list[OrderEvent]:
    """One move with everything it implies, in the caller's transaction; the full trail after it."""
    assert order.id is not None
    now = ctx.clock.now()
    before, paid_before = order.status, order.payment_status
    was_paid = paid_before is OrderPaymentStatus.PAID
    event = order.move_to(target, now, actor.label, note)
    by_hand = ""
    if target in (OrderStatus.CANCELLED, OrderStatus.REFUNDED) and was_paid and not refunded_by:
        # Payments are locked before the order row is written, in the order every payment path
        # locks them, so a refund racing this move waits instead of deadlocking.
        by_hand = refunded_by = await _refund_by_hand(uow, order, actor, now)
    if not await uow.orders.save(order):
        raise Conflict(
            f"Order {order.number} was changed by someone else meanwhile; reload it and try again."
        )
    if order.payment_status is not paid_before:
        await uow.invoices.discard_pdf(order.id)  # rendered again, showing the new payment status
    trail = [event]
    if order.returns_stock_on(before, target):
        movements = []
        lines = sorted(order.lines, key=lambda line: (line.product_id, line.variant_id or DEFAULT_VARIANT))
        shared = _shared(line.product_id for line in lines)
        for line in lines:
            await _lock_if_shared(uow, line.product_id, shared)
            balance = await uow.products.change_stock(line.product_id, line.quantity, line.variant_id)
            if balance is not None:
                movements.append(
                    StockMovement(
                        product_id=line.product_id,
                        delta=line.quantity,
                        reason=StockReason.CANCELLATION.value,
                        balance_after=balance,
                        created_at=now,
                        actor=actor.label,
                        note=order.number,
                        variant_id=line.variant_id,
                    )
                )
        await record_movements(uow, movements)
        trail.append(
            OrderEvent("stock_returned", now, actor.label, note=f"{len(movements)} line(s) back in stock")
        )
    if target is OrderStatus.CANCELLED and before is OrderStatus.PENDING and not order.was_paid:
        trail += await _give_voucher_back(uow, order, actor, now)
    if (target is OrderStatus.CANCELLED and was_paid) or (by_hand and by_hand != BY_HAND):
        trail.append(OrderEvent("refund", now, actor.label, note=refunded_by))
    await uow.orders.add_events(order.id, trail)
    for name in jobs_after_move(target):
        await jobs.record(uow, name, f"{name}:{order.id}", {"order_id": order.id}, now)
    if (event_type := WEBHOOK_AFTER_MOVE.get(target)) is not None:
        await emit(uow, event_type, lambda: order_view(order), now)
    return await uow.orders.events(order.id)


WEBHOOK_AFTER_MOVE = {
    OrderStatus.PAID: webhooks.ORDER_PAID,
    OrderStatus.SHIPPED: webhooks.ORDER_SHIPPED,
    OrderStatus.DELIVERED: webhooks.ORDER_DELIVERED,
    OrderStatus.CANCELLED: webhooks.ORDER_CANCELLED,
    OrderStatus.REFUNDED: webhooks.ORDER_REFUNDED,
}


async def _give_voucher_back(uow: UnitOfWork, order: Order, actor: Actor, now: datetime) -> list[OrderEvent]:
    """An unpaid order cancelled (or expired) gives its voucher's use back: once, since an order
    is cancelled once (the move is an optimistic update of the order's row)."""
    if order.voucher_id is None:
        return []
    await uow.vouchers.give_back(order.voucher_id, order.user_id)
    return [
        OrderEvent("voucher_returned", now, actor.label, note=f"a use of {order.voucher_code} given back")
    ]


BY_HAND = "refund to be made by hand (cash or no gateway payment)"


async def _refund_by_hand(uow: UnitOfWork, order: Order, actor: Actor, now: datetime) -> str:
    """A paid order cancelled or refunded without a gateway refund (cash on delivery, or staff who
    gave the money back outside the shop): record on each payment that still holds money a refund
    of all it has left, made by hand, so that no later refund (API, CLI) can give it back again.
    A refund still pending at a gateway makes the move a Conflict (it is settled first). The note
    for the order's trail."""
    assert order.id is not None
    notes: list[str] = []
    for attempt in await uow.payments.of_order(order.id):
        if attempt.status is not PaymentState.SUCCEEDED or attempt.id is None:
            continue
        payment = await uow.payments.get(attempt.id, for_update=True)
        if payment is None or payment.refundable <= 0:
            continue
        if any(r.status is RefundState.PENDING for r in await uow.payments.refunds_of(attempt.id)):
            raise Conflict(
                f"A refund of payment #{attempt.id} is still pending at {payment.gateway.value}; "
                f"order {order.number} can change once it is settled."
            )
        left = payment.refundable
        if await uow.payments.record_refunded(attempt.id, left, now) is None:
            raise Conflict(f"Payment #{attempt.id} was refunded meanwhile; reload order {order.number}.")
        refund = await uow.payments.add_refund(
            Refund(
                attempt.id,
                left,
                RefundState.SUCCEEDED,
                f"order {order.number} {order.status.value}: money handed back by staff",
                actor.label,
                now,
                now,
            )
        )
        shown = format_minor(left, exponent_of(payment.currency))
        notes.append(
            f"refund #{refund.id} of {shown} {payment.currency} recorded on payment #{attempt.id} "
            f"({payment.gateway.value})"
        )
    if not notes:
        return BY_HAND
    return f"{BY_HAND}: {'; '.join(notes)}"


def jobs_after_move(target: OrderStatus) -> tuple[str, ...]:
    """What the customer (and the books) get when an order reaches `target`."""
    if target is OrderStatus.PAID:
        return (jobs.ISSUE_INVOICE, jobs.PAYMENT_RECEIVED_EMAIL)
    if target is OrderStatus.SHIPPED:
        return (jobs.ORDER_SHIPPED_EMAIL,)
    if target in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        return (jobs.ORDER_CANCELLED_EMAIL,)
    return ()


ONLINE = frozenset(PaymentMethod) - {PaymentMethod.COD}


async def expire_unpaid(ctx: OrderContext) -> int:
    """Cancel orders left unpaid too long, returning their stock; how many.

    An order paid online (Stripe, SSLCommerz) expires after the payment timeout. A cash-on-delivery
    order is paid when it is delivered, days later: it expires only after its own `cod_timeout`,
    and never when that is not set."""
    now = ctx.clock.now()
    expired = await _expire(
        ctx, OrderFilter(unpaid_before=now - ctx.payment_timeout, payment_methods=ONLINE), "payment timeout"
    )
    if ctx.cod_timeout is not None:
        cod = OrderFilter(unpaid_before=now - ctx.cod_timeout, payment_methods=frozenset({PaymentMethod.COD}))
        expired += await _expire(ctx, cod, "cash-on-delivery timeout")
    return expired


async def _expire(ctx: OrderContext, where: OrderFilter, note: str) -> int:
    expired = 0
    seen: set[int] = set()
    while True:
        async with ctx.uow() as uow:
            ids = [i for i in await uow.orders.ids(where, limit=EXPIRY_BATCH) if i not in seen]
        if not ids:
            return expired
        for order_id in ids:
            seen.add(order_id)
            try:
                async with ctx.uow() as uow:
                    order = await visible_order(uow, order_id, SYSTEM)
                    if not order.is_unpaid:
                        continue
                    await move(uow, order, OrderStatus.CANCELLED, SYSTEM, ctx=ctx, note=note)
                    await uow.commit()
                    expired += 1
            except Conflict:
                continue  # paid or cancelled meanwhile: nothing to expire


async def purge_idempotency_keys(ctx: OrderContext) -> int:
    """Forget Idempotency-Keys older than 24 hours; how many went."""
    async with ctx.uow() as uow:
        gone = await uow.idempotency.purge(ctx.clock.now() - IDEMPOTENCY_KEY_TTL)
        await uow.commit()
    return gone


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
                await _confirm_user(user_id, self.context)
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
