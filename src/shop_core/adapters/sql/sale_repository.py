"""Timed sales over SQLAlchemy Core (`sales`, `sale_products`, `sale_categories`), and the two
statements prices ask of them, which the catalog reader sends too:

- `running_sales_statement`: which running sales cover which of some products (by product id, or by
  category: a category's sales cover the products of its descendants, so each category of the
  products, given or as stored, is followed up to the root), one query, sorted out per product by
  `best_running`;
- `sales_outlook`: one row saying whether any sale runs now and when the next one starts or ends,
  which the catalog's page statements join, so a page needs no query of its own for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import categories, products, sale_categories, sale_products, sales
from shop_core.domain.errors import InvalidInput
from shop_core.domain.ids import MAX_ID
from shop_core.domain.sales import RunningSale, Sale, best_of

_S = sales.c
_INSTANT = DateTimeUTC(timezone=True)
_FIELDS = ("name", "percentage", "starts_at", "ends_at", "created_at", "updated_at")


def _ids(wanted: Iterable[int | None]) -> list[int]:
    """The possible ids among `wanted`, sorted, once each (no row has another)."""
    return sorted({i for i in wanted if i is not None and 0 < i <= MAX_ID})


def _running(now: Any) -> sa.ColumnElement[bool]:
    return sa.and_(_S.starts_at <= now, _S.ends_at > now)


def running_sales_statement(
    product_ids: list[int], category_ids: list[int], now: datetime, *, stored_categories: bool = False
) -> sa.Select[Any]:
    """Rows `(by_product, target, id, name, percentage, ends_at)`: each sale running at `now` with
    a product it names (`by_product` 1, `target` the product) or a category it covers, itself or
    through a category above it: one of `category_ids` (`by_product` 0, `target` that category), or
    with `stored_categories` the category each product has in the products table (`by_product` 1,
    `target` the product)."""
    sale_columns = (_S.id, _S.name, _S.percentage, _S.ends_at)
    direct = (
        sa.select(sa.literal_column("1").label("by_product"), sale_products.c.product_id.label("target"))
        .add_columns(*sale_columns)
        .select_from(sales.join(sale_products, sale_products.c.sale_id == _S.id))
        .where(_running(now), sale_products.c.product_id.in_(product_ids))
    )
    if stored_categories:
        start = sa.select(products.c.id.label("start"), products.c.category_id.label("category_id")).where(
            products.c.id.in_(product_ids), products.c.category_id.is_not(None)
        )
    elif category_ids:
        start = sa.select(categories.c.id.label("start"), categories.c.id.label("category_id")).where(
            categories.c.id.in_(category_ids)
        )
    else:
        return direct
    # (what was asked about, a category of its line): its category, and every one above it.
    line = start.cte("line", recursive=True)
    up = categories.alias("up")
    line = line.union(
        sa.select(line.c.start, up.c.parent_id)
        .select_from(line.join(up, up.c.id == line.c.category_id))
        .where(up.c.parent_id.is_not(None))
    )
    through = (
        sa.select(sa.literal_column("1" if stored_categories else "0"), line.c.start)
        .add_columns(*sale_columns)
        .select_from(
            line.join(sale_categories, sale_categories.c.category_id == line.c.category_id).join(
                sales, _S.id == sale_categories.c.sale_id
            )
        )
        .where(_running(now))
    )
    return sa.select(sa.union_all(direct, through).subquery("covering"))


def best_running(rows: Iterable[Any], product_category: Mapping[int, int | None]) -> dict[int, RunningSale]:
    """What `running_sales_statement` found, per product: the best sale covering it."""
    by_product: dict[int, list[RunningSale]] = defaultdict(list)
    by_category: dict[int, list[RunningSale]] = defaultdict(list)
    for row in rows:
        sale = RunningSale(int(row.id), row.name, Decimal(row.percentage), row.ends_at)
        (by_product if row.by_product else by_category)[int(row.target)].append(sale)
    found: dict[int, RunningSale] = {}
    for product_id, category_id in product_category.items():
        covering = by_product.get(product_id, [])
        if category_id is not None:
            covering = [*covering, *by_category.get(category_id, [])]
        if (best := best_of(covering)) is not None:
            found[product_id] = best
    return found


async def find_running(
    execute: Any, product_category: Mapping[int, int | None], now: datetime
) -> dict[int, RunningSale]:
    """`SaleRepository.running` with `execute` (a session's or a connection's): one query, none
    for no products."""
    product_ids = _ids(product_category)
    if not product_ids:
        return {}
    statement = running_sales_statement(product_ids, _ids(product_category.values()), now)
    return best_running((await execute(statement)).all(), product_category)


async def find_running_of(
    execute: Any, product_ids: Collection[int], now: datetime
) -> dict[int, RunningSale]:
    """`find_running` for products whose categories the caller does not have: the products
    table's, in the same query."""
    wanted = _ids(product_ids)
    if not wanted:
        return {}
    statement = running_sales_statement(wanted, [], now, stored_categories=True)
    return best_running((await execute(statement)).all(), dict.fromkeys(wanted))


def next_change(now: Any) -> sa.ColumnElement[Any]:
    """The earliest instant after `now` at which a sale starts or ends (over the sales not ended:
    each one's start if it is still to come, else its end), NULL when none will."""
    upcoming = sa.case((_S.starts_at > now, _S.starts_at), else_=_S.ends_at)
    return sa.type_coerce(sa.func.min(upcoming), _INSTANT)


