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
from sqlalchemy.orm.attributes import set_committed_value

from shop_core.adapters.sql.orm import product_variants, products
from shop_core.domain.catalog import Product

_V = product_variants.c
_P = products.c


class ShopSession(Session):
    """The sessions of the shop's unit of work (see `open_database`)."""


@event.listens_for(ShopSession, "after_flush")
def _keep_default_variants(session: Session, _flush: UOWTransaction) -> None:
    created = [p for p in session.new if isinstance(p, Product)]
    changed = [p for p in session.dirty if isinstance(p, Product) and _changed(p, "sku", "stock_quantity")]
    repriced = [p for p in session.dirty if isinstance(p, Product) and _changed(p, "price")]
    if not created and not changed and not repriced:
        return
    connection = session.connection()
    if created:
        connection.execute(product_variants.insert(), [default_variant_row(p) for p in created])
    for product in changed:
        connection.execute(
            product_variants.update()
            .where(_V.product_id == product.id, _V.is_default.is_(True))
            .values(sku=product.sku, stock_quantity=product.stock_quantity, updated_at=product.updated_at)
        )
    ids = sorted({p.id for p in (*created, *repriced) if p.id is not None})
    if ids:
        connection.execute(_refresh(ids))


def default_variant_row(product: Product) -> dict[str, Any]:
    """The `product_variants` row of a new product's default variant (it has no options)."""
    return {
        "product_id": product.id,
        "sku": product.sku,
        "is_default": True,
        "options": {},
        "stock_quantity": product.stock_quantity,
        "is_active": True,
        "created_at": product.created_at,
        "updated_at": product.updated_at,
    }


def _changed(product: Product, *names: str) -> bool:
    state: Any = sa.inspect(product)
    return any(getattr(state.attrs, name).history.has_changes() for name in names)


def _refresh(product_ids: list[int]) -> sa.Update:
    active = sa.and_(_V.product_id == _P.id, _V.is_active.is_(True))
    stock = sa.select(sa.func.coalesce(sa.func.sum(_V.stock_quantity), 0)).where(active)
    lowest = sa.select(sa.func.min(sa.func.coalesce(_V.price, _P.price))).where(active)
    return (
        products.update()
        .where(_P.id.in_(product_ids))
        .values(
            stock_quantity=stock.scalar_subquery(),
            min_price=sa.func.coalesce(lowest.scalar_subquery(), _P.price),
        )
        .returning(_P.id, _P.stock_quantity)
    )


async def refresh_totals(session: AsyncSession, product_ids: Iterable[int]) -> None:
    """Bring the products' derived stock and catalog price up to date with their variants (and any
    loaded Product's `stock_quantity` with them, without making it a change to flush)."""
    wanted = sorted(set(product_ids))
    if not wanted:
        return
    for product_id, stock in await session.execute(_refresh(wanted)):
        loaded = session.identity_map.get(session.identity_key(Product, product_id))
        if isinstance(loaded, Product):
            set_committed_value(loaded, "stock_quantity", stock)


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
