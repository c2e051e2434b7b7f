"""`shop returns list|show|approve|reject|receive|refund|retry-refund`: returns, for operators (staff)."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.paging import JSON, PAGE, PAGE_SIZE, check_page, footer, print_page, window
from shop_cli.runner import OPERATOR, console, print_json, run, when
from shop_core.bootstrap import Shop
from shop_core.services.returns import ReceiveReturn, RejectReturn, ReturnView
from shop_core.services.views import Page

app = typer.Typer(
    help="Returns: list, inspect, approve or reject, receive (restocking or not), refund.",
    no_args_is_help=True,
)

RETURN_ID = typer.Argument(..., metavar="RETURN", help="The return's id (from `shop returns list`).")


@app.command("list")
def list_returns(*, page: int = PAGE, page_size: int = PAGE_SIZE, as_json: bool = JSON) -> None:
    """Every return, newest first, and how many there are in all."""
    offset, limit = window(page, page_size)
    found: Page[ReturnView] = run(lambda shop: shop.returns.list(OPERATOR, offset=offset, limit=limit))
    check_page(page, page_size, found.total)
    if as_json:
        print_page(found.items, page=page, page_size=page_size, total=found.total)
        return
    if found.items:
        table = Table(title="Returns (newest first)")
        for column in ("id", "order", "date", "status", "items", "refund"):
            table.add_column(column, overflow="fold")
        for item in found.items:
            table.add_row(
                str(item.id),
                str(item.order_id),
                when(item.created_at),
                item.status,
                _units(item),
                item.refund_amount or "",
            )
        console.print(table)
    footer("return", page, page_size, found.total, len(found.items))


@app.command()
def show(return_id: int = RETURN_ID, as_json: bool = JSON) -> None:
    """One return: its items, reason, status, and refund."""
    item: ReturnView = run(lambda shop: shop.returns.get(return_id, OPERATOR))
    if as_json:
        print_json(item)
        return
    _report(item)
    _say(f"reason: {escape(item.reason)}")
    if item.note:
        _say(f"note: {escape(item.note)}")
    if item.restock is not None:
        _say(f"restocked: {'yes' if item.restock else 'no'}")
    if item.refund_id is not None:
        _say(f"refund: #{item.refund_id} of {item.refund_amount}")


@app.command()
def approve(return_id: int = RETURN_ID) -> None:
    """Accept a requested return: the customer may send the goods."""
    _report(run(lambda shop: shop.returns.approve(return_id, OPERATOR)))


@app.command()
def reject(
    return_id: int = RETURN_ID,
    note: str = typer.Option("", "--note", help="Why, for the customer (at most 1000 characters)."),
) -> None:
    """Refuse a requested return, with a note."""
    _report(run(lambda shop: shop.returns.reject(return_id, RejectReturn(note=note), OPERATOR)))


@app.command()
def receive(
    return_id: int = RETURN_ID,
    restock: bool = typer.Option(
        ..., "--restock/--no-restock", help="Put the units back into stock (or not: damaged, say)."
    ),
) -> None:
    """Record an approved return's goods as received, back into stock or not."""
    _report(run(lambda shop: shop.returns.receive(return_id, ReceiveReturn(restock=restock), OPERATOR)))


@app.command()
def refund(return_id: int = RETURN_ID) -> None:
    """Refund a received return (its exact share of what was paid) through the order's payment."""
    _report(run(lambda shop: shop.returns.refund(return_id, OPERATOR)))


@app.command("retry-refund")
def retry_refund(return_id: int = RETURN_ID) -> None:
    """Ask the gateway again for a return's refund that was never confirmed (the same refund)."""

    async def retry(shop: Shop) -> ReturnView:
        return await shop.returns.retry_refund(return_id, OPERATOR)

    _report(run(retry))


def _report(item: ReturnView) -> None:
    refund = f"; refund {item.refund_amount}" if item.refund_amount is not None else ""
    _say(f"Return #{item.id} of order {item.order_id}: {item.status} ({escape(_units(item))}){refund}.")


def _units(item: ReturnView) -> str:
    return ", ".join(f"item {x.item_id} x {x.quantity}" for x in item.lines)


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)
