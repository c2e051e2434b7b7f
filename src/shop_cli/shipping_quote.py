"""`shop shipping quote`: what each shipping method would charge for some products sent to a
country, as checkout would price it (free from a method's threshold, methods that cannot carry the
weight named with their bounds)."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.runner import console, fail, guarded, run
from shop_core.domain.money import exponent_of, format_minor
from shop_core.services.order_commands import OrderItemInput
from shop_core.services.shipping_offers import Quote

MAX_FILE_BYTES = 1_000_000
ITEM = re.compile(r"^(?P<product>\d+)(?:/(?P<variant>\d+))?(?::(?P<quantity>\d+))?$")


COUNTRY = typer.Option(..., "--country", metavar="CC", help="Where to: ISO 3166-1 alpha-2, e.g. BD.")
ORDER_FILE = typer.Option(
    None,
    "--order-file",
    metavar="FILE",
    help='JSON with "items": [{"product_id", "variant_id"?, "quantity"}] (an order\'s body will do).',
)
ITEMS = typer.Option(
    [],
    "--item",
    metavar="ID[:QTY]",
    help="A product (PRODUCT_ID/VARIANT_ID for a variant) and its quantity; repeat it.",
)
ITEM_FORMAT = "PRODUCT_ID[:QUANTITY] or PRODUCT_ID/VARIANT_ID[:QUANTITY], e.g. 12:2"


class _OrderFile(msgspec.Struct, forbid_unknown_fields=False):
    """What an order file holds: the body of POST /api/orders/ (only its `items` are read), or a
    cart's lines."""

    items: Annotated[list[OrderItemInput], msgspec.Meta(min_length=1, max_length=1000)]


def _from_file(path: Path) -> list[OrderItemInput]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            fail(f"{path}: larger than {MAX_FILE_BYTES} bytes; an order file lists items, not a catalog.")
        raw = path.read_bytes()
    except FileNotFoundError:
        fail(f"{path}: no such file.")
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}.")
    try:
        return msgspec.json.decode(raw, type=_OrderFile).items
    except msgspec.DecodeError as exc:
        fail(f'{path}: not an order file ({exc}); write {{"items": [{{"product_id": 1, "quantity": 2}}]}}.')


def _from_options(items: list[str]) -> list[OrderItemInput]:
    found = []
    for text in items:
        matched = ITEM.match(text.strip())
        if matched is None:
            fail(f"--item {text!r}: write {ITEM_FORMAT}.")
        fields = {
            "product_id": int(matched["product"]),
            "quantity": int(matched["quantity"] or 1),
            **({"variant_id": int(matched["variant"])} if matched["variant"] else {}),
        }
        found.append(guarded(partial(msgspec.convert, fields, OrderItemInput)))
    return found


def quote(
    country: str = COUNTRY,
    order_file: Path | None = ORDER_FILE,
    item: list[str] = ITEMS,
) -> None:
    """What each shipping method of the country's zone would charge for these products, at their
    prices now (sales included), as a table."""
    if (order_file is None) == (not item):
        fail("Give the products: --order-file FILE, or --item PRODUCT_ID[:QUANTITY] (repeatable), not both.")
    items = _from_file(order_file) if order_file is not None else _from_options(item)
    found: Quote = run(lambda shop: shop.shipping_offers.quote(items, country))
    _print(found)


def _print(found: Quote) -> None:
    currency = found.currency
    exponent = exponent_of(currency)
    where = f"to {found.country}" + (
        f" (zone {escape(found.zone)})" if found.zone else " (flat shipping: no zones)"
    )
    goods = format_minor(found.goods.amount, exponent)
    table = Table(title=f"Shipping {where}: goods {goods} {currency}, {found.goods.weight_grams} g")
    for column in ("id", "method", "cost", "delivery", "note"):
        table.add_column(column, justify="right" if column in ("id", "cost") else "left", overflow="fold")
    for line in found.lines:
        method = line.method
        table.add_row(
            "" if method is None or method.id is None else str(method.id),
            escape(line.name),
            "-" if line.cost is None else f"{format_minor(line.cost, exponent)} {currency}",
            "" if method is None or method.delivery_days is None else f"{method.delivery_days} day(s)",
            "[yellow]cannot carry it[/]: " + escape(line.why) if line.cost is None else "",
        )
    if not found.lines:
        console.print(f"The zone {escape(found.zone or '')} has no shipping methods yet.", highlight=False)
        return
    console.print(table)
