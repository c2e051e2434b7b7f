"""`shop stock set|adjust|history`: stock changes by operators, each one a recorded movement."""

from __future__ import annotations

from typing import Any

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.paging import JSON, PAGE, PAGE_SIZE, window
from shop_cli.runner import OPERATOR, console, fail, guarded, print_json, run
from shop_core.services.catalog_commands import ChangeStock
from shop_core.services.catalog_views import StockMovementView
from shop_core.services.paging import PAST_THE_END

app = typer.Typer(help="Stock levels and their history.", no_args_is_help=True)

# A negative number is an argument here, not an unknown option: `shop stock adjust SKU -5 …`.
NUMBERS_MAY_BE_NEGATIVE = {"ignore_unknown_options": True}
REASON = typer.Option(..., "--reason", help="Why, e.g. restock, damage, correction, stocktake.")
NOTE = typer.Option("", "--note", help="Free text kept with the movement.")


@app.command("set", context_settings=NUMBERS_MAY_BE_NEGATIVE)
def set_stock(
    sku: str = typer.Argument(..., metavar="SKU", help="The product's sku."),
    quantity: int = typer.Argument(..., metavar="QTY", help="The new stock level (0 or more)."),
    reason: str = REASON,
    note: str = NOTE,
) -> None:
    """Set a product's stock to QTY, recording the difference as a movement."""
    if quantity < 0:
        fail(f"Stock cannot go below zero: QTY is {quantity}; give 0 or more.")
    _change({"sku": sku, "quantity": quantity, "reason": reason, "note": note})


@app.command("adjust", context_settings=NUMBERS_MAY_BE_NEGATIVE)
def adjust_stock(
    sku: str = typer.Argument(..., metavar="SKU", help="The product's sku."),
    delta: int = typer.Argument(..., metavar="DELTA", help="How much to add; negative to remove (-5)."),
    reason: str = REASON,
    note: str = NOTE,
) -> None:
    """Add DELTA to a product's stock (refused if it would go below zero)."""
    _change({"sku": sku, "delta": delta, "reason": reason, "note": note})


class HistoryPage(msgspec.Struct):
    """`stock history --json`: movements are counted only as far as the page asked for."""

    page: int
    page_size: int
    next_page: int | None
    results: list[StockMovementView]


@app.command()
def history(
    sku: str = typer.Argument(..., metavar="SKU", help="The product's sku."),
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """A product's stock movements, newest first."""
    offset, limit = window(page, page_size)
    found = run(lambda shop: shop.stock.stock_history(sku, OPERATOR, limit=offset + limit + 1))
    movements = found[offset : offset + limit]
    if page > 1 and not movements:
        fail(PAST_THE_END)
    next_page = page + 1 if len(found) > offset + limit else None
    if as_json:
        print_json(HistoryPage(page, page_size, next_page, movements))
        return
    if not movements:
        console.print(f"No stock movements for {escape(sku)}.", highlight=False, soft_wrap=True)
        return
    table = Table(title=f"Stock history of {escape(sku)} (newest first)")
    for column in ("when", "delta", "balance", "reason", "actor", "note"):
        table.add_column(column, justify="right" if column in ("delta", "balance") else "left")
    for m in movements:
        table.add_row(
            m.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{m.delta:+d}",
            str(m.balance_after),
            escape(m.reason),
            escape(m.actor),
            escape(m.note),
        )
    console.print(table)
    more = f"; more on page {next_page}" if next_page else ""
    noun = "movement" if len(movements) == 1 else "movements"
    console.print(f"page {page}: {len(movements)} {noun}{more}", highlight=False, soft_wrap=True)


def _change(fields: dict[str, Any]) -> None:
    cmd = guarded(lambda: msgspec.convert(fields, ChangeStock))
    movement: StockMovementView = run(lambda shop: shop.stock.change_stock(cmd, OPERATOR))
    before = movement.balance_after - movement.delta
    console.print(
        f"{escape(cmd.sku)}: stock {before} → {movement.balance_after} ({movement.delta:+d}), "
        f"reason {escape(movement.reason)}, by {movement.actor}.",
        highlight=False,
        soft_wrap=True,
    )
