"""Migration 0017 builds the reviews table and the products' rating totals the ORM describes, on
SQLite and PostgreSQL, and goes down to 0016 and up again; the database itself refuses a rating
out of range and a second review of one product by one customer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from shop_core.bootstrap import migrate, migration_head
from tests.conftest import make_settings
from tests.integration.test_migrations import empty_database_url, index_names, schema_differences, table_names

__all__ = ["empty_database_url"]  # the fixture, parametrised over both databases

RATING_COLUMNS = {"rating_count", "rating_sum"}


async def product_columns(url: str) -> set[str]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(lambda sync: sa.inspect(sync).get_columns("products"))
    finally:
        await engine.dispose()
    return {str(c["name"]) for c in found}


def _concerns_reviews(diff: object) -> bool:
    text = repr(diff)
    return "reviews" in text or any(name in text for name in RATING_COLUMNS)


async def test_migration_0017_builds_what_the_orm_describes_and_goes_down_to_0016(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    settings = make_settings(url)
    assert await asyncio.to_thread(migrate, settings, "upgrade") == migration_head()
    assert "reviews" in await table_names(url)
    assert await product_columns(url) >= RATING_COLUMNS
    assert {
        "ix_reviews_user_id",
        "ix_reviews_product_id_is_published_created_at",
        "ix_reviews_is_published_id",
    } <= await index_names(url, "reviews")
    assert [d for d in await schema_differences(url) if _concerns_reviews(d)] == []

    assert await asyncio.to_thread(migrate, settings, "downgrade", "0016") == "0016"
    assert "reviews" not in await table_names(url)
    assert not RATING_COLUMNS & await product_columns(url)
    assert await asyncio.to_thread(migrate, settings, "upgrade", "head") == migration_head()
    assert "reviews" in await table_names(url)


async def test_the_database_refuses_bad_ratings_and_second_reviews(empty_database_url: str) -> None:
    url = empty_database_url
    await asyncio.to_thread(migrate, make_settings(url), "upgrade")
    now = datetime.now(UTC)
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO users (id, email, username, password_hash, role, date_joined) "
                    "VALUES (1, 'a@example.com', 'a', 'x', 'customer', :now)"
                ),
                {"now": now},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO products (id, name, slug, sku, price, created_at, updated_at) "
                    "VALUES (1, 'Lamp', 'lamp', 'L-1', 100, :now, :now)"
                ),
                {"now": now},
            )
            [(count, total)] = (
                await conn.execute(sa.text("SELECT rating_count, rating_sum FROM products"))
            ).all()
            assert (count, total) == (0, 0)
        insert = sa.text(
            "INSERT INTO reviews (product_id, user_id, rating, author_name, is_published, created_at, "
            "updated_at) VALUES (1, 1, :rating, 'A', true, :now, :now)"
        )
        for rating in (0, 6):
            with pytest.raises(sa.exc.IntegrityError):
                async with engine.begin() as conn:
                    await conn.execute(insert, {"rating": rating, "now": now})
        async with engine.begin() as conn:
            await conn.execute(insert, {"rating": 5, "now": now})
        with pytest.raises(sa.exc.IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(insert, {"rating": 4, "now": now})
        async with engine.begin() as conn:  # the author's account goes; the review stays, unsigned
            if url.startswith("sqlite"):
                await conn.execute(sa.text("PRAGMA foreign_keys=ON"))
            await conn.execute(sa.text("DELETE FROM users WHERE id = 1"))
            rows = (await conn.execute(sa.text("SELECT user_id, author_name FROM reviews"))).all()
        assert [tuple(r) for r in rows] == [(None, "A")]
    finally:
        await engine.dispose()
