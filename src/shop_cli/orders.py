"""`shop orders list|show|set-status|fulfil|cancel|expire-unpaid|invoice`: orders, for operators (staff)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.paging import JSON, PAGE, PAGE_SIZE, check_page, footer, print_page, window
from shop_cli.runner import OPERATOR, YES, confirm, console, fail, load_settings, print_json, run, when
from shop_core.bootstrap import Shop
from shop_core.domain.tax import percent_text
from shop_core.domain.variants import line_title
from shop_core.services.fulfilments import FulfilmentLineInput, RecordFulfilment
from shop_core.services.invoices import InvoiceFile
from shop_core.services.order_commands import ChangeOrderStatus
from shop_core.services.order_queries import OrderQuery, StaffOrderView
from shop_core.services.order_views import AddressView, FulfillmentView, OrderEventView, OrderView
from shop_core.services.views import Page

app = typer.Typer(help="Orders: list, inspect, move along, fulfil, cancel, invoice.", no_args_is_help=True)

NUMBER = typer.Argument(..., metavar="NUMBER", help="The order number, e.g. ORD-2026-8K4Q2P.")
SINCE = typer.Option(
    None,
    "--since",
    formats=["%Y-%m-%d"],
    metavar="YYYY-MM-DD",
    help="Only orders placed that day (UTC) or later.",
)
LINE = typer.Option(
    ...,
    "--line",
    metavar="ITEM:QTY",
    help="An item (its id, from `shop orders show`) and how many shipped; repeat.",
)
OUT = typer.Option(..., "--out", metavar="FILE.pdf", help="Where to write the PDF.")


@app.command("list")
def list_orders(
    *,
    status: str | None = typer.Option(None, "--status", help="Only orders in this status, e.g. pending."),
    email: str | None = typer.Option(None, "--email", help="Only this customer's orders."),
    since: datetime | None = SINCE,
    voucher: str | None = typer.Option(None, "--voucher", help="Only orders that used this voucher code."),
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """Orders, newest first, with their customers' emails and how many match in all."""
    start = since.replace(tzinfo=UTC) if since is not None else None
    offset, limit = window(page, page_size)

    async def load(shop: Shop) -> Page[StaffOrderView]:
        user_id = (await shop.accounts.find_user(email, OPERATOR)).id if email is not None else None
        query = OrderQuery(status=status, user_id=user_id, since=start, voucher_code=voucher)
        return await shop.orders.list_orders_with_emails(OPERATOR, query, offset=offset, limit=limit)

    found = run(load)
    check_page(page, page_size, found.total)
    if as_json:
        print_page(found.items, page=page, page_size=page_size, total=found.total)
        return
    if found.items:
        table = Table(title="Orders (newest first)")
        for column in ("number", "date", "customer", "status", "payment status", "method", "total"):
            table.add_column(column, justify="right" if column == "total" else "left", overflow="fold")
        for order in found.items:
            table.add_row(
                order.order_number,
                when(order.created_at),
                escape(order.customer_email or f"(deleted user {order.user_id})"),
                order.status,
                order.payment_status,
                order.payment_method,
                f"{order.total_price} {order.currency}",
            )
        console.print(table)
    footer("order", page, page_size, found.total, len(found.items))


