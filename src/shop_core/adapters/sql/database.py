"""The engine and session factory, built from settings by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from advanced_alchemy.config import AsyncSessionConfig, SQLAlchemyAsyncConfig
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shop_core.adapters.sql.orm import map_domain


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


def alchemy_config(url: str, *, pool_size: int = 10, echo: bool = False) -> SQLAlchemyAsyncConfig:
    """advanced-alchemy's config for the engine and sessions (migrations: `migrations_runner`)."""
    from advanced_alchemy.config import EngineConfig

    engine = EngineConfig(echo=echo)
    if not url.startswith("sqlite"):
        # A pre-ping costs three round trips per checkout with asyncpg; recycling connections
        # every 30 minutes and a pool as large as the concurrency cost nothing per request.
        engine = EngineConfig(echo=echo, pool_size=pool_size, max_overflow=pool_size // 2, pool_recycle=1800)
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
    sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    return Database(engine=engine, sessions=sessions)


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


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached (down, restarting, a dropped
    connection), as opposed to a refused statement or a bug: the first is a 503, the rest a 500."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, sa.exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sa.exc.InterfaceError | sa.exc.DisconnectionError):
            return True  # asyncpg's "connection is closed", a pool that lost its connections
        if isinstance(current, ConnectionError | TimeoutError) or (
            isinstance(current, OSError) and not isinstance(current, FileNotFoundError | PermissionError)
        ):
            return True
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str) and state.startswith(_UNREACHABLE_STATES):
            return True
        todo += [current.__cause__, current.__context__, getattr(current, "orig", None)]
    return False
