"""Bulk catalog import and export: products with their category path, upserted by sku, and their
variants, one row per variant.

A bad row is reported by its line number and reason and never stops or corrupts the rest.
Rows are checked against what is already stored (preloaded once per batch), then written in
batches, one transaction per batch.

One row per variant. A product is the rows that follow each other with the same `sku` (the
product's own code): its first row carries the product's columns, each of its rows may carry one
variant in the variant columns (`variant_sku`, `option1_value` ... `variant_active`), and the
product's options are declared on its first row (`option1_name`, `option1_values`, ...). The
export writes the product's columns on its first row only: a product's fields are then edited in
one place, a file of many variants stays small, and it is the layout Shopify's files use too. The
import also takes files that repeat the product's columns on every row, as long as they are the
same as the first row's. A file without variant columns (the format before variants) is one row
per product and imports as it always did, but that a product whose stock lives on its option
variants refuses a stock_quantity other than its total (as the API does).

CSV injection: a spreadsheet runs a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage
return as a formula. The export prefixes such a cell with a single quote (as OWASP advises), and
also a cell that begins with a quote itself or with or ends in whitespace, so that the import,
which takes a cell beginning with a quote as written after that quote, reads back exactly what
was exported. Any other cell is read trimmed, as a person typing a file expects.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
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
from shop_core.domain.errors import Conflict, DomainError, InvalidInput
from shop_core.domain.money import exponent_of, format_minor, minor_units
from shop_core.domain.stock import StockReason, movement_of
from shop_core.domain.variants import (
    MAX_OPTIONS,
    ProductOption,
    Variant,
    VariantMisfit,
    check_fit,
    check_options,
    check_values,
    find_variant,
    options_stored,
    stored_options,
)
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.services.cache_aside import CacheAside
from shop_core.services.catalog_commands import Amount, CreateProduct, Quantity, Sku
from shop_core.services.catalog_variants import Grams, VariantDraft, write_variant
from shop_core.services.csv_records import read_header
from shop_core.services.stock_movements import record_movements

PRODUCT_COLUMNS = (
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
OPTION_COLUMNS = tuple(f"option{n}_{part}" for n in range(1, MAX_OPTIONS + 1) for part in ("name", "values"))
"""The product's options, on its first row: a name, and its values separated by `|`."""
VALUE_COLUMNS = tuple(f"option{n}_value" for n in range(1, MAX_OPTIONS + 1))
VARIANT_COLUMNS = (
    "variant_sku",
    *VALUE_COLUMNS,
    "variant_price",
    "variant_stock",
    "variant_weight_grams",
    "variant_active",
)
"""One variant of the product, on any of its rows."""
COLUMNS = PRODUCT_COLUMNS + OPTION_COLUMNS + VARIANT_COLUMNS
REQUIRED = ("sku", "name", "price")
BATCH = 1000
PATH_SEPARATOR = " > "
VALUE_SEPARATOR = "|"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def escape_cell(value: str) -> str:
    """A cell as the export writes it: a spreadsheet never reads it as a formula, and
    `unescape_cell` gives `value` back exactly."""
    if value and (value.startswith((*FORMULA_STARTS, QUOTE)) or value != value.strip()):
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


def join_values(values: Iterable[str]) -> str:
    """An option's values in one cell, `|` between them; a `|` or `\\` inside a value is written
    after a backslash, so `split_values` gives every value back."""
    return " | ".join(
        v.replace("\\", "\\\\").replace(VALUE_SEPARATOR, "\\" + VALUE_SEPARATOR) for v in values
    )


def split_values(cell: str) -> list[str]:
    """The values of an `optionN_values` cell, trimmed. A backslash before `|` or `\\` takes that
    character as written; any other backslash is kept."""
    values: list[str] = []
    current: list[str] = []
    chars = iter(cell)
    for ch in chars:
        if ch == "\\":
            following = next(chars, "")
            current.append(following if following in ("\\", VALUE_SEPARATOR) else ch + following)
        elif ch == VALUE_SEPARATOR:
            values.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    values.append("".join(current).strip())
    return values


# --- reading the rows ----------------------------------------------------------------------


