"""Returns: customers send delivered goods back, staff approve or reject, receive (restocking or
not) and refund them (domain/returns.py holds every rule; this runs them in transactions).

Locks: every change of a return first takes its order's row lock (`orders.get(for_update=True)`),
then the return's row; so two racing requests of one order take turns, each reading the returns
the other made, and together never ask back more units than were delivered. A return's moves are
also optimistic (its `version`): a stale save changes nothing and is a Conflict.

Who: the order's customer asks for a return, and staff may ask on the customer's behalf (a
return taken by phone or at the counter; the order's trail names who asked); any other customer
gets 404, as for an order they cannot see. The customer sees their own returns, staff all;
someone else's return is 404. Approve, reject, receive and refund are staff's (403 otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import msgspec

from shop_core.domain import webhooks
from shop_core.domain.actors import Actor, require_staff
from shop_core.domain.cart import DEFAULT_VARIANT
from shop_core.domain.errors import Conflict, NotFound
from shop_core.domain.ids import MAX_ID
from shop_core.domain.money import exponent_of, format_minor
from shop_core.domain.orders import Order, OrderEvent
from shop_core.domain.payments import Payment, PaymentState, Refund, RefundState
from shop_core.domain.returns import (
    REASON_MAX,
    Return,
    ReturnMoveRefused,
    ReturnStatus,
    check_request,
    refund_for,
    units_in,
)
from shop_core.domain.stock import StockMovement, StockReason
from shop_core.ports.persistence import UnitOfWork
from shop_core.services import jobs, payments
from shop_core.services.commands import Command
from shop_core.services.order_context import OrderContext
from shop_core.services.order_line_locks import lock_if_shared, shared_products
from shop_core.services.payments import PaymentContext
from shop_core.services.stock_movements import record_movements
from shop_core.services.views import Page
from shop_core.services.webhook_events import emit

STAFF_ONLY = "Only staff can handle returns."
MAX_QUANTITY = 1_000_000  # as an order's item


class ReturnLineInput(Command):
    item_id: Annotated[
        int, msgspec.Meta(ge=1, le=MAX_ID, description="The order line's `id` (one of the order's `items`).")
    ]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=MAX_QUANTITY)]


class RequestReturn(Command):
    """The units to send back, each item named once, and why."""

    lines: Annotated[list[ReturnLineInput], msgspec.Meta(min_length=1, max_length=500)]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=REASON_MAX, examples=["Too small"])]


class RejectReturn(Command):
    note: Annotated[str, msgspec.Meta(max_length=REASON_MAX, examples=["Worn; not as sent."])] = ""


class ReceiveReturn(Command):
    restock: Annotated[
        bool, msgspec.Meta(description="Put the units back into stock (movements with reason `return`).")
    ]


class ReturnLineView(msgspec.Struct, kw_only=True):
    item_id: Annotated[int, msgspec.Meta(description="The order line's `id` (one of the order's `items`).")]
    quantity: int


class ReturnView(msgspec.Struct, kw_only=True):
    """A return and where it stands."""

    id: int
    order_id: int
    status: Annotated[str, msgspec.Meta(description="requested, approved, rejected, received or refunded.")]
    lines: list[ReturnLineView]
    reason: str
    note: Annotated[str, msgspec.Meta(description="Staff's word on a rejection.")]
    refund_amount: Annotated[
        str | None,
        msgspec.Meta(description="What the return refunds, fixed when the refund is made; null before."),
    ]
    restock: Annotated[bool | None, msgspec.Meta(description="Whether the goods went back into stock.")]
    refund_id: Annotated[
        int | None, msgspec.Meta(description="The refund made for it (staff: on the payment).")
    ]
    created_at: datetime
    updated_at: datetime
    received_at: datetime | None
    refunded_at: datetime | None


def return_view(item: Return, currency: str) -> ReturnView:
    assert item.id is not None
    amount = item.refund_amount
    return ReturnView(
        id=item.id,
        order_id=item.order_id,
        status=item.status.value,
        lines=[ReturnLineView(item_id=i, quantity=q) for i, q in item.lines],
        reason=item.reason,
        note=item.note,
        refund_amount=None if amount is None else format_minor(amount, exponent_of(currency)),
        restock=item.restock,
        refund_id=item.refund_id,
        created_at=item.created_at,
        updated_at=item.updated_at,
        received_at=item.received_at,
        refunded_at=item.refunded_at,
    )


@dataclass(frozen=True)
class ReturnContext:
    orders: OrderContext
    window: timedelta
    payments: PaymentContext


class NoRefundToRetry(Conflict):
    """A retry of a return's refund when none is pending (409)."""

    code = "no_refund_to_retry"


