"""Moving orders through their life: cancelling (by the customer, staff or the expiry of unpaid
orders), staff changing the status, and everything a move implies (stock given back, the voucher's
use given back, a refund recorded by hand, the jobs and webhook events it causes).

- Every change is one optimistic update (the order's version) plus its audit event, so two
  concurrent cancels return the stock once: the second finds the order changed and is refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shop_core.domain import webhooks
from shop_core.domain.actors import SYSTEM, Actor
from shop_core.domain.cart import DEFAULT_VARIANT
from shop_core.domain.errors import Conflict, PermissionDenied
from shop_core.domain.money import exponent_of, format_minor
from shop_core.domain.orders import (
    Order,
    OrderEvent,
    OrderPaymentStatus,
    OrderStatus,
    PaymentMethod,
    parse_status,
)
from shop_core.domain.payments import PaymentState, Refund, RefundState
from shop_core.domain.stock import StockMovement, StockReason
from shop_core.ports.orders import OrderFilter
from shop_core.ports.persistence import UnitOfWork
from shop_core.services import jobs
from shop_core.services.order_commands import ChangeOrderStatus
from shop_core.services.order_context import OrderContext
from shop_core.services.order_line_locks import lock_if_shared, shared_products
from shop_core.services.order_queries import visible_order
from shop_core.services.order_views import OrderView, order_view
from shop_core.services.stock_movements import record_movements
from shop_core.services.webhook_events import emit

IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
EXPIRY_BATCH = 200


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
        shared = shared_products(line.product_id for line in lines)
        for line in lines:
            await lock_if_shared(uow, line.product_id, shared)
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
