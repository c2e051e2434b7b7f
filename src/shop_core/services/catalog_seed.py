"""Deterministic demo and benchmark data: the same arguments always give the same rows.

Seeded products carry a SKU prefix of their own (`SEED-000001`; the demo's are `SKU-000001`), and
seeding only adds: a product whose sku is already there is left as it is, unless the caller asks
for `update_existing` (then it becomes the generated row again, as an import would make it).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator

from shop_core.domain.actors import Actor
from shop_core.domain.catalog import Category, slugify
from shop_core.domain.errors import InvalidInput
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWorkFactory
from shop_core.services.cache_aside import CacheAside
from shop_core.services.catalog_import import ImportReport, category_paths, import_products

ROOTS = ("Electronics", "Home", "Garden", "Books", "Toys", "Sports", "Fashion", "Beauty", "Food", "Office")
KINDS = ("Basics", "Premium", "Outdoor", "Kids", "Travel", "Classic", "Smart", "Eco", "Pro", "Mini")
ADJECTIVES = ("Sturdy", "Bright", "Quiet", "Swift", "Cozy", "Sleek", "Rugged", "Fresh", "Bold", "Handy")
NOUNS = ("Lamp", "Kettle", "Backpack", "Headphones", "Notebook", "Chair", "Bottle", "Jacket", "Drone", "Mug")
_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,49}")
SEED_PREFIX = "SEED"  # `shop catalog seed`
DEMO_PREFIX = "SKU"  # `shop demo` (kept from earlier releases: a demo database seeded then stays as it is)

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
    return await import_products(
        rows,
        SEEDER,
        uow=uow,
        cache=cache,
        clock=clock,
        currency=currency,
        progress=progress,
        only_new=not update_existing,
    )
