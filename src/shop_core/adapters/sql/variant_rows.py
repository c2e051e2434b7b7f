"""Product variants in the database: keeping a product's default variant in step with the product.

A product without options has one variant, its default, which carries the product's own sku and
stock. Writes through the product (create, the legacy PATCH/PUT fields, the CSV import) change the
product's row; this module's flush hook writes the same sku and stock to its default variant in
the same flush, so the variant (where stock lives) and the product's total never disagree. Stock
changes that go through the stock statements (`SqlProductRepository.change_stock`, `take_stock`)
change the variant first and the product's total with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from shop_core.adapters.sql.orm import product_variants
from shop_core.domain.catalog import Product

_V = product_variants.c


class ShopSession(Session):
    """The sessions of the shop's unit of work (see `open_database`)."""


@event.listens_for(ShopSession, "after_flush")
def _keep_default_variants(session: Session, _flush: UOWTransaction) -> None:
    created = [p for p in session.new if isinstance(p, Product)]
    changed = [p for p in session.dirty if isinstance(p, Product) and _sku_or_stock_changed(p)]
    if not created and not changed:
        return
    connection = session.connection()
    if created:
        connection.execute(
            product_variants.insert(),
            [
                {
                    "product_id": p.id,
                    "sku": p.sku,
                    "is_default": True,
                    "options": {},
                    "stock_quantity": p.stock_quantity,
                    "is_active": True,
                    "created_at": p.created_at,
                    "updated_at": p.updated_at,
                }
                for p in created
            ],
        )
    for product in changed:
        connection.execute(
            product_variants.update()
            .where(_V.product_id == product.id, _V.is_default.is_(True))
            .values(sku=product.sku, stock_quantity=product.stock_quantity, updated_at=product.updated_at)
        )


def _sku_or_stock_changed(product: Product) -> bool:
    state: Any = sa.inspect(product)
    return bool(state.attrs.sku.history.has_changes() or state.attrs.stock_quantity.history.has_changes())


async def default_variants(session: AsyncSession, product_ids: Iterable[int]) -> dict[int, int]:
    """The default variant's id of each of these products (those that have one)."""
    wanted = sorted(set(product_ids))
    if not wanted:
        return {}
    rows = await session.execute(
        sa.select(_V.product_id, _V.id).where(_V.product_id.in_(wanted), _V.is_default.is_(True))
    )
    return {int(product_id): int(variant_id) for product_id, variant_id in rows}


async def lock_variants(session: AsyncSession, where: sa.ColumnElement[bool]) -> None:
    """Lock a product's variant rows before its own row (PostgreSQL; SQLite writes one at a time):
    the order every stock change takes them in, so a staff edit and a checkout cannot deadlock."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(sa.select(_V.id).where(where).with_for_update())
