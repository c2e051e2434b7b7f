"""Collecting an order's money through a gateway, and giving it back: where money moves once.

- Starting a payment is idempotent per order: a live payment (pending, or a declined Stripe one
  the customer may still pay) is returned again instead of a second one being made; two
  concurrent starts meet on the unique (order, attempt) and the gateway call is keyed by our
  payment id and attempt, so the provider makes one payment too.
- Every webhook event is recorded by its provider id in the transaction that applies it, so a
  redelivery changes nothing. On PostgreSQL the payment row is locked (`FOR UPDATE`) by whoever
  applies news about it (webhook, verify, reconciliation), so an IPN racing a verify moves the
  order once; and a payment only ever moves forward (`Payment.settle`).
- A success is counted only when the gateway's amount, currency and our ids agree with the
  stored payment; otherwise it is held for staff and the order is not paid. Money that arrives
  for an order cancelled meanwhile is held too (staff refund it).
- Refunds are rows first (pending), then a gateway call keyed by the refund's id: a retry after a
  timeout cannot refund twice, and reconciliation settles what is left pending. A refund that
  went through is counted on its payment by one conditional UPDATE (`refunded_amount + n <=
  amount`), the only way any path counts one, so a payment never gives back more than it took.
- Payments never touch stock: cancelling goes through the orders use cases.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import NoReturn, TypeVar

from shop_core.domain import webhooks
from shop_core.domain.actors import SYSTEM, Actor, require_staff
from shop_core.domain.errors import (
    Conflict,
    GatewayUnavailable,
    InvalidInput,
    NotFound,
    PaymentDeclined,
    PermissionDenied,
    ServiceUnavailable,
)
from shop_core.domain.money import exponent_of, format_minor, minor_units
from shop_core.domain.orders import Order, OrderEvent, OrderStatus, PaymentMethod
from shop_core.domain.payments import Outcome, Payment, PaymentState, Refund, RefundState, parse_gateway
from shop_core.domain.returns import ReturnStatus
from shop_core.ports.metrics import NULL_METRICS, Metrics
from shop_core.ports.payments import (
    BadWebhook,
    Customer,
    GatewayError,
    GatewayState,
    PaymentGateway,
    ProviderEvent,
    RefundAnswer,
    RefundRequest,
    StartRequest,
)
from shop_core.ports.payments import PaymentDeclined as GatewayDeclined
from shop_core.ports.persistence import UnitOfWork
from shop_core.services import jobs, order_moves
from shop_core.services.order_context import OrderContext
from shop_core.services.order_placement import IdempotencyKeyReused
from shop_core.services.order_queries import visible_order
from shop_core.services.order_views import OrderView, order_view
from shop_core.services.payment_views import PaymentView, RefundPayment, StartPayment, payment_view
from shop_core.services.views import Page
from shop_core.services.webhook_events import emit

log = logging.getLogger("shop.payments")

RECONCILE_BATCH = 100
RECONCILE_AFTER = timedelta(minutes=15)
"""A payment pending this long without a webhook is asked about (the worker's cron, the CLI's default)."""
MAX_RETRIES = 5
MAX_REFUND_REASON = 500


@dataclass(frozen=True)
class PaymentContext:
    orders: OrderContext
    gateways: Mapping[PaymentMethod, PaymentGateway]
    metrics: Metrics = NULL_METRICS

    @property
    def uow(self) -> Callable[[], UnitOfWork]:
        return self.orders.uow

    def gateway(self, gateway: PaymentMethod) -> PaymentGateway:
        found = self.gateways.get(gateway)
        if found is None:
            raise ServiceUnavailable(not_configured(gateway), 60)
        return found


@dataclass(frozen=True)
class StartedPayment:
    payment: PaymentView
    created: bool


@dataclass(frozen=True)
class ReconcileReport:
    checked: int = 0
    settled: int = 0
    still_pending: int = 0
    failed_to_ask: int = 0
    refunds_settled: int = 0


CASH_STAFF_ONLY = "Only staff can confirm a cash payment."


def not_configured(method: PaymentMethod) -> str:
    """What a payment by a method this shop has no credentials for is answered with (503)."""
    return f"{method.value} payments are not configured on this shop."


class OrderNotPayable(Conflict):
    code = "order_not_payable"


T = TypeVar("T")


class _TryAgain(Exception):
    """This attempt met a concurrent change (a row another request added first): run it again."""


async def _retried(
    attempt: Callable[[], Awaitable[T]],
    *,
    gave_up: Callable[[], T],
    again_on: tuple[type[Exception], ...] = (_TryAgain,),
) -> T:
    """Run `attempt` (one transaction) until it passes, at most MAX_RETRIES times; a change made
    meanwhile (`again_on`) runs it again on the new state, and `gave_up` answers after the last."""
    for _ in range(MAX_RETRIES):
        try:
            return await attempt()
        except again_on:
            continue
    return gave_up()


def _raise(error: Exception) -> Callable[[], NoReturn]:
    def give_up() -> NoReturn:
        raise error

    return give_up


# --- starting -----------------------------------------------------------------------------------


async def start_payment(
    cmd: StartPayment, viewer: Actor, *, key: str | None, ctx: PaymentContext
) -> StartedPayment:
    """Start (or find again) the payment of the customer's own unpaid order."""
    requested = parse_gateway(cmd.gateway) if cmd.gateway is not None else None
    if viewer.user_id is None:
        raise PermissionDenied("Only a customer pays for an order.")
    replayed = False
    if key is not None:
        async with ctx.uow() as uow:  # a key is spent only on a request that names a payable order
            order = await visible_order(uow, cmd.order_id, viewer)
            if order.user_id != viewer.user_id:
                raise NotFound("No such order.")
        replayed = await _claim_key(viewer.user_id, key, f"payment|{cmd.order_id}|{cmd.gateway or ''}", ctx)

    async def attempt() -> StartedPayment:
        async with ctx.uow() as uow:
            order = await visible_order(uow, cmd.order_id, viewer)
            if order.user_id != viewer.user_id:
                raise NotFound("No such order.")  # staff do not pay for customers
            gateway = requested or order.payment_method
            if gateway.value != order.payment_method.value:
                raise OrderNotPayable(
                    f"Order {order.number} is to be paid by {order.payment_method.value}, "
                    f"not {gateway.value}."
                )
            adapter = ctx.gateway(gateway)
            customer = await uow.users.get_read_only(order.user_id)
            email = customer.email if customer is not None else ""
            attempts = await uow.payments.of_order(_id(order))
            payment = _live_or_none(order, attempts, gateway)
            created = payment is None
            if payment is None:
                now = ctx.orders.clock.now()
                payment = Payment.attempt_of(order, gateway, attempt=len(attempts) + 1, now=now)
                if await uow.payments.add(payment) is None:
                    raise _TryAgain  # a concurrent request started one: look again
                note = f"{gateway.value}, attempt {payment.attempt}"
                await uow.orders.add_events(
                    _id(order), [OrderEvent("payment_started", now, viewer.label, note=note)]
                )
                await uow.commit()
            elif payment.reference:
                return StartedPayment(payment_view(payment), created=replayed)
        opened = await _open_at_gateway(payment, order, email, adapter, ctx)
        return StartedPayment(payment_view(opened), created or replayed)

    busy = Conflict("The payment is being started by another request; retry shortly.")
    return await _retried(attempt, gave_up=_raise(busy))


