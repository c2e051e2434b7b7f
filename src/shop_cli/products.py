"""`shop products list`: the staff view of the catalog, inactive products included; `shop products
variants ...` (shop_cli.variants): a product's options and variants."""

from __future__ import annotations

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from shop_cli import variants
from shop_cli.paging import JSON, PAGE, PAGE_SIZE, footer, print_page
from shop_cli.runner import console, guarded, load_settings, run
from shop_core.services.catalog_commands import ProductQuery
from shop_core.services.catalog_views import StaffProductView

app = typer.Typer(help="Products.", no_args_is_help=True)
app.add_typer(variants.app, name="variants")


@app.command("list")
def list_products(
    *,
    search: str | None = typer.Option(None, "--search", help="Words in the name, description or sku."),
    category: int | None = typer.Option(
        None, "--category", min=1, help="A category id (its subcategories included)."
    ),
    low_stock: int | None = typer.Option(
        None, "--low-stock", min=0, max=2_000_000_000, metavar="N", help="Only those with fewer than N."
    ),
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """List products by id as a table (or JSON, as the API's staff view)."""
    settings = load_settings()
    query = guarded(
        lambda: msgspec.convert(
            {"search": search, "category": category, "low_stock_below": low_stock}, ProductQuery
        )
    )
    found = run(
        lambda shop: shop.catalog.list_products(query, page=page, page_size=page_size, staff=True), settings
    )
    if as_json:
        print_page(msgspec.Raw(found.results), page=page, page_size=page_size, total=found.count)
        return
    products = msgspec.json.decode(found.results, type=list[StaffProductView])
    if not products:
        filtered = search is not None or category is not None or low_stock is not None
        console.print("No products match." if filtered else "No products.")
        return
    first = (page - 1) * page_size + 1
    table = Table(title=f"Products {first}-{first + len(products) - 1} of {found.count}")
    for column in ("id", "sku", "name", "category", "price", "final price", "stock", "active"):
        numeric = column in ("id", "price", "final price", "stock")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=column == "sku")
    for p in products:
        table.add_row(
            str(p.id),
            escape(p.sku),
            escape(p.name),
            escape(p.category_name or ""),
            str(p.price),
            str(p.final_price),
            str(p.stock_quantity) if p.stock_quantity else "[red]0[/]",
            "yes" if p.is_active else "[red]no[/]",
        )
    console.print(table)
    footer("product", page, page_size, found.count, len(products))
    console.print(f"Prices in {settings.currency}.", highlight=False, soft_wrap=True)
