"""The product list's exact `count`, from the per-category counters (`category_product_counts`,
kept by triggers in the transaction of every product write: migration 0020) when the list is
filtered by nothing but its state and category: a sum over at most every category, not a count
over every product. Any other filter (search, prices, stock) counts its products, as before."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shop_core.adapters.sql.orm import category_product_counts

_C = category_product_counts.c


def counter_count(*, active_only: bool, categories: sa.Select[Any] | None) -> sa.Select[Any]:
    """How many products (active ones, with `active_only`) the list has: in the categories that
    `categories` selects (ids), or in all."""
    column = _C.active if active_only else _C.total
    query = sa.select(sa.func.coalesce(sa.func.sum(column), 0))
    if categories is not None:
        query = query.where(_C.category_id.in_(categories))
    return query