@app.command()
def show(number: str = NUMBER, as_json: bool = JSON) -> None:
    """One order: its fields, lines, totals, addresses, fulfilments and audit trail."""

    async def load(shop: Shop) -> tuple[OrderView, list[FulfillmentView]]:
        found = await shop.orders.get_order_by_number(number, OPERATOR)
        return found, await shop.fulfilments.list_of_order(found.id, OPERATOR)

    order, parcels = run(load)
    if as_json:
        print_json(order)
        return
    _say(f"[bold]Order {order.order_number}[/]")
    _say(f"customer id: {order.user_id}")
    _say(f"status: {order.status}")
    _say(f"payment: {order.payment_status} ({order.payment_method})")
    _say(f"fulfilment: {order.fulfillment_status}")
    _say(f"placed: {when(order.created_at)}")
    _say(f"updated: {when(order.updated_at)}")
    if order.paid_at is not None:
        _say(f"paid: {when(order.paid_at)}")
    if order.delivered_at is not None:
        _say(f"delivered: {when(order.delivered_at)}")

    lines = Table(title="Lines")
    for column in ("sku", "name", "qty", "unit price", "line total"):
        lines.add_column(column, justify="right" if column in ("qty", "unit price", "line total") else "left")
    for line in order.items:
        lines.add_row(
            escape(line.sku),
            escape(line_title(line.product_name, line.variant_name)),
            str(line.quantity),
            line.unit_price,
            line.line_total,
        )
    console.print(lines)

    currency = order.currency
    _say(f"subtotal: {order.subtotal} {currency}")
    _say(f"discount: {order.discount_amount} {currency}")
    if order.voucher_code is not None:
        _say(f"voucher: {escape(order.voucher_code)} ({order.voucher_discount} {currency} of the discount)")
    rate = (
        ""
        if order.tax_rate is None
        else f" ({escape(order.tax_name or 'Tax')} at {percent_text(Decimal(order.tax_rate))})"
    )
    included = ", included in the prices" if order.prices_include_tax else ""
    _say(f"tax: {order.tax_amount} {currency}{rate}{included}")
    method = "" if order.shipping_method is None else f" ({escape(order.shipping_method.name)})"
    _say(f"shipping: {order.shipping_cost} {currency}{method}")
    _say(f"[bold]total: {order.total_price} {currency}[/]")
    _say(f"shipping address: {_address(order.shipping_address)}")
    _say(f"billing address: {_address(order.billing_address)}")
    _fulfilments(order, parcels)

    trail = Table(title="Audit trail")
    for column in ("at", "actor", "action", "from → to", "note"):
        trail.add_column(column)
    for event in _events(order):
        trail.add_row(
            when(event.at, seconds=True),
            escape(event.actor),
            escape(event.action),
            _move(event.from_status, event.to_status),
            escape(event.note),
        )
    console.print(trail)


@app.command("set-status")
def set_status(
    number: str = NUMBER,
    status: str = typer.Argument(
        ..., metavar="STATUS", help="The new status, e.g. paid, processing, shipped."
    ),
) -> None:
    """Move an order to STATUS (only the moves an order's life allows; anything else changes nothing)."""

    async def change(shop: Shop) -> tuple[OrderView, OrderView]:
        before = await shop.orders.get_order_by_number(number, OPERATOR)
        return before, await shop.orders.change_order_status(
            before.id, ChangeOrderStatus(status=status), OPERATOR
        )

    _report(*run(change))


@app.command()
def fulfil(
    number: str = NUMBER,
    line: list[str] = LINE,
    carrier: str | None = typer.Option(None, "--carrier", help="Who carries the parcel, e.g. DHL."),
    tracking: str | None = typer.Option(None, "--tracking", help="The parcel's tracking number."),
) -> None:
    """Record a shipped parcel of an order: which items and how many (never more than is left)."""
    wanted = [_item(text) for text in line]

    async def record(shop: Shop) -> tuple[OrderView, FulfillmentView]:
        found = await shop.orders.get_order_by_number(number, OPERATOR)
        cmd = RecordFulfilment(lines=wanted, carrier=carrier, tracking_number=tracking)
        parcel = await shop.fulfilments.record(found.id, cmd, OPERATOR)
        return await shop.orders.get_order_by_number(number, OPERATOR), parcel

    order, parcel = run(record)
    shipped = ", ".join(f"item {x.item_id} x {x.quantity}" for x in parcel.lines)
    _say(
        f"{order.order_number}: fulfilment #{parcel.id} recorded ({escape(shipped)}); "
        f"fulfilment {order.fulfillment_status}, status {order.status}."
    )


def _item(text: str) -> FulfilmentLineInput:
    item, sep, quantity = text.partition(":")
    if not sep or not item.strip().isdigit() or not quantity.strip().lstrip("-").isdigit():
        fail(f"--line {text!r}: write ITEM:QTY, e.g. --line 12:2.")
    try:
        return msgspec.convert({"item_id": int(item), "quantity": int(quantity)}, FulfilmentLineInput)
    except msgspec.ValidationError as exc:
        fail(f"--line {text}: {exc}.")


