"""Deterministic demo and benchmark data: the same arguments always give the same rows.

Seeded products carry a SKU prefix of their own (`SEED-000001`; the demo's are `SKU-000001`), and
seeding only adds: a product whose sku is already there is left as it is, unless the caller asks
for `update_existing` (then it becomes the generated row again, as an import would make it).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Iterator

from shop_core.domain.actors import Actor
from shop_core.domain.catalog import Category, Product, slugify
from shop_core.domain.errors import Conflict, DomainError, InvalidInput
from shop_core.domain.stock import StockReason, movement_of
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWorkFactory
from shop_core.services.cache_aside import CacheAside
from shop_core.services.catalog_import import (
    ImportReport,
    NewProducts,
    category_paths,
    import_products,
    reason_of,
)
from shop_core.services.stock_movements import record_movements

ROOTS = ("Electronics", "Home", "Garden", "Books", "Toys", "Sports", "Fashion", "Beauty", "Food", "Office")
KINDS = ("Basics", "Premium", "Outdoor", "Kids", "Travel", "Classic", "Smart", "Eco", "Pro", "Mini")
ADJECTIVES = ("Sturdy", "Bright", "Quiet", "Swift", "Cozy", "Sleek", "Rugged", "Fresh", "Bold", "Handy")
NOUNS = ("Lamp", "Kettle", "Backpack", "Headphones", "Notebook", "Chair", "Bottle", "Jacket", "Drone", "Mug")
_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,49}")
SEED_PREFIX = "SEED"  # `shop catalog seed`
DEMO_PREFIX = "SKU"  # `shop demo` (kept from earlier releases: a demo database seeded then stays as it is)

BATCH = 5000
"""Products written per transaction by the fast path (one COPY per table on PostgreSQL)."""
SEEDER = Actor("seed", is_staff=True)
"""Who the generated products' stock movements name."""


def category_names(count: int) -> list[tuple[str, int | None]]:
    """(name, index of parent) for `count` categories: up to ten roots, then children of earlier ones."""
    rng = random.Random(count)  # noqa: S311 - reproducible data, not secrets
    names: list[tuple[str, int | None]] = []
    for i in range(count):
        if i < min(len(ROOTS), max(1, count // 5)):
            names.append((ROOTS[i], None))
        else:
            parent = rng.randrange(i)
            names.append((f"{names[parent][0].split(' ')[0]} {KINDS[i % len(KINDS)]} {i}", parent))
    return names


def product_rows(
    count: int, paths: list[str], sku_prefix: str = SEED_PREFIX
) -> Iterator[tuple[int, dict[str, str]]]:
    rng = random.Random(count * 7919 + len(paths))  # noqa: S311 - reproducible data
    for i in range(1, count + 1):
        name = f"{ADJECTIVES[rng.randrange(10)]} {NOUNS[rng.randrange(10)]} {i}"
        price = rng.randrange(199, 99_999)
        yield (
            i,
            {
                "sku": f"{sku_prefix}-{i:06d}",
                "name": name,
                "category": paths[rng.randrange(len(paths))] if paths else "",
                "price": f"{price // 100}.{price % 100:02d}",
                "cost_price": f"{price * 6 // 1000}.{price * 6 // 10 % 100:02d}",
                "discount_percentage": str(rng.choice((0, 0, 0, 5, 10, 15, 25))),
                "stock_quantity": str(rng.randrange(0, 500)),
                "description": f"The {name.lower()}: {rng.choice(KINDS).lower()} quality, made to last.",
            },
        )


async def seed_catalog(
    products: int,
    categories: int,
    *,
    uow: UnitOfWorkFactory,
    cache: CacheAside,
    clock: Clock,
    currency: str,
    sku_prefix: str = SEED_PREFIX,
    update_existing: bool = False,
    progress: Callable[[int], None] = lambda _: None,
) -> ImportReport:
    """Create the categories (those missing, by slug) and the products whose sku is not there yet.

    A product already there is counted as skipped and left as it is; with `update_existing` it is
    upserted (made the generated row again). The skus are `{sku_prefix}-000001` and on.
    """
    if not _PREFIX.fullmatch(sku_prefix):
        raise InvalidInput.field(
            "sku_prefix", "Use 1 to 50 letters, digits, dots or hyphens, starting with a letter or digit."
        )
    names = category_names(categories)
    ids: list[int] = []
    async with uow() as unit:
        existing = {c.slug: c for c in await unit.categories.all()}
        for name, parent in names:
            slug = slugify(name)
            category = existing.get(slug) or await unit.categories.add(
                Category(name=name, slug=slug, parent_id=ids[parent] if parent is not None else None)
            )
            assert category.id is not None
            ids.append(category.id)
        await unit.commit()
        # A category already there keeps its place in the tree: use the paths as stored.
        stored = category_paths(await unit.categories.all())
    rows = product_rows(products, [stored[i] for i in ids], sku_prefix)
    if update_existing:  # an upsert: the import's path, row by row
        return await import_products(
            rows, SEEDER, uow=uow, cache=cache, clock=clock, currency=currency, progress=progress
        )
    report = await _add_new(rows, uow=uow, clock=clock, currency=currency, progress=progress)
    await cache.invalidate()
    return report


async def _add_new(
    rows: Iterable[tuple[int, dict[str, str]]],
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    currency: str,
    progress: Callable[[int], None],
) -> ImportReport:
    """The fast path (only adds): the products the import would create, `BATCH` per transaction,
    written in bulk (`ProductRepository.add_generated`) with the stock movements the import records."""
    report = ImportReport()
    async with uow() as unit:
        maker = NewProducts(await unit.categories.all(), currency)
    batch: list[tuple[int, dict[str, str]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) == BATCH:
            await _add_batch(batch, maker, report, uow=uow, clock=clock)
            progress(len(batch))
            batch = []
    if batch:
        await _add_batch(batch, maker, report, uow=uow, clock=clock)
    progress(len(batch))
    return report


async def _add_batch(
    batch: list[tuple[int, dict[str, str]]],
    maker: NewProducts,
    report: ImportReport,
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
) -> None:
    now = clock.now()
    async with uow() as unit:
        skus = [row["sku"] for _, row in batch]
        existing = await unit.products.by_skus(skus)
        owners = await unit.variants.sku_owners([s for s in skus if s not in existing])
        todo = [(line, row) for line, row in batch if row["sku"] not in existing]
        taken: set[str] = set()
        while True:  # the slugs the import would give, checked against those stored
            made: list[Product] = []
            rejected: list[tuple[int, str]] = []
            chosen = set(taken)
            for line, row in todo:
                try:
                    if row["sku"] in owners:
                        raise Conflict(f"The sku {row['sku']!r} is already a variant's sku.")
                    made.append(maker.make(row, now, chosen))
                except DomainError as exc:
                    rejected.append((line, reason_of(exc)))
            clash = set(await unit.products.by_slugs([p.slug for p in made]))
            if not clash:
                break
            taken |= clash
        await unit.products.add_generated(made)
        movements = [
            movement_of(p, p.stock_quantity, StockReason.IMPORT, SEEDER.label, now)
            for p in made
            if p.stock_quantity
        ]
        await record_movements(unit, movements)
        await unit.commit()
    report.created += len(made)
    report.skipped += len(existing)
    report.rejected.extend(rejected)
