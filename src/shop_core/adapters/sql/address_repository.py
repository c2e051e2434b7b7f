"""Customers' address books over SQLAlchemy Core."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import addresses
from shop_core.domain.address_book import Default, SavedAddress
from shop_core.domain.addresses import Address
from shop_core.domain.ids import MAX_ID

_A = addresses.c
_FIELDS = ("full_name", "line1", "line2", "city", "postal_code", "country", "phone", "region")


def _row_of(saved: SavedAddress) -> dict[str, Any]:
    return {
        "user_id": saved.user_id,
        **saved.address.as_dict(),
        "region": saved.address.region,
        "is_default_shipping": saved.is_default_shipping,
        "is_default_billing": saved.is_default_billing,
        "created_at": saved.created_at,
        "updated_at": saved.updated_at,
    }


def _saved_of(row: Any) -> SavedAddress:
    return SavedAddress(
        user_id=row.user_id,
        address=Address(**{name: getattr(row, name) for name in _FIELDS}),
        created_at=row.created_at,
        updated_at=row.updated_at,
        is_default_shipping=bool(row.is_default_shipping),
        is_default_billing=bool(row.is_default_billing),
        id=int(row.id),
    )


def _flag(kind: Default) -> sa.Column[Any]:
    return _A.is_default_shipping if kind is Default.SHIPPING else _A.is_default_billing


class SqlAddressRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, saved: SavedAddress) -> SavedAddress:
        saved.id = await self._session.scalar(addresses.insert().values(**_row_of(saved)).returning(_A.id))
        return saved

    async def get(self, user_id: int, address_id: int, *, for_update: bool = False) -> SavedAddress | None:
        if not 0 < address_id <= MAX_ID:
            return None
        query = sa.select(addresses).where(_A.id == address_id, _A.user_id == user_id)
        row = (await self._session.execute(query.with_for_update() if for_update else query)).first()
        return None if row is None else _saved_of(row)

    async def of_user(self, user_id: int) -> list[SavedAddress]:
        rows = await self._session.execute(sa.select(addresses).where(_A.user_id == user_id).order_by(_A.id))
        return [_saved_of(row) for row in rows]

    async def count(self, user_id: int) -> int:
        found = await self._session.scalar(sa.select(sa.func.count()).where(_A.user_id == user_id))
        return int(found or 0)

    async def default(self, user_id: int, kind: Default) -> SavedAddress | None:
        row = (
            await self._session.execute(
                sa.select(addresses).where(_A.user_id == user_id, _flag(kind).is_(True))
            )
        ).first()
        return None if row is None else _saved_of(row)

    async def clear_default(self, user_id: int, kind: Default) -> None:
        flag = _flag(kind)
        await self._session.execute(
            addresses.update().where(_A.user_id == user_id, flag.is_(True)).values({flag: False})
        )

    async def save(self, saved: SavedAddress) -> None:
        assert saved.id is not None
        await self._session.execute(addresses.update().where(_A.id == saved.id).values(**_row_of(saved)))

    async def delete(self, saved: SavedAddress) -> None:
        await self._session.execute(addresses.delete().where(_A.id == saved.id))