def sales_outlook(now: Any) -> sa.Subquery:
    """One row, whatever the sales: `sales_running` (1 when a sale runs at `now`, else 0) and
    `sales_change_at` (`next_change`). An index range scan of the sales not ended."""
    return (
        sa.select(
            sa.func.coalesce(sa.func.max(sa.case((_S.starts_at <= now, 1), else_=0)), 0).label(
                "sales_running"
            ),
            next_change(now).label("sales_change_at"),
        )
        .where(_S.ends_at > now)
        .subquery("outlook")
    )


def _sale(row: Any, product_ids: Iterable[int], category_ids: Iterable[int]) -> Sale:
    return Sale(
        id=int(row.id),
        **{name: getattr(row, name) for name in _FIELDS},
        product_ids=frozenset(product_ids),
        category_ids=frozenset(category_ids),
    )


class SqlSaleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, sale: Sale) -> Sale:
        values = {name: getattr(sale, name) for name in _FIELDS}
        sale.id = int(await self._session.scalar(sa.insert(sales).values(**values).returning(_S.id)) or 0)
        await self._link(sale)
        return sale

    async def get(self, sale_id: int) -> Sale | None:
        if not 0 < sale_id <= MAX_ID:
            return None
        row = (await self._session.execute(sa.select(sales).where(_S.id == sale_id))).first()
        if row is None:
            return None
        links = await self._links([sale_id])
        return _sale(row, *links.get(sale_id, ((), ())))

    async def page(self, *, offset: int, limit: int) -> tuple[list[Sale], int]:
        query = sa.select(sales).order_by(_S.created_at.desc(), _S.id.desc()).offset(offset).limit(limit)
        rows = (await self._session.execute(query)).all()
        total = int(await self._session.scalar(sa.select(sa.func.count()).select_from(sales)) or 0)
        links = await self._links([row.id for row in rows])
        return [_sale(row, *links.get(row.id, ((), ()))) for row in rows], total

    async def save(self, sale: Sale) -> None:
        assert sale.id is not None
        values = {name: getattr(sale, name) for name in _FIELDS}
        await self._session.execute(sa.update(sales).where(_S.id == sale.id).values(**values))
        await self._unlink(sale.id)
        await self._link(sale)

    async def delete(self, sale: Sale) -> None:
        assert sale.id is not None
        await self._unlink(sale.id)  # the foreign keys would cascade; this does not rely on them
        await self._session.execute(sa.delete(sales).where(_S.id == sale.id))

    async def unknown(
        self, product_ids: Collection[int], category_ids: Collection[int]
    ) -> tuple[list[int], list[int]]:
        wanted_products, wanted_categories = sorted(set(product_ids)), sorted(set(category_ids))
        found = sa.union_all(
            sa.select(sa.literal_column("1").label("is_product"), products.c.id).where(
                products.c.id.in_(_ids(wanted_products))
            ),
            sa.select(sa.literal_column("0"), categories.c.id).where(
                categories.c.id.in_(_ids(wanted_categories))
            ),
        )
        existing: dict[bool, set[int]] = {True: set(), False: set()}
        if wanted_products or wanted_categories:
            for row in await self._session.execute(found):
                existing[bool(row.is_product)].add(int(row.id))
        return (
            [i for i in wanted_products if i not in existing[True]],
            [i for i in wanted_categories if i not in existing[False]],
        )

    async def running(
        self, product_category: Mapping[int, int | None], now: datetime
    ) -> dict[int, RunningSale]:
        return await find_running(self._session.execute, product_category, now)

    async def running_percentages(
        self, product_category: Mapping[int, int | None], now: datetime
    ) -> dict[int, Decimal]:
        found = await self.running(product_category, now)
        return {product_id: sale.percentage for product_id, sale in found.items()}

    async def running_percentages_of(self, product_ids: Collection[int], now: datetime) -> dict[int, Decimal]:
        found = await find_running_of(self._session.execute, product_ids, now)
        return {product_id: sale.percentage for product_id, sale in found.items()}

    async def next_boundary(self, now: datetime) -> datetime | None:
        found: datetime | None = await self._session.scalar(
            sa.select(next_change(now)).where(_S.ends_at > now)
        )
        return found

    async def _links(self, sale_ids: list[int]) -> dict[int, tuple[list[int], list[int]]]:
        """Each sale's products and categories, in one query."""
        found: dict[int, tuple[list[int], list[int]]] = {i: ([], []) for i in sale_ids}
        if not sale_ids:
            return found
        query = sa.union_all(
            sa.select(
                sa.literal_column("1").label("is_product"),
                sale_products.c.sale_id,
                sale_products.c.product_id,
            ).where(sale_products.c.sale_id.in_(sale_ids)),
            sa.select(sa.literal_column("0"), sale_categories.c.sale_id, sale_categories.c.category_id).where(
                sale_categories.c.sale_id.in_(sale_ids)
            ),
        )
        for is_product, sale_id, target in await self._session.execute(query):
            found[sale_id][0 if is_product else 1].append(int(target))
        return found

    async def _link(self, sale: Sale) -> None:
        try:
            if sale.product_ids:
                rows = [{"sale_id": sale.id, "product_id": i} for i in sorted(sale.product_ids)]
                await self._session.execute(sa.insert(sale_products), rows)
            if sale.category_ids:
                rows = [{"sale_id": sale.id, "category_id": i} for i in sorted(sale.category_ids)]
                await self._session.execute(sa.insert(sale_categories), rows)
        except IntegrityError as exc:  # deleted since `unknown` found it: the transaction is lost
            gone = "A product or category the sale names was deleted meanwhile; look again."
            raise InvalidInput(gone, {"product_ids": [gone], "category_ids": [gone]}) from exc

    async def _unlink(self, sale_id: int) -> None:
        await self._session.execute(sa.delete(sale_products).where(sale_products.c.sale_id == sale_id))
        await self._session.execute(sa.delete(sale_categories).where(sale_categories.c.sale_id == sale_id))
