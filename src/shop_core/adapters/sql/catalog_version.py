"""The catalog version in the database: one row, moved on in a transaction of its own."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shop_core.adapters.sql.database import unreachable
from shop_core.adapters.sql.orm import catalog_version
from shop_core.domain.errors import ServiceUnavailable

_ROW = catalog_version.c.id == 1


@asynccontextmanager
async def _reachable() -> AsyncIterator[None]:
    try:
        yield
    except Exception as exc:
        if unreachable(exc):
            raise ServiceUnavailable("The database is unavailable right now; try again shortly.") from exc
        raise


class SqlCatalogVersion:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # One read needs no transaction: autocommit spares a BEGIN and a ROLLBACK each second.
        self._reads = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else engine
        )

    async def current(self) -> int:
        async with _reachable(), self._reads.connect() as conn:
            found = await conn.scalar(sa.select(catalog_version.c.version).where(_ROW))
        return int(found or 0)

    async def bump(self) -> int:
        async with _reachable(), self._engine.begin() as conn:
            bumped = await conn.scalar(
                sa.update(catalog_version)
                .where(_ROW)
                .values(version=catalog_version.c.version + 1)
                .returning(catalog_version.c.version)
            )
            if bumped is None:
                # The row is gone (a database emptied by hand): start again from the clock, never
                # from a number some process may have seen already.
                bumped = time.time_ns() // 1000
                await conn.execute(sa.insert(catalog_version).values(id=1, version=bumped))
        return int(bumped)
