"""Repositories over advanced-alchemy, speaking domain objects."""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.exceptions import IntegrityError as AlchemyIntegrityError
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import users
from shop_core.domain.errors import Conflict
from shop_core.domain.users import User


class _UserRows(SQLAlchemyAsyncRepository[User]):  # type: ignore[type-var]
    model_type = User


class SqlUserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._rows = _UserRows(session=session, auto_expunge=False, auto_commit=False)

    async def add(self, user: User) -> User:
        try:
            return await self._rows.add(user, auto_refresh=False)
        except AlchemyIntegrityError as exc:
            raise Conflict("A user with that email or username already exists.") from exc

    async def get(self, user_id: int) -> User | None:
        return await self._rows.get_one_or_none(id=user_id)

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
