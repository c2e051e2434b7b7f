"""`shop categories list|show|create|update|delete`: the category tree, for operators.

`shop catalog import` files name categories by path ("Home > Kitchen"): create them here first.
"""

from __future__ import annotations

from typing import Any

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.paging import JSON, PAGE, PAGE_SIZE, footer, print_page
from shop_cli.runner import OPERATOR, console, fail, guarded, print_json, run, write_json
from shop_core.bootstrap import Shop
from shop_core.services.catalog_commands import CreateCategory, UpdateCategory
from shop_core.services.catalog_reads import CategoryDetail
from shop_core.services.catalog_views import CategoryView, StaffProductView

app = typer.Typer(
    help="Product categories: the tree that imports and products refer to.", no_args_is_help=True
)

CATEGORY_ID = typer.Argument(..., metavar="ID", min=1, max=2**31 - 1, help="The category id.")
PARENT = typer.Option(None, "--parent", min=1, max=2**31 - 1, metavar="ID", help="The parent category's id.")
SLUG = typer.Option(None, "--slug", help="The URL name (made from the name when left out).")
DESCRIPTION = typer.Option(None, "--description", help="Free text.")


class CategoryWithChildren(CategoryView, kw_only=True):
    children: list[CategoryView]


@app.command("list")
def list_categories(page: int = PAGE, page_size: int = PAGE_SIZE, as_json: bool = JSON) -> None:
    """Categories by id, with their parents."""
    found = run(lambda shop: shop.catalog.list_categories(page=page, page_size=page_size))
    if as_json:
        print_page(msgspec.Raw(found.results), page=page, page_size=page_size, total=found.count)
        return
    categories = msgspec.json.decode(found.results, type=list[CategoryView])
    if not categories:
        console.print("No categories. Add one with `shop categories create --name NAME`.", highlight=False)
        return
    names = {c.id: c.name for c in categories}
    table = Table(title="Categories")
    for column in ("id", "name", "slug", "parent", "description"):
        table.add_column(column, justify="right" if column == "id" else "left", overflow="fold")
    for c in categories:
        parent = "" if c.parent is None else f"{c.parent} {names.get(c.parent, '')}".strip()
        table.add_row(str(c.id), escape(c.name), c.slug, escape(parent), escape(c.description))
    console.print(table)
    footer("category", page, page_size, found.count, len(categories), plural="categories")


@app.command()
def show(
    category_id: int = CATEGORY_ID, page: int = PAGE, page_size: int = PAGE_SIZE, as_json: bool = JSON
) -> None:
    """One category, its subcategories, and a page of its products (its subcategories' too)."""
    detail: CategoryDetail = run(
        lambda shop: shop.catalog.get_category(category_id, page=page, page_size=page_size, staff=True)
    )
    if as_json:  # the API's shape: the category, its children and a page of products
        counts = msgspec.json.encode({"count": detail.products.count, "page": page, "page_size": page_size})
        write_json(
            detail.head + b',"products":' + counts[:-1] + b',"results":' + detail.products.results + b"}}"
        )
        return
    category = msgspec.json.decode(detail.head + b"}", type=CategoryWithChildren)
    _say(f"[bold]Category {category.id}[/]: {escape(category.name)}")
    _say(f"slug: {category.slug}")
    _say(f"parent: {category.parent if category.parent is not None else 'none (a top-level category)'}")
    if category.description:
        _say(f"description: {escape(category.description)}")
    children = ", ".join(f"{c.id} {escape(c.name)}" for c in category.children) or "none"
    _say(f"subcategories: {children}")
    products = msgspec.json.decode(detail.products.results, type=list[StaffProductView])
    if not products:
        _say("products: none")
        return
    table = Table(title="Products (its subcategories' too)")
    for column in ("id", "sku", "name", "price", "stock", "active"):
        table.add_column(column, justify="right" if column in ("id", "price", "stock") else "left")
    for p in products:
        table.add_row(
            str(p.id),
            escape(p.sku),
            escape(p.name),
            p.price,
            str(p.stock_quantity),
            "yes" if p.is_active else "no",
        )
    console.print(table)
    footer("product", page, page_size, detail.products.count, len(products))


@app.command()
def create(
    name: str = typer.Option(..., "--name", help="The category's name."),
    parent: int | None = PARENT,
    slug: str | None = SLUG,
    description: str = typer.Option("", "--description", help="Free text."),
    as_json: bool = JSON,
) -> None:
    """Create a category (under --parent, or at the top)."""
    fields = {"name": name, "parent": parent, "slug": slug, "description": description}
    cmd = guarded(lambda: msgspec.convert(fields, CreateCategory))
    category = run(lambda shop: shop.catalog.create_category(cmd, OPERATOR))
    _done("Created", category, as_json=as_json)


@app.command()
def update(
    category_id: int = CATEGORY_ID,
    *,
    name: str | None = typer.Option(None, "--name", help="A new name."),
    parent: int | None = PARENT,
    top_level: bool = typer.Option(False, "--top-level", help="Move it to the top (no parent)."),
    slug: str | None = SLUG,
    description: str | None = DESCRIPTION,
    as_json: bool = JSON,
) -> None:
    """Change a category: only the options given change."""
    if top_level and parent is not None:
        fail("Give --parent or --top-level, not both.")
    fields: dict[str, Any] = {
        k: v
        for k, v in {"name": name, "parent": parent, "slug": slug, "description": description}.items()
        if v is not None
    }
    if top_level:
        fields["parent"] = None
    if not fields:
        fail("Nothing to change: give --name, --parent, --top-level, --slug or --description.")
    cmd = guarded(lambda: msgspec.convert(fields, UpdateCategory))
    category = run(lambda shop: shop.catalog.update_category(category_id, cmd, OPERATOR))
    _done("Updated", category, as_json=as_json)


@app.command()
def delete(category_id: int = CATEGORY_ID) -> None:
    """Delete a category that has no products and no subcategories."""

    async def remove(shop: Shop) -> None:
        await shop.catalog.delete_category(category_id, OPERATOR)

    run(remove)
    _say(f"Deleted category {category_id}.")


def _done(verb: str, category: CategoryView, *, as_json: bool) -> None:
    if as_json:
        print_json(category)
        return
    parent = f", under {category.parent}" if category.parent is not None else ", at the top"
    _say(f"[green]{verb}[/] category {category.id}: {escape(category.name)} (slug {category.slug}{parent}).")


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)
