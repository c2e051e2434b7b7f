"""`shop products variants options|add|list|set-stock|deactivate`: a product's options and variants,
with the same checks and messages as the API (POST/PATCH/DELETE /api/products/{id}/variants/)."""

from __future__ import annotations

from typing import Any

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.paging import JSON
from shop_cli.runner import OPERATOR, console, fail, guarded, load_settings, print_json, run
from shop_core.services.catalog_commands import UpdateProduct
from shop_core.services.catalog_variants import AddVariant, UpdateVariant
from shop_core.services.catalog_views import VariantView

app = typer.Typer(help="A product's options and variants (sizes, colours ...).", no_args_is_help=True)

PRODUCT = typer.Argument(..., metavar="PRODUCT_ID", min=1, help="The product's id.")
VARIANT = typer.Argument(..., metavar="VARIANT_ID", min=1, help="The variant's id (see `list`).")
OPTIONS = typer.Argument(..., metavar="NAME=V1,V2...", help='Up to 3, e.g. Size=S,M,L "Color=Red,Black".')
VALUES = typer.Option(
    [], "--option", "-o", metavar="NAME=VALUE", help="One per product option: -o Size=M -o Color=Red."
)


def _pairs(given: list[str], what: str) -> list[tuple[str, str]]:
    pairs = []
    for item in given:
        name, equals, value = item.partition("=")
        if not equals or not name.strip() or not value.strip():
            fail(f"{what} {item!r}: write NAME=VALUE, e.g. {'Size=S,M,L' if what == 'option' else 'Size=M'}.")
        pairs.append((name.strip(), value.strip()))
    return pairs


@app.command("options")
def set_options(
    product_id: int = PRODUCT,
    options: list[str] = OPTIONS,
) -> None:
    """Set what the product's variants differ by (the values of its variants must stay among them)."""
    fields = {"options": [{"name": n, "values": v.split(",")} for n, v in _pairs(options, "option")]}
    cmd = guarded(lambda: msgspec.convert(fields, UpdateProduct))
    product = run(lambda shop: shop.catalog.update_product(product_id, cmd, OPERATOR), load_settings())
    shown = "; ".join(f"{o.name}: {', '.join(o.values)}" for o in product.options) or "none"
    console.print(f"Product {product.id} ({escape(product.name)}) options: {escape(shown)}.", soft_wrap=True)


@app.command("add")
def add(
    product_id: int = PRODUCT,
    *,
    sku: str = typer.Option(..., "--sku", help="The variant's own sku (unique across the catalog)."),
    option: list[str] = VALUES,
    price: str | None = typer.Option(None, "--price", help="Its own price (default: the product's)."),
    stock: int | None = typer.Option(None, "--stock", help="Its opening stock (a recorded movement)."),
    weight: int | None = typer.Option(None, "--weight-grams", help="Its weight in grams."),
) -> None:
    """Add a variant to a product with options."""
    fields: dict[str, Any] = {"sku": sku, "options": dict(_pairs(option, "value"))}
    extra = {"price": price, "stock_quantity": stock, "weight_grams": weight}
    fields |= {k: v for k, v in extra.items() if v is not None}
    cmd = guarded(lambda: msgspec.convert(fields, AddVariant))
    variant = run(lambda shop: shop.catalog.add_variant(product_id, cmd, OPERATOR), load_settings())
    console.print(
        f"Added variant {variant.id} ({escape(variant.sku)}, {escape(variant.name or 'default')}) "
        f"to product {product_id}: {variant.price}, {variant.stock_quantity} in stock.",
        soft_wrap=True,
    )


@app.command("list")
def list_variants(product_id: int = PRODUCT, as_json: bool = JSON) -> None:
    """A product's variants, inactive ones included, as a table (or JSON, as the API shows them)."""
    settings = load_settings()
    variants = run(lambda shop: shop.catalog.list_variants(product_id, OPERATOR), settings)
    if as_json:
        print_json(variants)
        return
    table = Table(title=f"Variants of product {product_id}")
    for column in ("id", "sku", "name", "price", "final price", "stock", "weight (g)", "active"):
        numeric = column in ("id", "price", "final price", "stock", "weight (g)")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=column == "sku")
    for v in variants:
        table.add_row(
            str(v.id),
            escape(v.sku),
            escape(v.name or "(default)"),
            v.price,
            v.final_price,
            str(v.stock_quantity) if v.stock_quantity else "[red]0[/]",
            "" if v.weight_grams is None else str(v.weight_grams),
            "yes" if v.is_active else "[red]no[/]",
        )
    console.print(table)
    console.print(f"Prices in {settings.currency}.", highlight=False, soft_wrap=True)


@app.command("set-stock", context_settings={"ignore_unknown_options": True})  # QTY may be typed as -5
def set_stock(
    product_id: int = PRODUCT,
    variant_id: int = VARIANT,
    quantity: int = typer.Argument(..., metavar="QTY", help="The new stock level (0 or more)."),
) -> None:
    """Set a variant's stock to QTY, recording the difference as a movement (an adjustment)."""
    if quantity < 0:
        fail(f"Stock cannot go below zero: QTY is {quantity}; give 0 or more.")
    cmd = guarded(lambda: msgspec.convert({"stock_quantity": quantity}, UpdateVariant))
    _changed(
        run(lambda shop: shop.catalog.update_variant(product_id, variant_id, cmd, OPERATOR), load_settings())
    )


@app.command("deactivate")
def deactivate(product_id: int = PRODUCT, variant_id: int = VARIANT) -> None:
    """Stop selling a variant: hidden from customers, its stock out of the product's total; orders
    and carts that hold it keep it (carts show it as not in stock)."""
    cmd = UpdateVariant(is_active=False)
    _changed(
        run(lambda shop: shop.catalog.update_variant(product_id, variant_id, cmd, OPERATOR), load_settings())
    )


def _changed(variant: VariantView) -> None:
    state = "active" if variant.is_active else "inactive"
    console.print(
        f"Variant {variant.id} ({escape(variant.sku)}): {variant.stock_quantity} in stock, {state}.",
        soft_wrap=True,
    )
