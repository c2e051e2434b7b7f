"""Bulk catalog import and export: products with their category path, upserted by sku.

A bad row is reported by its line number and reason and never stops or corrupts the rest.
Rows are checked against what is already stored (preloaded once), then written in batches,
one transaction per batch.

CSV injection: a spreadsheet runs a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage
return as a formula. The export prefixes such a cell with a single quote (as OWASP advises), and
also a cell that begins with a quote itself or with or ends in whitespace, so that the import,
which takes a cell beginning with a quote as written after that quote, reads back exactly what
was exported. Any other cell is read trimmed, as a person typing a file expects.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from shop_core.domain.actors import Actor
from shop_core.domain.catalog import (
    Category,
    Product,
    ProductSlugTaken,
    check_product,
    discount_percentage,
    numbered_slugs,
    product_slug_base,
)
from shop_core.domain.errors import DomainError, InvalidInput
from shop_core.domain.money import exponent_of, format_minor, minor_units
from shop_core.domain.stock import StockReason, movement_of
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.services.cache_aside import CacheAside
from shop_core.services.catalog_commands import CreateProduct
from shop_core.services.csv_records import read_header

COLUMNS = (
    "sku",
    "name",
    "slug",
    "category",
    "price",
    "cost_price",
    "discount_percentage",
    "stock_quantity",
    "image_url",
    "is_active",
    "description",
)
REQUIRED = ("sku", "name", "price")
BATCH = 1000
PATH_SEPARATOR = " > "
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def escape_cell(value: str) -> str:
    """A cell as the export writes it: a spreadsheet never reads it as a formula, and
    `unescape_cell` gives `value` back exactly."""
    if value.startswith((*FORMULA_STARTS, QUOTE)) or value != value.strip():
        return QUOTE + value
    return value


def unescape_cell(cell: str) -> str:
    """A cell as the import reads it: after a leading quote exactly as written, else trimmed."""
    text = cell.lstrip()
    return text[1:] if text.startswith(QUOTE) else text.strip()


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    skipped: int = 0  # already there and left alone (`only_new`)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.skipped + len(self.rejected)


def read_csv(data: bytes) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(line number, row) for every data row of a UTF-8 CSV; a string instead of a row says why
    that line cannot be read. Raises InvalidInput when the header itself is unusable."""
    header, records = read_header(data)
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if missing or unknown or repeated:
        problems = [f"missing columns: {', '.join(missing)}"] if missing else []
        problems += [f"unknown columns: {', '.join(unknown)}"] if unknown else []
        problems += [f"repeated columns: {', '.join(repeated)}"] if repeated else []
        raise InvalidInput.field("file", "Bad header (" + "; ".join(problems) + ").")
    for line, cells in records:
        if isinstance(cells, str):
            yield line, cells
        elif len(cells) != len(header):
            yield line, f"expected {len(header)} columns, found {len(cells)}"
        else:
            yield line, dict(zip(header, (unescape_cell(c) for c in cells), strict=True))


class _Catalog:
    """What is stored, loaded once: categories by path and product slugs."""

    def __init__(self, categories: list[Category], slugs: set[str]) -> None:
        by_id = {c.id: c for c in categories}
        self.by_path: dict[str, int] = {}
        self.path_of: dict[int, str] = {}
        for c in categories:
            names: list[str] = []
            node: Category | None = c
            while node is not None and len(names) <= len(categories):
                names.append(node.name)
                node = by_id.get(node.parent_id) if node.parent_id is not None else None
            assert c.id is not None
            path = PATH_SEPARATOR.join(reversed(names))
            self.by_path[path.lower()] = c.id
            self.path_of[c.id] = path
        self.slugs = slugs


def category_paths(categories: list[Category]) -> dict[int, str]:
    """Each category's path from its root ("Home > Kitchen"), as import and export write it."""
    return _Catalog(categories, set()).path_of


def _command(row: dict[str, str], catalog: _Catalog) -> tuple[CreateProduct, int | None]:
    raw: dict[str, Any] = {k: v for k, v in row.items() if v != "" and k != "category"}
    for money_field in ("price", "cost_price", "discount_percentage"):
        if money_field in raw:
            try:
                raw[money_field] = Decimal(raw[money_field])
            except InvalidOperation:
                raise InvalidInput.field(money_field, f"{row[money_field]!r} is not a number") from None
    if "stock_quantity" in raw:
        if not raw["stock_quantity"].lstrip("-").isdigit():
            raise InvalidInput.field("stock_quantity", f"{row['stock_quantity']!r} is not a whole number")
        raw["stock_quantity"] = int(raw["stock_quantity"])
    if "is_active" in raw:
        flag = raw["is_active"].lower()
        if flag not in ("true", "false", "1", "0", "yes", "no"):
            raise InvalidInput.field("is_active", f"{row['is_active']!r} is not true or false")
        raw["is_active"] = flag in ("true", "1", "yes")
    category_id = None
    if path := row.get("category", ""):
        key = PATH_SEPARATOR.join(p.strip() for p in path.split(">")).lower()
        if key not in catalog.by_path:
            raise InvalidInput.field("category", f"unknown category {path!r}")
        category_id = catalog.by_path[key]
    try:
        return msgspec.convert(raw, CreateProduct), category_id
    except msgspec.ValidationError as exc:
        raise _in_our_words(str(exc)) from None


