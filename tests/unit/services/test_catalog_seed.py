"""Deterministic demo and benchmark data: the same arguments give the same rows."""

from __future__ import annotations

import pytest

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.domain.errors import InvalidInput
from shop_core.services.catalog_seed import DEMO_PREFIX, category_names, product_rows
from tests.fakes import FakeDatabase, fake_shop


async def exported(shop: Shop) -> list[list[str]]:
    return [row async for batch in shop.catalog.export_products(Actor.operator()) for row in batch]


def category_rows(db: FakeDatabase) -> list[tuple[str, str, str | None]]:
    names = {c.id: c.name for c in db.categories.values()}
    return [
        (c.name, c.slug, names.get(c.parent_id) if c.parent_id else None)
        for c in sorted(db.categories.values(), key=lambda c: c.id or 0)
    ]


async def test_the_same_arguments_give_the_same_catalog() -> None:
    first, first_db, _ = fake_shop()
    second, second_db, _ = fake_shop()
    report = await first.catalog.seed_catalog(60, 12, Actor.operator())
    await second.catalog.seed_catalog(60, 12, Actor.operator())
    assert (report.created, report.updated, report.unchanged, report.rejected) == (60, 0, 0, [])
    assert len(first_db.categories) == 12
    assert category_rows(first_db) == category_rows(second_db)
    rows = await exported(first)
    assert rows == await exported(second)
    assert len(rows) == 60
    assert len({row[0] for row in rows}) == 60  # unique skus
    assert len({row[3] for row in rows}) > 1  # spread over categories


async def test_seeding_twice_creates_nothing_new() -> None:
    shop, db, _ = fake_shop()
    await shop.catalog.seed_catalog(40, 8, Actor.operator())
    rows = await exported(shop)
    movements = len(db.movements)
    progress: list[int] = []
    again = await shop.catalog.seed_catalog(40, 8, Actor.operator(), progress=progress.append)
    assert (again.created, again.updated, again.unchanged, again.skipped, again.rejected) == (0, 0, 0, 40, [])
    assert sum(progress) == 40
    assert len(db.categories) == 8
    assert await exported(shop) == rows
    assert len(db.movements) == movements


async def test_different_arguments_give_different_rows() -> None:
    small = [row for _, row in product_rows(10, ["A", "B"])]
    assert small == [row for _, row in product_rows(10, ["A", "B"])]
    assert small != [row for _, row in product_rows(10, ["A", "B", "C"])]
    assert small != [row for _, row in product_rows(11, ["A", "B"])][:10]
    first, _, _ = fake_shop()
    second, _, _ = fake_shop()
    await first.catalog.seed_catalog(10, 4, Actor.operator())
    await second.catalog.seed_catalog(11, 4, Actor.operator())
    assert (await exported(first)) != (await exported(second))[:10]


def test_category_names_form_a_tree_with_roots_first() -> None:
    names = category_names(50)
    assert len(names) == 50
    assert len({name for name, _ in names}) == 50
    roots = [name for name, parent in names if parent is None]
    assert roots == [
        "Electronics",
        "Home",
        "Garden",
        "Books",
        "Toys",
        "Sports",
        "Fashion",
        "Beauty",
        "Food",
        "Office",
    ]
    assert all(parent is None or parent < index for index, (_, parent) in enumerate(names))
    assert category_names(50) == names


async def test_seeded_stock_is_recorded_as_movements() -> None:
    shop, db, _ = fake_shop()
    await shop.catalog.seed_catalog(20, 3, Actor.operator())
    async with shop.ports.uow() as tx:
        for product in db.products.values():
            assert product.id is not None
            assert await tx.stock.total(product.id) == product.stock_quantity


async def test_seeding_over_the_demo_catalog_adds_and_never_changes_a_demo_product() -> None:
    shop, db, _ = fake_shop()
    await shop.catalog.seed_catalog(
        60, 12, Actor.operator(), sku_prefix=DEMO_PREFIX
    )  # what `shop demo` loads
    demo = await exported(shop)
    movements = len(db.movements)

    report = await shop.catalog.seed_catalog(100, 20, Actor.operator())

    assert (report.created, report.updated, report.unchanged, report.skipped) == (100, 0, 0, 0)
    rows = await exported(shop)
    assert rows[:60] == demo  # the demo's products, names and slugs as they were
    assert all(row[0].startswith("SEED-") for row in rows[60:])
    assert len({row[2] for row in rows}) == 160  # every product has a slug of its own
    assert len(db.movements) == movements + sum(1 for row in rows[60:] if row[7] != "0")


async def test_seeding_other_numbers_over_a_seeded_catalog_keeps_what_is_there() -> None:
    shop, _, _ = fake_shop()
    await shop.catalog.seed_catalog(10, 4, Actor.operator())
    before = await exported(shop)

    report = await shop.catalog.seed_catalog(
        15, 5, Actor.operator()
    )  # other numbers generate other names for SEED-000001…

    assert (report.created, report.updated, report.skipped) == (5, 0, 10)
    assert (await exported(shop))[:10] == before


async def test_update_existing_makes_seeded_products_the_generated_rows_again() -> None:
    shop, _, _ = fake_shop()
    await shop.catalog.seed_catalog(10, 4, Actor.operator())
    before = await exported(shop)

    report = await shop.catalog.seed_catalog(10, 5, Actor.operator(), update_existing=True)

    assert report.created == 0
    assert report.updated + report.unchanged == 10
    assert report.updated > 0
    assert await exported(shop) != before


@pytest.mark.parametrize("prefix", ["", "-X", "A B", "x" * 51, "A/B"])
async def test_a_bad_sku_prefix_is_refused_before_anything_is_written(prefix: str) -> None:
    shop, db, _ = fake_shop()
    with pytest.raises(InvalidInput) as caught:
        await shop.catalog.seed_catalog(5, 2, Actor.operator(), sku_prefix=prefix)
    assert "sku_prefix" in caught.value.errors
    assert not db.products
    assert not db.categories
