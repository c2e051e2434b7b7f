"""`shop catalog import|export|seed`: products in bulk, as CSV with their category path."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import IO

import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.files import open_temporary, publish
from shop_cli.progress import progress_bar
from shop_cli.runner import OPERATOR, YES, confirm, console, fail, load_settings, run
from shop_core.bootstrap import Shop
from shop_core.domain.errors import InvalidInput
from shop_core.services.catalog_commands import ProductQuery
from shop_core.services.catalog_import import COLUMNS, ImportReport, products_in, read_csv
from shop_core.services.catalog_seed import SEED_PREFIX
from shop_core.services.shopify_import import read_shopify_file
from shop_core.settings import Settings

app = typer.Typer(help="The catalog in bulk: CSV import and export, generated data.", no_args_is_help=True)

SHOWN_REJECTIONS = 50
STDIO = "-"
Rows = list[tuple[int, dict[str, str] | str]]


class Format(StrEnum):
    NATIVE = "native"
    SHOPIFY = "shopify"


FORMAT = typer.Option(
    Format.NATIVE,
    "--format",
    help="native: the shop's own columns (what `export` writes); shopify: Shopify's product CSV.",
    case_sensitive=False,
)


@app.command("import")
def import_products(
    file: str = typer.Argument(..., metavar="FILE.csv", help="UTF-8 CSV with a header row; - reads stdin."),
    file_format: Format = FORMAT,
) -> None:
    """Upsert products by sku, and their variants, from a CSV file; bad rows are listed by line and skipped.

    Columns are named in the header row, in any order; sku, name and price are required.
    Optional: slug, category (a path such as "Home > Kitchen"), cost_price, discount_percentage.
    Also optional: stock_quantity, image_url, is_active (true or false), description.
    Variants, one per row: option1_name, option1_values (S | M | L) ... on a product's first row;
    variant_sku, option1_value ... option3_value, variant_price, variant_stock,
    variant_weight_grams, variant_active on any of its rows (rows with the same sku, together).
    With --format shopify: Shopify's product export, products by Handle, variants by Variant SKU.
    Exits 0 when the import ran, even with rejected rows; 1 when the file cannot be used.
    """
    settings = load_settings()
    data = _read(file)
    if file_format is Format.SHOPIFY:
        _import_shopify(file, data, settings)
        return
    rows = _parse(file, data)

    async def import_all(shop: Shop) -> ImportReport:
        with progress_bar("Importing", len(rows)) as bar:
            report = await shop.catalog.import_products(rows, OPERATOR, progress=bar)
            bar.finish()
        return report

    report = run(import_all, settings)
    _report(f"Imported {escape(_name(file))}: {len(rows)} {'row' if len(rows) == 1 else 'rows'} read", report)


def _import_shopify(file: str, data: bytes, settings: Settings) -> None:
    try:
        drafts = read_shopify_file(data, settings.currency)
    except InvalidInput as exc:
        fail(f"{_name(file)}: {exc.detail}")
    if not drafts.products and drafts.rejected:
        show_rejections(drafts.rejected)
        fail(f"{_name(file)}: no product could be read from it: every row was rejected (listed above).")

    async def import_all(shop: Shop) -> ImportReport:
        with progress_bar("Importing", len(drafts.products)) as bar:
            report = await shop.catalog.import_shopify(drafts, OPERATOR, progress=bar)
            bar.finish()
        return report

    report = run(import_all, settings)
    rows = f"{drafts.rows} {'row' if drafts.rows == 1 else 'rows'}"
    _report(f"Imported {escape(_name(file))} (Shopify): {rows} read", report)


def _report(read: str, report: ImportReport) -> None:
    console.print(f"{read} — {summary(report)}.", highlight=False, soft_wrap=True)
    if report.rejected:
        show_rejections(report.rejected)
        rejected = "1 row was" if len(report.rejected) == 1 else f"{len(report.rejected)} rows were"
        console.print(
            f"[yellow]The import ran, but {rejected} rejected[/] and left out; every other row was saved. "
            "Fix those lines and import the file again.",
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def export(
    file: str = typer.Argument(..., metavar="FILE.csv", help="Where to write the CSV; - for stdout."),
) -> None:
    """Write every product (with its category path) as CSV: the format `shop catalog import` reads."""
    settings = load_settings()
    if file == STDIO:  # nothing else on standard output: it is the CSV
        run(lambda shop: _export(shop, sys.stdout), settings)
        return
    target = Path(file)
    if target.is_dir():
        fail(f"{file} is a directory; give a file name.")
    handle = open_temporary(target)
    try:
        with handle:
            count = run(lambda shop: _export(shop, handle), settings)
        publish(Path(handle.name), target)
    finally:
        Path(handle.name).unlink(missing_ok=True)
    console.print(f"Exported {count} products to {escape(file)}.", highlight=False, soft_wrap=True)


@app.command()
def seed(
    products: int = typer.Option(1000, "--products", min=0, max=1_000_000, help="How many products."),
    categories: int = typer.Option(20, "--categories", min=1, max=10_000, help="How many categories."),
    sku_prefix: str = typer.Option(
        SEED_PREFIX, "--sku-prefix", help="The generated products' skus: PREFIX-000001 and on."
    ),
    update_existing: bool = typer.Option(
        False,
        "--update-existing",
        help="Overwrite the products already there with those skus (by default they are left alone).",
    ),
    yes: bool = YES,
) -> None:
    """Add generated demo or benchmark products; the same numbers always give the same rows.

    Only adds: a product whose sku is already there is skipped and left as it is (the demo
    catalog's skus are SKU-000001…, the seed's SEED-000001…), unless --update-existing.
    """
    settings = load_settings()
    overwrite = ", overwriting those already there" if update_existing else ""
    confirm(
        f"Add {products} generated products ({escape(sku_prefix)}-000001…) in {categories} categories"
        f"{overwrite}?",
        yes=yes,
    )

    async def seed_all(shop: Shop) -> ImportReport:
        with progress_bar("Seeding", products) as bar:
            report = await shop.catalog.seed_catalog(
                products,
                categories,
                OPERATOR,
                progress=bar,
                sku_prefix=sku_prefix,
                update_existing=update_existing,
            )
            bar.finish()
        return report

    report = run(seed_all, settings)
    console.print(
        f"Seeded {products} products in {categories} categories: {summary(report)}.",
        highlight=False,
        soft_wrap=True,
    )
    if report.rejected:  # the generator makes only valid rows: say so loudly if that ever breaks
        show_rejections(report.rejected)
        count = len(report.rejected)
        fail(f"{count} generated {'row was' if count == 1 else 'rows were'} rejected (listed above).")


@app.command()
def recount() -> None:
    """Count the products again and mend the product list's counters (per category, per block of
    ids), holding product writes off meanwhile. The database keeps them in every product write's
    transaction; run this after a restore or SQL that bypassed its triggers."""
    settings = load_settings()

    async def recount_all(shop: Shop) -> tuple[int, int]:
        with console.status("Counting the products"):
            return await shop.catalog.recount(OPERATOR)

    categories, blocks = run(recount_all, settings)
    if not categories and not blocks:
        console.print("The product counters were right: nothing to mend.")
    else:
        console.print(
            f"Mended the counters of {categories} {'category' if categories == 1 else 'categories'} and "
            f"{blocks} id {'block' if blocks == 1 else 'blocks'}.",
            highlight=False,
        )


def summary(report: ImportReport) -> str:
    skipped = f", {report.skipped} skipped (already there)" if report.skipped else ""
    return (
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.rejected)} rejected{skipped}"
    )


def show_rejections(rejections: Sequence[tuple[int, str]]) -> None:
    rejected = sorted(rejections)
    table = Table(title=f"Rejected rows ({len(rejected)})")
    table.add_column("line", justify="right")
    table.add_column("reason", overflow="fold")
    for line, reason in rejected[:SHOWN_REJECTIONS]:
        table.add_row(str(line), escape(reason))
    console.print(table)
    if len(rejected) > SHOWN_REJECTIONS:
        console.print(
            f"… and {len(rejected) - SHOWN_REJECTIONS} more rejected rows.", highlight=False, soft_wrap=True
        )


def _name(file: str) -> str:
    return "standard input" if file == STDIO else file


def _read(file: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if file == STDIO else Path(file).read_bytes()
    except FileNotFoundError:
        fail(f"No such file: {file}")
    except IsADirectoryError:
        fail(f"{file} is a directory, not a CSV file.")
    except OSError as exc:
        fail(f"Cannot read {file}: {exc.strerror or exc}.")


def _parse(file: str, data: bytes) -> Rows:
    """Every data row, read up front: an unusable file fails here, before the database is touched."""
    try:
        return list(read_csv(data))
    except InvalidInput as exc:
        fail(f"{_name(file)}: {exc.detail}")


async def _export(shop: Shop, out: IO[str]) -> int:
    total = (await shop.catalog.list_products(ProductQuery(), page=1, page_size=1, staff=True)).count
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    written = 0
    with progress_bar("Exporting", total) as bar:
        async for batch in shop.catalog.export_products(OPERATOR):
            writer.writerows(batch)
            products = products_in(batch)  # a product with variants is a row for each
            written += products
            bar(products)
    out.flush()
    return written