class OrderNotRefundable(Conflict):
    """The order holds no money to give back (409): unpaid (cash not collected yet, say)."""

    code = "order_not_refundable"


# --- asking ------------------------------------------------------------------------------------------


async def request_return(order_id: int, cmd: RequestReturn, actor: Actor, ctx: ReturnContext) -> ReturnView:
    """The order's customer (or staff for them) asks to send units back: 400 for bad lines, 409
    `return_not_allowed` (not delivered, window closed) or `return_too_many` (past what is not
    already in a return)."""
    async with ctx.orders.uow() as uow:
        order = await uow.orders.get(order_id, for_update=True)
        if order is None or order.id is None or not (actor.is_staff or order.user_id == actor.user_id):
            raise NotFound("No such order.")  # someone else's order looks exactly like a missing one
        now = ctx.orders.clock.now()
        lines = check_request(
            order,
            [(line.item_id, line.quantity) for line in cmd.lines],
            in_returns=units_in(await uow.returns.of_order(order.id)),
            now=now,
            window=ctx.window,
        )
        item = await uow.returns.add(Return.request(order.id, lines, cmd.reason, now))
        await _event(
            uow, order, item, "return_requested", actor, now=now, note=_units(item) + f": {item.reason}"
        )
        await emit(uow, webhooks.RETURN_REQUESTED, lambda: return_view(item, order.currency), now)
        await uow.commit()
    return return_view(item, order.currency)


# --- reading -----------------------------------------------------------------------------------------


async def get_return(return_id: int, viewer: Actor, ctx: ReturnContext) -> ReturnView:
    """Its customer's or staff's; someone else's is NotFound."""
    async with ctx.orders.uow() as uow:
        item, order = await _visible(uow, return_id, viewer)
    return return_view(item, order.currency)


async def list_returns(
    viewer: Actor, ctx: ReturnContext, *, offset: int = 0, limit: int = 20
) -> Page[ReturnView]:
    """Newest first: staff see every return, customers their own orders'."""
    user_id = None if viewer.is_staff else (viewer.user_id or -1)
    async with ctx.orders.uow() as uow:
        found, total = await uow.returns.page(user_id=user_id, offset=offset, limit=limit)
    return Page(items=[return_view(r, ctx.orders.currency) for r in found], total=total)


# --- staff's moves -----------------------------------------------------------------------------------


async def approve_return(return_id: int, actor: Actor, ctx: ReturnContext) -> ReturnView:
    require_staff(actor, STAFF_ONLY)
    async with ctx.orders.uow() as uow:
        item, order = await _locked(uow, return_id)
        now = ctx.orders.clock.now()
        item.approve(now)
        await _save(uow, item)
        await _event(uow, order, item, "return_approved", actor, now=now, note=_units(item))
        await uow.commit()
    return return_view(item, order.currency)


async def reject_return(return_id: int, cmd: RejectReturn, actor: Actor, ctx: ReturnContext) -> ReturnView:
    require_staff(actor, STAFF_ONLY)
    async with ctx.orders.uow() as uow:
        item, order = await _locked(uow, return_id)
        now = ctx.orders.clock.now()
        item.reject(now, cmd.note)
        await _save(uow, item)
        await _event(uow, order, item, "return_rejected", actor, now=now, note=item.note or _units(item))
        await uow.commit()
    return return_view(item, order.currency)


async def receive_return(return_id: int, cmd: ReceiveReturn, actor: Actor, ctx: ReturnContext) -> ReturnView:
    """Staff received the goods; with `restock` their units go back into stock (reason `return`)."""
    require_staff(actor, STAFF_ONLY)
    async with ctx.orders.uow() as uow:
        item, order = await _locked(uow, return_id)
        now = ctx.orders.clock.now()
        item.receive(now, cmd.restock)
        await _save(uow, item)
        note = _units(item) + ("; back in stock" if cmd.restock else "; not restocked")
        await _event(uow, order, item, "return_received", actor, now=now, note=note)
        if cmd.restock:
            await _restock(uow, order, item, actor, now)
        await _email_job(uow, jobs.RETURN_RECEIVED_EMAIL, item, now)
        await uow.commit()
    return return_view(item, order.currency)


