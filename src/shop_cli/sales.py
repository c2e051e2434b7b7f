"""`shop sales create|list|end|delete`: timed sales, with the same checks and messages as the API
(/api/sales/)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.paging import JSON, PAGE, PAGE_SIZE, check_page, footer, print_page, window
from shop_cli.runner import OPERATOR, YES, as_options, confirm, console, fail, guarded, run, when
from shop_core.bootstrap import Shop
from shop_core.services.sales import CreateSale, SaleView
from shop_core.services.views import Page

app = typer.Typer(help="Timed sales: a percentage off products and categories.", no_args_is_help=True)

T = TypeVar("T")
SALE = typer.Argument(..., metavar="SALE_ID", min=1, help="The sale's id (see `list`).")
INSTANT = "ISO 8601 with a time zone, e.g. 2026-11-27T00:00Z or 2026-11-27T06:00+06:00"
PRODUCTS = typer.Option([], "--product", metavar="ID", help="A product on sale (repeat it).")
CATEGORIES = typer.Option(
    [], "--category", metavar="ID", help="A category on sale, its subcategories included (repeat it)."
)
OPTION_OF = {  # the API's field names, as this command's options
    "name": "--name",
    "percentage": "--percentage",
    "starts_at": "--starts",
    "ends_at": "--ends",
    "product_ids": "--product",
    "category_ids": "--category",
}


def _instant(option: str, text: str) -> datetime:
    try:
        found = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option} {text!r}: write an instant, {INSTANT}.")
    if found.utcoffset() is None:
        fail(f"{option} {text!r}: give its time zone, {INSTANT}.")
    return found


def _percentage(text: str) -> Decimal:
    try:
        return Decimal(text.strip().rstrip("%"))
    except InvalidOperation:
        fail(f"--percentage {text!r}: write a number, e.g. 20 or 12.5.")


@app.command("create")
def create(
    *,
    name: str = typer.Option(..., "--name", metavar="NAME", help="What customers see, e.g. Black Friday."),
    percentage: str = typer.Option(..., "--percentage", metavar="PCT", help="Percent off: 0.01 to 100."),
    ends: str = typer.Option(..., "--ends", metavar="WHEN", help=f"When it ends: {INSTANT}."),
    starts: str | None = typer.Option(
        None, "--starts", metavar="WHEN", help="When it starts (default: now)."
    ),
    product: list[int] = PRODUCTS,
    category: list[int] = CATEGORIES,
) -> None:
    """Create a sale on products and categories. While it runs, a product sells at the better of its
    own discount and the sale, never both."""
    fields: dict[str, Any] = {
        "name": name,
        "percentage": _percentage(percentage),
        "ends_at": _instant("--ends", ends),
        "product_ids": product,
        "category_ids": category,
    }
    if starts is not None:
        fields["starts_at"] = _instant("--starts", starts)
    cmd = guarded(lambda: msgspec.convert(fields, CreateSale))
    sale = run(as_options(lambda shop: shop.sales.create_sale(cmd, OPERATOR), OPTION_OF))
    console.print(
        f"Created sale {sale.id} ({escape(sale.name)}): {sale.percentage}% off {_targets(sale)}, "
        f"{when(sale.starts_at)} to {when(sale.ends_at)} UTC, {sale.status}.",
        highlight=False,
        soft_wrap=True,
    )


@app.command("list")
def list_sales(page: int = PAGE, page_size: int = PAGE_SIZE, as_json: bool = JSON) -> None:
    """Sales, newest first (running, scheduled and ended), as a table (or JSON, as the API shows them)."""
    offset, limit = window(page, page_size)
    found: Page[SaleView] = run(lambda shop: shop.sales.list_sales(OPERATOR, offset=offset, limit=limit))
    check_page(page, page_size, found.total)
    if as_json:
        print_page(found.items, page=page, page_size=page_size, total=found.total)
        return
    if not found.items:
        console.print("No sales.")
        return
    table = Table(title="Sales (newest first; times in UTC)")
    for column in ("id", "name", "off", "starts", "ends", "status", "products", "categories"):
        table.add_column(column, justify="right" if column in ("id", "off") else "left", overflow="fold")
    colour = {"running": "green", "scheduled": "yellow", "ended": "dim"}
    for sale in found.items:
        table.add_row(
            str(sale.id),
            escape(sale.name),
            f"{sale.percentage}%",
            when(sale.starts_at),
            when(sale.ends_at),
            f"[{colour[sale.status]}]{sale.status}[/]",
            ", ".join(map(str, sale.product_ids)),
            ", ".join(map(str, sale.category_ids)),
        )
    console.print(table)
    footer("sale", page, page_size, found.total, len(found.items))


@app.command("end")
def end(sale_id: int = SALE) -> None:
    """End a running sale now: prices go back at once. One that has not started cannot end: delete
    it (`shop sales delete`)."""

    async def end_it(shop: Shop) -> tuple[SaleView, SaleView]:
        before = await shop.sales.get_sale(sale_id, OPERATOR)
        return before, await shop.sales.end_sale(sale_id, OPERATOR)

    before, after = run(end_it)
    said = "had already ended" if before.status == "ended" else "ended"
    console.print(
        f"Sale {after.id} ({escape(after.name)}) {said} at {when(after.ends_at, seconds=True)} UTC.",
        highlight=False,
        soft_wrap=True,
    )


@app.command("delete")
def delete(sale_id: int = SALE, yes: bool = YES) -> None:
    """Delete a sale, as if it never was (orders placed during it keep their prices)."""
    confirm(f"Delete sale {sale_id}?", yes=yes)
    run(lambda shop: shop.sales.delete_sale(sale_id, OPERATOR))
    console.print(f"Deleted sale {sale_id}.", highlight=False)


def _targets(sale: SaleView) -> str:
    named = [f"product {i}" for i in sale.product_ids] + [f"category {i}" for i in sale.category_ids]
    return ", ".join(named)
