"""A catalog at scale (migration 0020): the bulk seed writes what the import writes; the list's
counts (per-category counters) and deep pages (id blocks) stay exact through every kind of product
write; the search is served by an index. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any, Literal

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from shop_core.adapters.sql.orm import BLOCK
from shop_core.bootstrap import migrate, migration_head
from shop_core.domain.actors import Actor
from shop_core.domain.errors import PermissionDenied
from shop_core.ports.catalog import ProductFilter
from shop_core.services.catalog_commands import (
    CreateCategory,
    CreateProduct,
    ProductQuery,
    UpdateCategory,
    UpdateProduct,
)
from shop_core.services.catalog_import import category_paths
from shop_core.services.catalog_seed import SEEDER, product_rows
from tests.conftest import make_settings, shop_factory
from tests.integration.test_migrations import empty_database_url, index_names, schema_differences, table_names

__all__ = ["empty_database_url"]  # the fixture, parametrised over both databases

STAFF = Actor.operator()


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
def url(request: pytest.FixtureRequest) -> str:
    found: str = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    return found


async def fetch(url: str, query: str, **params: Any) -> list[Any]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(sa.text(query), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


# --- the bulk seed ---------------------------------------------------------------------------

PRODUCT = (
    "name",
    "description",
    "category_id",
    "price",
    "min_price",
    "cost_price",
    "discount_percentage",
    "stock_quantity",
    "image_url",
    "is_active",
    "options",
    "rating_count",
    "rating_sum",
)
VARIANT = ("sku", "is_default", "options", "price", "stock_quantity", "weight_grams", "is_active")
MOVEMENT = ("variant_id", "delta", "reason", "balance_after", "actor", "note")


async def products_of(url: str, prefix: str) -> list[dict[str, Any]]:
    """Each product with the sku prefix (by id): its columns, its variants and its movements."""
    found = await fetch(
        url,
        f"SELECT id, sku, slug, {', '.join(PRODUCT)} FROM products WHERE sku LIKE :prefix ORDER BY id",  # noqa: S608
        prefix=f"{prefix}-%",
    )
    made = []
    for row in found:
        variants = await fetch(
            url,
            f"SELECT id, {', '.join(VARIANT)} FROM product_variants WHERE product_id = :p ORDER BY id",  # noqa: S608
            p=row.id,
        )
        movements = await fetch(
            url,
            f"SELECT {', '.join(MOVEMENT)} FROM stock_movements WHERE product_id = :p ORDER BY id",  # noqa: S608
            p=row.id,
        )
        made.append(
            {
                "sku": row.sku,
                "slug": row.slug,
                "product": tuple(row)[3:],
                "variants": [(v.sku == row.sku, *tuple(v)[2:]) for v in variants],
                "movements": [(m.variant_id == variants[0].id, *tuple(m)[1:]) for m in movements],
            }
        )
    return made


async def test_the_bulk_seed_writes_what_the_import_writes(url: str) -> None:
    async with shop_factory(make_settings(url)) as shop:
        seeded = await shop.catalog.seed_catalog(40, 6, STAFF)  # the bulk path (only adds)
        again = await shop.catalog.seed_catalog(40, 6, STAFF, sku_prefix="MORE")  # its slugs are taken
        paths = category_paths(await _categories(shop))
        # The import, given the rows the seed generates (same names, prices, categories, stock).
        rows = product_rows(40, [paths[i] for i in sorted(paths)], "IMP")
        imported = await shop.catalog.import_products(list(rows), SEEDER)
    assert (seeded.created, again.created, imported.created) == (40, 40, 40)
    assert seeded.rejected == again.rejected == imported.rejected == []

    bulk, more, normal = [await products_of(url, p) for p in ("SEED", "MORE", "IMP")]
    for key in ("product", "variants", "movements"):
        assert [p[key] for p in bulk] == [p[key] for p in more] == [p[key] for p in normal], key
    assert all(len(p["variants"]) == 1 and p["variants"][0][:2] == (True, True) for p in bulk)
    assert sum(len(p["movements"]) for p in bulk) == sum(1 for p in bulk if p["product"][7])
    assert (
        len({p["sku"] for p in bulk + more + normal}) == len({p["slug"] for p in bulk + more + normal}) == 120
    )
    # The slugs the import gives: from the name, numbered when taken.
    assert [p["slug"] for p in more] == [p["slug"] + "-2" for p in bulk]
    assert [p["slug"] for p in normal] == [p["slug"] + "-3" for p in bulk]


async def _categories(shop: Any) -> list[Any]:
    async with shop.ports.uow() as unit:
        return list(await unit.categories.all())


# --- counts and deep pages ---------------------------------------------------------------------


async def expected_ids(url: str, *, active_only: bool, categories: list[int] | None = None) -> list[int]:
    where = ["1 = 1"]
    if active_only:
        where.append("is_active = :yes")
    if categories is not None:
        where.append(f"category_id IN ({', '.join(str(int(c)) for c in categories) or 'NULL'})")
    rows = await fetch(url, f"SELECT id FROM products WHERE {' AND '.join(where)} ORDER BY id", yes=True)  # noqa: S608
    return [r[0] for r in rows]


async def check_every_page(shop: Any, url: str, flt: ProductFilter, expected: list[int]) -> None:
    for offset in [*range(0, len(expected) + 7, 3), len(expected) + 40]:
        rows, count = await shop.ports.reader.products(flt, offset=offset, limit=5)
        assert [r.id for r in rows] == expected[offset : offset + 5], (flt, offset)
        if rows:  # a page past the end need not count (the service asks for the count then)
            assert count == len(expected), (flt, offset)
    _, count = await shop.ports.reader.products(flt, offset=0, limit=len(expected) + 1)
    assert count == len(expected)


async def counters_match_the_products(url: str) -> None:
    counted = await fetch(
        url, "SELECT category_id, active, total FROM category_product_counts WHERE total <> 0 ORDER BY 1"
    )
    actual = await fetch(
        url,
        "SELECT coalesce(category_id, 0), sum(CASE WHEN is_active THEN 1 ELSE 0 END), count(*)"
        " FROM products GROUP BY coalesce(category_id, 0) ORDER BY 1",
    )
    assert [tuple(r) for r in counted] == [tuple(r) for r in actual]
    blocks = await fetch(url, "SELECT block, active FROM product_id_blocks WHERE active <> 0 ORDER BY 1")
    per_block = await fetch(
        url,
        f"SELECT id / {BLOCK}, count(*) FROM products WHERE is_active = :yes"  # noqa: S608
        f" GROUP BY id / {BLOCK} ORDER BY 1",
        yes=True,
    )
    assert [tuple(r) for r in blocks] == [tuple(r) for r in per_block]


async def test_counts_and_deep_pages_stay_exact_through_every_product_write(url: str) -> None:
    async with shop_factory(make_settings(url)) as shop:
        home = await shop.catalog.create_category(CreateCategory(name="Home"), STAFF)
        lamps = await shop.catalog.create_category(CreateCategory(name="Lamps", parent=home.id), STAFF)
        garden = await shop.catalog.create_category(CreateCategory(name="Garden"), STAFF)
        homes = [home.id, lamps.id, None, garden.id]

        async def create(n: int) -> int:
            made = await shop.catalog.create_product(
                CreateProduct(
                    name=f"Thing {n}",
                    sku=f"T-{n}",
                    price=Decimal(n % 40 + 1),
                    category=homes[n % 4],
                    is_active=n % 5 != 0,
                ),
                STAFF,
            )
            return made.id

        ids = [await create(n) for n in range(1, 31)]
        # The next products get ids in later blocks: a deep page then spans blocks.
        await _jump_ids(url, 3 * BLOCK + 10)
        ids += [await create(n) for n in range(31, 51)]
        await _jump_ids(url, 5 * BLOCK - 3)
        ids += [await create(n) for n in range(51, 61)]

        for product_id in ids[::7]:  # deactivations
            await shop.catalog.update_product(product_id, UpdateProduct(is_active=False), STAFF)
        for product_id in ids[5::10]:  # activations
            await shop.catalog.update_product(product_id, UpdateProduct(is_active=True), STAFF)
        for product_id in ids[1::6]:  # moves to another category, or out of any
            await shop.catalog.update_product(product_id, UpdateProduct(category=garden.id), STAFF)
        await shop.catalog.update_product(ids[2], UpdateProduct(category=None, is_active=False), STAFF)
        await shop.catalog.update_product(ids[3], UpdateProduct(name="Renamed", price=Decimal(3)), STAFF)
        for product_id in ids[4::9]:  # deletions
            await shop.catalog.delete_product(product_id, STAFF)
        await counters_match_the_products(url)

        everything = await expected_ids(url, active_only=False)
        active = await expected_ids(url, active_only=True)
        assert max(active) > 4 * BLOCK
        await check_every_page(shop, url, ProductFilter(), active)
        await check_every_page(shop, url, ProductFilter(include_inactive=True), everything)
        await check_every_page(
            shop,
            url,
            ProductFilter(category_id=home.id),
            await expected_ids(url, active_only=True, categories=[home.id, lamps.id]),
        )
        await check_every_page(
            shop,
            url,
            ProductFilter(category_id=garden.id),
            await expected_ids(url, active_only=True, categories=[garden.id]),
        )

        # A category moved under another: its products count under its new ancestors.
        await shop.catalog.update_category(lamps.id, UpdateCategory(parent=garden.id), STAFF)
        await check_every_page(
            shop,
            url,
            ProductFilter(category_id=home.id),
            await expected_ids(url, active_only=True, categories=[home.id]),
        )
        await check_every_page(
            shop,
            url,
            ProductFilter(category_id=garden.id),
            await expected_ids(url, active_only=True, categories=[garden.id, lamps.id]),
        )
        page = await shop.catalog.list_products(ProductQuery(), page=1, page_size=20, staff=False)
        assert page.count == len(active)


async def _jump_ids(url: str, next_id: int) -> None:
    """Make the next product's id `next_id`."""
    if url.startswith("postgresql"):
        await fetch(url, f"SELECT setval(pg_get_serial_sequence('products', 'id'), {int(next_id) - 1})")
        return
    # SQLite gives a new row the largest rowid plus one: a row (inactive, no variant) holds that place.
    await fetch(
        url,
        "INSERT INTO products (id, name, slug, sku, price, is_active, created_at, updated_at)"
        " VALUES (:id, 'x', :slug, :slug, 1, :no, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        id=next_id - 1,
        slug=f"placeholder-{next_id}",
        no=False,
    )


