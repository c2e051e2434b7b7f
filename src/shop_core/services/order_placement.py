"""Placing orders (from items, or from the customer's cart): the rules where shops lose money.

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
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NoReturn

from shop_core.domain import webhooks
from shop_core.domain.actors import Actor
from shop_core.domain.cart import DEFAULT_VARIANT, CartSnapshot, LineKey, keyed_variant
from shop_core.domain.catalog import TakenProduct
from shop_core.domain.errors import AuthenticationFailed, Conflict, DomainError, InvalidInput, NotFound
from shop_core.domain.orders import (
    Order,
    OrderEvent,
    OutOfStock,
    Shortage,
)
from shop_core.domain.shipping import parcel_weight
from shop_core.domain.stock import OrderStockMovement, StockReason, fell_below
from shop_core.domain.variants import Variant, line_variant, name_in
from shop_core.domain.vouchers import Deal, Voucher, VoucherLine
from shop_core.ports.cart import CartLimitReached
from shop_core.ports.orders import CustomerGone, PlacementKey, VoucherUseRefused
from shop_core.ports.persistence import UnitOfWork
from shop_core.services import jobs
from shop_core.services.order_commands import Checkout, PlaceOrder
from shop_core.services.order_context import OrderContext
from shop_core.services.order_line_locks import lock_if_shared, shared_products
from shop_core.services.order_requests import OrderRequest, check_items, checked_request
from shop_core.services.order_terms import OrderTerms, check_weight, order_terms
from shop_core.services.order_views import OrderView, order_view
from shop_core.services.sale_prices import best_discount
from shop_core.services.sessions import USER_GONE
from shop_core.services.stock import record_low_stock
from shop_core.services.voucher_deals import HeldUse, checkout_voucher, for_checkout, refused_use
from shop_core.services.webhook_events import emit

log = logging.getLogger("shop.orders")

IN_PROGRESS_WAIT = 15.0  # seconds a retry waits for the request that holds its key
IN_PROGRESS_ABANDONED = timedelta(minutes=2)  # a claim this old without an order: its request died


@dataclass(frozen=True)
class Placed:
    order: OrderView
    replayed: bool
    """True when an earlier request with the same Idempotency-Key placed it."""


@dataclass(frozen=True)
class _Items:
    """What an order is for: its lines, and the code of the voucher the cart carried."""

    lines: dict[LineKey, int]
    voucher_code: str | None = None


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
            await confirm_active_user(user_id, ctx)
        raise
    if placed.replayed:
        await confirm_active_user(user_id, ctx)
    return placed


async def confirm_active_user(user_id: int, ctx: OrderContext) -> None:
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
    request = await checked_request(cmd, "orders", user_id, ctx)
    wanted: dict[LineKey, int] = {}
    for item in cmd.items:
        # 0: no variant named. The product's default variant is taken, which is its only active
        # one unless it has options (`_take_stock` then finds the one meant, or refuses).
        line = (item.product_id, item.variant_id or DEFAULT_VARIANT)
        wanted[line] = wanted.get(line, 0) + item.quantity
    check_items(wanted, ctx)

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
    request = await checked_request(cmd, "cart", user_id, ctx)
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
    request: OrderRequest,
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
            terms = await order_terms(uow, request.shipping, request.shipping_method_id, ctx.pricing.tax)
            basis = _Basis(user_id, actor, request, code, voucher, terms, now)
            placing = _Placing(claim, held, confirm_user)
            order = await _placed_at_once(uow, wanted.lines, basis, placing, ctx=ctx)
            if order is None:
                order = await _placed_usual(uow, wanted.lines, basis, placing, strict_products, ctx=ctx)
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
        assert voucher is not None  # the order's: only a voucher's use is refused
        assert voucher.id is not None
        await held.give_back(ctx.uow)  # first: the reason is read from the voucher's count
        raise await refused_use(ctx.uow, voucher.id) from None
    except BaseException:
        if got_items and undo is not None:
            await undo()
        raise
    finally:
        await held.give_back(ctx.uow)  # unless its order was stored with it
    return Placed(order_view(order), replayed=False)


@dataclass(frozen=True)
class _Basis:
    """What an order is priced on besides its products: who places it, as what request, with what
    voucher (`checkout_voucher`'s) and on what terms, at what time."""

    user_id: int
    actor: Actor
    request: OrderRequest
    code: str | None
    voucher: Voucher | None
    terms: OrderTerms
    now: datetime


@dataclass(frozen=True)
class _Placing:
    """How an order is stored: with which Idempotency-Key, the voucher use held for it, and whether
    its statement confirms that the customer is active."""

    claim: PlacementKey | None
    held: HeldUse
    confirm_user: bool


async def _placed_at_once(
    uow: UnitOfWork, wanted: dict[LineKey, int], basis: _Basis, placing: _Placing, *, ctx: OrderContext
) -> Order | None:
    """The order, priced on its products as they stand and stored with their stock taken in one
    all-or-nothing step (`OrderRepository.place_at_once`): one read and one write, where the usual
    path takes each line's stock in a transaction first. None, having stored nothing, whenever the
    usual path has something to do that this one does not: a line it cannot quote (the usual path
    names it, or finds the variant meant), too little stock (it says how much there is), several
    lines of one product (their variants are locked first), a limited voucher whose use was not
    held, a customer at their own limit of the voucher (the usual path says so), a webhook
    listening to new orders, a take that sets off the low-stock alert, or anything that changed
    between the read and the write. Any refusal raised here (a voucher that does not apply, a
    parcel too heavy) is the one the usual path gives."""
    held = placing.held
    if shared_products(product_id for product_id, _ in wanted) or not _voucher_at_once(basis.voucher, held):
        return None
    if webhooks.ORDER_CREATED in await uow.webhooks.listened_types():
        return None
    lines = sorted(wanted.items())
    quoted = await uow.products.quote([(line[0], _named(line)) for line, _ in lines])
    if quoted is None:
        return None
    taken = list(zip(quoted, (quantity for _, quantity in lines), strict=True))
    if any(product.variant_stock < quantity for product, quantity in taken):
        return None
    order, movements, placed = await _priced(uow, _on_sale(taken), basis, ctx)
    stored = await uow.orders.place_at_once(
        order,
        taken,
        movements,
        [placed],
        placing.claim,
        confirm_user=placing.confirm_user,
        job=_CONFIRMATION,
        voucher_held=held.covers(order.voucher_id),
        low_stock=ctx.low_stock_threshold,
    )
    return order if stored else None


async def _placed_usual(
    uow: UnitOfWork,
    wanted: dict[LineKey, int],
    basis: _Basis,
    placing: _Placing,
    strict_products: bool,
    *,
    ctx: OrderContext,
) -> Order:
    """The order placed the usual way, in the unit of work's transaction (the caller commits):
    each line's stock taken (`_take_stock`), then the order priced and stored, with the jobs its
    takes and its creation record."""
    taken = _on_sale(await _take_stock(uow, wanted, strict_products=strict_products))
    order, movements, placed = await _priced(uow, taken, basis, ctx)
    if not await uow.orders.add_placed(
        order,
        movements,
        [placed],
        placing.claim,
        confirm_user=placing.confirm_user,
        job=_CONFIRMATION,
        voucher_held=placing.held.covers(order.voucher_id),
    ):
        raise _KeyTaken
    await _record_placement_jobs(uow, order, movements, ctx)
    return order


def _voucher_at_once(voucher: Voucher | None, held: HeldUse) -> bool:
    """Whether an order with this voucher can be placed at once: none, or one whose use for
    everyone is held or has no limit (the customer's own uses are counted under their limit by the
    statement)."""
    if voucher is None:
        return True
    return voucher.usage_limit is None or held.covers(voucher.id)


async def _priced(
    uow: UnitOfWork, taken: list[tuple[TakenProduct, int]], basis: _Basis, ctx: OrderContext
) -> tuple[Order, list[OrderStockMovement], OrderEvent]:
    """The order priced from its products (at the discount they sell at), with its voucher, if it
    sent a code, and within its shipping method's weight bounds; the movements of their stock and
    its first event."""
    address = basis.request.shipping
    check_weight(basis.terms, parcel_weight((p.weight_grams, q) for p, q in taken), address.country)
    deal = (
        None
        if basis.code is None
        else await for_checkout(
            uow,
            basis.voucher,
            [VoucherLine(p.id, p.category_id, p.final_price * q) for p, q in taken],
            now=basis.now,
        )
    )
    return _placed_order(basis, taken=taken, deal=deal, ctx=ctx)


def _placed_order(
    basis: _Basis,
    *,
    taken: list[tuple[TakenProduct, int]],
    deal: Deal | None,
    ctx: OrderContext,
) -> tuple[Order, list[OrderStockMovement], OrderEvent]:
    """The order priced from the stock taken, the movements of that stock and its first event."""
    request, terms, now, actor = basis.request, basis.terms, basis.now, basis.actor
    shipping = terms.shipping(ctx.pricing.shipping)
    lines, totals = ctx.pricing.price(taken, deal, tax=terms.tax, shipping=shipping)
    order = Order.place(
        user_id=basis.user_id,
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


async def _stored(user_id: int, key: str | None, request: OrderRequest, ctx: OrderContext) -> Placed | None:
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
    shared = shared_products(product_id for (product_id, _), _ in lines)
    for (product_id, variant_key), quantity in lines:
        await lock_if_shared(uow, product_id, shared)
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


def _placed_note(order: Order) -> str:
    count = sum(line.quantity for line in order.lines)
    return f"{count} item(s), {len(order.lines)} line(s), paid by {order.payment_method.value}"
