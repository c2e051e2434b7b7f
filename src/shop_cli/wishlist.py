"""`shop wishlist list|popular`: customers' wishlists, for operators (staff)."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.paging import JSON
from shop_cli.runner import OPERATOR, console, print_json, run
from shop_core.bootstrap import Shop
from shop_core.services.wishlist import MAX_POPULAR, PopularProduct
from shop_core.services.wishlist_views import WishlistItemView

app = typer.Typer(
    help="Wishlists: a customer's list, and the most wishlisted products.", no_args_is_help=True
)


@app.command("list")
def list_items(
    user: str = typer.Option(..., "--user", metavar="EMAIL", help="The customer's email."),
    as_json: bool = JSON,
) -> None:
    """A customer's wishlist, with each product's live price and stock."""

    async def load(shop: Shop) -> list[WishlistItemView]:
        found = await shop.accounts.find_user(user, OPERATOR)
        return await shop.wishlist.wishlist_of(found.id, OPERATOR)

    items = run(load)
    if as_json:
        print_json(items)
        return
    if not items:
        console.print(f"Nothing on the wishlist of {escape(user)}.")
        return
    table = Table(title=f"Wishlist of {escape(user)}")
    for column in ("id", "product", "variant", "price", "stock", "available", "email when back", "added"):
        table.add_column(column, justify="right" if column in ("id", "price", "stock") else "left")
    for item in items:
        table.add_row(
            str(item.id),
            f"{escape(item.name)} (#{item.product_id})",
            "" if item.variant is None else escape(item.variant.name or item.variant.sku),
            item.final_price,
            str(item.stock_quantity),
            "yes" if item.is_available else "no",
            "yes" if item.notify else "",
            item.created_at.strftime("%Y-%m-%d"),
        )
    console.print(table)


@app.command()
def popular(
    limit: int = typer.Option(10, "--limit", min=1, max=MAX_POPULAR, help="How many products to show."),
    as_json: bool = JSON,
) -> None:
    """The most wishlisted products, most first: what customers want (and may be waiting for)."""
    found: list[PopularProduct] = run(lambda shop: shop.wishlist.popular(limit, OPERATOR))
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("No product is on any wishlist.")
        return
    table = Table(title="Most wishlisted products")
    for column in ("product", "name", "wishlists"):
        table.add_column(column, justify="left" if column == "name" else "right")
    for entry in found:
        table.add_row(str(entry.product_id), escape(entry.name), str(entry.entries))
    console.print(table)
