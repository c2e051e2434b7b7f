"""The migrations run from an empty database to head, back down to base, and up again."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from shop_core.bootstrap import migrate, migration_head
from tests.conftest import TABLES, make_settings
from tests.integration.conftest import POSTGRES, SQLITE


@pytest.fixture(params=[SQLITE, POSTGRES])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of the test's own with nothing in it: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    url: str = request.getfixturevalue("scratch_pg_url")
    return url


async def table_names(url: str) -> set[str]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def index_names(url: str, table: str) -> set[str]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            indexes = await conn.run_sync(lambda sync: sa.inspect(sync).get_indexes(table))
    finally:
        await engine.dispose()
    return {str(i["name"]) for i in indexes}


def test_the_migrations_have_a_single_head() -> None:
    from alembic.script import ScriptDirectory

    from shop_core.adapters.sql.migrations_runner import MIGRATIONS

    assert ScriptDirectory(str(MIGRATIONS)).get_heads() == [migration_head()]


async def test_upgrade_downgrade_and_upgrade_again(empty_database_url: str) -> None:
    settings = make_settings(empty_database_url)
    head = migration_head()

    assert await asyncio.to_thread(migrate, settings, "current") == "none"
    assert not set(TABLES) & await table_names(empty_database_url)

    assert await asyncio.to_thread(migrate, settings, "upgrade") == head
    assert await asyncio.to_thread(migrate, settings, "current") == head
    assert set(TABLES) <= await table_names(empty_database_url)
    assert "ix_revoked_tokens_expires_at" in await index_names(empty_database_url, "revoked_tokens")

    assert await asyncio.to_thread(migrate, settings, "downgrade", "base") == "none"
    assert await asyncio.to_thread(migrate, settings, "current") == "none"
    assert await table_names(empty_database_url) <= {"alembic_version"}

    assert await asyncio.to_thread(migrate, settings, "upgrade", "head") == head
    assert set(TABLES) <= await table_names(empty_database_url)


async def test_upgrading_an_up_to_date_database_changes_nothing(empty_database_url: str) -> None:
    settings = make_settings(empty_database_url)
    await asyncio.to_thread(migrate, settings, "upgrade")
    before = await table_names(empty_database_url)
    assert await asyncio.to_thread(migrate, settings, "upgrade") == migration_head()
    assert await table_names(empty_database_url) == before


def test_migrate_refuses_an_unknown_action(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sideways"):
        migrate(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"), "sideways")


async def test_the_catalog_version_starts_at_zero_and_goes_with_its_revision(empty_database_url: str) -> None:
    settings = make_settings(empty_database_url)
    await asyncio.to_thread(migrate, settings, "upgrade", "0008")
    engine = create_async_engine(empty_database_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT id, version FROM catalog_version"))).all()
    finally:
        await engine.dispose()
    assert [tuple(row) for row in rows] == [(1, 0)]

    assert await asyncio.to_thread(migrate, settings, "downgrade", "0007") == "0007"
    assert "catalog_version" not in await table_names(empty_database_url)


async def test_existing_products_get_their_default_variant_and_their_history_points_to_it(
    empty_database_url: str,
) -> None:
    """0010 on a shop with data: each product's default variant carries its sku and stock, and its
    stock movements and order lines point to it; downgrading keeps every row that was there."""
    settings = make_settings(empty_database_url)
    await asyncio.to_thread(migrate, settings, "upgrade", "0009")
    engine = create_async_engine(empty_database_url, poolclass=NullPool)
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO users (id, email, username, password_hash, first_name, last_name,"
                    " phone, role, is_active, date_joined)"
                    " VALUES (1, 'a@example.com', 'a', 'x', '', '', '', 'customer', TRUE, :now)"
                ),
                {"now": now},
            )
            for pid, sku, stock in ((1, "MUG-1", 7), (2, "POT-1", 0)):
                await conn.execute(
                    sa.text(
                        "INSERT INTO products (id, name, slug, sku, price, stock_quantity, created_at,"
                        " updated_at) VALUES (:id, :name, :slug, :sku, 500, :stock, :now, :now)"
                    ),
                    {"id": pid, "name": sku, "slug": sku.lower(), "sku": sku, "stock": stock, "now": now},
                )
            await conn.execute(
                sa.text(
                    "INSERT INTO stock_movements (product_id, delta, reason, balance_after, created_at)"
                    " VALUES (1, 8, 'initial', 8, :now), (1, -1, 'sale', 7, :now)"
                ),
                {"now": now},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO orders (id, number, user_id, status, payment_status, payment_method,"
                    " currency, subtotal, discount_amount, tax_amount, shipping_cost, total_price,"
                    " shipping_address, billing_address, created_at, updated_at)"
                    " VALUES (1, 'ORD-1', 1, 'pending', 'unpaid', 'cod', 'USD', 500, 0, 0, 0, 500,"
                    " '{}', '{}', :now, :now)"
                ),
                {"now": now},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO order_lines (order_id, product_id, product_name, sku, unit_price,"
                    " quantity, line_total, discount_amount, tax_amount)"
                    " VALUES (1, 1, 'Mug', 'MUG-1', 500, 1, 500, 0, 0)"
                )
            )

        await asyncio.to_thread(migrate, settings, "upgrade", "0010")
        async with engine.connect() as conn:
            variants = (
                await conn.execute(
                    sa.text(
                        "SELECT id, product_id, sku, is_default, price, stock_quantity, is_active"
                        " FROM product_variants ORDER BY product_id"
                    )
                )
            ).all()
            by_product = {row.product_id: row for row in variants}
            assert [
                (r.product_id, r.sku, bool(r.is_default), r.price, r.stock_quantity, bool(r.is_active))
                for r in variants
            ] == [(1, "MUG-1", True, None, 7, True), (2, "POT-1", True, None, 0, True)]
            moved = (await conn.execute(sa.text("SELECT variant_id FROM stock_movements"))).scalars().all()
            assert moved == [by_product[1].id, by_product[1].id]
            lines = (await conn.execute(sa.text("SELECT variant_id, variant_name FROM order_lines"))).all()
            assert [tuple(line) for line in lines] == [(by_product[1].id, "")]
            options = (await conn.execute(sa.text("SELECT options FROM products"))).scalars().all()
            assert [json.loads(o) if isinstance(o, str) else o for o in options] == [[], []]

        assert await asyncio.to_thread(migrate, settings, "downgrade", "0009") == "0009"
        assert "product_variants" not in await table_names(empty_database_url)
        async with engine.connect() as conn:
            counts = [
                (await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one()  # noqa: S608
                for table in ("products", "stock_movements", "order_lines")
            ]
        assert counts == [2, 2, 1]
    finally:
        await engine.dispose()


async def test_catalog_prices_and_cart_lines_carry_over_into_variants_and_back(
    empty_database_url: str,
) -> None:
    """0011 on a shop with data: each product's catalog price is its price, and the lines already in
    carts are lines of the default variant (0); downgrading keeps one line per product."""
    settings = make_settings(empty_database_url)
    await asyncio.to_thread(migrate, settings, "upgrade", "0010")
    engine = create_async_engine(empty_database_url, poolclass=NullPool)
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    try:
        async with engine.begin() as conn:
            for pid, price in ((1, 500), (2, 1250)):
                await conn.execute(
                    sa.text(
                        "INSERT INTO products (id, name, slug, sku, price, stock_quantity, created_at,"
                        " updated_at) VALUES (:id, :sku, :sku, :sku, :price, 3, :now, :now)"
                    ),
                    {"id": pid, "sku": f"P-{pid}", "price": price, "now": now},
                )
            await conn.execute(
                sa.text("INSERT INTO carts (owner, updated_at) VALUES ('user:1', :now)"), {"now": now}
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO cart_lines (owner, product_id, quantity)"
                    " VALUES ('user:1', 1, 2), ('user:1', 2, 1)"
                )
            )

        await asyncio.to_thread(migrate, settings, "upgrade", "0011")
        async with engine.begin() as conn:
            prices = (await conn.execute(sa.text("SELECT id, min_price FROM products ORDER BY id"))).all()
            assert [tuple(p) for p in prices] == [(1, 500), (2, 1250)]
            lines = (
                await conn.execute(
                    sa.text("SELECT product_id, variant_id, quantity FROM cart_lines ORDER BY 1")
                )
            ).all()
            assert [tuple(line) for line in lines] == [(1, 0, 2), (2, 0, 1)]
            # two variants of one product in one cart: what 0011 makes possible
            await conn.execute(
                sa.text(
                    "INSERT INTO cart_lines (owner, product_id, variant_id, quantity)"
                    " VALUES ('user:1', 1, 7, 5)"
                )
            )
        assert "ix_products_min_price" in await index_names(empty_database_url, "products")

        assert await asyncio.to_thread(migrate, settings, "downgrade", "0010") == "0010"
        async with engine.connect() as conn:
            lines = (
                await conn.execute(sa.text("SELECT product_id, quantity FROM cart_lines ORDER BY 1"))
            ).all()
        assert [tuple(line) for line in lines] == [(1, 5), (2, 1)]  # the larger line of product 1 stays
        assert "ix_products_price" in await index_names(empty_database_url, "products")
    finally:
        await engine.dispose()


FULFILMENT_TABLES = {"fulfillments", "fulfillment_lines"}


async def schema_differences(url: str) -> list[object]:
    """What alembic's compare_metadata finds between the ORM's tables and the database."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shop_core.adapters.sql.orm import metadata

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                )
            )
    finally:
        await engine.dispose()