def _live_or_none(order: Order, attempts: list[Payment], gateway: PaymentMethod) -> Payment | None:
    if not order.is_unpaid or any(p.status is PaymentState.SUCCEEDED for p in attempts):
        raise OrderNotPayable(f"Order {order.number} is {order.status.value}; there is nothing to pay.")
    if order.total_price <= 0:
        raise OrderNotPayable(f"Order {order.number} costs nothing; there is nothing to pay.")
    if any(p.hold_reason and p.status in (PaymentState.PENDING, PaymentState.FAILED) for p in attempts):
        raise OrderNotPayable(f"A payment of order {order.number} is held for review by staff.")
    latest = attempts[-1] if attempts else None
    if latest is None or latest.gateway is not gateway or not latest.is_live:
        return None
    # A declined Stripe PaymentIntent takes another card; a failed SSLCommerz session is over.
    if latest.status is PaymentState.FAILED and gateway is PaymentMethod.SSLCOMMERZ:
        return None
    return latest


async def _open_at_gateway(
    payment: Payment, order: Order, email: str, adapter: PaymentGateway, ctx: PaymentContext
) -> Payment:
    address = order.billing_address
    request = StartRequest(
        payment_id=_pid(payment),
        order_id=_id(order),
        order_number=order.number,
        attempt=payment.attempt,
        amount=payment.amount,
        currency=payment.currency,
        customer=Customer(
            name=address.full_name,
            email=email,
            phone=address.phone,
            line1=address.line1,
            city=address.city,
            postal_code=address.postal_code,
            country=address.country,
        ),
        item_count=sum(line.quantity for line in order.lines),
        description=f"Order {order.number}",
    )
    try:
        started = await adapter.start(request)
    except GatewayDeclined as exc:
        raise PaymentDeclined(str(exc)) from exc
    except GatewayError as exc:
        raise GatewayUnavailable(f"The {payment.gateway.value} gateway failed: {exc}") from exc
    async with ctx.uow() as uow:
        current = await _locked(uow, _pid(payment))
        now = ctx.orders.clock.now()
        if current.opened(started.reference, started.client_secret, started.redirect_url, now):
            await uow.payments.save(current)
            await uow.commit()
    return current


