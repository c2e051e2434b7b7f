"""The engine and session factory, built from settings by the composition root."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from advanced_alchemy.config import AsyncSessionConfig, SQLAlchemyAsyncConfig
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shop_core.adapters.sql.orm import map_domain
from shop_core.adapters.sql.variant_rows import ShopSession

if TYPE_CHECKING:
    from shop_core.adapters.sql.pg_reads import PgReads

POOL_RECYCLE_SECONDS = 1800


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    reads: PgReads | None = None
    """PostgreSQL (asyncpg): the catalog reader's own pool, its statements sent straight through
    asyncpg (`pg_reads`); None elsewhere, where the reader uses the engine."""

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def close(self) -> None:
        if self.reads is not None:
            await self.reads.close()
        await self.engine.dispose()


def alchemy_config(url: str, *, pool_size: int = 10, echo: bool = False) -> SQLAlchemyAsyncConfig:
    """advanced-alchemy's config for the engine and sessions (migrations: `migrations_runner`)."""
    from advanced_alchemy.config import EngineConfig

    engine = EngineConfig(echo=echo)
    if not url.startswith("sqlite"):
        # A pre-ping costs three round trips per checkout with asyncpg; recycling connections
        # every 30 minutes and a pool as large as the concurrency cost nothing per request.
        engine = EngineConfig(
            echo=echo, pool_size=pool_size, max_overflow=pool_size // 2, pool_recycle=POOL_RECYCLE_SECONDS
        )
    return SQLAlchemyAsyncConfig(
        connection_string=url,
        engine_config=engine,
        session_config=AsyncSessionConfig(expire_on_commit=False, autoflush=False),
        create_all=False,
    )


def open_database(url: str, *, pool_size: int = 10, echo: bool = False) -> Database:
    """Build (not connect) the engine; connections open lazily on first use."""
    map_domain()
    config = alchemy_config(url, pool_size=pool_size, echo=echo)
    engine = config.get_engine()
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    sessions = async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=ShopSession
    )
    reads = None
    if engine.dialect.driver == "asyncpg" and not echo:  # echo: every statement through the engine's log
        from shop_core.adapters.sql.pg_reads import PgReads, Unsupported

        # The catalog's reads on a pool of their own, opened as needed: at most `pool_size` more.
        with suppress(Unsupported):  # a dialect configured otherwise: the reads use the engine
            reads = PgReads(engine, size=pool_size, recycle=POOL_RECYCLE_SECONDS)
    return Database(engine=engine, sessions=sessions, reads=reads)


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
    # SQLite's own lower() folds ASCII letters only; fold every letter, as PostgreSQL does.
    dbapi_conn.create_function("lower", 1, _lower, deterministic=True)  # type: ignore[attr-defined]


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


# SQLSTATEs that mean the server is not there for us: connection exceptions (class 08), the server
# shutting down or starting (57P01-57P03), and the database itself missing (3D000).
_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03", "3D000")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything in its chain of causes and contexts (and the DBAPI error SQLAlchemy
    wraps), each once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__, getattr(current, "orig", None)]


def _sqlstate(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return state if isinstance(state, str) else None


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached (down, restarting, a dropped
    connection), as opposed to a refused statement or a bug: the first is a 503, the rest a 500."""
    for current in _causes(exc):
        if isinstance(current, sa.exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sa.exc.InterfaceError | sa.exc.DisconnectionError):
            return True  # asyncpg's "connection is closed", a pool that lost its connections
        if isinstance(current, ConnectionError | TimeoutError) or (
            isinstance(current, OSError) and not isinstance(current, FileNotFoundError | PermissionError)
        ):
            return True
        if (state := _sqlstate(current)) is not None and state.startswith(_UNREACHABLE_STATES):
            return True
    return False


def schema_missing(exc: BaseException) -> bool:
    """Whether `exc` says the tables are not there (the database was never migrated): SQLite's
    "no such table", PostgreSQL's undefined_table (42P01), anywhere in its chain of causes."""
    return any(
        _sqlstate(current) == "42P01"
        # SQLAlchemy's OperationalError and the sqlite3 one it wraps
        or (type(current).__name__ == "OperationalError" and "no such table" in str(current))
        for current in _causes(exc)
    )


def missing_sqlite_file(database_url: str) -> str | None:
    """The SQLite file `database_url` names, if it does not exist: connecting would create it,
    empty. None for any other database (and for an in-memory SQLite one)."""
    try:
        url = sa.make_url(database_url)
    except sa.exc.ArgumentError:  # a bad URL is reported by the engine, when it is used
        return None
    name = url.database or ""
    if url.get_backend_name() != "sqlite" or name in ("", ":memory:") or name.startswith("file:"):
        return None
    return None if Path(name).exists() else name