# --- search ----------------------------------------------------------------------------------


async def test_search_matches_substrings_of_every_searched_field_the_same_way(url: str) -> None:
    async with shop_factory(make_settings(url)) as shop:
        for n, (name, description, sku) in enumerate(
            [
                ("Brass Kettle", "Boils water", "KT-1"),
                ("Desk Lamp", "A kettle-shaped shade", "LP-1"),
                ("Chair", "Oak", "KETTLE-9"),
                ("Ke", "tle", "SPLIT-1"),  # "ke" + "tle" only across two fields: no match
                ("100% wool_sock", "Warm", "SOCK-1"),
            ]
        ):
            await shop.catalog.create_product(
                CreateProduct(name=name, description=description, sku=sku, price=Decimal(n + 1)), STAFF
            )

        async def found(search: str) -> list[str]:
            rows, count = await shop.ports.reader.products(ProductFilter(search=search), offset=0, limit=20)
            assert count == len(rows)
            return sorted(r.sku for r in rows)

        assert await found("kettle") == ["KETTLE-9", "KT-1", "LP-1"]
        assert await found("KETTLE") == ["KETTLE-9", "KT-1", "LP-1"]
        assert await found("ket") == ["KETTLE-9", "KT-1", "LP-1"]
        assert await found("ke") == ["KETTLE-9", "KT-1", "LP-1", "SPLIT-1"]  # two letters: no trigram
        assert await found("ketle") == []
        assert await found("oak") == ["KETTLE-9"]
        assert await found("0% w") == ["SOCK-1"]
        assert await found("l_s") == ["SOCK-1"]  # _ and % are themselves
        assert await found("%") == ["SOCK-1"]
        assert await found("etle") == []
        assert await found("ettl") == ["KETTLE-9", "KT-1", "LP-1"]