async def _restock(uow: UnitOfWork, order: Order, item: Return, actor: Actor, now: datetime) -> None:
    """The return's units back into stock, in (product, variant) order as every stock change."""
    units = item.units
    lines = sorted(
        (line for line in order.lines if line.id in units),
        key=lambda line: (line.product_id, line.variant_id or DEFAULT_VARIANT),
    )
    shared = shared_products(line.product_id for line in lines)
    movements = []
    for line in lines:
        assert line.id is not None
        await lock_if_shared(uow, line.product_id, shared)
        quantity = units[line.id]
        balance = await uow.products.change_stock(line.product_id, quantity, line.variant_id)
        if balance is not None:  # a product deleted since has no stock to take them back
            movements.append(
                StockMovement(
                    product_id=line.product_id,
                    delta=quantity,
                    reason=StockReason.RETURN.value,
                    balance_after=balance,
                    created_at=now,
                    actor=actor.label,
                    note=f"{order.number} return #{item.id}",
                    variant_id=line.variant_id,
                )
            )
    await record_movements(uow, movements)


# --- refunding ---------------------------------------------------------------------------------------


async def refund_return(
    return_id: int, actor: Actor, ctx: ReturnContext, *, retry: bool = False
) -> ReturnView:
    """Staff refund a received return: its exact share of what was paid (`refund_for`, fixed once
    on the return), as ONE refund through the payments machinery on the order's paid payment (cash
    on delivery: the confirmed cash payment, refunded by hand), its id kept on the return; the
    gateway is asked after the commit. When it answers, the return is `refunded` (in the
    transaction that counts the refund, see `payments._complete_return`). When it does not, the
    refund stays pending, the return `received`, and this same call (retry-refund) or
    reconciliation asks again with the SAME refund: nothing is refunded twice.

    Locks: the payment, then the order, then the return, as every refund path takes them. 409
    `return_move_refused` unless received, `order_not_refundable` for an unpaid order,
    `refund_exceeds_paid` past what was paid; GatewayUnavailable (502) when the gateway does not
    answer (the refund left pending). With `retry`, only a refund already made is asked for again
    (409 `no_refund_to_retry` otherwise)."""
    require_staff(actor, STAFF_ONLY)
    async with ctx.orders.uow() as uow:
        found = await uow.returns.get(return_id)
        if found is None:
            raise NotFound("No such return.")
        paid = [
            p
            for p in await uow.payments.of_order(found.order_id)
            if p.status in (PaymentState.SUCCEEDED, PaymentState.REFUNDED) and p.id is not None
        ]
        payment = None if not paid else await payments.lock_payment(uow, paid[-1].id or 0)
        item, order = await _locked(uow, return_id)
        refund = await _refund_of(uow, item)
        if retry and (refund is None or refund.status is not RefundState.PENDING):
            raise NoRefundToRetry(
                f"Return {item.id} has no refund waiting for its gateway; refund it instead."
            )
        if item.status is not ReturnStatus.RECEIVED:
            raise ReturnMoveRefused(item.id, item.status, ReturnStatus.REFUNDED)
        if payment is None:
            raise OrderNotRefundable(
                f"Order {order.number} has no payment that took its money through the shop "
                f"(payment status {order.payment_status.value}); nothing to refund through it."
            )
        if refund is not None and refund.payment_id != payment.id:
            # Asked again on its own payment (read only: its row is locked when the answer is applied).
            payment = await uow.payments.get(refund.payment_id) or payment
        now = ctx.orders.clock.now()
        if refund is None:
            refund = await _open_refund(uow, order, item, payment, actor=actor, ctx=ctx, now=now)
        await uow.commit()
    if refund is not None and refund.status is RefundState.PENDING:
        await payments.refund_at_gateway(payment, refund, actor, ctx.payments)
    return await get_return(return_id, actor, ctx)


async def _refund_of(uow: UnitOfWork, item: Return) -> Refund | None:
    """The return's refund still to ask for (or settled); None when a new one is to be made (none
    yet, or the gateway refused the last: a refused refund gave nothing back)."""
    if item.refund_id is None:
        return None
    refund = await uow.payments.get_refund(item.refund_id)
    if refund is None or refund.status is RefundState.FAILED:
        return None
    return refund


