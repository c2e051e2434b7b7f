"""Invoices: numbered once per order with the year's next number (no gaps), rendered as a PDF and kept.

The first request for an order's invoice (or a worker, when the order is paid) issues it. The
number is counted and stored with the order's invoice row in one short transaction, so it is
never lost or handed out twice (two requests racing for one order end with one number: the loser's
transaction rolls back and gives its number back). The PDF is rendered afterwards, outside any
lock and off the event loop, and stored; if rendering fails, the number stays with the order and
the next request renders it again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from shop_core.domain.errors import NotFound
from shop_core.domain.invoices import Invoice, InvoiceDocument, InvoiceLine
from shop_core.domain.money import exponent_of, format_minor
from shop_core.domain.orders import Order
from shop_core.ports.clock import Clock
from shop_core.ports.orders import InvoiceRenderer
from shop_core.ports.persistence import UnitOfWorkFactory
from shop_core.services.order_commands import Actor
from shop_core.services.orders import visible_order


@dataclass(frozen=True)
class InvoiceContext:
    uow: UnitOfWorkFactory
    clock: Clock
    renderer: InvoiceRenderer
    shop_name: str


@dataclass(frozen=True)
class InvoiceFile:
    number: str
    filename: str
    pdf: bytes


async def invoice_for(order_id: int, viewer: Actor, ctx: InvoiceContext) -> InvoiceFile:
    """The order's invoice, issued now if it has none yet. Owner and staff only (404 otherwise)."""
    async with ctx.uow() as uow:
        order = await visible_order(uow, order_id, viewer)
        invoice = await uow.invoices.get(order_id)
    if invoice is None:
        invoice = await _number(order, ctx)
    pdf = invoice.pdf
    if pdf is None:
        document = document_of(order, invoice.number, invoice.issued_at, ctx.shop_name)
        pdf = await asyncio.to_thread(ctx.renderer.render, document)
        async with ctx.uow() as uow:
            pdf = await uow.invoices.store_pdf(order_id, pdf)
            await uow.commit()
    return InvoiceFile(invoice.number, f"{invoice.number}.pdf", pdf)


async def invoice_by_number(number: str, viewer: Actor, ctx: InvoiceContext) -> InvoiceFile:
    async with ctx.uow() as uow:
        order = await uow.orders.get_by_number(number.strip().upper())
    if order is None or order.id is None:
        raise NotFound(f"No order {number}.")
    return await invoice_for(order.id, viewer, ctx)


async def _number(order: Order, ctx: InvoiceContext) -> Invoice:
    """Give the order the year's next invoice number, once."""
    assert order.id is not None
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        sequence = await uow.invoices.next_number(now.year)
        invoice = Invoice(order_id=order.id, year=now.year, sequence=sequence, issued_at=now, pdf=None)
        if await uow.invoices.add(invoice):
            await uow.commit()
            return invoice
    async with ctx.uow() as uow:  # another request numbered it first; our number was given back
        existing = await uow.invoices.get(order.id)
    assert existing is not None
    return existing


def document_of(order: Order, number: str, issued_at: datetime, shop_name: str) -> InvoiceDocument:
    exponent = exponent_of(order.currency)

    def money(minor: int) -> str:
        return format_minor(minor, exponent)

    return InvoiceDocument(
        shop_name=shop_name,
        invoice_number=number,
        order_number=order.number,
        issued_at=issued_at,
        order_date=order.created_at,
        currency=order.currency,
        billing_address=order.billing_address.lines(),
        shipping_address=order.shipping_address.lines(),
        lines=[
            InvoiceLine(
                description=line.product_name,
                sku=line.sku,
                quantity=line.quantity,
                unit_price=money(line.unit_price),
                discount=money(line.discount_amount),
                tax=money(line.tax_amount),
                line_total=money(line.line_total),
            )
            for line in order.lines
        ],
        subtotal=money(order.subtotal),
        discount=money(order.discount_amount),
        tax=money(order.tax_amount),
        shipping=money(order.shipping_cost),
        total=money(order.total_price),
        payment_method=order.payment_method.value,
        payment_status=order.payment_status.value,
    )