@pytest.mark.postgres
async def test_postgres_serves_the_search_and_the_deep_page_from_indexes(pg_url: str) -> None:
    from sqlalchemy.dialects import postgresql

    from shop_core.adapters.sql.catalog_reader import list_statement_for

    async with shop_factory(make_settings(pg_url)) as shop:
        await shop.catalog.seed_catalog(3000, 5, STAFF)

    def plan_of(flt: ProductFilter, which: Literal["page", "count"], offset: int = 0) -> str:
        statement = list_statement_for(flt, "postgresql", which, offset=offset)
        assert statement is not None
        compiled = statement.compile(
            dialect=postgresql.asyncpg.dialect(), compile_kwargs={"literal_binds": True}
        )
        return "EXPLAIN " + str(compiled)

    engine = create_async_engine(pg_url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("ANALYZE"))
            # A table this small is cheaper to scan: ask what the planner does when it is not (the
            # staff's search: the public one's partial index is cheaper still, at this size).
            await conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
            search = "\n".join(
                r[0]
                for r in await conn.execute(
                    sa.text(plan_of(ProductFilter(search="xylophone", include_inactive=True), "count"))
                )
            )
            deep = "\n".join(r[0] for r in await conn.execute(sa.text(plan_of(ProductFilter(), "page", 200))))
    finally:
        await engine.dispose()
    assert "ix_products_search" in search, search
    assert "Seq Scan on products" not in search, search
    assert "product_id_blocks" in deep, deep
    assert "Index Cond: (id >= $" in deep, deep  # read from its block's first id on
    assert "Seq Scan on products" not in deep, deep


