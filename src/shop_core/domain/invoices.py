"""Invoices: numbered once per order, without gaps within a year, when the order is paid.

An unpaid order gets a pro-forma document instead: the same content, no invoice number, not
kept. So a number is never spent on an order that is never paid (cancelled, expired)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Invoice:
    order_id: int
    year: int
    sequence: int
    issued_at: datetime
    pdf: bytes | None
    """None until rendered."""

    @property
    def number(self) -> str:
        return invoice_number(self.year, self.sequence)


def invoice_number(year: int, sequence: int) -> str:
    return f"INV-{year}-{sequence:06d}"


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    sku: str
    quantity: int
    unit_price: str
    discount: str
    tax: str
    line_total: str


@dataclass(frozen=True)
class InvoiceDocument:
    """Everything printed on an invoice, amounts already formatted in the order's currency."""

    shop_name: str
    invoice_number: str
    order_number: str
    issued_at: datetime
    order_date: datetime
    currency: str
    billing_address: list[str]
    shipping_address: list[str]
    lines: list[InvoiceLine]
    subtotal: str
    discount: str
    tax: str
    shipping: str
    total: str
    payment_method: str
    payment_status: str
    proforma: bool = False
    """An unpaid order's document: `invoice_number` is empty, it is not a tax invoice."""
    voucher_code: str | None = None
    """The voucher the order used (part of `discount`), named on the invoice."""
    tax_lines: list[tuple[str, str]] | None = None
    """The tax by rate ("VAT 20% on 10.00", "2.00"), adding up to `tax`; None: one line, "Tax"."""
    shipping_method: str | None = None
    """The shipping method's name, when the order chose one."""
    prices_include_tax: bool = False
    """The amounts are net: the tax was included in the prices the customer saw."""

    @property
    def title(self) -> str:
        return "Pro-forma invoice" if self.proforma else f"Invoice {self.invoice_number}"
