"""`shop carts show|purge-expired`: customers' carts, for operators."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.paging import JSON
from shop_cli.runner import OPERATOR, console, load_settings, print_json, run
from shop_core.bootstrap import Shop
from shop_core.domain.cart import customer_owner
from shop_core.services.cart import CartView
from shop_core.services.views import UserView

app = typer.Typer(help="Customers' carts.", no_args_is_help=True)


@app.command()
def show(
    email: str = typer.Argument(..., metavar="EMAIL", help="The customer's email."), as_json: bool = JSON
) -> None:
    """A customer's cart, every line (a product's variant) priced from the catalog now."""

    async def load(shop: Shop) -> tuple[UserView, CartView, str]:
        user = await shop.accounts.find_user(email, OPERATOR)
        return user, await shop.cart.view_cart(customer_owner(user.id)), shop.settings.currency

    user, cart, currency = run(load)
    if as_json:
        print_json(cart)
        return
    if not cart.items:
        console.print(f"The cart of {escape(user.email)} is empty.", highlight=False, soft_wrap=True)
        return
    table = Table(title=f"Cart of {escape(user.email)}")
    right = {"product id", "variant id", "unit price", "quantity", "line total"}
    columns = ("product id", "variant id", "sku", "name", "variant", "unit price", "quantity", "line total")
    for column in (*columns, "in stock"):
        table.add_column(column, justify="right" if column in right else "left")
    for line in cart.items:
        table.add_row(
            str(line.product_id),
            str(line.variant_id),
            escape(line.sku),
            escape(line.name),
            escape(line.variant_name),
            line.unit_price,
            str(line.quantity),
            line.line_total,
            "yes" if line.in_stock else "[red]no[/]",
        )
    console.print(table)
    items = f"{cart.item_count} item{'' if cart.item_count == 1 else 's'}"
    console.print(
        f"Subtotal: {cart.subtotal} {currency} ({items}; lines out of stock do not count)",
        highlight=False,
        soft_wrap=True,
    )


@app.command("purge-expired")
def purge_expired() -> None:
    """Remove the carts untouched for longer than SHOP_CART_TTL_DAYS (the database cart store)."""
    settings = load_settings()
    removed = run(lambda shop: shop.cart.purge_expired_carts(), settings)
    note = " (carts live in Redis, which expires them by itself)" if settings.redis_url else ""
    console.print(
        f"Removed {removed} expired cart{'' if removed == 1 else 's'}{note}.", highlight=False, soft_wrap=True
    )
