"""What the background jobs do: each use case here is one job, safe to run twice.

Each one loads what it needs fresh and checks that it still makes sense (an order that is no
longer shipped gets no "shipped" email, a deactivated user no welcome, a restocked product no
alert); the job ledger (see `services.jobs`) makes sure a job that completed is not run again.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from shop_core.domain.actors import SYSTEM
from shop_core.domain.orders import FulfillmentStatus, Order, OrderPaymentStatus, OrderStatus
from shop_core.domain.users import User
from shop_core.ports.clock import Clock
from shop_core.ports.mail import EmailRenderer, Mailer, MailError
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.services import emails, invoices
from shop_core.services.order_views import fulfillment_view, order_view
from shop_core.services.password_reset import ResetConfig, digest
from shop_core.services.returns import return_view

log = logging.getLogger("shop.notifications")


@dataclass(frozen=True)
class NotificationContext:
    uow: UnitOfWorkFactory
    clock: Clock
    mailer: Mailer
    templates: EmailRenderer
    store: str
    invoices: invoices.InvoiceContext
    reset: ResetConfig
    low_stock_threshold: int


async def _customer_and_order(uow: UnitOfWork, order_id: int) -> tuple[Order, User] | None:
    async with uow:
        order = await uow.orders.get(order_id)
        user = None if order is None else await uow.users.get(order.user_id)
    if order is None or user is None:
        log.warning("order %s or its customer is gone: no email", order_id)
        return None
    return order, user


async def send_welcome(user_id: int, *, ctx: NotificationContext) -> None:
    async with ctx.uow() as uow:
        user = await uow.users.get(user_id)
    if user is None or not user.is_active:
        return
    await ctx.mailer.send(emails.welcome(ctx.store, user.email, user.first_name, templates=ctx.templates))


async def send_order_confirmation(order_id: int, *, ctx: NotificationContext) -> None:
    found = await _customer_and_order(ctx.uow(), order_id)
    if found is not None:
        order, user = found
        email = emails.order_confirmation(ctx.store, user.email, order_view(order), templates=ctx.templates)
        await ctx.mailer.send(email)


async def issue_invoice(order_id: int, *, ctx: NotificationContext) -> None:
    """Number and render the paid order's invoice and keep it (the invoice endpoint serves it)."""
    await invoices.invoice_for(order_id, SYSTEM, ctx.invoices)


async def send_payment_received(order_id: int, *, ctx: NotificationContext) -> None:
    """With the invoice attached (issued now if the invoice job has not run yet)."""
    found = await _customer_and_order(ctx.uow(), order_id)
    if found is None:
        return
    order, user = found
    invoice = await invoices.invoice_for(order_id, SYSTEM, ctx.invoices)
    email = emails.payment_received(
        ctx.store,
        user.email,
        order_view(order),
        invoice.pdf,
        None if invoice.proforma else invoice.number,
        templates=ctx.templates,
    )
    await ctx.mailer.send(email)


async def send_order_shipped(order_id: int, *, ctx: NotificationContext) -> None:
    found = await _customer_and_order(ctx.uow(), order_id)
    if found is None:
        return
    order, user = found
    cod_on_its_way = (
        order.status is OrderStatus.PENDING and order.fulfillment_status is FulfillmentStatus.FULFILLED
    )
    if order.status not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED) and not cod_on_its_way:
        return  # refunded before the email went: the customer hears about that instead
    async with ctx.uow() as uow:
        shipments = [fulfillment_view(f) for f in await uow.fulfilments.of_order(order_id)]
    await ctx.mailer.send(
        emails.order_shipped(
            ctx.store, user.email, order_view(order), templates=ctx.templates, shipments=shipments
        )
    )


async def send_order_partly_shipped(fulfillment_id: int, *, ctx: NotificationContext) -> None:
    """One parcel of an order that has not shipped whole, with its carrier and tracking number."""
    async with ctx.uow() as uow:
        shipment = await uow.fulfilments.get(fulfillment_id)
    if shipment is None:
        return
    found = await _customer_and_order(ctx.uow(), shipment.order_id)
    if found is None:
        return
    order, user = found
    if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        return
    email = emails.order_partly_shipped(
        ctx.store, user.email, order_view(order), fulfillment_view(shipment), templates=ctx.templates
    )
    await ctx.mailer.send(email)


async def send_return_received(return_id: int, *, ctx: NotificationContext) -> None:
    """The goods of a return came back to the shop."""
    await _send_return("return_received", return_id, ctx)


async def send_return_refunded(return_id: int, *, ctx: NotificationContext) -> None:
    """A return's refund went through: how much."""
    await _send_return("return_refunded", return_id, ctx)


async def _send_return(name: str, return_id: int, ctx: NotificationContext) -> None:
    async with ctx.uow() as uow:
        item = await uow.returns.get(return_id)
    if item is None:
        return
    found = await _customer_and_order(ctx.uow(), item.order_id)
    if found is None:
        return
    order, user = found
    view = return_view(item, order.currency)
    await ctx.mailer.send(
        emails.return_email(name, ctx.store, user.email, order_view(order), view, templates=ctx.templates)
    )


async def send_order_cancelled(order_id: int, *, ctx: NotificationContext) -> None:
    """Cancelled or refunded: the email says whether money went back."""
    found = await _customer_and_order(ctx.uow(), order_id)
    if found is None:
        return
    order, user = found
    refunded = order.status is OrderStatus.REFUNDED or order.payment_status is OrderPaymentStatus.REFUNDED
    email = emails.order_cancelled(
        ctx.store, user.email, order_view(order), refunded, templates=ctx.templates
    )
    await ctx.mailer.send(email)


async def send_password_reset(user_id: int, *, ctx: NotificationContext) -> None:
    """Issue a fresh single-use link (the older unused ones stop working) and email it.

    The token is made here, not when the reset was asked for, so it is never stored anywhere but
    in the email: the database keeps its digest only."""
    token = secrets.token_urlsafe(32)
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        user = await uow.users.get(user_id)
        if user is None or not user.is_active:
            return
        await uow.password_resets.discard_unused(user_id)
        await uow.password_resets.add(digest(token), user_id, now, now + timedelta(seconds=ctx.reset.ttl))
        await uow.commit()
    email = emails.password_reset(
        ctx.store, user.email, ctx.reset.link(token), ctx.reset.ttl // 60, templates=ctx.templates
    )
    await ctx.mailer.send(email)


async def alert_low_stock(product_id: int, *, ctx: NotificationContext) -> None:
    """Tell every active staff member, unless the product was restocked meanwhile.

    One email per staff member, in one job. A retry would mail everyone again, so the job fails
    (and is retried) only when no one got the alert; once someone has it, an address the server
    refuses is logged and skipped, and the others are not alerted twice."""
    async with ctx.uow() as uow:
        product = await uow.products.get(product_id)
        staff = await uow.users.staff_emails()
    if product is None or product.stock_quantity >= ctx.low_stock_threshold:
        return
    failed: list[tuple[str, MailError]] = []
    for to in staff:
        email = emails.low_stock(
            ctx.store,
            to,
            product.sku,
            product.name,
            stock=product.stock_quantity,
            threshold=ctx.low_stock_threshold,
            templates=ctx.templates,
        )
        try:
            await ctx.mailer.send(email)
        except MailError as exc:
            failed.append((to, exc))
    if failed and len(failed) == len(staff):
        raise failed[0][1]  # no one has it: the job is tried again
    for to, error in failed:
        log.error("could not send the low-stock alert for %s to %s: %s", product.sku, to, error)
