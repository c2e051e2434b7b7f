"""Shopify's product export / template CSV read into plain drafts, before any database is involved.

Shopify writes one row per variant, grouped by `Handle`; the product's own columns (`Title`,
`Body (HTML)`, `Vendor`, option names, ...) appear on the first row of a handle only. A row that
carries only `Handle` and `Image Src` adds an image. A product without options is written as one
variant whose `Option1 Name` is `Title` and `Option1 Value` is `Default Title`.

A bad row is reported by its line and skipped; the rest is read. A product whose every variant
row was rejected is reported and left out. Unknown columns (and Shopify's newer ones: `Product
Category`, `Option1 Linked To`, market prices, ...) are ignored. Column names are matched
case-insensitively with surrounding whitespace trimmed, and so are `Published` and `Status`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser

from shop_core.domain.errors import InvalidInput
from shop_core.domain.money import MAX_AMOUNT, round_half_up
from shop_core.services.csv_records import read_header

MAX_ROWS = 100_000
MAX_OPTIONS = 3
MAX_GRAMS = Decimal(10) ** 9  # a tonne is 10**6 g: far beyond any parcel, well inside an int
REQUIRED = ("handle", "title")
OPTION_COLUMN = re.compile(r"option(?P<n>\d+) (?P<part>name|value)")
VARIANT_COLUMNS = (
    "variant sku",
    "variant price",
    "variant compare at price",
    "variant inventory qty",
    "variant grams",
)
STATUSES = ("active", "draft", "archived")
DEFAULT_TITLE = "default title"
_DECIMAL = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")
_WHOLE = re.compile(r"-?\d+")


@dataclass(frozen=True)
class OptionDraft:
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class ShopifyVariant:
    """One variant row. `sku` is None when the file gives none; `stock_quantity` None means the
    file leaves stock as it is. `compare_at_price` is Shopify's original (pre-sale) price."""

    line: int
    sku: str | None
    options: Mapping[str, str]
    price: Decimal
    compare_at_price: Decimal | None
    stock_quantity: int | None
    weight_grams: int | None


@dataclass(frozen=True)
class ProductDraft:
    """One product (one handle). `visible` is Status active and Published true."""

    line: int
    handle: str
    title: str
    description: str
    vendor: str
    product_type: str
    tags: tuple[str, ...]
    visible: bool
    options: tuple[OptionDraft, ...]
    variants: tuple[ShopifyVariant, ...]
    images: tuple[str, ...]


@dataclass(frozen=True)
class ShopifyReport:
    products: tuple[ProductDraft, ...]
    rejected: tuple[tuple[int, str], ...]  # (line, reason), by line
    rows: int = 0  # the data rows read (blank lines not counted)


class RowRejected(Exception):
    """Why one row cannot be taken."""


def read_shopify_csv(data: bytes, *, exponent: int, max_rows: int = MAX_ROWS) -> ShopifyReport:
    """Every product of a Shopify product CSV as a draft, with every rejected line and why.

    Args:
        data: the file as uploaded (UTF-8, a byte order mark allowed).
        exponent: the shop currency's minor-unit exponent (`money.exponent_of`): prices finer
            than it are refused.
        max_rows: the most data rows a file may hold.

    Raises:
        InvalidInput: the file is empty, its header is unusable or it has more than `max_rows` rows.
    """
    reading = _Reading(exponent)
    rejected: list[tuple[int, str]] = []
    rows = 0
    for line, row in _records(data, max_rows):
        rows += 1
        try:
            if isinstance(row, str):
                raise RowRejected(row)
            reading.take(line, row)
        except RowRejected as exc:
            rejected.append((line, str(exc)))
    drafts = []
    for builder in reading.products.values():
        if builder.variants:
            drafts.append(builder.draft())
        else:
            rejected.append((builder.line, f"product {builder.handle!r} has no valid variant: not imported"))
    return ShopifyReport(tuple(drafts), tuple(sorted(rejected, key=lambda item: item[0])), rows)


