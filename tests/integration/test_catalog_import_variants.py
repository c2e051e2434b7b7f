"""The imports with variants on SQLite and PostgreSQL: what the rows hold after Shopify's file and the
native one (the derived price and stock, the movements per variant), and that importing them again
writes nothing."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.services.catalog_import import COLUMNS, read_csv
from shop_core.services.shopify_import import read_shopify_file
from tests.conftest import make_settings, shop_factory
from tests.unit.services.test_catalog_import_variants import made_catalog

FIXTURE = Path(__file__).parents[1] / "fixtures" / "shopify_products.csv"
STAFF = Actor("importer", is_staff=True)


@pytest.fixture
async def shop(database_url: str) -> AsyncIterator[Shop]:
    async with shop_factory(make_settings(database_url)) as built:
        yield built


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url, poolclass=NullPool)
    yield engine
    await engine.dispose()


async def rows(engine: AsyncEngine, query: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(sa.text(query))]


async def consistent(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    """Each product's slug, price, catalog price and stock, checked against its variants and its
    movements: the catalog price is its lowest active variant's, its stock what they hold, and each
    variant's stock the sum of its movements."""
    products = await rows(
        engine, "SELECT id, slug, price, min_price, stock_quantity FROM products ORDER BY id"
    )
    variants = await rows(
        engine, "SELECT id, product_id, price, stock_quantity, is_active FROM product_variants"
    )
    moved = dict(await rows(engine, "SELECT variant_id, SUM(delta) FROM stock_movements GROUP BY variant_id"))
    for product_id, _, base, lowest, stock in products:
        mine = [v for v in variants if v[1] == product_id]
        active = [v for v in mine if v[4]]
        assert lowest == min((base if v[2] is None else v[2] for v in active), default=base)
        assert stock == sum(v[3] for v in active)
        assert all(v[3] == (moved.get(v[0]) or 0) for v in mine)
    return [p[1:] for p in products]


async def test_the_shopify_fixture_and_its_re_import(shop: Shop, engine: AsyncEngine) -> None:
    drafts = read_shopify_file(FIXTURE.read_bytes(), "USD")

    report = await shop.catalog.import_shopify(drafts, STAFF)

    assert (report.created, report.updated, report.unchanged, len(report.rejected)) == (6, 0, 0, 11)
    assert await consistent(engine) == [
        ("classic-tee", 1999, 1999, 13),
        ("gift-mug", 1200, 1200, 25),
        ("hoodie", 4900, 4900, 5),
        ("old-cap", 999, 999, 0),
        ("secret-socks", 500, 500, 100),
        ("linen-shirt", 5000, 5000, 6),
    ]
    query = "SELECT sku, options FROM product_variants WHERE sku LIKE 'LIN%' ORDER BY id"
    linen = [(sku, json.loads(v) if isinstance(v, str) else v) for sku, v in await rows(engine, query)]
    assert linen == [("LIN-S", {"Size": "S"}), ("LINEN-SHIRT-M", {"Size": "M"})]  # a SKU made for M
    before = await rows(engine, "SELECT id, updated_at FROM products ORDER BY id")
    movements = await rows(engine, "SELECT COUNT(*) FROM stock_movements")

    again = await shop.catalog.import_shopify(drafts, STAFF)

    assert (again.created, again.updated, again.unchanged, len(again.rejected)) == (0, 0, 6, 11)
    assert await rows(engine, "SELECT id, updated_at FROM products ORDER BY id") == before
    assert await rows(engine, "SELECT COUNT(*) FROM stock_movements") == movements


async def test_a_native_file_with_variants_and_its_re_import(shop: Shop, engine: AsyncEngine) -> None:
    await made_catalog(shop)
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    async for batch in shop.catalog.export_products(STAFF):
        writer.writerows(batch)
    exported = out.getvalue().encode()
    made = await consistent(engine)

    again = await shop.catalog.import_products(read_csv(exported), STAFF)

    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 4, [])
    assert (
        await consistent(engine)
        == made
        == [
            ("tee", 2000, 1850, 6),
            ("poster", 500, 500, 3),
            ("cap", 900, 900, 6),
            ("mug", 700, 700, 0),
        ]
    )
    changed = exported.replace(b"TEE-S-RED,S,Red,,18.50,2,", b"TEE-S-RED,S,Red,,,9,")
    assert changed != exported
    report = await shop.catalog.import_products(read_csv(changed), STAFF)
    assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 1, 3, [])
    assert (await consistent(engine))[0] == ("tee", 2000, 2000, 13)


async def test_the_lookups_the_imports_batch(shop: Shop) -> None:
    """`by_slugs` and `sku_owners`: one query each for a whole batch."""
    await made_catalog(shop)
    async with shop.ports.uow() as unit:
        by_slug = await unit.products.by_slugs(["tee", "mug", "nothing"])
        owners = await unit.variants.sku_owners(["TEE", "TEE-S-RED", "POSTER", "NOBODY", "TEE-S-RED"])
    assert sorted((slug, p.sku) for slug, p in by_slug.items()) == [("mug", "MUG"), ("tee", "TEE")]
    assert owners.keys() == {"TEE", "TEE-S-RED", "POSTER"}  # a product's own sku and its variants'
    assert owners["TEE"] == owners["TEE-S-RED"] == by_slug["tee"].id
    assert owners["POSTER"] not in {by_slug["tee"].id, by_slug["mug"].id}
    async with shop.ports.uow() as unit:
        assert await unit.variants.sku_owners([]) == {}
        assert await unit.products.by_slugs([]) == {}