_MISSING = re.compile(r"Object missing required field `(\w+)`")
_AT = re.compile(r"(?P<problem>.*) - at `\$\.(?P<column>\w+)`")
_LENGTH = re.compile(r"Expected `str` of length (?P<op><=|>=) (?P<n>\d+)")
_BOUND = re.compile(r"Expected `\w+` (?P<op><=|>=|<|>) (?P<n>-?\d+)")
_PATTERNS = {
    "sku": "use letters, digits and . _ / - only, starting with a letter or digit",
    "slug": "use lowercase letters and digits, words joined by single hyphens",
    "image_url": "give an http:// or https:// address (or leave the cell empty)",
}
_COMPARE = {"<=": "at most", ">=": "at least", "<": "less than", ">": "more than"}


def _in_our_words(message: str) -> InvalidInput:
    """msgspec's complaint about a row, said the shop's way and naming the column."""
    if missing := _MISSING.fullmatch(message):
        column = missing[1]
        return InvalidInput.field(column, f"the {column} column is empty, and every product needs one")
    at = _AT.fullmatch(message)
    if at is None:
        return InvalidInput.field("row", message)
    column, problem = at["column"], at["problem"]
    if length := _LENGTH.fullmatch(problem):
        said = f"must have {_COMPARE[length['op']]} {length['n']} characters"
    elif bound := _BOUND.fullmatch(problem):
        said = f"must be {_COMPARE[bound['op']]} {bound['n']}"
    elif "matching regex" in problem:
        said = _PATTERNS.get(column, "contains characters that are not allowed")
    else:
        said = problem
    return InvalidInput.field(column, f"the {column} column: {said}")


async def import_products(
    rows: Iterable[tuple[int, dict[str, str] | str]],
    actor: Actor,
    *,
    uow: UnitOfWorkFactory,
    cache: CacheAside,
    clock: Clock,
    currency: str,
    progress: Callable[[int], None] = lambda _: None,
    only_new: bool = False,
) -> ImportReport:
    """Upsert products by sku; every rejected row is listed with its line and reason.

    With `only_new`, a row whose sku is already stored changes nothing and is counted as skipped.
    """
    report = ImportReport()
    async with uow() as unit:
        catalog = _Catalog(await unit.categories.all(), await unit.products.slugs_in_use())
    seen: dict[str, int] = {}
    batch: list[tuple[int, CreateProduct, int | None, frozenset[str]]] = []
    read = 0
    for line, row in rows:
        read += 1
        if isinstance(row, str):
            report.rejected.append((line, row))
        else:
            try:
                cmd, category_id = _command(row, catalog)
                if (first := seen.get(cmd.sku)) is not None:
                    raise InvalidInput.field("sku", f"sku {cmd.sku!r} already appears on line {first}")
                seen[cmd.sku] = line
                batch.append((line, cmd, category_id, frozenset(row)))
            except DomainError as exc:
                report.rejected.append((line, _reason(exc)))
        if len(batch) >= BATCH:
            await _write(
                batch,
                actor,
                unit=uow(),
                catalog=catalog,
                report=report,
                clock=clock,
                currency=currency,
                only_new=only_new,
            )
            progress(read)
            batch, read = [], 0
    if batch:
        await _write(
            batch,
            actor,
            unit=uow(),
            catalog=catalog,
            report=report,
            clock=clock,
            currency=currency,
            only_new=only_new,
        )
    progress(read)
    await cache.invalidate()
    return report


def _reason(exc: DomainError) -> str:
    if isinstance(exc, InvalidInput) and exc.errors:
        return "; ".join(f"{f}: {' '.join(m)}" for f, m in exc.errors.items())
    return exc.detail


