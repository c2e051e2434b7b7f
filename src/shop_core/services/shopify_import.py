"""Shopify's product CSV into the catalog (`shop catalog import --format shopify FILE`).

`shopify_csv` reads the file into drafts; this writes them, in batches, one transaction each:

- A product is found by its handle, which is our slug (lower-cased, made a slug if it is not
  one); a variant by its SKU within the product, else (no SKU, or an SKU the product does not
  have yet) by its option values. A re-import updates instead of duplicating, and a file that did
  not change changes nothing. The import never deletes a product or a variant.
- Title is the name; Body (HTML), stripped of its markup by the reader, the description; the first
  image the image_url (no image: as it is); a product that is not active and published is inactive
  (hidden from customers).
- Variant Price is the variant's price: the lowest is the product's base price, and variants at it
  have no price of their own. When every variant has a Compare At Price above its price and the
  same discount takes each Compare At Price to its price exactly, the Compare At Prices are the
  prices and that discount is the product's discount_percentage: customers pay Shopify's prices
  either way. Otherwise Compare At Price is ignored (discount 0).
- Variant Inventory Qty is the stock (empty: as it is, a new variant 0), recorded as `import`
  movements; Variant Grams the weight (empty: as it is).
- The product's sku: a product without options has its variant's SKU; one with options the handle
  upper-cased (CLASSIC-TEE), unless another product or variant has it (then its first variant's
  SKU, else the handle numbered). A stored product keeps its sku. A new variant without SKU gets
  the product's sku and its values (CLASSIC-TEE-M-RED).
- Type names a category when one has that path or, alone, that name (in any case); else the
  category is left as it is (none is created). Vendor, Tags, Product Category, Cost per item, the
  variant's image and the newer columns are ignored.

A product that cannot be taken (its handle, title or options) is reported on its first line and
left out with its rows; a variant row that cannot be, on its line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from shop_core.domain.actors import Actor
from shop_core.domain.catalog import Category, Product, discount_percentage, slugify
from shop_core.domain.errors import DomainError, InvalidInput
from shop_core.domain.money import exponent_of, minor_units, percent_off
from shop_core.domain.variants import (
    ProductOption,
    Variant,
    VariantMisfit,
    check_fit,
    check_options,
    find_variant,
    options_stored,
    stored_options,
)
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.services.cache_aside import CacheAside
from shop_core.services.catalog_import import BATCH, ImportReport, category_paths, reason_of, write_imported
from shop_core.services.catalog_variants import VariantDraft
from shop_core.services.shopify_csv import ProductDraft, ShopifyReport, ShopifyVariant, read_shopify_csv

MAX_NAME = 200
MAX_TEXT = 10_000
MAX_SKU = 64
MAX_URL = 500
_URL = re.compile(r"https?://[^\s\x00]+")
_SKU_CHARS = re.compile(r"[^A-Za-z0-9._/-]+")
CENT = Decimal("0.01")


def read_shopify_file(data: bytes, currency: str) -> ShopifyReport:
    """The file's products as drafts, with its rejected rows. InvalidInput when it cannot be a
    Shopify product CSV: not UTF-8 text (Shopify always writes UTF-8: a file saved in another
    encoding would have its accents wrong), no header, no Handle or Title column, too many rows."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInput.field(
            "file",
            f"The file is not UTF-8 text (line {line}): export it from Shopify again, or save it as UTF-8.",
        ) from None
    return read_shopify_csv(data, exponent=exponent_of(currency))


class _Categories:
    """Categories by path and by name (lower-cased), for the Type column."""

    def __init__(self, categories: list[Category]) -> None:
        self.by_path = {path.lower(): id_ for id_, path in category_paths(categories).items()}
        named: dict[str, list[int]] = {}
        for c in categories:
            if c.id is not None:
                named.setdefault(c.name.strip().lower(), []).append(c.id)
        self.by_name = {name: ids[0] for name, ids in named.items() if len(ids) == 1}

    def of(self, product_type: str) -> int | None:
        key = " > ".join(p.strip() for p in product_type.split(">")).lower()
        return self.by_path.get(key) or self.by_name.get(key)


