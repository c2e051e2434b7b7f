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