async def _claim_key(user_id: int, key: str, scope: str, ctx: PaymentContext) -> bool:
    """Record the key for this request; True when it was already recorded for the same request (a
    retry, which is answered as the first was), IdempotencyKeyReused for another request."""
    fingerprint = hashlib.sha256(scope.encode()).hexdigest()
    async with ctx.uow() as uow:
        if await uow.idempotency.claim(user_id, key, fingerprint, ctx.orders.clock.now()):
            await uow.commit()
            return False
        stored = await uow.idempotency.get(user_id, key)
    if stored is None or stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return True


# --- news from the gateway ----------------------------------------------------------------------


async def handle_webhook(
    gateway: PaymentMethod, body: bytes, headers: Mapping[str, str], *, ctx: PaymentContext
) -> str:
    """Verify a webhook and apply it once; what became of it (`applied`, `duplicate`, `ignored`)."""
    adapter = ctx.gateway(gateway)  # not configured: 503, so the provider delivers again later
    try:
        event = await adapter.parse_webhook(body, headers)
    except BadWebhook as exc:
        raise InvalidInput(f"The webhook was refused: {exc}") from exc
    except GatewayError as exc:  # the gateway could not confirm it now: it delivers again later
        raise ServiceUnavailable(f"The webhook could not be confirmed with {gateway.value}: {exc}") from exc
    if event is None:
        return "ignored"
    actor = Actor(f"gateway:{gateway.value}", None, is_staff=True)

    async def attempt() -> str:
        async with ctx.uow() as uow:
            now = ctx.orders.clock.now()
            if not await uow.payments.record_event(gateway, event.event_id, event.type, now):
                return "duplicate"
            applied = await _apply_event(uow, gateway, event, actor, ctx)
            await uow.commit()
            return "applied" if applied else "ignored"

    # A Conflict: changed meanwhile (SQLite has no row locks), so it is applied to the new state.
    busy = ServiceUnavailable("The payment kept changing while the webhook was applied; deliver it again.")
    return await _retried(attempt, gave_up=_raise(busy), again_on=(Conflict,))


async def _apply_event(
    uow: UnitOfWork, gateway: PaymentMethod, event: ProviderEvent, actor: Actor, ctx: PaymentContext
) -> bool:
    if event.payment is not None and event.kind == "payment":
        payment = await _payment_of_state(uow, gateway, event.payment)
        return payment is not None and await _apply_state(uow, payment, event.payment, actor, ctx)
    if event.refund is not None:
        refund = await uow.payments.refund_by_reference(event.refund.reference, for_update=True)
        if refund is None:
            return False  # not ours, or our own call has not recorded its reference yet
        payment = await _locked(uow, refund.payment_id)
        return await _apply_refund(uow, payment, refund, event.refund, actor=actor, ctx=ctx)
    return False


async def _payment_of_state(uow: UnitOfWork, gateway: PaymentMethod, state: GatewayState) -> Payment | None:
    payment = await uow.payments.by_reference(gateway, state.reference, for_update=True)
    if payment is None and state.payment_id is not None:
        payment = await uow.payments.get(state.payment_id, for_update=True)
        if payment is None or payment.gateway is not gateway:
            return None
        if not payment.take_reference(state.reference):
            return None  # an id that does not go with this provider payment: not ours to apply
    return payment


async def _apply_state(
    uow: UnitOfWork, payment: Payment, state: GatewayState, actor: Actor, ctx: PaymentContext
) -> bool:
    """Bring `payment` (locked) and its order up to `state`, in the caller's transaction; a change
    is counted in `ctx.metrics` by what the payment became (`held` when held for staff)."""
    if not await _bring_up_to_state(uow, payment, state, actor, ctx):
        return False
    outcome = "held" if payment.hold_reason else payment.status.value
    ctx.metrics.payment_settled(payment.gateway.value, outcome)
    return True