async def import_shopify(
    drafts: ShopifyReport,
    actor: Actor,
    *,
    uow: UnitOfWorkFactory,
    cache: CacheAside,
    clock: Clock,
    currency: str,
    progress: Callable[[int], None] = lambda _: None,
) -> ImportReport:
    """Create or update the drafts' products and variants; the report counts products, and lists
    the reader's rejected rows with those refused here."""
    report = ImportReport(rejected=list(drafts.rejected))
    async with uow() as unit:
        categories = _Categories(await unit.categories.all())
    state = _State(
        categories=categories,
        currency=currency,
        file_skus={v.sku: d.handle for d in drafts.products for v in d.variants if v.sku is not None},
    )
    batch: list[ProductDraft] = []
    size = 0
    for draft in drafts.products:
        batch.append(draft)
        size += len(draft.variants)
        if size >= BATCH:
            await _write(batch, actor, unit=uow(), state=state, report=report, now=clock.now())
            progress(len(batch))
            batch, size = [], 0
    if batch:
        await _write(batch, actor, unit=uow(), state=state, report=report, now=clock.now())
        progress(len(batch))
    await cache.invalidate()
    return report


@dataclass
class _State:
    """What the whole import knows: categories, the file's SKUs by handle, the slugs taken so far."""

    categories: _Categories
    currency: str
    file_skus: dict[str, str]  # Variant SKU -> its handle
    slugs: dict[str, str] = field(default_factory=dict)  # slug -> the handle that has it here


@dataclass
class _Plan:
    draft: ProductDraft
    product: Product
    created: bool
    changed: bool
    options: tuple[ProductOption, ...]
    variants: list[Variant]  # stored (a new product's: its default, once added)
    rows: list[tuple[ShopifyVariant, Variant | None, int | None]]  # with the price of its own


class _Refused(Exception):
    """Why a product cannot be taken."""


async def _write(
    batch: list[ProductDraft],
    actor: Actor,
    *,
    unit: UnitOfWork,
    state: _State,
    report: ImportReport,
    now: datetime,
) -> None:
    rejected: list[tuple[int, str]] = []
    async with unit:
        slugs = {draft.handle: slugify(draft.handle) for draft in batch}
        slugs = {handle: slug for handle, slug in slugs.items() if slug}
        existing = await unit.products.by_slugs(sorted(set(slugs.values())))
        for product_id in sorted(p.id for p in existing.values() if p.id is not None):
            await unit.products.get(product_id, for_update=True)  # its variants first, then its row
        stored = await unit.variants.for_products([p.id for p in existing.values() if p.id is not None])
        wanted = {v.sku for d in batch for v in d.variants if v.sku is not None}
        wanted |= {_code(slug) for slug in slugs.values()}
        owners = await unit.variants.sku_owners(sorted(wanted))
        plans: list[_Plan] = []
        claimed: set[str] = set()  # the skus of the products this batch creates
        for draft in batch:
            try:
                if draft.handle not in slugs:
                    raise _Refused(f"its Handle {draft.handle!r} has no letter or digit to make a slug of")
                slug = slugs[draft.handle]
                current = existing.get(slug)
                kept = _kept(draft, current.id if current is not None else None, owners, rejected)
                if current is None:
                    sku = await _product_sku(
                        unit, draft, kept, slug=slug, owners=owners, state=state, claimed=claimed
                    )
                else:
                    sku = current.sku
                variants = stored.get(current.id, []) if current is not None and current.id else []
                plan = _plan(
                    draft, kept, slug=slug, sku=sku, current=current, stored=variants, state=state, now=now
                )
            except (_Refused, DomainError) as exc:
                said = reason_of(exc) if isinstance(exc, DomainError) else str(exc)
                rejected.append((draft.line, f"product {draft.handle!r} left out: {said}"))
                continue
            if plan.created:
                claimed.add(sku)
            plans.append(plan)
        await unit.products.add_many([p.product for p in plans if p.created])
        new_ids = [p.product.id for p in plans if p.created and p.product.id is not None]
        defaults = await unit.variants.for_products(new_ids) if new_ids else {}
        for plan in plans:
            if plan.created:
                assert plan.product.id is not None
                plan.variants = defaults.get(plan.product.id, [])
            elif plan.changed:
                await unit.products.save(plan.product)
            written = await _write_variants(plan, unit, actor=actor, now=now, rejected=rejected)
            if written and not plan.created:
                plan.changed = True
                plan.product.updated_at = now
        await unit.commit()
    report.created += sum(p.created for p in plans)
    report.updated += sum(p.changed for p in plans if not p.created)
    report.unchanged += sum(not p.changed for p in plans if not p.created)
    report.rejected.extend(rejected)


