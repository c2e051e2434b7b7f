"""Catalog repositories over advanced-alchemy and SQLAlchemy Core."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from advanced_alchemy.exceptions import IntegrityError as AlchemyIntegrityError
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from shop_core.adapters.sql.catalog_bulk import add_generated
from shop_core.adapters.sql.catalog_counts import recount
from shop_core.adapters.sql.orm import categories, product_variants, products, stock_movements
from shop_core.adapters.sql.pg_fast_path import pg_fast_path
from shop_core.adapters.sql.sale_repository import find_running_of
from shop_core.adapters.sql.variant_rows import default_variants, lock_variants
from shop_core.domain.catalog import Category, Product, TakenProduct
from shop_core.domain.errors import Conflict
from shop_core.domain.ids import MAX_ID
from shop_core.domain.stock import StockMovement
from shop_core.domain.variants import name_in
from shop_core.ports.clock import Clock

_V = product_variants.c


def _in_range(value: int) -> bool:
    return 0 < value <= MAX_ID


class _CategoryRows(SQLAlchemyAsyncRepository[Category]):  # type: ignore[type-var]
    model_type = Category


class _ProductRows(SQLAlchemyAsyncRepository[Product]):  # type: ignore[type-var]
    model_type = Product


class SqlCategoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @functools.cached_property
    def _rows(self) -> _CategoryRows:  # made on first use: the hot paths do without it
        return _CategoryRows(session=self._session, auto_expunge=False, auto_commit=False)

    async def add(self, category: Category) -> Category:
        try:
            return await self._rows.add(category, auto_refresh=False)
        except AlchemyIntegrityError as exc:
            raise Conflict(f"A category with the slug {category.slug!r} already exists.") from exc

    async def get(self, category_id: int) -> Category | None:
        return await self._session.get(Category, category_id) if _in_range(category_id) else None

    async def parents(self) -> dict[int, int | None]:
        rows = await self._session.execute(sa.select(categories.c.id, categories.c.parent_id))
        return {row.id: row.parent_id for row in rows}

    async def slug_taken(self, slug: str, *, other_than: int | None = None) -> bool:
        query = sa.select(categories.c.id).where(
            categories.c.slug == slug, categories.c.id != (other_than or 0)
        )
        return (await self._session.scalar(query.limit(1))) is not None

    async def has_children(self, category_id: int) -> bool:
        query = sa.select(categories.c.id).where(categories.c.parent_id == category_id).limit(1)
        return (await self._session.scalar(query)) is not None

    async def has_products(self, category_id: int) -> bool:
        query = sa.select(products.c.id).where(products.c.category_id == category_id).limit(1)
        return (await self._session.scalar(query)) is not None

    async def save(self, category: Category) -> None:
        slug = category.slug  # read now: a failed flush expires the object
        try:
            await self._session.flush()
        except IntegrityError as exc:
            raise Conflict(f"A category with the slug {slug!r} already exists.") from exc

    async def delete(self, category: Category) -> None:
        await self._session.delete(category)
        await self._session.flush()

    async def all(self) -> list[Category]:
        return list((await self._session.scalars(sa.select(Category).order_by(categories.c.id))).all())


class SqlProductRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock  # a product's `updated_at` when its stock changes

    @functools.cached_property
    def _rows(self) -> _ProductRows:  # made on first use: the hot paths do without it
        return _ProductRows(session=self._session, auto_expunge=False, auto_commit=False)

    async def add(self, product: Product) -> Product:
        try:
            return await self._rows.add(product, auto_refresh=False)
        except AlchemyIntegrityError as exc:
            raise Conflict("A product with that sku or slug already exists.") from exc

    async def get(self, product_id: int, *, for_update: bool = False) -> Product | None:
        if not _in_range(product_id):
            return None
        if for_update:
            await lock_variants(self._session, _V.product_id == product_id)
        return await self._session.get(Product, product_id, with_for_update=for_update or None)

    async def get_by_sku(self, sku: str, *, for_update: bool = False) -> Product | None:
        query = sa.select(Product).where(products.c.sku == sku)
        if for_update:
            owner = sa.select(products.c.id).where(products.c.sku == sku).scalar_subquery()
            await lock_variants(self._session, _V.product_id == owner)
            query = query.with_for_update()
        return (await self._session.scalars(query)).one_or_none()

    async def by_skus(self, skus: Sequence[str]) -> dict[str, Product]:
        found = await self._session.scalars(sa.select(Product).where(products.c.sku.in_(list(skus))))
        return {p.sku: p for p in found}

    async def by_slugs(self, slugs: Sequence[str]) -> dict[str, Product]:
        if not slugs:
            return {}
        found = await self._session.scalars(sa.select(Product).where(products.c.slug.in_(list(slugs))))
        return {p.slug: p for p in found}

    async def by_ids(self, ids: Sequence[int]) -> dict[int, Product]:
        wanted = [i for i in ids if _in_range(i)]
        if not wanted:
            return {}
        found = await self._session.scalars(sa.select(Product).where(products.c.id.in_(wanted)))
        return {p.id: p for p in found if p.id is not None}

    async def slugs_in_use(self) -> set[str]:
        return set((await self._session.scalars(sa.select(products.c.slug))).all())

    async def slug_taken(self, slug: str, *, other_than: int | None = None) -> bool:
        query = sa.select(products.c.id).where(products.c.slug == slug, products.c.id != (other_than or 0))
        return (await self._session.scalar(query.limit(1))) is not None

    async def save(self, product: Product) -> None:
        try:
            await self._session.flush()
        except IntegrityError as exc:
            raise Conflict("A product with that sku or slug already exists.") from exc

    async def delete(self, product: Product) -> None:
        await self._session.delete(product)
        await self._session.flush()

    async def change_stock(self, product_id: int, delta: int, variant_id: int | None = None) -> int | None:
        now = self._clock.now()
        which = _V.id == variant_id if variant_id is not None else _V.is_default.is_(True)
        moved = (
            await self._session.execute(
                product_variants.update()
                .where(_V.product_id == product_id, which, _V.stock_quantity + delta >= 0)
                .values(stock_quantity=_V.stock_quantity + delta, updated_at=now)
                .returning(_V.stock_quantity, _V.is_active)
            )
        ).first()
        if moved is None:
            return None
        balance, counted = moved
        if counted:  # the product's total is over its active variants
            total = (
                await self._session.execute(
                    products.update()
                    .where(products.c.id == product_id)
                    .values(stock_quantity=products.c.stock_quantity + delta, updated_at=now)
                    .returning(products.c.stock_quantity)
                )
            ).scalar_one()
            self._keep_loaded(product_id, total)
        return int(balance)

    async def take_stock(
        self, product_id: int, quantity: int, variant_id: int | None = None
    ) -> TakenProduct | None:
        now = self._clock.now()
        fast = await pg_fast_path(self._session)
        if fast is not None:
            found = await fast.take_stock(product_id, quantity, now, variant_id)
            row = None if found is None else _taken(found)
        else:
            row = await self._take_here(product_id, quantity, now, variant_id)
        if row is None:
            return None
        self._keep_loaded(product_id, row.stock_quantity)
        return row

    async def _take_here(
        self, product_id: int, quantity: int, now: datetime, variant_id: int | None
    ) -> TakenProduct | None:
        """`take_stock` through SQLAlchemy (SQLite)."""
        connection = await self._session.connection()
        parameters = {"pid": product_id, "qty": quantity, "now": now, "vid": variant_id}
        statement = _TAKE_DEFAULT_VARIANT if variant_id is None else _TAKE_VARIANT
        variant = (await connection.execute(statement, parameters)).first()
        if variant is None:
            return None
        vid, left, sku, own_price, values, weight = variant
        result = (await connection.execute(_TAKE_PRODUCT, parameters)).one()
        pid, name, base_price, percent, stock, options, category = result
        price = base_price if own_price is None else own_price
        running = await find_running_of(connection.execute, [pid], now)
        sale = running[pid].percentage if pid in running else None
        name_of_variant = name_in(options, values)
        return TakenProduct(
            pid, name, sku, price, percent, stock, vid, left, name_of_variant, category, sale, weight
        )

    async def quote(self, lines: Sequence[tuple[int, int | None]]) -> list[TakenProduct] | None:
        fast = await pg_fast_path(self._session)
        if fast is None:
            return None
        rows = await fast.quote(lines, self._clock.now())
        if rows is None or len(rows) != len(lines):
            return None
        return [_taken(row) for row in rows]

    def _keep_loaded(self, product_id: int, stock: int) -> None:
        """Keep an already-loaded Product in step with its row (without making it a change to flush)."""
        loaded = self._session.identity_map.get(self._session.identity_key(Product, product_id))
        if isinstance(loaded, Product):
            set_committed_value(loaded, "stock_quantity", stock)

    async def add_many(self, items: Sequence[Product]) -> None:
        if not items:
            return
        self._session.add_all(items)
        try:
            await self._session.flush()
        except IntegrityError as exc:
            raise Conflict("A product with that sku or slug already exists.") from exc

    async def add_generated(self, items: Sequence[Product]) -> None:
        await add_generated(self._session, items)

    async def recount(self) -> tuple[int, int]:
        return await recount(self._session)

    async def page(self, *, offset: int, limit: int) -> list[Product]:
        query = sa.select(Product).order_by(products.c.id).offset(offset).limit(limit)
        return list((await self._session.scalars(query)).all())


def _taken(row: Any) -> TakenProduct:
    """A TakenProduct from a row of the fast path's `take_stock` or `quote`."""
    pid, name, sku, price, hundredths, stock, vid, left, options, values, category, on_sale, weight = row
    percent = (Decimal(hundredths) / 100).quantize(Decimal("0.01"))
    sale = None if on_sale is None else (Decimal(on_sale) / 100).quantize(Decimal("0.01"))
    variant_name = name_in(_json(options), _json(values))
    return TakenProduct(
        pid, name, sku, price, percent, stock, vid, left, variant_name, category, sale, weight
    )


