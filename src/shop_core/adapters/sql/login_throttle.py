"""Sign-in attempt counters in the database (the embedded default)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shop_core.adapters.sql.orm import login_failures
from shop_core.adapters.sql.upsert import dialect_insert


class SqlLoginThrottle:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def attempts(self, key: str) -> tuple[int, int]:
        now = datetime.now(UTC)
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(login_failures.c.failures, login_failures.c.window_ends).where(
                        login_failures.c.key == key, login_failures.c.window_ends > now
                    )
                )
            ).first()
        if row is None:
            return 0, 0
        return row.failures, _seconds_until(row.window_ends, now)

    async def count_attempt(self, key: str, window_seconds: int) -> tuple[int, int]:
        # One INSERT … ON CONFLICT DO UPDATE … RETURNING: the row lock (PostgreSQL) or the database
        # lock (SQLite) orders concurrent attempts, and each reads back the count it made.
        now = datetime.now(UTC)
        ends = now + timedelta(seconds=window_seconds)
        insert = dialect_insert(self._engine, login_failures).values(key=key, failures=1, window_ends=ends)
        lapsed = login_failures.c.window_ends <= now
        stmt = insert.on_conflict_do_update(
            index_elements=[login_failures.c.key],
            set_={
                "failures": sa.case((lapsed, 1), else_=login_failures.c.failures + 1),
                "window_ends": sa.case((lapsed, ends), else_=login_failures.c.window_ends),
            },
        ).returning(login_failures.c.failures, login_failures.c.window_ends)
        async with self._engine.begin() as conn:
            row = (await conn.execute(stmt)).one()
        # Measured from now: another attempt may have opened the window after `now` was taken.
        return row.failures, _seconds_until(row.window_ends, datetime.now(UTC))

    async def reset(self, key: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(login_failures.delete().where(login_failures.c.key == key))


def _seconds_until(ends: datetime, now: datetime) -> int:
    return max(math.ceil((ends - now).total_seconds()), 1)
