"""Deterministic demo and benchmark data: the same arguments always give the same rows."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from shop_core.domain.catalog import Category, slugify
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWorkFactory
from shop_core.services.cache_aside import CacheAside
from shop_core.services.catalog_import import ImportReport, category_paths, import_products

ROOTS = ("Electronics", "Home", "Garden", "Books", "Toys", "Sports", "Fashion", "Beauty", "Food", "Office")
KINDS = ("Basics", "Premium", "Outdoor", "Kids", "Travel", "Classic", "Smart", "Eco", "Pro", "Mini")
ADJECTIVES = ("Sturdy", "Bright", "Quiet", "Swift", "Cozy", "Sleek", "Rugged", "Fresh", "Bold", "Handy")
NOUNS = ("Lamp", "Kettle", "Backpack", "Headphones", "Notebook", "Chair", "Bottle", "Jacket", "Drone", "Mug")


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


def product_rows(count: int, paths: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    rng = random.Random(count * 7919 + len(paths))  # noqa: S311 - reproducible data
    for i in range(1, count + 1):
        name = f"{ADJECTIVES[rng.randrange(10)]} {NOUNS[rng.randrange(10)]} {i}"
        price = rng.randrange(199, 99_999)
        yield (
            i,
            {
                "sku": f"SKU-{i:06d}",
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
    progress: Callable[[int], None] = lambda _: None,
) -> ImportReport:
    """Create the categories (those missing, by slug) and upsert the products by sku."""
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
    rows = product_rows(products, [stored[i] for i in ids])
    return await import_products(
        rows, "seed", uow=uow, cache=cache, clock=clock, currency=currency, progress=progress
    )
