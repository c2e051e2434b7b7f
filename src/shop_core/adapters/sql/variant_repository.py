"""Product variants over SQLAlchemy: the repository staff's variant use cases and the imports use."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import order_lines, product_variants, products
from shop_core.adapters.sql.variant_rows import lock_variants, refresh_totals
from shop_core.domain.errors import Conflict
from shop_core.domain.ids import MAX_ID
from shop_core.domain.variants import Variant

_V = product_variants.c


def _taken(sku: str) -> Conflict:
    return Conflict(f"The sku {sku!r} is already in use.")


class SqlVariantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def for_product(self, product_id: int, *, for_update: bool = False) -> list[Variant]:
        if not 0 < product_id <= MAX_ID:
            return []
        if for_update:
            await lock_variants(self._session, _V.product_id == product_id)
        query = sa.select(Variant).where(_V.product_id == product_id).order_by(_V.id)
        return list((await self._session.scalars(query)).all())

    async def for_products(self, product_ids: Sequence[int]) -> dict[int, list[Variant]]:
        wanted = sorted({i for i in product_ids if 0 < i <= MAX_ID})
        found: dict[int, list[Variant]] = {}
        if wanted:
            query = sa.select(Variant).where(_V.product_id.in_(wanted)).order_by(_V.id)
            for variant in await self._session.scalars(query):
                found.setdefault(variant.product_id, []).append(variant)
        return found

    async def get(self, variant_id: int) -> Variant | None:
        return await self._session.get(Variant, variant_id) if 0 < variant_id <= MAX_ID else None

    async def sku_owner(self, sku: str) -> int | None:
        query = sa.union_all(
            sa.select(_V.product_id).where(_V.sku == sku),
            sa.select(products.c.id).where(products.c.sku == sku),
        ).limit(1)
        found = await self._session.scalar(query)
        return None if found is None else int(found)

    async def sku_owners(self, skus: Sequence[str]) -> dict[str, int]:
        wanted = sorted(set(skus))
        if not wanted:
            return {}
        query = sa.union_all(
            sa.select(_V.sku, _V.product_id).where(_V.sku.in_(wanted)),
            sa.select(products.c.sku, products.c.id).where(products.c.sku.in_(wanted)),
        )
        return {str(sku): int(owner) for sku, owner in await self._session.execute(query)}

    async def add(self, variant: Variant) -> Variant:
        self._session.add(variant)
        await self._flush(variant.sku)
        await refresh_totals(self._session, [variant.product_id])
        return variant

    async def save(self, variant: Variant) -> None:
        await self._flush(variant.sku)
        await refresh_totals(self._session, [variant.product_id])

    async def delete(self, variant: Variant) -> None:
        product_id = variant.product_id
        await self._session.delete(variant)
        await self._session.flush()
        await refresh_totals(self._session, [product_id])

    async def is_ordered(self, variant_id: int) -> bool:
        query = sa.select(order_lines.c.id).where(order_lines.c.variant_id == variant_id).limit(1)
        return (await self._session.scalar(query)) is not None

    async def _flush(self, sku: str) -> None:
        try:
            await self._session.flush()
        except IntegrityError as exc:
            raise _taken(sku) from exc
