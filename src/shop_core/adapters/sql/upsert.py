"""INSERT … ON CONFLICT for the two dialects we run on."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession


def dialect_insert(engine: AsyncEngine, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignoring_duplicates(engine: AsyncEngine, table: sa.Table, values: dict[str, Any]) -> sa.Executable:
    return dialect_insert(engine, table).values(**values).on_conflict_do_nothing()


def session_insert(session: AsyncSession, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT for the database the session is bound to."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