def _decimal(cell: str, column: str) -> Decimal:
    try:
        return Decimal(cell)
    except InvalidOperation:
        raise InvalidInput.field(column, f"{cell!r} is not a number") from None


def _whole(cell: str, column: str) -> int:
    if not cell.lstrip("-").isdigit():
        raise InvalidInput.field(column, f"{cell!r} is not a whole number")
    return int(cell)


def _flag(cell: str, column: str) -> bool:
    flag = cell.lower()
    if flag not in ("true", "false", "1", "0", "yes", "no"):
        raise InvalidInput.field(column, f"{cell!r} is not true or false")
    return flag in ("true", "1", "yes")


def _command(row: Mapping[str, str], catalog: _Catalog) -> tuple[CreateProduct, int | None]:
    raw: dict[str, Any] = {
        k: v for k, v in row.items() if v != "" and k in PRODUCT_COLUMNS and k != "category"
    }
    for money_field in ("price", "cost_price", "discount_percentage"):
        if money_field in raw:
            raw[money_field] = _decimal(raw[money_field], money_field)
    if "stock_quantity" in raw:
        raw["stock_quantity"] = _whole(raw["stock_quantity"], "stock_quantity")
    if "is_active" in raw:
        raw["is_active"] = _flag(raw["is_active"], "is_active")
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