def _kept(
    draft: ProductDraft, mine: int | None, owners: dict[str, int], rejected: list[tuple[int, str]]
) -> list[ShopifyVariant]:
    """The draft's variants but those whose SKU another product has (left out, with why)."""
    kept: list[ShopifyVariant] = []
    for variant in draft.variants:
        owner = owners.get(variant.sku) if variant.sku is not None else None
        if owner is not None and owner != mine:
            rejected.append((variant.line, f"Variant SKU {variant.sku!r} is another product's"))
        else:
            kept.append(variant)
    if not kept:
        raise _Refused("none of its variants can be imported")
    return kept


def _plan(
    draft: ProductDraft,
    kept: list[ShopifyVariant],
    *,
    slug: str,
    sku: str,
    current: Product | None,
    stored: list[Variant],
    state: _State,
    now: datetime,
) -> _Plan:
    """The product as the draft makes it (changed in memory, or new with `sku`) and its variant
    rows; raises, changing nothing, when the product cannot be taken."""
    if (other := state.slugs.get(slug)) is not None and other != draft.handle:
        raise _Refused(f"its Handle gives the slug {slug!r}, as the Handle {other!r} does")
    if len(draft.title) > MAX_NAME:
        raise _Refused(f"its Title has more than {MAX_NAME} characters")
    if len(draft.description) > MAX_TEXT:
        raise _Refused(f"its Body (HTML) has more than {MAX_TEXT} characters of text")
    options = _options(draft, current)
    rows = _match(kept, stored)
    _check_fit(options, stored, rows)
    prices, discount = _pricing(kept, state.currency)
    base = min(prices)
    product = current or Product(name="", slug=slug, sku=sku, price=0, created_at=now, updated_at=now)
    before = _snapshot(product)
    product.name = draft.title
    product.description = draft.description
    product.price = base
    product.discount_percentage = discount
    product.is_active = draft.visible
    if image := next((src for src in draft.images if len(src) <= MAX_URL and _URL.fullmatch(src)), None):
        product.image_url = image
    if (category_id := state.categories.of(draft.product_type)) is not None:
        product.category_id = category_id
    if options != stored_options(product.options):
        product.options = options_stored(options)
    state.slugs[slug] = draft.handle
    changed = current is not None and _snapshot(product) != before
    if changed:
        product.updated_at = now
    with_prices = [
        (variant, found, None if price == base else price)
        for (variant, found), price in zip(rows, prices, strict=True)
    ]
    return _Plan(draft, product, current is None, changed, options, stored, with_prices)


def _options(draft: ProductDraft, current: Product | None) -> tuple[ProductOption, ...]:
    """The draft's options; a stored product's values that the file does not list stay (after)."""
    before = stored_options(current.options) if current is not None else ()
    wanted: list[tuple[str, list[str]]] = []
    for option in draft.options:
        values = list(option.values)
        old = next((o.values for o in before if o.name.casefold() == option.name.casefold()), ())
        values += [v for v in old if all(v.casefold() != w.casefold() for w in values)]
        wanted.append((option.name, values))
    try:
        return check_options(wanted)
    except InvalidInput as exc:
        raise _Refused(exc.detail) from None


def _match(
    variants: list[ShopifyVariant], stored: list[Variant]
) -> list[tuple[ShopifyVariant, Variant | None]]:
    """Each row with the stored variant it is: by SKU, else by its option values."""
    taken: set[int] = set()
    matched: list[tuple[ShopifyVariant, Variant | None]] = []
    for variant in variants:
        found = find_variant(stored, variant.sku, variant.options, taken=taken)
        if found is not None:
            taken.add(id(found))
        matched.append((variant, found))
    return matched


def _check_fit(
    options: tuple[ProductOption, ...],
    stored: list[Variant],
    rows: list[tuple[ShopifyVariant, Variant | None]],
) -> None:
    """The shop's variants that the file does not mention must fit the options the file gives."""
    mentioned = {id(found) for _, found in rows if found is not None}
    try:
        check_fit(options, ((v, v.options) for v in stored if id(v) not in mentioned))
    except VariantMisfit as exc:
        raise _Refused(f"the shop's variant {exc.sku!r} would not fit its options: {exc.problem}") from None