async def _bring_up_to_state(
    uow: UnitOfWork, payment: Payment, state: GatewayState, actor: Actor, ctx: PaymentContext
) -> bool:
    now = ctx.orders.clock.now()
    if state.provider_data:
        payment.keep_provider_data(state.provider_data)
    if not _judge(payment, state, now):
        if state.provider_data:
            await uow.payments.save(payment)
        return False
    order = await uow.orders.get(payment.order_id)
    assert order is not None
    events: list[OrderEvent] = []
    if payment.status is PaymentState.SUCCEEDED and not payment.hold_reason:
        if order.status is OrderStatus.PENDING:
            await uow.payments.save(payment)
            await order_moves.move(uow, order, OrderStatus.PAID, actor, ctx=ctx.orders, note=_label(payment))
            return True
        payment.hold(
            f"the money arrived after order {order.number} became {order.status.value}: refund it", now
        )
    if payment.hold_reason:
        events.append(
            OrderEvent("payment_held", now, actor.label, note=f"{_label(payment)}: {payment.hold_reason}")
        )
    elif payment.status is PaymentState.FAILED:
        events.append(
            OrderEvent("payment_failed", now, actor.label, note=f"{_label(payment)}: {payment.failure}")
        )
        if order.payment_failed(now) and not await uow.orders.save(order):
            raise Conflict("The order changed meanwhile.")
    else:
        events.append(OrderEvent(f"payment_{payment.status.value}", now, actor.label, note=_label(payment)))
    await uow.payments.save(payment)
    await uow.orders.add_events(_id(order), events)
    return True


def _judge(payment: Payment, state: GatewayState, now: datetime) -> bool:
    """Apply what the gateway says to the payment alone; True when it changed."""
    success = state.outcome is Outcome.SUCCEEDED
    if state.payment_id is not None and state.payment_id != payment.id and success:
        return payment.hold(f"the gateway's payment names payment {state.payment_id}, not {payment.id}", now)
    if state.hold_reason and success and payment.is_live:
        return payment.hold(state.hold_reason, now)
    return payment.settle(
        state.outcome, now, amount=state.amount, currency=state.currency, failure=state.failure
    )


async def verify_payment(payment_id: int, viewer: Actor, *, ctx: PaymentContext) -> PaymentView:
    """Ask the gateway about the payment and bring it (and its order, and its refunds) up to date."""
    async with ctx.uow() as uow:
        payment = await _visible(uow, payment_id, viewer)
    if payment.reference:
        await _settle_from_gateway(payment, viewer, ctx)
    await _settle_refunds(payment, viewer, ctx)
    return await get_payment(payment_id, viewer, ctx=ctx)


async def customer_returned(
    gateway: PaymentMethod, reference: str, *, ctx: PaymentContext
) -> PaymentView | None:
    """The customer's browser came back from the gateway's page (SSLCommerz's success, fail and
    cancel URLs). What it carries is only a hint: the gateway is asked. None for an unknown
    payment."""
    async with ctx.uow() as uow:
        payment = await uow.payments.by_reference(gateway, reference.strip()[:255])
    if payment is None:
        return None
    if payment.is_live:  # settled ones need no question (and strangers cannot make us ask)
        await _settle_from_gateway(payment, SYSTEM, ctx)
    async with ctx.uow() as uow:
        current = await _locked(uow, _pid(payment))
    return payment_view(current)


async def _settle_from_gateway(payment: Payment, actor: Actor, ctx: PaymentContext) -> bool:
    adapter = ctx.gateway(payment.gateway)
    try:
        state = await adapter.fetch(payment)
    except GatewayError as exc:
        raise GatewayUnavailable(f"The {payment.gateway.value} gateway could not be asked: {exc}") from exc

    async def attempt() -> bool:
        async with ctx.uow() as uow:
            current = await _locked(uow, _pid(payment))
            changed = await _apply_state(uow, current, state, actor, ctx)
            await uow.commit()
            return changed

    return await _retried(attempt, gave_up=lambda: False, again_on=(Conflict,))


# --- refunds ----------------------------------------------------------------------------------------


async def refund_payment(
    payment_id: int, cmd: RefundPayment, actor: Actor, *, ctx: PaymentContext
) -> PaymentView:
    """Staff refund a succeeded payment, in full or in part, through its gateway."""
    if not actor.is_staff:
        raise PermissionDenied("Only staff can refund a payment.")
    if len(cmd.reason) > MAX_REFUND_REASON:
        raise InvalidInput.field("reason", f"Use at most {MAX_REFUND_REASON} characters.")
    async with ctx.uow() as uow:
        payment = await _locked(uow, payment_id)
        amount = None if cmd.amount is None else _amount(cmd.amount, payment.currency)
        refund = await _new_refund(uow, payment, amount, reason=cmd.reason, actor=actor, ctx=ctx)
        await uow.commit()
    await _refund_at_gateway(payment, refund, actor, ctx)
    return await get_payment(payment_id, actor, ctx=ctx)


