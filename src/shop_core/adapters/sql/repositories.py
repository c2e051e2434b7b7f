"""Repositories over advanced-alchemy, speaking domain objects."""

from __future__ import annotations

import functools
from datetime import datetime

import sqlalchemy as sa
from advanced_alchemy.exceptions import IntegrityError as AlchemyIntegrityError
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import password_reset_tokens, users
from shop_core.adapters.sql.pg_fast_path import pg_fast_path
from shop_core.domain.errors import Conflict
from shop_core.domain.users import Role, User


class _UserRows(SQLAlchemyAsyncRepository[User]):  # type: ignore[type-var]
    model_type = User


class SqlUserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @functools.cached_property
    def _rows(self) -> _UserRows:  # made on first use: the hot paths do without it
        return _UserRows(session=self._session, auto_expunge=False, auto_commit=False)

    async def add(self, user: User) -> User:
        try:
            return await self._rows.add(user, auto_refresh=False)
        except AlchemyIntegrityError as exc:
            raise Conflict("A user with that email or username already exists.") from exc

    async def get(self, user_id: int) -> User | None:
        return await self._session.get(User, user_id)

    async def lock(self, user_id: int) -> None:
        query = sa.select(users.c.id).where(users.c.id == user_id).with_for_update()
        await self._session.execute(query)

    async def get_read_only(self, user_id: int) -> User | None:
        fast = await pg_fast_path(self._session)
        if fast is None:
            return await self._session.get(User, user_id)
        # One statement, straight through asyncpg: authentication makes this lookup on every request.
        row = await fast.peek_user(user_id)
        return None if row is None else User(**{**dict(row), "role": Role(row["role"])})

    async def get_by_email(self, email: str) -> User | None:
        return await self._rows.get_one_or_none(email=email)

    async def get_by_username(self, username: str) -> User | None:
        return await self._rows.get_one_or_none(sa.func.lower(users.c.username) == username.lower())

    async def username_taken(self, username: str) -> bool:
        return await self._rows.exists(sa.func.lower(users.c.username) == username.lower())

    async def staff_emails(self) -> list[str]:
        found = await self._session.scalars(
            sa.select(users.c.email)
            .where(users.c.role.in_([Role.STAFF, Role.SUPERUSER]), users.c.is_active.is_(True))
            .order_by(users.c.id)
        )
        return list(found)

    async def list(self, *, offset: int = 0, limit: int = 100) -> tuple[list[User], int]:
        from advanced_alchemy.filters import LimitOffset, OrderBy

        # A separate COUNT: the window-function count is 0 for a page past the end.
        rows, total = await self._rows.get_many_and_count(
            OrderBy("id"), LimitOffset(limit=limit, offset=offset), count_with_window_function=False
        )
        return list(rows), total

    async def emails_of(self, user_ids: set[int]) -> dict[int, str]:
        if not user_ids:
            return {}
        found = await self._session.execute(
            sa.select(users.c.id, users.c.email).where(users.c.id.in_(sorted(user_ids)))
        )
        return {row.id: row.email for row in found}

    async def save(self, user: User) -> None:
        try:
            await self._rows.update(user, auto_refresh=False)
        except AlchemyIntegrityError as exc:
            raise Conflict("That change clashes with another user.") from exc


class SqlPasswordResetRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, token_hash: str, user_id: int, created_at: datetime, expires_at: datetime) -> None:
        await self._session.execute(
            password_reset_tokens.insert().values(
                token_hash=token_hash, user_id=user_id, created_at=created_at, expires_at=expires_at
            )
        )

    async def discard_unused(self, user_id: int) -> None:
        t = password_reset_tokens
        await self._session.execute(t.delete().where(t.c.user_id == user_id, t.c.used_at.is_(None)))

    async def consume(self, token_hash: str, now: datetime) -> int | None:
        t = password_reset_tokens
        # The conditional write comes first and decides: a concurrent consumer waits for this row's
        # lock (PostgreSQL) or the database's write lock (SQLite), then finds `used_at` set. Writing
        # before reading also spares SQLite a read lock that would have to be upgraded.
        marked = await self._session.execute(
            t.update()
            .where(t.c.token_hash == token_hash, t.c.used_at.is_(None), t.c.expires_at > now)
            .values(used_at=now)
        )
        if marked.rowcount != 1:  # type: ignore[attr-defined]
            return None
        user_id = await self._session.scalar(sa.select(t.c.user_id).where(t.c.token_hash == token_hash))
        return None if user_id is None else int(user_id)
