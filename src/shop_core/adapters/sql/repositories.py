"""Repositories over advanced-alchemy, speaking domain objects."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from advanced_alchemy.exceptions import IntegrityError as AlchemyIntegrityError
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import users
from shop_core.adapters.sql.pg_driver import asyncpg_connection
from shop_core.domain.errors import Conflict
from shop_core.domain.users import Role, User

_PEEK_PG = f"SELECT {', '.join(c.name for c in users.c)} FROM users WHERE id = $1"  # noqa: S608


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

    async def peek(self, user_id: int) -> User | None:
        pg = await asyncpg_connection(self._session)
        if pg is None:
            return await self._session.get(User, user_id)
        # One statement, straight through asyncpg (outside a transaction unless one is open):
        # authentication makes this lookup on every request.
        row = await pg.fetchrow(_PEEK_PG, user_id)
        return None if row is None else User(**{**dict(row), "role": Role(row["role"])})

    async def get_by_email(self, email: str) -> User | None:
        return await self._rows.get_one_or_none(email=email)

    async def get_by_username(self, username: str) -> User | None:
        return await self._rows.get_one_or_none(sa.func.lower(users.c.username) == username.lower())

    async def username_taken(self, username: str) -> bool:
        return await self._rows.exists(sa.func.lower(users.c.username) == username.lower())

    async def list(self, *, offset: int = 0, limit: int = 100) -> tuple[list[User], int]:
        from advanced_alchemy.filters import LimitOffset, OrderBy

        # A separate COUNT: the window-function count is 0 for a page past the end.
        rows, total = await self._rows.get_many_and_count(
            OrderBy("id"), LimitOffset(limit=limit, offset=offset), count_with_window_function=False
        )
        return list(rows), total

    async def save(self, user: User) -> None:
        try:
            await self._rows.update(user, auto_refresh=False)
        except AlchemyIntegrityError as exc:
            raise Conflict("That change clashes with another user.") from exc