async def _new_refund(
    uow: UnitOfWork, payment: Payment, amount: int | None, *, reason: str, actor: Actor, ctx: PaymentContext
) -> Refund:
    pending = sum(
        r.amount for r in await uow.payments.refunds_of(_pid(payment)) if r.status is RefundState.PENDING
    )
    left = payment.refundable - pending
    if payment.status is PaymentState.SUCCEEDED and left <= 0:
        raise Conflict(f"Payment {payment.id} has nothing left to refund (refunds pending: {pending}).")
    wanted = payment.check_refund(amount)
    if wanted > left:
        raise InvalidInput.field(
            "amount",
            f"At most {format_minor(left, exponent_of(payment.currency))} {payment.currency} is left "
            "once pending refunds go through.",
        )
    now = ctx.orders.clock.now()
    refund = await uow.payments.add_refund(
        Refund(_pid(payment), wanted, RefundState.PENDING, reason.strip(), actor.label, now, now)
    )
    note = f"{_label(payment)}: refund #{refund.id} of {wanted} requested"
    await uow.orders.add_events(
        payment.order_id, [OrderEvent("refund_requested", now, actor.label, note=note)]
    )
    return refund


async def _refund_at_gateway(
    payment: Payment, refund: Refund, actor: Actor, ctx: PaymentContext, *, move_order: bool = True
) -> RefundAnswer:
    adapter = ctx.gateway(payment.gateway)
    request = RefundRequest(
        refund_id=refund.id or 0,
        payment_reference=payment.reference,
        amount=refund.amount,
        currency=payment.currency,
        reason=refund.reason or "Refund",
        provider_data=payment.kept_provider_data,
    )
    try:
        answer = await adapter.refund(request)
    except GatewayError as exc:
        # Unknown whether it went through: the refund stays pending, and reconciliation asks again
        # with the same refund id (the gateway's idempotency key), so it cannot be made twice.
        async with ctx.uow() as uow:
            current = await uow.payments.get_refund(refund.id or 0, for_update=True)
            if current is not None and current.unconfirmed(str(exc)):
                await uow.payments.save_refund(current)
                await uow.commit()
        raise GatewayUnavailable(
            f"The {payment.gateway.value} gateway did not confirm refund #{refund.id}: {exc}. "
            "It stays pending and is tried again by reconciliation."
        ) from exc

    async def attempt() -> RefundAnswer:
        async with ctx.uow() as uow:
            current_payment = await _locked(uow, _pid(payment))
            current = await uow.payments.get_refund(refund.id or 0, for_update=True)
            assert current is not None
            await _apply_refund(
                uow, current_payment, current, answer, actor=actor, ctx=ctx, move_order=move_order
            )
            await uow.commit()
            return answer

    return await _retried(attempt, gave_up=lambda: answer, again_on=(Conflict,))


async def _apply_refund(
    uow: UnitOfWork,
    payment: Payment,
    refund: Refund,
    answer: RefundAnswer,
    *,
    actor: Actor,
    ctx: PaymentContext,
    move_order: bool = True,
) -> bool:
    now = ctx.orders.clock.now()
    refund.take_reference(answer.reference)
    if not refund.settle(answer.state, now, answer.failure):
        await uow.payments.save_refund(refund)
        return False
    await uow.payments.save_refund(refund)
    label = f"{_label(payment)}: refund #{refund.id}"
    if refund.status is RefundState.FAILED:
        await uow.orders.add_events(
            payment.order_id,
            [OrderEvent("refund_failed", now, actor.label, note=f"{label}: {refund.failure}")],
        )
        return True
    counted = await uow.payments.record_refunded(_pid(payment), refund.amount, now)
    if counted is None:
        # The gateway gave back more than the payment has left (a refund made beside the shop's):
        # it is never counted twice; staff sort it out with the gateway.
        if payment.hold(f"{label} of {refund.amount} exceeds what is left to refund", now):
            await uow.payments.save(payment)
        await uow.orders.add_events(
            payment.order_id,
            [OrderEvent("refund_exceeds_payment", now, actor.label, note=f"{label} of {refund.amount}")],
        )
        return True
    payment.counted_as(counted)
    await uow.orders.add_events(
        payment.order_id,
        [OrderEvent("refund_succeeded", now, actor.label, note=f"{label} of {refund.amount}")],
    )
    await _complete_return(uow, refund, actor, now)
    order = await uow.orders.get(payment.order_id)
    assert order is not None
    if move_order and payment.status is PaymentState.REFUNDED and order.can_move_to(OrderStatus.REFUNDED):
        await order_moves.move(
            uow, order, OrderStatus.REFUNDED, actor, ctx=ctx.orders, note=label, refunded_by=label
        )
    else:  # a part given back: the order stays where it is (a full refund's move emits it)
        await emit(uow, webhooks.ORDER_REFUNDED, lambda: order_view(order), now)
    return True


