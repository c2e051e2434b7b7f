"""The catalog's read side: SQLAlchemy Core straight to rows, one query per page plus a count."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shop_core.adapters.sql.orm import categories, products
from shop_core.domain.catalog import Category
from shop_core.domain.ids import MAX_ID
from shop_core.ports.catalog import ProductFilter

_COLUMNS = (*products.c, categories.c.name.label("category_name"))
_ORDER = {
    "id": (products.c.id,),
    "price": (products.c.price, products.c.id),
    "-price": (products.c.price.desc(), products.c.id),
    "name": (products.c.name, products.c.id),
    "-name": (products.c.name.desc(), products.c.id),
    "created_at": (products.c.created_at, products.c.id),
    "-created_at": (products.c.created_at.desc(), products.c.id.desc()),
}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(query: ProductFilter) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if not query.include_inactive:
        where.append(products.c.is_active.is_(True))
    if query.category_id is not None and not 0 < query.category_id <= MAX_ID:
        where.append(sa.false())
    elif query.category_id is not None:
        tree = (
            sa.select(categories.c.id).where(categories.c.id == query.category_id).cte("tree", recursive=True)
        )
        tree = tree.union_all(sa.select(categories.c.id).where(categories.c.parent_id == tree.c.id))
        where.append(products.c.category_id.in_(sa.select(tree.c.id)))
    if query.search and "\x00" in query.search:
        where.append(sa.false())  # no stored text holds a NUL (PostgreSQL cannot even be asked)
    elif query.search:
        pattern = f"%{_escape_like(query.search.lower())}%"
        where.append(
            sa.or_(
                sa.func.lower(products.c.name).like(pattern, escape="\\"),
                sa.func.lower(products.c.description).like(pattern, escape="\\"),
                sa.func.lower(products.c.sku).like(pattern, escape="\\"),
            )
        )
    if query.min_price is not None:
        where.append(products.c.price >= query.min_price)
    if query.max_price is not None:
        where.append(products.c.price <= query.max_price)
    if query.in_stock:
        where.append(products.c.stock_quantity > 0)
    if query.low_stock_below is not None:
        where.append(products.c.stock_quantity < query.low_stock_below)
    return where


# The detail query is the hottest statement: built once, with a bound parameter.
_ANY_PRODUCT = (
    sa.select(*_COLUMNS)
    .select_from(products.outerjoin(categories, products.c.category_id == categories.c.id))
    .where(products.c.id == sa.bindparam("product_id"))
)
_ACTIVE_PRODUCT = _ANY_PRODUCT.where(products.c.is_active.is_(True))


class SqlCatalogReader:
    def __init__(self, engine: AsyncEngine) -> None:
        # Reads need no transaction: autocommit spares a BEGIN and a ROLLBACK per query.
        self._engine = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else engine
        )

    async def products(self, query: ProductFilter, *, offset: int, limit: int) -> tuple[list[Any], int]:
        where = _conditions(query)
        page = (
            sa.select(*_COLUMNS)
            .select_from(products.outerjoin(categories, products.c.category_id == categories.c.id))
            .where(*where)
            .order_by(*_ORDER[query.ordering])
            .offset(offset)
            .limit(limit)
        )
        count = sa.select(sa.func.count()).select_from(products).where(*where)
        async with self._engine.connect() as conn:
            rows = list((await conn.execute(page)).all())
            total = len(rows) + offset if 0 < len(rows) < limit else int(await conn.scalar(count) or 0)
        return rows, total

    async def product(self, product_id: int, *, include_inactive: bool) -> Any | None:
        if not 0 < product_id <= MAX_ID:
            return None
        query = _ANY_PRODUCT if include_inactive else _ACTIVE_PRODUCT
        async with self._engine.connect() as conn:
            return (await conn.execute(query, {"product_id": product_id})).first()

    async def categories(self, *, offset: int, limit: int) -> tuple[list[Category], int]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(categories).order_by(categories.c.id).offset(offset).limit(limit)
                )
            ).all()
            total = int(await conn.scalar(sa.select(sa.func.count()).select_from(categories)) or 0)
        return [_category(r) for r in rows], total

    async def category(self, category_id: int) -> Category | None:
        if not 0 < category_id <= MAX_ID:
            return None
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(categories).where(categories.c.id == category_id))).first()
        return _category(row) if row else None

    async def children(self, category_id: int) -> list[Category]:
        if not 0 < category_id <= MAX_ID:
            return []
        query = sa.select(categories).where(categories.c.parent_id == category_id).order_by(categories.c.id)
        async with self._engine.connect() as conn:
            return [_category(r) for r in (await conn.execute(query)).all()]


def _category(row: Any) -> Category:
    return Category(
        id=row.id, name=row.name, slug=row.slug, parent_id=row.parent_id, description=row.description
    )