async def _open_refund(
    uow: UnitOfWork,
    order: Order,
    item: Return,
    payment: Payment,
    *,
    actor: Actor,
    ctx: ReturnContext,
    now: datetime,
) -> Refund | None:
    """Fix the return's amount (once) and make its pending refund; None for a return worth nothing
    (refunded at once)."""
    assert order.id is not None
    if item.refund_amount is None:
        others = [r for r in await uow.returns.of_order(order.id) if r.id != item.id]
        share = refund_for(
            order,
            units_in(others, refunded_only=True),
            item.units,
            False,  # shipping goes with the return that brings the last unit back: never before
            already_refunded_total=await payments.refunded_total(uow, order.id),
        )
        amount = share.amount
    else:
        amount = item.refund_amount
    amount = item.fix_refund(amount, now)
    if amount == 0:
        item.refunded(now, 0)
        await _save(uow, item)
        await _event(uow, order, item, "return_refunded", actor, now=now, note="nothing to refund")
        await _email_job(uow, jobs.RETURN_REFUNDED_EMAIL, item, now)
        return None
    reason = f"return #{item.id} of order {order.number}"
    refund = await payments.open_refund(uow, payment, amount, reason=reason, actor=actor, ctx=ctx.payments)
    item.refund_id = refund.id
    await _save(uow, item)
    note = f"refund #{refund.id} of {format_minor(amount, exponent_of(order.currency))} {order.currency}"
    await _event(uow, order, item, "return_refund_requested", actor, now=now, note=note)
    return refund


# --- helpers -----------------------------------------------------------------------------------------


async def _visible(uow: UnitOfWork, return_id: int, viewer: Actor) -> tuple[Return, Order]:
    item = await uow.returns.get(return_id)
    order = None if item is None else await uow.orders.get(item.order_id)
    if item is None or order is None or not (viewer.is_staff or order.user_id == viewer.user_id):
        raise NotFound("No such return.")  # someone else's return looks exactly like a missing one
    return item, order


async def _locked(uow: UnitOfWork, return_id: int) -> tuple[Return, Order]:
    """The return and its order, the order's row locked first (as requests lock it), then the return's."""
    found = await uow.returns.get(return_id)
    if found is None:
        raise NotFound("No such return.")
    order = await uow.orders.get(found.order_id, for_update=True)
    item = await uow.returns.get(return_id, for_update=True)
    if order is None or item is None:
        raise NotFound("No such return.")
    return item, order


async def _save(uow: UnitOfWork, item: Return) -> None:
    if not await uow.returns.save(item):
        raise Conflict(f"Return {item.id} was changed by someone else meanwhile; reload it and try again.")


async def _event(
    uow: UnitOfWork, order: Order, item: Return, action: str, actor: Actor, *, now: datetime, note: str
) -> None:
    assert order.id is not None
    await uow.orders.add_events(
        order.id, [OrderEvent(action, now, actor.label, note=f"return #{item.id}: {note}")]
    )


async def _email_job(uow: UnitOfWork, name: str, item: Return, now: datetime) -> None:
    """The customer's email, sent by a job once this transaction commits (once per return)."""
    assert item.id is not None
    await jobs.record(uow, name, f"{name}:{item.id}", {"return_id": item.id}, now)


def _units(item: Return) -> str:
    return ", ".join(f"item {i} x {q}" for i, q in item.lines)


class Returns:
    """Asking for returns (customers), reading them (owner and staff), and staff's moves."""

    def __init__(self, context: ReturnContext) -> None:
        self.context = context

    async def request(self, order_id: int, cmd: RequestReturn, actor: Actor) -> ReturnView:
        return await request_return(order_id, cmd, actor, self.context)

    async def get(self, return_id: int, viewer: Actor) -> ReturnView:
        return await get_return(return_id, viewer, self.context)

    async def list(self, viewer: Actor, *, offset: int = 0, limit: int = 20) -> Page[ReturnView]:
        return await list_returns(viewer, self.context, offset=offset, limit=limit)

    async def approve(self, return_id: int, actor: Actor) -> ReturnView:
        return await approve_return(return_id, actor, self.context)

    async def reject(self, return_id: int, cmd: RejectReturn, actor: Actor) -> ReturnView:
        return await reject_return(return_id, cmd, actor, self.context)

    async def receive(self, return_id: int, cmd: ReceiveReturn, actor: Actor) -> ReturnView:
        return await receive_return(return_id, cmd, actor, self.context)

    async def refund(self, return_id: int, actor: Actor) -> ReturnView:
        """Refund a received return; again (retry-refund) asks for the same pending refund."""
        return await refund_return(return_id, actor, self.context)

    async def retry_refund(self, return_id: int, actor: Actor) -> ReturnView:
        """Ask the gateway again for the return's pending refund (the same refund, never a second)."""
        return await refund_return(return_id, actor, self.context, retry=True)