class _Reading:
    """What the rows read so far have established: products by handle, refused handles, SKUs."""

    def __init__(self, exponent: int) -> None:
        self.exponent = exponent
        self.products: dict[str, _ProductBuilder] = {}
        self.refused: dict[str, int] = {}  # handle -> line of its rejected product row
        self.skus: dict[str, int] = {}  # sku -> line of its variant

    def take(self, line: int, row: dict[str, str]) -> None:
        builder = self.product_of(line, row)
        if _has_variant(row):
            variant = _variant(line, row, builder.option_names, self.exponent)
            builder.check_new(variant)
            if variant.sku is not None:
                if (first := self.skus.get(variant.sku)) is not None:
                    raise RowRejected(f"Variant SKU {variant.sku!r} already appears on line {first}")
                self.skus[variant.sku] = line
            builder.add(variant)
        elif not row.get("image src") and line != builder.line:
            raise RowRejected("the row has neither a variant nor an image")
        if row.get("image src"):
            builder.add_image(row["image src"])

    def product_of(self, line: int, row: dict[str, str]) -> _ProductBuilder:
        handle = row.get("handle", "")
        if not handle:
            raise RowRejected("the Handle column is empty")
        if (builder := self.products.get(handle)) is not None:
            return builder
        if handle in self.refused:
            raise RowRejected(
                f"the product row of handle {handle!r} (line {self.refused[handle]}) was rejected"
            )
        if not row.get("title"):
            raise RowRejected(f"handle {handle!r} has no product row (one with a Title) before this row")
        try:
            builder = self.products[handle] = _ProductBuilder.from_row(line, handle, row)
        except RowRejected:
            self.refused[handle] = line
            raise
        return builder


def _has_variant(row: dict[str, str]) -> bool:
    return any(row.get(c) for c in VARIANT_COLUMNS) or any(
        value
        for column, value in row.items()
        if column.endswith(" value") and OPTION_COLUMN.fullmatch(column)
    )


@dataclass
class _ProductBuilder:
    line: int
    handle: str
    title: str
    description: str
    vendor: str
    product_type: str
    tags: tuple[str, ...]
    visible: bool
    option_names: dict[int, str]  # option number (1-3) -> name; empty for a product without options
    variants: list[ShopifyVariant] = field(default_factory=list)
    combinations: set[tuple[str, ...]] = field(default_factory=set)
    images: list[str] = field(default_factory=list)

    @classmethod
    def from_row(cls, line: int, handle: str, row: dict[str, str]) -> _ProductBuilder:
        return cls(
            line=line,
            handle=handle,
            title=row["title"],
            description=html_to_text(row.get("body (html)", "")),
            vendor=row.get("vendor", ""),
            product_type=row.get("type", ""),
            tags=_tags(row.get("tags", "")),
            visible=_visible(row.get("published", ""), row.get("status", "")),
            option_names=_option_names(row),
        )

    def check_new(self, variant: ShopifyVariant) -> None:
        combination = tuple(variant.options[name].casefold() for name in self.option_names.values())
        if combination in self.combinations:
            said = " / ".join(variant.options.values()) or "the default variant"
            raise RowRejected(f"product {self.handle!r} already has a variant {said}")

    def add(self, variant: ShopifyVariant) -> None:
        self.combinations.add(tuple(variant.options[name].casefold() for name in self.option_names.values()))
        self.variants.append(variant)

    def add_image(self, src: str) -> None:
        if src not in self.images:
            self.images.append(src)

    def draft(self) -> ProductDraft:
        options = tuple(
            OptionDraft(name, tuple(dict.fromkeys(v.options[name] for v in self.variants)))
            for name in self.option_names.values()
        )
        return ProductDraft(
            line=self.line,
            handle=self.handle,
            title=self.title,
            description=self.description,
            vendor=self.vendor,
            product_type=self.product_type,
            tags=self.tags,
            visible=self.visible,
            options=options,
            variants=tuple(self.variants),
            images=tuple(self.images),
        )


def _tags(cell: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tag.strip() for tag in cell.split(",") if tag.strip()))


def _visible(published: str, status: str) -> bool:
    published_flag = published.lower() or "true"
    if published_flag not in ("true", "false"):
        raise RowRejected(f"Published {published!r} is neither TRUE nor FALSE")
    status_word = status.lower() or "active"
    if status_word not in STATUSES:
        raise RowRejected(f"Status {status!r} is not one of active, draft, archived")
    return published_flag == "true" and status_word == "active"


def _option_names(row: dict[str, str]) -> dict[int, str]:
    names: dict[int, str] = {}
    for column, value in row.items():
        if value and (match := OPTION_COLUMN.fullmatch(column)) and match["part"] == "name":
            names[int(match["n"])] = value
    if any(n > MAX_OPTIONS for n in names):
        raise RowRejected(f"a product has at most {MAX_OPTIONS} options")
    only_title = [name.lower() for name in names.values()] == ["title"]
    if only_title and row.get("option1 value", "").lower() == DEFAULT_TITLE:
        return {}  # Shopify's way of writing a product without options
    folded = [name.casefold() for name in names.values()]
    if len(set(folded)) != len(folded):
        raise RowRejected("two options of the product have the same name")
    return dict(sorted(names.items()))