async def _complete_return(uow: UnitOfWork, refund: Refund, actor: Actor, now: datetime) -> None:
    """The return this refund was made for (if any) is refunded, in the transaction that counts
    the refund: whichever path settles it (the staff's request, a retry, reconciliation)."""
    item = await uow.returns.by_refund(refund.id or 0)
    if item is None or item.status is not ReturnStatus.RECEIVED:
        return
    item.refunded(now, refund.amount)
    if not await uow.returns.save(item):
        raise Conflict(f"Return {item.id} was changed by someone else meanwhile; try again.")
    note = f"return #{item.id}: refunded by refund #{refund.id} of {refund.amount}"
    await uow.orders.add_events(item.order_id, [OrderEvent("return_refunded", now, actor.label, note=note)])
    name = jobs.RETURN_REFUNDED_EMAIL
    await jobs.record(uow, name, f"{name}:{item.id}", {"return_id": item.id}, now)


# --- refunds for other use cases (returns) -------------------------------------------------------------


async def lock_payment(uow: UnitOfWork, payment_id: int) -> Payment:
    """The payment, its row locked: a use case that refunds takes it first, as every refund path
    does (payment, then order), so it never deadlocks with a refund being settled."""
    return await _locked(uow, payment_id)


async def refunded_total(uow: UnitOfWork, order_id: int) -> int:
    """What the order's payments gave back, and what their pending refunds will: every refund."""
    total = 0
    for payment in await uow.payments.of_order(order_id):
        total += payment.refunded_amount
        refunds = await uow.payments.refunds_of(_pid(payment))
        total += sum(r.amount for r in refunds if r.status is RefundState.PENDING)
    return total


async def open_refund(
    uow: UnitOfWork, payment: Payment, amount: int, *, reason: str, actor: Actor, ctx: PaymentContext
) -> Refund:
    """In the caller's transaction, a pending refund of `amount` on `payment` (locked): its id is
    the gateway's idempotency key. Commit, then `refund_at_gateway`."""
    return await _new_refund(uow, payment, amount, reason=reason, actor=actor, ctx=ctx)


async def refund_at_gateway(
    payment: Payment, refund: Refund, actor: Actor, ctx: PaymentContext
) -> RefundAnswer:
    """Ask the gateway for `refund` (again: same id, so never twice) and settle what it says;
    GatewayUnavailable, the refund left pending, when it does not answer."""
    return await _refund_at_gateway(payment, refund, actor, ctx)


async def _settle_refunds(payment: Payment, actor: Actor, ctx: PaymentContext) -> int:
    """Ask about the payment's pending refunds (a refund never confirmed is asked for again)."""
    async with ctx.uow() as uow:
        pending = [r for r in await uow.payments.refunds_of(_pid(payment)) if r.status is RefundState.PENDING]
    if not pending:
        return 0
    adapter = ctx.gateway(payment.gateway)
    settled = 0
    for refund in pending:
        if not refund.reference:
            try:
                await _refund_at_gateway(payment, refund, actor, ctx)
                settled += 1
            except GatewayUnavailable:
                log.warning("refund #%s still unconfirmed", refund.id)
            continue
        try:
            answer = await adapter.refund_status(refund, payment)
        except GatewayError as exc:
            log.warning("refund #%s could not be asked about: %s", refund.id, exc)
            continue
        async with ctx.uow() as uow:
            current_payment = await _locked(uow, _pid(payment))
            current = await uow.payments.get_refund(refund.id or 0, for_update=True)
            assert current is not None
            if await _apply_refund(uow, current_payment, current, answer, actor=actor, ctx=ctx):
                settled += 1
            await uow.commit()
    return settled