def _touches_fulfilment(diff: object) -> bool:
    """Does one of compare_metadata's differences concern what migration 0015 builds?"""
    text = repr(diff)
    return any(name in text for name in (*FULFILMENT_TABLES, "fulfillment_status"))


async def test_migration_0015_builds_what_the_orm_describes_and_goes_down_to_0014(
    empty_database_url: str,
) -> None:
    settings = make_settings(empty_database_url)
    assert await asyncio.to_thread(migrate, settings, "upgrade") == migration_head()
    assert await table_names(empty_database_url) >= FULFILMENT_TABLES
    assert {"ix_fulfillments_order_id"} <= await index_names(empty_database_url, "fulfillments")
    assert {"ix_fulfillment_lines_order_line_id"} <= await index_names(
        empty_database_url, "fulfillment_lines"
    )
    assert [d for d in await schema_differences(empty_database_url) if _touches_fulfilment(d)] == []

    assert await asyncio.to_thread(migrate, settings, "downgrade", "0014") == "0014"
    assert not FULFILMENT_TABLES & await table_names(empty_database_url)
    assert await asyncio.to_thread(migrate, settings, "upgrade", "head") == migration_head()
    assert await table_names(empty_database_url) >= FULFILMENT_TABLES


RETURN_TABLES = {"returns", "return_lines"}