async def _write(
    batch: list[tuple[int, CreateProduct, int | None, frozenset[str]]],
    actor: Actor,
    *,
    unit: UnitOfWork,
    catalog: _Catalog,
    report: ImportReport,
    clock: Clock,
    currency: str,
    only_new: bool,
) -> None:
    now = clock.now()
    counts = {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0}
    rejected: list[tuple[int, str]] = []
    async with unit:
        existing = await unit.products.by_skus([cmd.sku for _, cmd, _, _ in batch])
        new: list[tuple[Product, int]] = []
        movements: list[tuple[Product, int]] = []
        for line, cmd, category_id, columns in batch:
            current = existing.get(cmd.sku)
            if current is not None and only_new:
                counts["skipped"] += 1
                continue
            product = current or Product(
                name="", slug="", sku=cmd.sku, price=0, created_at=now, updated_at=now
            )
            before = product.stock_quantity if current else 0
            snapshot = _snapshot(product) if current else None
            try:
                _fill(product, cmd, category_id, catalog, currency, columns=columns if current else None)
            except DomainError as exc:
                rejected.append((line, _reason(exc)))
                continue
            if current is None:
                new.append((product, product.stock_quantity))
                counts["created"] += 1
            elif _snapshot(product) == snapshot:
                counts["unchanged"] += 1
            else:
                product.updated_at = now
                counts["updated"] += 1
                if product.stock_quantity != before:
                    movements.append((product, product.stock_quantity - before))
        await unit.products.add_many([p for p, _ in new])
        await unit.stock.add_many(
            [movement_of(p, q, StockReason.IMPORT, actor.label, now) for p, q in new if q]
            + [movement_of(p, d, StockReason.IMPORT, actor.label, now) for p, d in movements]
        )
        await unit.commit()
    report.created += counts["created"]
    report.updated += counts["updated"]
    report.unchanged += counts["unchanged"]
    report.skipped += counts["skipped"]
    report.rejected.extend(rejected)


def _snapshot(product: Product) -> tuple[Any, ...]:
    return (
        product.name,
        product.slug,
        product.description,
        product.category_id,
        product.price,
        product.cost_price,
        product.discount_percentage,
        product.stock_quantity,
        product.image_url,
        product.is_active,
    )


def _fill(
    product: Product,
    cmd: CreateProduct,
    category_id: int | None,
    catalog: _Catalog,
    currency: str,
    *,
    columns: frozenset[str] | None,
) -> None:
    """Check the row against the product first, then change it: a rejected row changes nothing.

    For an existing product only the file's `columns` change; a column the file lacks keeps its
    stored value (a file of sku,price updates prices and nothing else).
    """
    price = minor_units(cmd.price, currency, field="price")
    cost = None if cmd.cost_price is None else minor_units(cmd.cost_price, currency, field="cost_price")
    discount = discount_percentage(cmd.discount_percentage)
    name = cmd.name.strip()
    wanted = cmd.slug or product.slug or product_slug_base(name)
    slug = product.slug
    if wanted != product.slug:
        if cmd.slug and cmd.slug in catalog.slugs:
            raise ProductSlugTaken(cmd.slug)
        slug = next(s for s in numbered_slugs(wanted) if s not in catalog.slugs)
    changes: dict[str, Any] = {
        "name": name,
        "slug": slug,
        "description": cmd.description,
        "category_id": category_id,
        "price": price,
        "cost_price": cost,
        "discount_percentage": discount,
        "stock_quantity": cmd.stock_quantity,
        "image_url": cmd.image_url,
        "is_active": cmd.is_active,
    }
    if columns is not None:
        changes = {f: v for f, v in changes.items() if _COLUMN_OF.get(f, f) in columns}
    check_product(dataclasses.replace(product, **changes))
    if slug != product.slug:
        catalog.slugs.discard(product.slug)
        catalog.slugs.add(slug)
    for field_name, value in changes.items():
        setattr(product, field_name, value)


_COLUMN_OF = {"category_id": "category"}


async def export_rows(
    *, uow: UnitOfWorkFactory, currency: str, batch: int = 2000
) -> AsyncIterator[list[list[str]]]:
    """Batches of CSV rows (COLUMNS order) of every product, by id; the header is COLUMNS.

    Every cell is written through `escape_cell`: safe to open in a spreadsheet, read back exactly."""
    async with uow() as unit:
        catalog = _Catalog(await unit.categories.all(), set())
    offset = 0
    while True:
        async with uow() as unit:
            products = await unit.products.page(offset=offset, limit=batch)
        if not products:
            return
        offset += len(products)
        yield [_row(p, catalog, currency) for p in products]


def _row(p: Product, catalog: _Catalog, currency: str) -> list[str]:
    path = catalog.path_of.get(p.category_id, "") if p.category_id is not None else ""
    exponent = exponent_of(currency)
    cells = [
        p.sku,
        p.name,
        p.slug,
        path,
        format_minor(p.price, exponent),
        "" if p.cost_price is None else format_minor(p.cost_price, exponent),
        str(p.discount_percentage),
        str(p.stock_quantity),
        p.image_url,
        "true" if p.is_active else "false",
        p.description,
    ]
    return [escape_cell(cell) for cell in cells]