def _variant(line: int, row: dict[str, str], option_names: dict[int, str], exponent: int) -> ShopifyVariant:
    return ShopifyVariant(
        line=line,
        sku=row.get("variant sku") or None,
        options=_option_values(row, option_names),
        price=_price(row.get("variant price", ""), exponent),
        compare_at_price=_compare_at_price(row.get("variant compare at price", ""), exponent),
        stock_quantity=_inventory(row.get("variant inventory qty", "")),
        weight_grams=_grams(row.get("variant grams", "")),
    )


def _option_values(row: dict[str, str], option_names: dict[int, str]) -> dict[str, str]:
    given: dict[int, str] = {}
    for column, value in row.items():
        if value and (match := OPTION_COLUMN.fullmatch(column)) and match["part"] == "value":
            given[int(match["n"])] = value
    if not option_names and list(given) == [1] and given[1].lower() == DEFAULT_TITLE:
        return {}
    if any(n > MAX_OPTIONS for n in given):
        raise RowRejected(f"a product has at most {MAX_OPTIONS} options")
    for n, value in given.items():
        if n not in option_names:
            raise RowRejected(
                f"Option{n} Value {value!r} is given, but the product declares no Option{n} Name"
            )
    for n, name in option_names.items():
        if n not in given:
            raise RowRejected(f"Option{n} Value is empty: the variant needs a {name}")
    return {option_names[n]: given[n] for n in sorted(given)}


def _price(cell: str, exponent: int) -> Decimal:
    if not cell:
        raise RowRejected("Variant Price is empty")
    return _money(cell, "Variant Price", exponent)


def _compare_at_price(cell: str, exponent: int) -> Decimal | None:
    return _money(cell, "Variant Compare At Price", exponent) if cell else None


def _money(cell: str, column: str, exponent: int) -> Decimal:
    if not _DECIMAL.fullmatch(cell):
        raise RowRejected(f"{column} {cell!r} is not a number")
    amount = Decimal(cell)
    if amount < 0:
        raise RowRejected(f"{column} {cell!r} is negative")
    if amount > MAX_AMOUNT:
        raise RowRejected(f"{column} {cell!r} is more than {MAX_AMOUNT}")
    if amount.scaleb(exponent) != amount.scaleb(exponent).to_integral_value():
        raise RowRejected(f"{column} {cell!r} has more than {exponent} decimal places")
    return amount


def _inventory(cell: str) -> int | None:
    if not cell:
        return None
    if not _WHOLE.fullmatch(cell) or len(cell) > 12:
        raise RowRejected(f"Variant Inventory Qty {cell!r} is not a whole number")
    if (quantity := int(cell)) < 0:
        raise RowRejected(f"Variant Inventory Qty {cell!r} is negative")
    return quantity


def _grams(cell: str) -> int | None:
    if not cell:
        return None
    if not _DECIMAL.fullmatch(cell):
        raise RowRejected(f"Variant Grams {cell!r} is not a number")
    grams = Decimal(cell)
    if grams < 0:
        raise RowRejected(f"Variant Grams {cell!r} is negative")
    if grams > MAX_GRAMS:
        raise RowRejected(f"Variant Grams {cell!r} is more than {MAX_GRAMS}")
    return round_half_up(grams)


def _records(data: bytes, max_rows: int) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(line, row by lowercased column) for every non-blank data row; a string says why that line
    cannot be read. Cells are trimmed; the header's unknown and repeated columns are dropped."""
    header, records = read_header(data)
    if missing := [c for c in REQUIRED if c not in header]:
        raise InvalidInput.field(
            "file", f"Not a Shopify product CSV (missing columns: {', '.join(missing)})."
        )
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        columns.setdefault(name, index)  # a repeated column: the first one counts, as Shopify reads it
    for rows, (line, cells) in enumerate(records, start=1):
        if rows > max_rows:
            raise InvalidInput.field("file", f"The file has more than {max_rows} rows: split it.")
        yield line, cells if isinstance(cells, str) else _row(cells, columns, len(header))


def _row(cells: list[str], columns: dict[str, int], width: int) -> dict[str, str] | str:
    if any(c.strip() for c in cells[width:]):  # a shorter row only lacks empty cells at its end
        return f"expected {width} columns, found {len(cells)}"
    return {name: cells[i].strip() if i < len(cells) else "" for name, i in columns.items()}


_BREAK_BEFORE = frozenset({"br", "p"})
_BREAK_AFTER = frozenset({"p", "li", "div", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table"})
_HIDDEN = frozenset({"script", "style", "template", "noscript", "head", "title"})
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BREAK_BEFORE:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAK_BEFORE:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BREAK_AFTER:
            self.parts.append("\n\n" if tag == "p" else "\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(_SPACES.sub(" ", data))


def html_to_text(html: str) -> str:
    """Shopify's `Body (HTML)` as plain text: markup, scripts and styles gone, entities unescaped,
    one line per paragraph, list item or `<br>`, at most one blank line in a row."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