def _json(value: Any) -> Any:
    """A JSON column as asyncpg hands it over: decoded if the connection has a JSON codec, else text."""
    return json.loads(value) if isinstance(value, str) else value


_INSERT_MOVEMENTS = stock_movements.insert()

# Built once: the checkout hot path runs them once per order line (on PostgreSQL, as one statement:
# see `pg_fast_path`). The variant first, then the product's total: the order every stock change
# takes the two rows in.


def _take_variant(which: sa.ColumnElement[bool]) -> sa.Update:
    return (
        product_variants.update()
        .where(
            _V.product_id == sa.bindparam("pid"),
            which,
            _V.is_active.is_(True),
            _V.stock_quantity >= sa.bindparam("qty"),
            sa.exists().where(products.c.id == sa.bindparam("pid"), products.c.is_active.is_(True)),
        )
        .values(stock_quantity=_V.stock_quantity - sa.bindparam("qty"), updated_at=sa.bindparam("now"))
        .returning(_V.id, _V.stock_quantity, _V.sku, _V.price, _V.options, _V.weight_grams)
    )


_TAKE_DEFAULT_VARIANT = _take_variant(_V.is_default.is_(True))
_TAKE_VARIANT = _take_variant(_V.id == sa.bindparam("vid"))
_TAKE_PRODUCT = (
    products.update()
    .where(products.c.id == sa.bindparam("pid"))
    .values(stock_quantity=products.c.stock_quantity - sa.bindparam("qty"), updated_at=sa.bindparam("now"))
    .returning(
        products.c.id,
        products.c.name,
        products.c.price,
        products.c.discount_percentage,
        products.c.stock_quantity,
        products.c.options,
        products.c.category_id,
    )
)


class SqlStockMovementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, movement: StockMovement) -> None:
        if movement.variant_id is None:
            movement.variant_id = (await default_variants(self._session, [movement.product_id])).get(
                movement.product_id
            )
        self._session.add(movement)
        await self._session.flush()

    async def add_many(self, movements: Sequence[StockMovement]) -> None:
        if movements:
            missing = [m.product_id for m in movements if m.variant_id is None]
            defaults = await default_variants(self._session, missing)
            # One multi-row insert: cheaper than the unit of work's per-object flush.
            connection = await self._session.connection()
            await connection.execute(
                _INSERT_MOVEMENTS,
                [
                    {
                        "product_id": m.product_id,
                        "variant_id": m.variant_id
                        if m.variant_id is not None
                        else defaults.get(m.product_id),
                        "delta": m.delta,
                        "reason": m.reason,
                        "balance_after": m.balance_after,
                        "actor": m.actor,
                        "note": m.note,
                        "created_at": m.created_at,
                    }
                    for m in movements
                ],
            )

    async def for_product(
        self, product_id: int, *, limit: int = 100, variant_id: int | None = None
    ) -> list[StockMovement]:
        query = (
            sa.select(StockMovement)
            .where(stock_movements.c.product_id == product_id)
            .order_by(stock_movements.c.id.desc())
            .limit(limit)
        )
        if variant_id is not None:
            query = query.where(stock_movements.c.variant_id == variant_id)
        return list((await self._session.scalars(query)).all())

    async def total(self, product_id: int) -> int:
        query = sa.select(sa.func.coalesce(sa.func.sum(stock_movements.c.delta), 0)).where(
            stock_movements.c.product_id == product_id
        )
        return int(await self._session.scalar(query) or 0)