# --- the migration ---------------------------------------------------------------------------

SCALE_TABLES = {"category_product_counts", "product_id_blocks"}


async def test_migration_0020_goes_down_to_0019_and_up_again_counting_the_products_there(
    empty_database_url: str,
) -> None:
    settings = make_settings(empty_database_url)
    assert await asyncio.to_thread(migrate, settings, "upgrade") == migration_head()
    assert await table_names(empty_database_url) >= SCALE_TABLES
    assert {"ix_products_active_id", "ix_products_active_price"} <= await index_names(
        empty_database_url, "products"
    )
    differences = await schema_differences(empty_database_url)
    assert [d for d in differences if any(t in repr(d) for t in SCALE_TABLES)] == []

    assert await asyncio.to_thread(migrate, settings, "downgrade", "0019") == "0019"
    assert not SCALE_TABLES & await table_names(empty_database_url)
    for n, active in ((1, True), (2, False), (3, True)):
        await fetch(
            empty_database_url,
            "INSERT INTO products (id, name, slug, sku, price, is_active, created_at, updated_at)"
            " VALUES (:id, :name, :slug, :slug, 100, :active, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            id=n * BLOCK,
            name=f"Copper Kettle {n}",
            slug=f"kettle-{n}",
            active=active,
        )
    assert await asyncio.to_thread(migrate, settings, "upgrade", "head") == migration_head()

    # What was there before is counted, and new writes keep counting.
    await fetch(empty_database_url, "UPDATE products SET is_active = :no WHERE id = :id", no=False, id=BLOCK)
    await counters_match_the_products(empty_database_url)
    async with shop_factory(settings) as shop:
        rows, count = await shop.ports.reader.products(ProductFilter(search="copper"), offset=0, limit=20)
        assert ([r.id for r in rows], count) == ([3 * BLOCK], 1)
        rows, count = await shop.ports.reader.products(ProductFilter(), offset=0, limit=20)
        assert ([r.id for r in rows], count) == ([3 * BLOCK], 1)


# --- mending the counters (`shop catalog recount`) ----------------------------------------------


async def test_recount_mends_counters_that_sql_bypassed_and_then_finds_nothing(url: str) -> None:
    async with shop_factory(make_settings(url)) as shop:
        shelf = await shop.catalog.create_category(CreateCategory(name="Shelf"), STAFF)
        for n in range(1, 13):
            await shop.catalog.create_product(
                CreateProduct(
                    name=f"Box {n}", sku=f"BOX-{n}", price=Decimal(5), category=shelf.id, is_active=n % 4 != 0
                ),
                STAFF,
            )
        assert await shop.catalog.recount(STAFF) == (0, 0)  # the triggers kept them right
        # What a restore with its triggers off, or hand-made SQL, can leave behind.
        await fetch(url, "UPDATE category_product_counts SET active = active + 3, total = total + 3")
        await fetch(url, "DELETE FROM product_id_blocks")
        flt = ProductFilter(category_id=None)
        _, wrong = await shop.ports.reader.products(flt, offset=0, limit=5)
        assert wrong == 9 + 3  # the list counts from the counters: now wrong

        with pytest.raises(PermissionDenied):
            await shop.catalog.recount(Actor.user(99, "someone@example.com", is_staff=False))

        categories, blocks = await shop.catalog.recount(STAFF)
        assert categories == 1
        assert blocks >= 1
        await counters_match_the_products(url)
        await check_every_page(shop, url, flt, await expected_ids(url, active_only=True))
        assert await shop.catalog.recount(STAFF) == (0, 0)
