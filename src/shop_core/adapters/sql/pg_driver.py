"""The asyncpg connection under a session's transaction, for the checkout's hottest statements.

SQLAlchemy's per-statement work costs several times what asyncpg itself does; on the order
placement path (a handful of statements per order, every order) the repositories send their
statements straight through asyncpg instead, inside the same transaction the unit of work
commits or rolls back. Everywhere else, and on SQLite, they use SQLAlchemy as usual.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

_ADAPTED = "shop.asyncpg"  # where a session keeps SQLAlchemy's adapter of its asyncpg connection


async def _adapted(session: AsyncSession) -> Any | None:
    if _ADAPTED in session.info:
        return session.info[_ADAPTED]
    connection = await session.connection()
    adapted: Any = None
    if connection.dialect.driver == "asyncpg":
        raw = await connection.get_raw_connection()
        adapted = raw.dbapi_connection
    session.info[_ADAPTED] = adapted  # the session holds this one connection until it closes
    return adapted


async def asyncpg_connection(session: AsyncSession) -> Any | None:
    """The asyncpg connection as it is (in the session's transaction once one has begun); None when
    the database is not PostgreSQL. For single reads that need no transaction of their own."""
    adapted = await _adapted(session)
    return None if adapted is None else adapted._connection


async def asyncpg_in_transaction(session: AsyncSession) -> Any | None:
    """The asyncpg connection, its transaction begun; None when the database is not PostgreSQL."""
    adapted = await _adapted(session)
    if adapted is None:
        return None
    # SQLAlchemy begins the asyncpg transaction lazily, on its first statement; begin it now so
    # statements sent directly are part of it (never autocommitted).
    if adapted._transaction is None:
        await adapted._start_transaction()
    return adapted._connection


def forget_connection(session: AsyncSession) -> None:
    """Drop what `_adapted` kept: the session's transaction ended and with it its hold on the connection."""
    session.info.pop(_ADAPTED, None)
