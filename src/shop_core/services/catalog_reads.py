"""The catalog's read use cases: the hot path, cached for everyone but staff.

Prices follow the running sales: each page (or product) is read with the shop's clock, which tells
whether a sale runs (then one more query finds which of its products a sale covers) and when the
next one starts or ends; the cached value holds until then (`CacheAside.get_or_compute_until`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from shop_core.domain.errors import InvalidInput, NotFound
from shop_core.domain.money import minor_units
from shop_core.domain.sales import RunningSale
from shop_core.ports.catalog import CatalogReader, ProductFilter
from shop_core.ports.clock import Clock
from shop_core.services.cache_aside import CacheAside, Timed
from shop_core.services.catalog_commands import ProductQuery
from shop_core.services.catalog_views import CategoryView, EncodedPage, view_for

ORDERINGS = ("price", "-price", "name", "-name", "created_at", "-created_at")
_json = msgspec.json.Encoder()
_pack = msgspec.msgpack.Encoder()
_unpack_page = msgspec.msgpack.Decoder(EncodedPage)


class CategoryDetail(msgspec.Struct):
    """The category with its children as a JSON object lacking its closing brace, and its products."""

    head: bytes
    products: EncodedPage


_unpack_detail = msgspec.msgpack.Decoder(CategoryDetail)


@dataclass(frozen=True)
class CatalogContext:
    reader: CatalogReader
    cache: CacheAside
    currency: str
    clock: Clock


def product_filter(query: ProductQuery, currency: str, *, staff: bool) -> ProductFilter:
    """Check a client's list query and turn it into the reader's filter."""
    ordering = query.ordering or "id"
    if ordering != "id" and ordering not in ORDERINGS:
        raise InvalidInput.field("ordering", f"Order by one of: {', '.join(ORDERINGS)}.")
    low = None if query.min_price is None else minor_units(query.min_price, currency, field="min_price")
    high = None if query.max_price is None else minor_units(query.max_price, currency, field="max_price")
    if low is not None and high is not None and low > high:
        raise InvalidInput.field("min_price", "min_price cannot be above max_price.")
    search = (query.search or "").strip() or None
    return ProductFilter(
        category_id=query.category,
        search=search,
        min_price=low,
        max_price=high,
        in_stock=query.in_stock,
        include_inactive=staff,
        low_stock_below=query.low_stock_below if staff else None,
        ordering=ordering,
    )


async def running_sales(rows: Sequence[Any], now: datetime, reader: CatalogReader) -> dict[int, RunningSale]:
    """The best running sale of each product of reader rows read at `now`: one query, and none when
    no sale runs (as the rows say)."""
    if not rows or not rows[0].sales_running:
        return {}
    return await reader.running_sales({row.id: row.category_id for row in rows}, now)


async def list_products(
    query: ProductQuery, *, page: int, page_size: int, staff: bool, ctx: CatalogContext
) -> EncodedPage:
    """A page of products (JSON results); a page past the end is NotFound."""
    flt = product_filter(query, ctx.currency, staff=staff)
    if staff:
        return (await _product_page(flt, page, page_size, staff, ctx))[0]

    async def compute() -> Timed:
        found, until = await _product_page(flt, page, page_size, staff, ctx)
        return Timed(_pack.encode(found), until)

    return _unpack_page.decode(
        await ctx.cache.get_or_compute_until(f"products:{page}:{page_size}:{flt!r}", compute)
    )


async def get_product(product_id: int, *, staff: bool, ctx: CatalogContext) -> bytes:
    """One product as JSON; inactive products only for staff."""

    async def compute() -> Timed:
        now = ctx.clock.now()
        row = await ctx.reader.product(product_id, include_inactive=staff, now=now)
        if row is None:
            raise NotFound("No such product.")
        sale = (await running_sales([row], now, ctx.reader)).get(row.id)
        return Timed(_json.encode(view_for(staff)(row, ctx.currency, sale)), row.sales_change_at)

    if staff:
        return (await compute()).value
    return await ctx.cache.get_or_compute_until(f"product:{product_id}", compute)


async def list_categories(*, page: int, page_size: int, ctx: CatalogContext) -> EncodedPage:
    async def compute() -> bytes:
        offset = (page - 1) * page_size
        categories, total = await ctx.reader.categories(offset=offset, limit=page_size)
        _check_page(page, offset, total)
        return _pack.encode(EncodedPage(total, _json.encode([CategoryView.of(c) for c in categories])))

    return _unpack_page.decode(await ctx.cache.get_or_compute(f"categories:{page}:{page_size}", compute))


async def get_category(
    category_id: int, *, page: int, page_size: int, staff: bool, ctx: CatalogContext
) -> CategoryDetail:
    """The category, its children, and a page of its products (those of its descendants too)."""

    async def compute() -> tuple[CategoryDetail, datetime | None]:
        category = await ctx.reader.category(category_id)
        if category is None:
            raise NotFound("No such category.")
        children = await ctx.reader.children(category_id)
        head = _json.encode(
            msgspec.structs.asdict(CategoryView.of(category))
            | {"children": [CategoryView.of(c) for c in children]}
        )
        flt = ProductFilter(category_id=category_id, include_inactive=staff)
        products, until = await _product_page(flt, page, page_size, staff, ctx)
        return CategoryDetail(head[:-1], products), until

    if staff:
        return (await compute())[0]

    async def packed() -> Timed:
        detail, until = await compute()
        return Timed(_pack.encode(detail), until)

    return _unpack_detail.decode(
        await ctx.cache.get_or_compute_until(f"category:{category_id}:{page}:{page_size}", packed)
    )


async def _product_page(
    flt: ProductFilter, page: int, page_size: int, staff: bool, ctx: CatalogContext
) -> tuple[EncodedPage, datetime | None]:
    """The page, and the next time a sale starts or ends as it was read: its prices hold until
    then (None: until the catalog changes)."""
    offset = (page - 1) * page_size
    now = ctx.clock.now()
    rows, total = await ctx.reader.products(flt, offset=offset, limit=page_size, now=now)
    _check_page(page, offset, total)
    sales = await running_sales(rows, now, ctx.reader)
    to_view = view_for(staff)
    results = _json.encode([to_view(r, ctx.currency, sales.get(r.id)) for r in rows])
    return EncodedPage(total, results), rows[0].sales_change_at if rows else None


def _check_page(page: int, offset: int, total: int) -> None:
    if page > 1 and offset >= total:
        raise NotFound("That page is past the end of the list.")
