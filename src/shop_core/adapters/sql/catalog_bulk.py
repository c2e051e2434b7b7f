"""Many new products at once (`shop catalog seed --products 1000000`): the rows `add_many` and its
flush hook would write (each product, its default variant, its catalog price), without the ORM's
per-object work.

PostgreSQL: ids reserved from the tables' sequences in one query, then one COPY per table through
the asyncpg connection under the session (the same transaction). Other databases (SQLite): batched
multi-row INSERTs, the products' ids returned by the INSERT itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import product_variants, products
from shop_core.adapters.sql.pg_fast_path import PgFastPath, pg_fast_path
from shop_core.adapters.sql.variant_rows import default_variant_row
from shop_core.domain.catalog import Product
from shop_core.domain.errors import Conflict

_PRODUCT_COLUMNS = (
    "id",
    "name",
    "slug",
    "sku",
    "description",
    "category_id",
    "price",
    "min_price",
    "cost_price",
    "discount_percentage",
    "stock_quantity",
    "image_url",
    "is_active",
    "created_at",
    "updated_at",
    "options",
)
_VARIANT_COLUMNS = (
    "product_id",
    "sku",
    "is_default",
    "options",
    "stock_quantity",
    "is_active",
    "created_at",
    "updated_at",
)
_RESERVE = "SELECT nextval(pg_get_serial_sequence('products', 'id')) FROM generate_series(1, $1)"


def _hundredths(product: Product) -> int:
    return int((product.discount_percentage * 100).to_integral_value())


async def add_generated(session: AsyncSession, items: Sequence[Product]) -> None:
    """Store new products (none of whose skus or slugs is taken) and their default variants; sets
    each product's id. A product without options' catalog price (`min_price`) is its price."""
    if not items:
        return
    try:
        fast = await pg_fast_path(session)  # PostgreSQL through asyncpg: COPY
        if fast is not None:
            await _copy(fast, items)
        else:
            await _insert(session, items)
    except IntegrityError as exc:
        raise Conflict("A product with that sku or slug already exists.") from exc


async def _copy(fast: PgFastPath, items: Sequence[Product]) -> None:
    driver: Any = await fast.connection()  # asyncpg's Connection, in the session's transaction
    ids = [row[0] for row in await driver.fetch(_RESERVE, len(items))]
    for product, product_id in zip(items, ids, strict=True):
        product.id = product_id
    await driver.copy_records_to_table(
        "products",
        columns=_PRODUCT_COLUMNS,
        records=[
            (
                p.id,
                p.name,
                p.slug,
                p.sku,
                p.description,
                p.category_id,
                p.price,
                p.price,
                p.cost_price,
                _hundredths(p),
                p.stock_quantity,
                p.image_url,
                p.is_active,
                p.created_at,
                p.updated_at,
                "[]",  # the connection's JSON codec takes the text (no options: see the caller)
            )
            for p in items
        ],
    )
    await driver.copy_records_to_table(
        "product_variants",
        columns=_VARIANT_COLUMNS,
        records=[
            (p.id, p.sku, True, "{}", p.stock_quantity, True, p.created_at, p.updated_at) for p in items
        ],
    )


async def _insert(session: AsyncSession, items: Sequence[Product]) -> None:
    connection = await session.connection()
    rows: list[dict[str, Any]] = [
        {
            "name": p.name,
            "slug": p.slug,
            "sku": p.sku,
            "description": p.description,
            "category_id": p.category_id,
            "price": p.price,
            "min_price": p.price,
            "cost_price": p.cost_price,
            "discount_percentage": p.discount_percentage,
            "stock_quantity": p.stock_quantity,
            "image_url": p.image_url,
            "is_active": p.is_active,
            "created_at": p.created_at,
            "updated_at": p.updated_at,
            "options": [],
        }
        for p in items
    ]
    # Batched multi-row INSERTs that return each row's id in the order of the parameters.
    inserted = await connection.execute(
        products.insert().returning(products.c.id, sort_by_parameter_order=True), rows
    )
    for product, product_id in zip(items, inserted.scalars().all(), strict=True):
        product.id = product_id
    await connection.execute(product_variants.insert(), [default_variant_row(p) for p in items])