async def cancel_order(order_id: int, actor: Actor, *, ctx: PaymentContext, note: str = "") -> OrderView:
    """Cancel an order; a paid one (staff only) is refunded in full through its gateway first.

    Cash on delivery is refunded by hand: the refund is recorded on the payment in the cancel's own
    transaction (see `orders.move`), so no later refund can give the money back twice. If the
    gateway refuses or cannot be reached, the order stays as it was.
    """
    async with ctx.uow() as uow:
        order = await visible_order(uow, order_id, actor)
        paid = [
            p
            for p in await uow.payments.of_order(order_id)
            if p.status is PaymentState.SUCCEEDED and p.gateway is not PaymentMethod.COD
        ]
    refunded_by = ""
    if actor.is_staff and order.status is OrderStatus.PAID and paid:
        payment = paid[-1]
        async with ctx.uow() as uow:
            locked = await _locked(uow, _pid(payment))
            refund = await _new_refund(
                uow, locked, None, reason=f"order {order.number} cancelled", actor=actor, ctx=ctx
            )
            await uow.commit()
        answer = await _refund_at_gateway(locked, refund, actor, ctx, move_order=False)  # cancelled next
        state = "refunded" if answer.state is RefundState.SUCCEEDED else "refund pending"
        refunded_by = f"{state} through {payment.gateway.value} (refund #{refund.id})"
    return await order_moves.cancel_order(order_id, actor, ctx.orders, note, refunded_by=refunded_by)


# --- cash on delivery -------------------------------------------------------------------------------


async def confirm_cash(order_number: str, actor: Actor, *, ctx: PaymentContext) -> PaymentView:
    """Staff confirm that a cash-on-delivery order's money was collected: the order is paid."""
    require_staff(actor, CASH_STAFF_ONLY)

    async def attempt() -> PaymentView:
        async with ctx.uow() as uow:
            order = await uow.orders.get_by_number(order_number.strip().upper())
            if order is None:
                raise NotFound(f"No order {order_number.strip()!r}.")
            if order.payment_method is not PaymentMethod.COD:
                raise OrderNotPayable(
                    f"Order {order.number} is paid by {order.payment_method.value}, not cash."
                )
            attempts = await uow.payments.of_order(_id(order))
            payment = _live_or_none(order, attempts, PaymentMethod.COD)
            now = ctx.orders.clock.now()
            if payment is None:
                number = len(attempts) + 1
                reference = f"cod-{order.number}-{number}"
                payment = Payment.attempt_of(
                    order, PaymentMethod.COD, attempt=number, now=now, reference=reference
                )
                if await uow.payments.add(payment) is None:
                    raise _TryAgain
            else:
                payment = await _locked(uow, _pid(payment))
            state = GatewayState(payment.reference, Outcome.SUCCEEDED, payment.amount, payment.currency)
            await _apply_state(uow, payment, state, actor, ctx)
            await uow.commit()
            return payment_view(payment)

    return await _retried(attempt, gave_up=_raise(Conflict("The order kept changing; try again.")))


# --- reading ----------------------------------------------------------------------------------------


async def get_payment(payment_id: int, viewer: Actor, *, ctx: PaymentContext) -> PaymentView:
    async with ctx.uow() as uow:
        payment = await _visible(uow, payment_id, viewer)
        refunds = await uow.payments.refunds_of(payment_id)
    return payment_view(payment, refunds if viewer.is_staff else None)


async def list_payments(
    *, status: str | None, held: bool | None, offset: int, limit: int, ctx: PaymentContext
) -> Page[PaymentView]:
    if status is not None and status not in {s.value for s in PaymentState}:
        names = ", ".join(s.value for s in PaymentState)
        raise InvalidInput.field("status", f"Unknown status {status!r}; one of {names}.")
    async with ctx.uow() as uow:
        found, total = await uow.payments.page(status=status, held=held, offset=offset, limit=limit)
    return Page(items=[payment_view(p) for p in found], total=total)


async def payments_of_order(order_id: int, viewer: Actor, *, ctx: PaymentContext) -> list[PaymentView]:
    async with ctx.uow() as uow:
        await visible_order(uow, order_id, viewer)
        return [payment_view(p) for p in await uow.payments.of_order(order_id)]


# --- reconciliation ----------------------------------------------------------------------------------


