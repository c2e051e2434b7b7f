"""The product list's exact `count`, from the per-category counters (`category_product_counts`,
kept by triggers in the transaction of every product write: migration 0020) when the list is
filtered by nothing but its state and category: a sum over at most every category, not a count
over every product. Any other filter (search, prices, stock) counts its products, as before."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import BLOCK, category_product_counts, product_id_blocks, products

_C = category_product_counts.c
_B = product_id_blocks.c
_P = products.c


def counter_count(*, active_only: bool, categories: sa.Select[Any] | None) -> sa.Select[Any]:
    """How many products (active ones, with `active_only`) the list has: in the categories that
    `categories` selects (ids), or in all."""
    column = _C.active if active_only else _C.total
    query = sa.select(sa.func.coalesce(sa.func.sum(column), 0))
    if categories is not None:
        query = query.where(_C.category_id.in_(categories))
    return query


async def recount(session: AsyncSession) -> tuple[int, int]:
    """Set the counters to a fresh count of the products, product writes held off (on PostgreSQL a
    SHARE lock on products; SQLite writes one at a time): (categories, id blocks) that were wrong."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(sa.text("LOCK TABLE products IN SHARE MODE"))
    active = sa.func.sum(sa.case((_P.is_active.is_(True), 1), else_=0))
    category = sa.func.coalesce(_P.category_id, 0)
    counted = {
        int(k): (int(a), int(t))
        for k, a, t in await session.execute(sa.select(category, active, sa.func.count()).group_by(category))
    }
    stored = {
        int(k): (int(a), int(t))
        for k, a, t in await session.execute(sa.select(_C.category_id, _C.active, _C.total))
    }
    block = _P.id // BLOCK
    blocks = {int(k): int(a) for k, a in await session.execute(sa.select(block, active).group_by(block))}
    stored_blocks = {int(k): int(a) for k, a in await session.execute(sa.select(_B.block, _B.active))}
    wrong_categories = sum(
        counted.get(k, (0, 0)) != stored.get(k, (0, 0)) for k in counted.keys() | stored.keys()
    )
    wrong_blocks = sum(
        blocks.get(k, 0) != stored_blocks.get(k, 0) for k in blocks.keys() | stored_blocks.keys()
    )
    if wrong_categories:
        await session.execute(sa.delete(category_product_counts))
        rows = [{"category_id": k, "active": a, "total": t} for k, (a, t) in sorted(counted.items())]
        if rows:
            await session.execute(sa.insert(category_product_counts), rows)
    if wrong_blocks:
        await session.execute(sa.delete(product_id_blocks))
        rows = [{"block": k, "active": a} for k, a in sorted(blocks.items())]
        if rows:
            await session.execute(sa.insert(product_id_blocks), rows)
    return wrong_categories, wrong_blocks
