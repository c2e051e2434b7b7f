"""The catalog's read use cases: the hot path, cached for everyone but staff."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from shop_core.domain.errors import InvalidInput, NotFound
from shop_core.domain.money import minor_units
from shop_core.ports.catalog import CatalogReader, ProductFilter
from shop_core.services.cache_aside import CacheAside
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


async def list_products(
    query: ProductQuery, *, page: int, page_size: int, staff: bool, ctx: CatalogContext
) -> EncodedPage:
    """A page of products (JSON results); a page past the end is NotFound."""
    flt = product_filter(query, ctx.currency, staff=staff)

    async def compute() -> bytes:
        return _pack.encode(await _product_page(flt, page, page_size, staff, ctx))

    if staff:
        return await _product_page(flt, page, page_size, staff, ctx)
    return _unpack_page.decode(
        await ctx.cache.get_or_compute(f"products:{page}:{page_size}:{flt!r}", compute)
    )


async def get_product(product_id: int, *, staff: bool, ctx: CatalogContext) -> bytes:
    """One product as JSON; inactive products only for staff."""

    async def compute() -> bytes:
        row = await ctx.reader.product(product_id, include_inactive=staff)
        if row is None:
            raise NotFound("No such product.")
        return _json.encode(view_for(staff)(row, ctx.currency))

    if staff:
        return await compute()
    return await ctx.cache.get_or_compute(f"product:{product_id}", compute)


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

    async def compute() -> CategoryDetail:
        category = await ctx.reader.category(category_id)
        if category is None:
            raise NotFound("No such category.")
        children = await ctx.reader.children(category_id)
        head = _json.encode(
            msgspec.structs.asdict(CategoryView.of(category))
            | {"children": [CategoryView.of(c) for c in children]}
        )
        flt = ProductFilter(category_id=category_id, include_inactive=staff)
        products = await _product_page(flt, page, page_size, staff, ctx)
        return CategoryDetail(head[:-1], products)

    if staff:
        return await compute()

    async def packed() -> bytes:
        return _pack.encode(await compute())

    return _unpack_detail.decode(
        await ctx.cache.get_or_compute(f"category:{category_id}:{page}:{page_size}", packed)
    )


async def _product_page(
    flt: ProductFilter, page: int, page_size: int, staff: bool, ctx: CatalogContext
) -> EncodedPage:
    offset = (page - 1) * page_size
    rows, total = await ctx.reader.products(flt, offset=offset, limit=page_size)
    to_view = view_for(staff)
    _check_page(page, offset, total)
    return EncodedPage(total, _json.encode([to_view(r, ctx.currency) for r in rows]))


def _check_page(page: int, offset: int, total: int) -> None:
    if page > 1 and offset >= total:
        raise NotFound("That page is past the end of the list.")