def _fulfilments(order: OrderView, parcels: list[FulfillmentView]) -> None:
    """What is left to ship of each item (by the id `shop orders fulfil --line` takes), and the parcels."""
    shipped: Counter[int] = Counter()
    for parcel in parcels:
        for x in parcel.lines:
            shipped[x.item_id] += x.quantity
    left = Table(title="To ship")
    for column in ("item", "product", "ordered", "shipped", "left"):
        left.add_column(column, justify="left" if column == "product" else "right")
    for item in order.items:
        done = shipped[item.id]
        name = escape(line_title(item.product_name, item.variant_name))
        left.add_row(str(item.id), name, str(item.quantity), str(done), str(item.quantity - done))
    console.print(left)
    if not parcels:
        _say("fulfilments: none")
        return
    table = Table(title="Fulfilments")
    for column in ("#", "at", "lines", "carrier", "tracking"):
        table.add_column(column)
    for parcel in parcels:
        table.add_row(
            str(parcel.id),
            when(parcel.created_at),
            ", ".join(f"item {x.item_id} x {x.quantity}" for x in parcel.lines),
            escape(parcel.carrier or ""),
            escape(parcel.tracking_number or ""),
        )
    console.print(table)


@app.command()
def cancel(
    number: str = NUMBER,
    note: str = typer.Option("", "--note", help="Why, kept in the audit trail."),
    yes: bool = YES,
) -> None:
    """Cancel an order (staff rules: paid orders too, recorded as refunded); its stock goes back."""
    confirm(f"Cancel order {number.strip().upper()}? A paid order is refunded.", yes=yes)

    async def cancel_it(shop: Shop) -> tuple[OrderView, OrderView]:
        before = await shop.orders.get_order_by_number(number, OPERATOR)
        return before, await shop.orders.cancel_order(before.id, OPERATOR, note)

    _report(*run(cancel_it))


@app.command("expire-unpaid")
def expire_unpaid() -> None:
    """Cancel the orders left unpaid longer than SHOP_ORDER_PAYMENT_TIMEOUT; their stock goes back."""
    settings = load_settings()
    expired = run(lambda shop: shop.orders.expire_unpaid_orders(), settings)
    noun = "order" if expired == 1 else "orders"
    _say(
        f"Cancelled {expired} unpaid {noun} older than {_duration(settings.order_payment_timeout)} "
        "(SHOP_ORDER_PAYMENT_TIMEOUT)."
    )


@app.command()
def invoice(
    number: str = NUMBER,
    out: Path = OUT,
    force: bool = typer.Option(False, "--force", help="Overwrite FILE.pdf if it exists."),
) -> None:
    """Write an order's invoice as a PDF (issued now, with the year's next number, if it has none)."""
    # Checked before the use case runs: a path we cannot write must not issue an invoice number.
    if out.is_dir():
        fail(f"{out} is a directory; give a file name, e.g. {out / 'invoice.pdf'}.")
    if not out.parent.is_dir():
        fail(f"The directory {out.parent} does not exist.")
    if out.exists() and not force:
        fail(f"{out} already exists; add --force to overwrite it.")
    document: InvoiceFile = run(lambda shop: shop.invoices.order_invoice_by_number(number, OPERATOR))
    try:
        out.write_bytes(document.pdf)
    except OSError as exc:
        fail(f"Cannot write {out}: {exc.strerror or exc}.")
    _say(f"Invoice {document.number} for {number.strip().upper()} written to {escape(str(out))}.")


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)


def _move(before: str, after: str) -> str:
    if not before and not after:
        return ""
    return f"{before or '—'} → {after or '—'}"


def _address(address: AddressView) -> str:
    parts = [
        address.full_name,
        address.line1,
        address.line2,
        f"{address.postal_code} {address.city}".strip(),
        address.country,
        f"phone {address.phone}" if address.phone else "",
    ]
    return escape(", ".join(part for part in parts if part))


def _report(before: OrderView, after: OrderView) -> None:
    """The move, and what it did besides (stock returned, refund to make): the trail's new entries."""
    seen = len(_events(before))
    notes = [escape(e.note) for e in _events(after)[seen:] if not e.to_status and e.note]
    extra = "; " + "; ".join(notes) if notes else ""
    _say(f"{after.order_number}: {before.status} → {after.status} (payment {after.payment_status}){extra}.")


def _events(order: OrderView) -> list[OrderEventView]:
    return order.events if isinstance(order.events, list) else []


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"