class _VariantCells(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A row's variant columns, held to the rules the API holds a variant to."""

    variant_sku: Sku | None = None
    variant_price: Amount | None = None
    variant_stock: Quantity | None = None
    variant_weight_grams: Grams | None = None
    variant_active: bool = True


@dataclass(frozen=True)
class _VariantRow:
    """The variant a row carries. `values` are by option position (1 to 3); `columns` are the
    variant columns the file has (a column it lacks keeps a stored variant's value)."""

    line: int
    sku: str | None
    values: dict[int, str]
    price: int | None
    stock: int | None  # None: as it is (a new variant: 0)
    weight_grams: int | None
    is_active: bool
    columns: frozenset[str]


def _variant_row(line: int, row: Mapping[str, str], currency: str) -> _VariantRow | None:
    """The variant on a row, or None when the row's variant cells are all empty."""
    cells = {c: row[c] for c in VARIANT_COLUMNS if row.get(c, "") != ""}
    if not cells:
        return None
    raw: dict[str, Any] = {k: v for k, v in cells.items() if k not in VALUE_COLUMNS}
    if "variant_price" in raw:
        raw["variant_price"] = _decimal(raw["variant_price"], "variant_price")
    for column in ("variant_stock", "variant_weight_grams"):
        if column in raw:
            raw[column] = _whole(raw[column], column)
    if "variant_active" in raw:
        raw["variant_active"] = _flag(raw["variant_active"], "variant_active")
    try:
        checked = msgspec.convert(raw, _VariantCells)
    except msgspec.ValidationError as exc:
        raise _in_our_words(str(exc)) from None
    price = checked.variant_price
    return _VariantRow(
        line=line,
        sku=checked.variant_sku,
        values={n: cells[c] for n, c in enumerate(VALUE_COLUMNS, start=1) if c in cells},
        price=None if price is None else minor_units(price, currency, field="variant_price"),
        stock=checked.variant_stock,
        weight_grams=checked.variant_weight_grams,
        is_active=checked.variant_active,
        columns=frozenset(c for c in VARIANT_COLUMNS if c in row),
    )


@dataclass(frozen=True)
class _OptionCells:
    """The options a product's first row declares: names by position, and the values listed."""

    given: bool  # the file has option name columns: without them a product keeps its options
    names: tuple[str, ...]
    values: dict[int, list[str]]


_NO_OPTIONS = _OptionCells(False, (), {})


def _option_cells(row: Mapping[str, str]) -> _OptionCells:
    names: list[str] = []
    values: dict[int, list[str]] = {}
    for n in range(1, MAX_OPTIONS + 1):
        name, listed = row.get(f"option{n}_name", ""), row.get(f"option{n}_values", "")
        if listed and not name:
            raise InvalidInput.field(
                f"option{n}_values", f"the values are given, but option{n}_name is empty"
            )
        if name:
            if len(names) < n - 1:
                raise InvalidInput.field(
                    f"option{n}_name", f"option{len(names) + 1}_name is empty: name the options in order"
                )
            names.append(name)
            if listed:
                values[n] = split_values(listed)
    return _OptionCells(
        any(f"option{n}_name" in row for n in range(1, MAX_OPTIONS + 1)), tuple(names), values
    )


@dataclass
class _Group:
    """A product's rows in the file: its first row, the variants its rows carry, and how many rows
    it has (rejected ones too). `cmd` is None when its first row was rejected."""

    line: int
    sku: str
    row: Mapping[str, str]
    groupable: bool  # the file has variant columns: a product may have more rows
    cmd: CreateProduct | None = None
    category_id: int | None = None
    options: _OptionCells = field(default_factory=lambda: _NO_OPTIONS)
    variants: list[_VariantRow] = field(default_factory=list)
    more_lines: list[int] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return 1 + len(self.more_lines)

    def continues(self, row: Mapping[str, str]) -> bool:
        return self.groupable and bool(self.sku) and row.get("sku", "") == self.sku


class _Reading:
    """The rows read so far: the product whose rows may go on, and the skus already seen."""

    def __init__(self, catalog: _Catalog, currency: str, report: ImportReport) -> None:
        self.catalog = catalog
        self.currency = currency
        self.report = report
        self.open: _Group | None = None
        self.skus: dict[str, int] = {}  # a product's sku -> the line of its first row
        self.variant_skus: dict[str, int] = {}

    @property
    def pending(self) -> int:
        """The rows of the product still open (not ready to write)."""
        return self.open.rows if self.open is not None else 0

    def reject(self, line: int, reason: str) -> None:
        self.report.rejected.append((line, reason))

    def take(self, line: int, row: Mapping[str, str]) -> _Group | None:
        """Read one row; the product it closes, ready to write (products whose first row was
        rejected are never ready)."""
        group = self.open
        if group is not None and group.continues(row):
            group.more_lines.append(line)
            if group.cmd is None:
                self.reject(line, f"the first row of sku {group.sku!r} (line {group.line}) was rejected")
                return None
            try:
                self._more(group, line, row)
            except DomainError as exc:
                self.reject(line, reason_of(exc))
            return None
        new = self._first(line, row)
        if not new.groupable:  # one row per product: it is complete at once
            return new if new.cmd is not None else None
        self.open = new
        return group if group is not None and group.cmd is not None else None

    def finish(self) -> _Group | None:
        group, self.open = self.open, None
        return group if group is not None and group.cmd is not None else None

    def _first(self, line: int, row: Mapping[str, str]) -> _Group:
        group = _Group(line, row.get("sku", ""), row, any(c in row for c in VARIANT_COLUMNS))
        try:
            if group.groupable and (first := self.skus.get(group.sku)) is not None:
                apart = f"sku {group.sku!r} already appears on line {first}"
                raise InvalidInput.field("sku", f"{apart}; a product's rows must follow each other")
            cmd, category_id = _command(row, self.catalog)
            if (first := self.skus.get(cmd.sku)) is not None:
                raise InvalidInput.field("sku", f"sku {cmd.sku!r} already appears on line {first}")
            if (first := self.variant_skus.get(cmd.sku)) is not None:
                raise InvalidInput.field("sku", f"sku {cmd.sku!r} is the variant_sku on line {first}")
            options = _option_cells(row) if any(c in row for c in OPTION_COLUMNS) else _NO_OPTIONS
            variant = _variant_row(line, row, self.currency) if group.groupable else None
            if variant is not None:
                self._note_sku(variant, cmd.sku)
        except DomainError as exc:
            self.reject(line, reason_of(exc))
            return group
        self.skus[cmd.sku] = line
        group.cmd, group.category_id, group.options = cmd, category_id, options
        if variant is not None:
            group.variants.append(variant)
        return group

    def _more(self, group: _Group, line: int, row: Mapping[str, str]) -> None:
        """A further row of the product: its product columns empty, or as on the first row."""
        for column in (*PRODUCT_COLUMNS[1:], *OPTION_COLUMNS):
            if row.get(column, "") not in ("", group.row.get(column, "")):
                raise InvalidInput.field(
                    column,
                    f"differs from the product's first row (line {group.line}): give a product's "
                    "columns on its first row only, or the same on each of its rows",
                )
        variant = _variant_row(line, row, self.currency)
        if variant is None:
            raise InvalidInput.field(
                "sku", f"sku {group.sku!r} already appears on line {group.line}, and this row has no variant"
            )
        self._note_sku(variant, group.sku)
        group.variants.append(variant)

    def _note_sku(self, variant: _VariantRow, product_sku: str) -> None:
        """A variant_sku names one variant in the file, and no other product (a product's own sku
        may be one of its variants')."""
        if variant.sku is None:
            return
        if (first := self.variant_skus.get(variant.sku)) is not None:
            raise InvalidInput.field("variant_sku", f"{variant.sku!r} already appears on line {first}")
        if variant.sku != product_sku and (first := self.skus.get(variant.sku)) is not None:
            raise InvalidInput.field(
                "variant_sku", f"{variant.sku!r} is the sku of the product on line {first}"
            )
        self.variant_skus[variant.sku] = variant.line


_MISSING = re.compile(r"Object missing required field `(\w+)`")
_AT = re.compile(r"(?P<problem>.*) - at `\$\.(?P<column>\w+)`")
_LENGTH = re.compile(r"Expected `str` of length (?P<op><=|>=) (?P<n>\d+)")
_BOUND = re.compile(r"Expected `\w+` (?P<op><=|>=|<|>) (?P<n>-?\d+)")
_PATTERNS = {
    "sku": "use letters, digits and . _ / - only, starting with a letter or digit",
    "variant_sku": "use letters, digits and . _ / - only, starting with a letter or digit",
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


# --- writing -------------------------------------------------------------------------------


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
    """Upsert products by sku, and their variants; every rejected row is listed with its line and
    reason. The counts are of products (one updated when it or any of its variants changed).

    With `only_new`, a product whose sku is already stored changes nothing and is counted as skipped.
    """
    report = ImportReport()
    async with uow() as unit:
        catalog = _Catalog(await unit.categories.all(), await unit.products.slugs_in_use())
    reading = _Reading(catalog, currency, report)
    batch: list[_Group] = []
    size = read = 0

    async def write() -> None:
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

    for line, row in rows:
        read += 1
        if isinstance(row, str):
            reading.reject(line, row)
        elif (ready := reading.take(line, row)) is not None:
            batch.append(ready)
            size += ready.rows
        if size >= BATCH:
            await write()
            progress(read - reading.pending)
            read = reading.pending
            batch, size = [], 0
    if (ready := reading.finish()) is not None:
        batch.append(ready)
    if batch:
        await write()
    progress(read)
    await cache.invalidate()
    return report


def reason_of(exc: DomainError) -> str:
    if isinstance(exc, InvalidInput) and exc.errors:
        return "; ".join(f"{f}: {' '.join(m)}" for f, m in exc.errors.items())
    return exc.detail


@dataclass
class _Plan:
    """What a product's rows do: the product (changed in memory, or new), and each variant row
    with the stored variant it changes (None: a new one) and its option values by name."""

    group: _Group
    product: Product
    created: bool
    changed: bool
    variants: list[Variant]
    rows: list[tuple[_VariantRow, Variant | None, dict[str, str]]]
    left_out: list[tuple[int, str]]
    moved: int = 0  # what the legacy stock_quantity added to a stored product's stock


async def _write(
    batch: list[_Group],
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
    rejected: list[tuple[int, str]] = []
    async with unit:
        existing = await unit.products.by_skus([g.sku for g in batch])
        skipped = [g for g in batch if only_new and g.sku in existing]
        todo = [g for g in batch if not (only_new and g.sku in existing)]
        owners, stored = await _stored(unit, todo, existing)
        plans: list[_Plan] = []
        for group in todo:
            current = existing.get(group.sku)
            try:
                if current is None and group.sku in owners:
                    raise Conflict(f"The sku {group.sku!r} is already a variant's sku.")
                variants = stored.get(current.id, []) if current is not None and current.id else []
                plans.append(_plan(group, current, variants, now=now, catalog=catalog, currency=currency))
            except DomainError as exc:
                rejected.append((group.line, reason_of(exc)))
                refused = f"the first row of sku {group.sku!r} (line {group.line}) was rejected"
                rejected.extend((line, refused) for line in group.more_lines)
                continue
            rejected.extend(plans[-1].left_out)
        await _store(plans, unit, actor=actor, now=now, rejected=rejected)
        await unit.commit()
    report.created += sum(p.created for p in plans)
    report.updated += sum(p.changed for p in plans if not p.created)
    report.unchanged += sum(not p.changed for p in plans if not p.created)
    report.skipped += len(skipped)
    report.rejected.extend(rejected)


async def _stored(
    unit: UnitOfWork, todo: list[_Group], existing: dict[str, Product]
) -> tuple[dict[str, int], dict[int, list[Variant]]]:
    """What the batch's products need from the database: who has the skus of the new ones, and the
    stored products' variants (those whose variants it writes, locked first)."""
    fresh = [g.sku for g in todo if g.sku not in existing]
    owners = await unit.variants.sku_owners(fresh) if fresh else {}
    for product_id in sorted({p.id for g in todo if g.variants and (p := existing.get(g.sku)) and p.id}):
        await unit.products.get(product_id, for_update=True)  # its variants first, then its row
    # Only a product with options can have variants other than its default (whose stock the legacy
    # fields keep): a catalog without options loads none.
    ids = [p.id for g in todo if (p := existing.get(g.sku)) and p.id and (p.options or g.variants)]
    return owners, (await unit.variants.for_products(ids) if ids else {})


async def _store(
    plans: list[_Plan], unit: UnitOfWork, *, actor: Actor, now: datetime, rejected: list[tuple[int, str]]
) -> None:
    """Add the new products, record the stock the legacy fields moved, then write the variants."""
    new = [p.product for p in plans if p.created]
    await unit.products.add_many(new)
    await record_movements(
        unit,
        [
            movement_of(p, p.stock_quantity, StockReason.IMPORT, actor.label, now)
            for p in new
            if p.stock_quantity
        ]
        + [movement_of(p.product, p.moved, StockReason.IMPORT, actor.label, now) for p in plans if p.moved],
    )
    for plan in plans:
        if plan.changed and (plan.rows or plan.moved):
            await unit.products.save(plan.product)  # its legacy fields reach its default variant now
    with_rows = [p for p in plans if p.rows]
    made = [p.product.id for p in with_rows if p.created and p.product.id is not None]
    loaded = await unit.variants.for_products(made) if made else {}
    for plan in with_rows:
        if plan.created:
            assert plan.product.id is not None
            plan.variants = loaded.get(plan.product.id, [])
        written = await _write_variants(plan, unit, actor=actor, now=now, rejected=rejected)
        if written and not plan.created:
            plan.changed = True
            plan.product.updated_at = now


def _plan(
    group: _Group,
    current: Product | None,
    stored: list[Variant],
    *,
    now: datetime,
    catalog: _Catalog,
    currency: str,
) -> _Plan:
    """Check a product's rows against what is stored and change the product in memory; raises
    (changing nothing) when its first row cannot be taken. A variant row that cannot be is left
    out, with why."""
    assert group.cmd is not None
    product = current or Product(name="", slug="", sku=group.cmd.sku, price=0, created_at=now, updated_at=now)
    before = stored_options(product.options)
    left_out: list[tuple[int, str]] = []
    if group.options.given or group.variants:
        options = _options(group, before)
        rows = _match(group, options, before, stored, left_out)
        _check_fit(options, stored, rows)
    else:  # a row of the format before variants: the product keeps its options and variants
        options, rows = before, []
    snapshot, stock = _snapshot(product), product.stock_quantity
    on_variants = any(not v.is_default for v in stored) or any(values for _, _, values in rows)
    _fill(
        product,
        group.cmd,
        group.category_id,
        catalog,
        currency,
        columns=frozenset(group.row) if current else None,
        stock_on_variants=on_variants,
        stock_given=group.row.get("stock_quantity", "") != "",
    )
    if options != before:
        product.options = options_stored(options)
    changed = current is not None and _snapshot(product) != snapshot
    if changed:
        product.updated_at = now
    moved = product.stock_quantity - stock if current is not None else 0
    return _Plan(group, product, current is None, changed, stored, rows, left_out, moved)


def _options(group: _Group, before: tuple[ProductOption, ...]) -> tuple[ProductOption, ...]:
    """The product's options after the file: as its first row declares them (without option name
    columns, as stored). An option whose values are not listed has its stored values and then
    those its variant rows give, in the order they come."""
    cells = group.options
    names = list(cells.names) if cells.given else [o.name for o in before]
    wanted: list[tuple[str, list[str]]] = []
    for n, name in enumerate(names, start=1):
        if n in cells.values:
            values = cells.values[n]
        else:
            old = next((o.values for o in before if o.name.casefold() == name.strip().casefold()), ())
            values = list(old)
            for row in group.variants:
                value = row.values.get(n, "").strip()
                if value and all(value.casefold() != v.casefold() for v in values):
                    values.append(value)
        wanted.append((name, values))
    try:
        return check_options(wanted)
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, {_option_column(k): m for k, m in exc.errors.items()}) from None


def _option_column(error_field: str) -> str:
    """check_options's field ("options[1]") as the file's column ("option2_name")."""
    position = re.fullmatch(r"options\[(\d+)\]", error_field)
    return f"option{int(position[1]) + 1}_name" if position else "option1_name"


def _positions(variant: Variant, options: Sequence[ProductOption]) -> dict[int, str]:
    """A stored variant's values by the position of their option."""
    return {n: variant.options[o.name] for n, o in enumerate(options, start=1) if o.name in variant.options}


def _match(
    group: _Group,
    options: tuple[ProductOption, ...],
    before: tuple[ProductOption, ...],
    stored: list[Variant],
    left_out: list[tuple[int, str]],
) -> list[tuple[_VariantRow, Variant | None, dict[str, str]]]:
    """Each variant row with the stored variant it is (by variant_sku, else by its option values;
    None: a new one) and its option values by name (a value not given keeps the stored one)."""
    matched: list[tuple[_VariantRow, Variant | None, dict[str, str]]] = []
    taken: set[int] = set()
    for row in group.variants:
        problem = _row_problem(group, row, options, matched)
        if problem is not None:
            left_out.append((row.line, problem))
            continue
        wanted = {options[n - 1].name: value for n, value in row.values.items()}
        found = find_variant(stored, row.sku, wanted, taken=taken)
        positions = _positions(found, before) if found is not None else {}
        positions.update(row.values)
        values = {options[n - 1].name: v for n, v in sorted(positions.items()) if n <= len(options)}
        if found is not None:
            taken.add(id(found))
        matched.append((row, found, values))
    return matched


def _row_problem(
    group: _Group,
    row: _VariantRow,
    options: tuple[ProductOption, ...],
    matched: list[tuple[_VariantRow, Variant | None, dict[str, str]]],
) -> str | None:
    if extra := [n for n in row.values if n > len(options)]:
        n = extra[0]
        return (
            f"option{n}_value: {row.values[n]!r} is given, but the product has no option {n} (option{n}_name)"
        )
    if options:
        return None
    assert group.cmd is not None
    if matched:
        return "a product without options has one variant: declare its options (option1_name) for more"
    if row.sku is not None and row.sku != group.cmd.sku:
        return (
            "variant_sku: a product without options has one variant, and its sku is the product's "
            "(the sku column)"
        )
    if row.stock is not None:
        return "variant_stock: a product without options keeps its stock in stock_quantity"
    return None


def _check_fit(
    options: tuple[ProductOption, ...],
    stored: list[Variant],
    rows: list[tuple[_VariantRow, Variant | None, dict[str, str]]],
) -> None:
    """Every stored variant must keep values among the options (those the rows change, their new
    ones): the import removes no variant."""
    after = {id(found): values for _, found, values in rows if found is not None}
    try:
        check_fit(options, ((v, after.get(id(v), v.options)) for v in stored))
    except VariantMisfit as exc:
        problem = f"the variant {exc.sku!r} would not fit the options: {exc.problem}"
        raise InvalidInput.field("option1_name", problem) from None


async def _write_variants(
    plan: _Plan,
    unit: UnitOfWork,
    *,
    actor: Actor,
    now: datetime,
    rejected: list[tuple[int, str]],
) -> bool:
    """Write the plan's variant rows (those that change something); whether any was written."""
    product, existing = plan.product, plan.variants
    written = False
    for row, found, values in plan.rows:
        current = found
        if current is None and not values:  # a product's one variant: its default
            current = next((v for v in existing if v.is_default), None)
        try:
            draft = _draft(row, current, values, product)
            options = stored_options(product.options)
            written |= await write_imported(unit, product, draft, options, current, existing, actor, now)
        except DomainError as exc:
            rejected.append((row.line, reason_of(exc)))
    return written


async def write_imported(  # noqa: PLR0917 - the import's state, passed along as it is
    unit: UnitOfWork,
    product: Product,
    draft: VariantDraft,
    options: Sequence[ProductOption],
    current: Variant | None,
    existing: list[Variant],
    actor: Actor,
    now: datetime,
) -> bool:
    """Write one imported variant (both imports' rows) unless the stored one is already as drafted;
    a new one joins `existing`. Whether anything was written; a DomainError is the row's refusal."""
    if current is not None and same_variant(draft, current, options):
        return False
    variant = await write_variant(
        unit,
        product,
        draft,
        current=current,
        existing=existing,
        actor=actor,
        now=now,
        reason=StockReason.IMPORT,
    )
    if all(v is not variant for v in existing):
        existing.append(variant)
    return True


def _draft(
    row: _VariantRow, current: Variant | None, values: dict[str, str], product: Product
) -> VariantDraft:
    sku = row.sku or (current.sku if current is not None else None)
    if sku is None:
        raise InvalidInput.field(
            "variant_sku", "the variant_sku column is empty, and a new variant needs one"
        )
    given = row.columns
    return VariantDraft(
        sku=sku,
        options=values,
        price=row.price if "variant_price" in given else (current.price if current else None),
        stock_quantity=row.stock,
        weight_grams=(
            row.weight_grams
            if "variant_weight_grams" in given
            else (current.weight_grams if current else None)
        ),
        is_active=row.is_active if "variant_active" in given else (current.is_active if current else True),
    )


def same_variant(draft: VariantDraft, current: Variant, options: Sequence[ProductOption]) -> bool:
    """Whether writing `draft` over `current` would change nothing."""
    try:
        values = check_values(options, draft.options)
    except InvalidInput:
        return False
    return (draft.sku, values, draft.price, draft.weight_grams, draft.is_active) == (
        current.sku,
        current.options,
        current.price,
        current.weight_grams,
        current.is_active,
    ) and draft.stock_quantity in (None, current.stock_quantity)


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
        product.options,
    )


def _fill(
    product: Product,
    cmd: CreateProduct,
    category_id: int | None,
    catalog: _Catalog,
    currency: str,
    *,
    columns: frozenset[str] | None,
    stock_on_variants: bool = False,
    stock_given: bool = True,
) -> None:
    """Check the row against the product first, then change it: a rejected row changes nothing.

    For an existing product only the file's `columns` change; a column the file lacks keeps its
    stored value (a file of sku,price updates prices and nothing else). A product whose stock
    lives on its option variants takes no stock_quantity (one equal to its total changes nothing).
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
    if stock_on_variants:
        if stock_given and cmd.stock_quantity != product.stock_quantity:
            raise InvalidInput.field(
                "stock_quantity",
                "this product's stock lives on its variants: give it in variant_stock on their rows "
                "and leave stock_quantity empty",
            )
        changes.pop("stock_quantity", None)
    check_product(dataclasses.replace(product, **changes))
    if slug != product.slug:
        catalog.slugs.discard(product.slug)
        catalog.slugs.add(slug)
    for field_name, value in changes.items():
        setattr(product, field_name, value)


_COLUMN_OF = {"category_id": "category"}


class NewProducts:
    """New products made from rows exactly as the import makes them (`seed_catalog`'s fast path):
    the same checks, slug and prices. `taken` are the slugs the next products must not have."""

    def __init__(self, categories: list[Category], currency: str) -> None:
        self._catalog = _Catalog(categories, set())
        self._currency = currency

    def make(self, row: Mapping[str, str], now: datetime, taken: set[str]) -> Product:
        """The product of a one-row-per-product row; raises DomainError when the import would reject it."""
        cmd, category_id = _command(row, self._catalog)
        product = Product(name="", slug="", sku=cmd.sku, price=0, created_at=now, updated_at=now)
        self._catalog.slugs = taken
        _fill(product, cmd, category_id, self._catalog, self._currency, columns=None)
        return product


# --- export --------------------------------------------------------------------------------


async def export_rows(
    *, uow: UnitOfWorkFactory, currency: str, batch: int = 2000
) -> AsyncIterator[list[list[str]]]:
    """Batches of CSV rows (COLUMNS order) of every product by id, each product's variants by id;
    the header is COLUMNS. `batch` products at a time, their variants loaded in one query.

    Every cell is written through `escape_cell`: safe to open in a spreadsheet, read back exactly."""
    async with uow() as unit:
        catalog = _Catalog(await unit.categories.all(), set())
    exponent = exponent_of(currency)
    offset = 0
    while True:
        async with uow() as unit:
            products = await unit.products.page(offset=offset, limit=batch)
            ids = [p.id for p in products if p.id is not None]
            variants = await unit.variants.for_products(ids) if ids else {}
        if not products:
            return
        offset += len(products)
        yield [row for p in products for row in _rows(p, variants.get(p.id or 0, []), catalog, exponent)]


def products_in(rows: Sequence[Sequence[str]]) -> int:
    """How many products a batch of exported rows holds: a product's further rows have no name."""
    return sum(1 for row in rows if row[1])


def _rows(p: Product, variants: list[Variant], catalog: _Catalog, exponent: int) -> list[list[str]]:
    """A product's rows: its columns and first variant, then a row for each further variant. A
    product without option variants is one row, its variant columns empty unless its variant has
    a price, weight or state of its own."""
    options = stored_options(p.options)
    with_values = [v for v in variants if not v.is_default]
    path = catalog.path_of.get(p.category_id, "") if p.category_id is not None else ""
    product_cells = [
        p.sku,
        p.name,
        p.slug,
        path,
        format_minor(p.price, exponent),
        "" if p.cost_price is None else format_minor(p.cost_price, exponent),
        str(p.discount_percentage),
        "" if with_values else str(p.stock_quantity),
        p.image_url,
        "true" if p.is_active else "false",
        p.description,
    ]
    option_cells: list[str] = []
    for n in range(MAX_OPTIONS):
        option = options[n] if n < len(options) else None
        option_cells += [option.name, join_values(option.values)] if option else ["", ""]
    if not with_values:
        default = variants[0] if variants else None
        own = default is not None and (
            default.price is not None or default.weight_grams is not None or not default.is_active
        )
        cells = _variant_cells(default, options, exponent, stock=False) if own and default else [""] * 8
        return [[escape_cell(c) for c in product_cells + option_cells + cells]]
    rows = [product_cells + option_cells + _variant_cells(with_values[0], options, exponent)]
    blank = [""] * (len(PRODUCT_COLUMNS) - 1 + len(OPTION_COLUMNS))
    rows += [[p.sku, *blank, *_variant_cells(v, options, exponent)] for v in with_values[1:]]
    return [[escape_cell(c) for c in row] for row in rows]


def _variant_cells(
    v: Variant, options: Sequence[ProductOption], exponent: int, *, stock: bool = True
) -> list[str]:
    values = [v.options.get(options[n].name, "") if n < len(options) else "" for n in range(MAX_OPTIONS)]
    return [
        v.sku,
        *values,
        "" if v.price is None else format_minor(v.price, exponent),
        str(v.stock_quantity) if stock else "",
        "" if v.weight_grams is None else str(v.weight_grams),
        "true" if v.is_active else "false",
    ]