async def test_migration_0016_builds_what_the_orm_describes_and_goes_down_to_0015(
    empty_database_url: str,
) -> None:
    settings = make_settings(empty_database_url)
    assert await asyncio.to_thread(migrate, settings, "upgrade") == migration_head()
    assert await table_names(empty_database_url) >= RETURN_TABLES
    assert {"ix_returns_order_id", "ix_returns_status_id"} <= await index_names(empty_database_url, "returns")
    assert {"ix_return_lines_order_line_id"} <= await index_names(empty_database_url, "return_lines")
    differences = await schema_differences(empty_database_url)
    assert [d for d in differences if any(t in repr(d) for t in RETURN_TABLES)] == []

    assert await asyncio.to_thread(migrate, settings, "downgrade", "0015") == "0015"
    assert not RETURN_TABLES & await table_names(empty_database_url)
    assert await asyncio.to_thread(migrate, settings, "upgrade", "head") == migration_head()
    assert await table_names(empty_database_url) >= RETURN_TABLES


async def test_migration_0018_builds_what_the_orm_describes_and_goes_down_to_0016(
    empty_database_url: str,
) -> None:
    """The wishlist's table, its two partial unique indexes (one entry per product with no variant,
    NULL included) and what the ORM describes; down and up again."""
    settings = make_settings(empty_database_url)
    assert await asyncio.to_thread(migrate, settings, "upgrade") == migration_head()
    assert "wishlist_items" in await table_names(empty_database_url)
    assert {
        "uq_wishlist_items_product",
        "uq_wishlist_items_variant",
        "ix_wishlist_items_product_id",
        "ix_wishlist_items_variant_id",
    } <= await index_names(empty_database_url, "wishlist_items")
    differences = await schema_differences(empty_database_url)
    assert [d for d in differences if "wishlist_items" in repr(d)] == []

    engine = create_async_engine(empty_database_url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO users (id, email, username, password_hash, first_name, last_name,"
                    " phone, role, is_active, date_joined)"
                    " VALUES (1, 'a@example.com', 'a', 'x', '', '', '', 'customer', TRUE, CURRENT_TIMESTAMP)"
                )
            )
        async with engine.begin() as conn:
            await conn.execute(sa.text(WISH_PRODUCT))
        insert = sa.text(
            "INSERT INTO wishlist_items (user_id, product_id, variant_id, created_at)"
            " VALUES (1, 1, :variant, CURRENT_TIMESTAMP)"
        )
        async with engine.begin() as conn:
            await conn.execute(insert, {"variant": None})
        with pytest.raises(sa.exc.IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(insert, {"variant": None})  # NULL variant is unique too
    finally:
        await engine.dispose()

    assert await asyncio.to_thread(migrate, settings, "downgrade", "0016") == "0016"
    assert "wishlist_items" not in await table_names(empty_database_url)
    assert await asyncio.to_thread(migrate, settings, "upgrade", "head") == migration_head()
    assert "wishlist_items" in await table_names(empty_database_url)


WISH_PRODUCT = (
    "INSERT INTO products (id, name, slug, sku, price, stock_quantity, created_at, updated_at)"
    " VALUES (1, 'Lamp', 'lamp', 'L-1', 500, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)
WEBHOOK_TABLES = {"webhook_subscriptions", "webhook_deliveries"}


async def test_migration_0019_builds_what_the_orm_describes_and_goes_down_to_0016(
    empty_database_url: str,
) -> None:
    settings = make_settings(empty_database_url)
    assert await asyncio.to_thread(migrate, settings, "upgrade") == migration_head()
    assert await table_names(empty_database_url) >= WEBHOOK_TABLES
    assert {
        "ix_webhook_deliveries_first_attempt_id",
        "ix_webhook_deliveries_subscription_id_id",
    } <= await index_names(empty_database_url, "webhook_deliveries")
    differences = await schema_differences(empty_database_url)
    assert [d for d in differences if any(t in repr(d) for t in WEBHOOK_TABLES)] == []

    assert await asyncio.to_thread(migrate, settings, "downgrade", "0016") == "0016"
    assert not WEBHOOK_TABLES & await table_names(empty_database_url)
    assert await asyncio.to_thread(migrate, settings, "upgrade", "head") == migration_head()
    assert await table_names(empty_database_url) >= WEBHOOK_TABLES
