"""Customers' wishlists over SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import products, wishlist_items
from shop_core.domain.ids import MAX_ID
from shop_core.domain.wishlist import WishlistItem

_W = wishlist_items.c


def _item_of(row: Any) -> WishlistItem:
    return WishlistItem(
        user_id=row.user_id,
        product_id=row.product_id,
        variant_id=row.variant_id,
        created_at=row.created_at,
        notify=bool(row.notify),
        restocks=int(row.restocks),
        id=int(row.id),
    )


def _variant_is(variant_id: int | None) -> sa.ColumnElement[bool]:
    return _W.variant_id.is_(None) if variant_id is None else _W.variant_id == variant_id


class SqlWishlistRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, item: WishlistItem) -> WishlistItem:
        values = {
            "user_id": item.user_id,
            "product_id": item.product_id,
            "variant_id": item.variant_id,
            "notify": item.notify,
            "restocks": item.restocks,
            "created_at": item.created_at,
        }
        item.id = await self._session.scalar(wishlist_items.insert().values(**values).returning(_W.id))
        return item

    async def find(self, user_id: int, product_id: int, variant_id: int | None) -> WishlistItem | None:
        query = sa.select(wishlist_items).where(
            _W.user_id == user_id, _W.product_id == product_id, _variant_is(variant_id)
        )
        row = (await self._session.execute(query)).first()
        return None if row is None else _item_of(row)

    async def get(self, item_id: int) -> WishlistItem | None:
        if not 0 < item_id <= MAX_ID:
            return None
        row = (await self._session.execute(sa.select(wishlist_items).where(_W.id == item_id))).first()
        return None if row is None else _item_of(row)

    async def of_user(self, user_id: int) -> list[WishlistItem]:
        query = sa.select(wishlist_items).where(_W.user_id == user_id).order_by(_W.id)
        return [_item_of(row) for row in await self._session.execute(query)]

    async def count(self, user_id: int) -> int:
        found = await self._session.scalar(sa.select(sa.func.count()).where(_W.user_id == user_id))
        return int(found or 0)

    async def save(self, item: WishlistItem) -> None:
        assert item.id is not None
        await self._session.execute(
            wishlist_items.update().where(_W.id == item.id).values(notify=item.notify)
        )

    async def remove(self, user_id: int, product_id: int, variant_id: int | None = None) -> int:
        query = wishlist_items.delete().where(_W.user_id == user_id, _W.product_id == product_id)
        if variant_id is not None:
            query = query.where(_W.variant_id == variant_id)
        removed = await self._session.execute(query.returning(_W.id))
        return len(removed.all())

    async def watching(self, product_ids: Sequence[int]) -> list[WishlistItem]:
        query = (
            sa.select(wishlist_items)
            .where(_W.product_id.in_(product_ids), _W.notify.is_(True))
            .order_by(_W.id)
        )
        return [_item_of(row) for row in await self._session.execute(query)]

    async def count_restock(self, item_id: int) -> int:
        counted = await self._session.scalar(
            wishlist_items.update()
            .where(_W.id == item_id)
            .values(restocks=_W.restocks + 1)
            .returning(_W.restocks)
        )
        return int(counted or 0)

    async def popular(self, limit: int) -> list[tuple[int, str, int]]:
        entries = sa.func.count(_W.id).label("entries")
        query = (
            sa.select(products.c.id, products.c.name, entries)
            .join(wishlist_items, _W.product_id == products.c.id)
            .group_by(products.c.id, products.c.name)
            .order_by(entries.desc(), products.c.id)
            .limit(limit)
        )
        return [(int(r.id), str(r.name), int(r.entries)) for r in await self._session.execute(query)]