async def reconcile(
    older_than: timedelta,
    *,
    ctx: PaymentContext,
    progress: Callable[[int, int], None] | None = None,
) -> ReconcileReport:
    """Ask the gateways about every payment still live and untouched for `older_than` (the webhook
    that never came), and about refunds still pending; settle what they say."""
    cutoff = ctx.orders.clock.now() - older_than
    async with ctx.uow() as uow:
        due = await uow.payments.pending(older_than=cutoff, limit=RECONCILE_BATCH)
        refunding = await uow.payments.with_pending_refunds(older_than=cutoff, limit=RECONCILE_BATCH)
    total = len(due) + len(refunding)
    settled = still = failed = refunds = 0
    for done, payment in enumerate(due, start=1):
        if payment.reference and payment.gateway is not PaymentMethod.COD and payment.gateway in ctx.gateways:
            try:
                changed = await _settle_from_gateway(payment, SYSTEM, ctx)
            except GatewayUnavailable as exc:
                failed += 1
                log.warning("payment %s could not be reconciled: %s", payment.id, exc)
            else:
                settled += changed
                still += not changed
        else:
            still += 1  # cash is confirmed by staff; a start that never reached the gateway waits
        if progress is not None:
            progress(done, total)
    for done, payment in enumerate(refunding, start=len(due) + 1):
        if payment.gateway in ctx.gateways:
            refunds += await _settle_refunds(payment, SYSTEM, ctx)
        if progress is not None:
            progress(done, total)
    return ReconcileReport(len(due), settled, still, failed, refunds)


# --- helpers ------------------------------------------------------------------------------------------


async def _locked(uow: UnitOfWork, payment_id: int) -> Payment:
    payment = await uow.payments.get(payment_id, for_update=True)
    if payment is None:
        raise NotFound("No such payment.")
    return payment


async def _visible(uow: UnitOfWork, payment_id: int, viewer: Actor) -> Payment:
    payment = await uow.payments.get(payment_id)
    if payment is None or not (viewer.is_staff or payment.user_id == viewer.user_id):
        raise NotFound("No such payment.")  # someone else's payment looks exactly like a missing one
    return payment


def _amount(raw: str, currency: str) -> int:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise InvalidInput.field(
            "amount", f'{raw!r} is not an amount; use a decimal string like "10.00".'
        ) from None
    return minor_units(value, currency, field="amount")


def _label(payment: Payment) -> str:
    return f"payment #{payment.id} ({payment.gateway.value})"


def _id(order: Order) -> int:
    assert order.id is not None
    return order.id


def _pid(payment: Payment) -> int:
    assert payment.id is not None
    return payment.id


class Payments:
    """Collecting an order's money through its gateway, the gateways' news, refunds, and staff's
    views and reconciliation (see the module's description for how money moves once)."""

    def __init__(self, context: PaymentContext) -> None:
        self.context = context

    async def start_payment(self, cmd: StartPayment, viewer: Actor, key: str | None = None) -> StartedPayment:
        return await start_payment(cmd, viewer, key=key, ctx=self.context)

    async def handle_webhook(self, gateway: PaymentMethod, body: bytes, headers: Mapping[str, str]) -> str:
        return await handle_webhook(gateway, body, headers, ctx=self.context)

    async def customer_returned(self, gateway: PaymentMethod, reference: str) -> PaymentView | None:
        return await customer_returned(gateway, reference, ctx=self.context)

    async def get_payment(self, payment_id: int, viewer: Actor) -> PaymentView:
        return await get_payment(payment_id, viewer, ctx=self.context)

    async def verify_payment(self, payment_id: int, viewer: Actor) -> PaymentView:
        return await verify_payment(payment_id, viewer, ctx=self.context)

    async def payments_of_order(self, order_id: int, viewer: Actor) -> list[PaymentView]:
        return await payments_of_order(order_id, viewer, ctx=self.context)

    async def list_payments(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        held: bool | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> Page[PaymentView]:
        require_staff(actor)
        return await list_payments(status=status, held=held, offset=offset, limit=limit, ctx=self.context)

    async def refund_payment(self, payment_id: int, cmd: RefundPayment, actor: Actor) -> PaymentView:
        return await refund_payment(payment_id, cmd, actor, ctx=self.context)

    async def confirm_cash(self, order_number: str, actor: Actor) -> PaymentView:
        return await confirm_cash(order_number, actor, ctx=self.context)

    async def confirm_cash_for_order(self, order_id: int, actor: Actor) -> PaymentView:
        """`confirm_cash`, the order named by its id (staff only; 404 when there is no such order)."""
        require_staff(actor, CASH_STAFF_ONLY)
        async with self.context.uow() as uow:
            order = await visible_order(uow, order_id, actor)
        return await confirm_cash(order.number, actor, ctx=self.context)

    async def cancel_order(self, order_id: int, actor: Actor, note: str = "") -> OrderView:
        """What `Orders.cancel_order` runs: a paid order cancelled by staff is refunded first."""
        return await cancel_order(order_id, actor, ctx=self.context, note=note)

    async def reconcile_payments(
        self, older_than: timedelta, progress: Callable[[int, int], None] | None = None
    ) -> ReconcileReport:
        """Maintenance (the shop's schedule, or an operator): settle what the webhooks never told."""
        return await reconcile(older_than, ctx=self.context, progress=progress)
