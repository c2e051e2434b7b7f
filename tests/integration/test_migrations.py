"""The migrations run from an empty database to head, back down to base, and up again."""

from __future__ import annotations

import asyncio
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
