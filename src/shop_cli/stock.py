"""`shop stock set|adjust|history`: stock changes by operators, each one a recorded movement."""

from __future__ import annotations

from typing import Any

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.runner import console, fail, guarded, run
from shop_core.services.catalog_commands import ChangeStock
from shop_core.services.catalog_views import StockMovementView

app = typer.Typer(help="Stock levels and their history.", no_args_is_help=True)

ACTOR = "cli"  # who the movements name
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
    if delta == 0:
        fail("DELTA is 0: that changes nothing.")
    _change({"sku": sku, "delta": delta, "reason": reason, "note": note})


@app.command()
def history(
    sku: str = typer.Argument(..., metavar="SKU", help="The product's sku."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="How many movements to show."),
) -> None:
    """A product's stock movements, newest first."""
    movements = run(lambda shop: shop.stock_history(sku, limit=limit))
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


def _change(fields: dict[str, Any]) -> None:
    if not fields["reason"].strip():
        fail("--reason cannot be blank.")
    cmd = guarded(lambda: msgspec.convert(fields, ChangeStock))
    movement: StockMovementView = run(lambda shop: shop.change_stock(cmd, ACTOR))
    before = movement.balance_after - movement.delta
    console.print(
        f"{escape(cmd.sku)}: stock {before} → {movement.balance_after} ({movement.delta:+d}), "
        f"reason {escape(movement.reason)}, by {movement.actor}.",
        highlight=False,
        soft_wrap=True,
    )
