"""Invoices: numbered once per paid order with the year's next number (no gaps), rendered as a PDF and kept.

- An unpaid order has no invoice yet: asking for it gives a pro-forma document (same content, no
  number, "Payment status: unpaid"), rendered each time and not kept. So an order that is never
  paid (cancelled, expired) spends no number.
- The order's invoice is issued when it is paid (the worker's job, or the first request after the
  payment, or the payment-received email, whichever comes first). The number is counted and
  stored with the order's invoice row in one short transaction, so it is never lost or handed out
  twice (two requests racing for one order end with one number: the loser's transaction rolls
  back and gives its number back).
- The PDF is rendered afterwards, outside any lock and off the event loop, and kept only while
  the order's payment status is still the one it shows; when that status changes (refunded), the
  kept PDF is dropped (`orders.move`) and rendered again under the same number. If rendering
  fails, the number stays with the order and the next request renders it again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from shop_core.domain.actors import Actor
from shop_core.domain.errors import NotFound
from shop_core.domain.invoices import Invoice, InvoiceDocument, InvoiceLine
from shop_core.domain.money import exponent_of, format_minor
from shop_core.domain.orders import Order
from shop_core.domain.variants import line_title
from shop_core.ports.clock import Clock
from shop_core.ports.orders import InvoiceRenderer
from shop_core.ports.persistence import UnitOfWorkFactory
from shop_core.services.order_queries import visible_order


@dataclass(frozen=True)
class InvoiceContext:
    uow: UnitOfWorkFactory
    clock: Clock
    renderer: InvoiceRenderer
    shop_name: str


PROFORMA = "pro-forma"


@dataclass(frozen=True)
class InvoiceFile:
    number: str
    """The invoice number (INV-2026-000042), or `pro-forma` for an unpaid order's document."""
    filename: str
    pdf: bytes

    @property
    def proforma(self) -> bool:
        return self.number == PROFORMA


async def invoice_for(order_id: int, viewer: Actor, ctx: InvoiceContext) -> InvoiceFile:
    """The paid order's invoice, issued now if it has none yet; an unpaid order's pro-forma. Owner
    and staff only (404 otherwise)."""
    async with ctx.uow() as uow:
        order = await visible_order(uow, order_id, viewer)
        invoice = await uow.invoices.get(order_id)
    if invoice is None:
        if not order.was_paid:
            document = document_of(order, "", ctx.clock.now(), ctx.shop_name, proforma=True)
            draft = await asyncio.to_thread(ctx.renderer.render, document)
            return InvoiceFile(PROFORMA, f"proforma-{order.number}.pdf", draft)
        invoice = await _number(order, ctx)
    pdf = invoice.pdf
    if pdf is None:
        document = document_of(order, invoice.number, invoice.issued_at, ctx.shop_name)
        pdf = await asyncio.to_thread(ctx.renderer.render, document)
        async with ctx.uow() as uow:
            pdf = await uow.invoices.store_pdf(order_id, pdf, order.payment_status)
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


def document_of(
    order: Order, number: str, issued_at: datetime, shop_name: str, *, proforma: bool = False
) -> InvoiceDocument:
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
                description=line_title(line.product_name, line.variant_name),
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
        voucher_code=order.voucher_code,
        tax_lines=[
            (f"{group.label} on {money(group.base)}", money(group.tax)) for group in order.tax_groups()
        ],
        shipping_method=None if order.shipping_method is None else order.shipping_method.name,
        prices_include_tax=order.prices_include_tax,
        payment_method=order.payment_method.value,
        payment_status=order.payment_status.value,
        proforma=proforma,
    )


class Invoices:
    """Orders' invoices as PDF files: the owner's and staff's to download."""

    def __init__(self, context: InvoiceContext) -> None:
        self.context = context

    async def order_invoice(self, order_id: int, viewer: Actor) -> InvoiceFile:
        return await invoice_for(order_id, viewer, self.context)

    async def order_invoice_by_number(self, number: str, viewer: Actor) -> InvoiceFile:
        return await invoice_by_number(number, viewer, self.context)