def _pricing(variants: list[ShopifyVariant], currency: str) -> tuple[list[int], Decimal]:
    """Each variant's price in minor units and the product's discount (see the module's doc)."""
    prices = [minor_units(v.price, currency, field="Variant Price") for v in variants]
    compares = [
        None if v.compare_at_price is None else minor_units(v.compare_at_price, currency, field="Compare At")
        for v in variants
    ]
    pairs = [(p, c) for p, c in zip(prices, compares, strict=True) if c is not None and c > p]
    if len(pairs) != len(prices):
        return prices, Decimal("0.00")
    price, compare = pairs[0]
    discount = (Decimal(compare - price) * 100 / compare).quantize(CENT, rounding=ROUND_HALF_UP)
    if not Decimal(0) < discount < Decimal(100) or any(percent_off(c, discount) != p for p, c in pairs):
        return prices, Decimal("0.00")
    return [c for _, c in pairs], discount_percentage(discount)


def _code(slug: str) -> str:
    """The product code a handle gives: the slug upper-cased, as long as a sku may be."""
    return slug.upper()[:MAX_SKU].rstrip("-")


async def _product_sku(
    unit: UnitOfWork,
    draft: ProductDraft,
    kept: list[ShopifyVariant],
    *,
    slug: str,
    owners: dict[str, int],
    state: _State,
    claimed: set[str],
) -> str:
    """A new product's sku (see the module's doc): one no product, variant or other row has."""
    first = kept[0].sku
    if not draft.options and first is not None:
        return first
    code = _code(slug)
    for candidate in _candidates(code, first):
        if candidate in claimed or state.file_skus.get(candidate, draft.handle) != draft.handle:
            continue
        owner = owners[candidate] if candidate in owners else await unit.variants.sku_owner(candidate)
        if owner is None:
            return candidate
    raise _Refused(f"no product code is free for it ({code} and {code}-2 to -99 are taken)")


def _candidates(code: str, first: str | None) -> Iterator[str]:
    yield code
    if first is not None:
        yield first
    for n in range(2, 100):
        yield f"{code[: MAX_SKU - 3]}-{n}"


async def _write_variants(
    plan: _Plan, unit: UnitOfWork, *, actor: Actor, now: datetime, rejected: list[tuple[int, str]]
) -> bool:
    """Write the plan's variant rows that change something; whether any did."""
    product, existing = plan.product, plan.variants
    written = False
    for variant, found, price in plan.rows:
        current = found
        if current is None and not variant.options:  # a product's one variant: its default
            current = next((v for v in existing if v.is_default), None)
        try:
            sku = variant.sku or (
                current.sku if current is not None else await _new_sku(unit, product, variant)
            )
            draft = VariantDraft(
                sku=sku,
                options=dict(variant.options),
                price=price,
                stock_quantity=variant.stock_quantity,
                weight_grams=variant.weight_grams
                if variant.weight_grams is not None
                else (current.weight_grams if current is not None else None),
                is_active=current.is_active if current is not None else True,
            )
            written |= await write_imported(unit, product, draft, plan.options, current, existing, actor, now)
        except DomainError as exc:
            rejected.append((variant.line, reason_of(exc)))
    return written


async def _new_sku(unit: UnitOfWork, product: Product, variant: ShopifyVariant) -> str:
    """A sku for a new variant the file gives none: the product's and its values, made free."""
    parts = [_SKU_CHARS.sub("-", value).strip("-").upper() for value in variant.options.values()]
    base = "-".join([product.sku, *(p for p in parts if p)])[:MAX_SKU].rstrip("-")
    for candidate in _candidates(base, None):
        if await unit.variants.sku_owner(candidate) is None:
            return candidate
    raise InvalidInput.field("Variant SKU", "the row has no Variant SKU, and no sku could be made for it")


def _snapshot(product: Product) -> tuple[object, ...]:
    return (
        product.name,
        product.description,
        product.price,
        product.discount_percentage,
        product.is_active,
        product.image_url,
        product.category_id,
        product.options,
        product.sku,
    )
