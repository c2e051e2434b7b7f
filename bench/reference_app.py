"""The benchmark's reference: the shop's two hottest reads and its order placement, with no layers.

A minimal Litestar app answering `GET /api/products/?page=N[&page_size=M]` and
`GET /api/products/{id}/` with the same JSON as the shop (same fields, same order, decimal strings
with two places, `final_price` rounded half-up, `category_name` from a join), straight from an
asyncpg pool, encoded by msgspec. No repositories, no use cases, no cache, no auth middleware: the
practical limit of the stack on the machine at hand, which `bench/run.py` compares the shop to.
`POST /api/orders/` (in `reference_orders.py`) is the checkout's bare transaction.
`GET /bench/ceiling` answers a fixed JSON body (product 123's detail, encoded at start-up) from
memory: what the server and the framework alone can do, the ceiling any cached read approaches.

Serve it with uvicorn (the database comes from `BENCH_DATABASE_URL`, else `SHOP_DATABASE_URL`):

    uvicorn reference_app:create_app --factory --app-dir bench --workers 2
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import asyncpg
import msgspec
from litestar import Litestar, MediaType, Request, Response, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import Parameter

from reference_orders import Short, place_order, short_handler

# A product's price is its lowest active variant price (`min_price`); its variants come along as one
# JSON array, gathered after the page is cut (so not for the rows OFFSET skips).
_COLUMNS = """p.id, p.name, p.slug, p.description, p.category_id, c.name AS category_name,
       p.min_price, p.discount_percentage, p.stock_quantity, p.sku, p.image_url, p.is_active,
       p.created_at, p.updated_at, p.options, p.price AS base_price, p.rating_count, p.rating_sum"""
_VARIANTS = """(SELECT json_agg(json_build_array(v.id, v.sku, v.options, v.price, v.stock_quantity,
        v.weight_grams, v.is_active) ORDER BY v.id)
    FROM product_variants AS v WHERE v.product_id = {product}.id)"""
_FROM = "FROM products AS p LEFT OUTER JOIN categories AS c ON p.category_id = c.id"
PAGE_SQL = (
    f"SELECT page.*, {_VARIANTS.format(product='page')} FROM ("  # noqa: S608 - constants only
    f"SELECT {_COLUMNS} {_FROM} WHERE p.is_active IS true ORDER BY p.id LIMIT $1 OFFSET $2"
    ") AS page ORDER BY page.id"
)
COUNT_SQL = "SELECT count(*) FROM products WHERE products.is_active IS true"
DETAIL_SQL = (
    f"SELECT {_COLUMNS}, {_VARIANTS.format(product='p')} {_FROM} WHERE p.id = $1 AND p.is_active IS true"
)
MAX_ID = 2**31 - 1  # products.id is an INTEGER column
CEILING_ID = 123  # the product whose detail the ceiling serves: the benchmark's detail


class Option(msgspec.Struct):
    name: str
    values: list[str]


class Variant(msgspec.Struct):
    """The shop's VariantView, field for field."""

    id: int
    sku: str
    name: str
    options: dict[str, str]
    price: str
    final_price: str
    stock_quantity: int
    is_active: bool
    weight_grams: int | None


class Product(msgspec.Struct):
    """The shop's ProductView, field for field; money is already formatted."""

    id: int
    name: str
    slug: str
    description: str
    category: int | None
    category_name: str | None
    price: str
    discount_percentage: str
    final_price: str
    stock_quantity: int
    sku: str
    image_url: str
    is_active: bool
    created_at: datetime
    updated_at: datetime
    rating_average: str | None
    rating_count: int
    options: list[Option]
    variants: list[Variant]
    sale: None = None  # the running sale that sets `final_price`: none in the benchmark's catalog


class Page(msgspec.Struct):
    count: int
    next: str | None
    previous: str | None
    results: list[Product]


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode


def _two_places(hundredths: int) -> str:
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def _final(price: int, discount: int) -> int:
    # price is in cents, discount in hundredths of a percent: price * (100 - d%) / 100, half-up.
    return (price * (10_000 - discount) + 5_000) // 10_000


def _product(row: asyncpg.Record) -> Product:
    (id_, name, slug, description, category, category_name, price, discount, stock, sku, image, active) = row[
        :12
    ]
    final = _final(price, discount)
    options = _decode(row[14], type=list[Option])
    variants = []
    for vid, vsku, values, own, vstock, grams, vactive in _decode(row[18] or "[]"):
        if not vactive:
            continue
        vprice = row[15] if own is None else own
        vname = " / ".join(values[o.name] for o in options if o.name in values)
        variants.append(
            Variant(
                vid,
                vsku,
                vname,
                values,
                _two_places(vprice),
                _two_places(_final(vprice, discount)),
                vstock,
                vactive,
                grams,
            )
        )
    return Product(
        id_,
        name,
        slug,
        description,
        category,
        category_name,
        _two_places(price),
        _two_places(discount),
        _two_places(final),
        stock,
        sku,
        image,
        active,
        row[12],
        row[13],
        _rating(row[17], row[16]),
        row[16],
        options,
        variants,
    )


def _rating(total: int, count: int) -> str | None:
    # One decimal, half-up on the exact fraction, as the shop's rating_average.
    if count <= 0:
        return None
    tenths = (20 * total + count) // (2 * count)
    return f"{tenths // 10}.{tenths % 10}"


def _link(request: Request[Any, Any, Any], page: int, page_size: int) -> str:
    params = dict(request.query_params)
    params["page"] = str(page)
    params["page_size"] = str(page_size)
    path = request.url.path  # routing strips the trailing slash; the links keep the one the client sent
    if request.scope.get("raw_path", b"").split(b"?", 1)[0].endswith(b"/") and not path.endswith("/"):
        path += "/"
    return str(request.url.with_replacements(path=path, query=urlencode(params)))


def _json(body: bytes) -> Response[bytes]:
    return Response(body, media_type=MediaType.JSON)


@get("/api/products/")
async def list_products(
    request: Request[Any, Any, Any],
    state: State,
    page: Annotated[int, Parameter(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Parameter(ge=1, le=100)] = 20,
) -> Response[bytes]:
    offset = (page - 1) * page_size
    pool: asyncpg.Pool = state.pool
    async with pool.acquire() as conn:
        rows = await conn.fetch(PAGE_SQL, page_size, offset)
        count = offset + len(rows) if 0 < len(rows) < page_size else await conn.fetchval(COUNT_SQL)
    if page > 1 and offset >= count:
        raise NotFoundException("That page is past the end of the list.")
    return _json(
        _encode(
            Page(
                count,
                _link(request, page + 1, page_size) if page * page_size < count else None,
                _link(request, page - 1, page_size) if page > 1 else None,
                [_product(r) for r in rows],
            )
        )
    )


@get("/api/products/{product_id:int}")
async def get_product(state: State, product_id: int) -> Response[bytes]:
    row = None
    if 0 < product_id <= MAX_ID:
        pool: asyncpg.Pool = state.pool
        row = await pool.fetchrow(DETAIL_SQL, product_id)
    if row is None:
        raise NotFoundException("No such product.")
    return _json(_encode(_product(row)))


@get("/bench/ceiling")
async def ceiling(state: State) -> Response[bytes]:
    """The ceiling: a fixed JSON body (a product's detail, encoded once at start-up) served from
    memory. What the server and the framework cost per request, with no work at all."""
    body: bytes = state.ceiling
    return _json(body)


@get("/health/ready")
async def ready(state: State) -> dict[str, str]:
    pool: asyncpg.Pool = state.pool
    await pool.fetchval("SELECT 1")
    return {"status": "ok"}


def database_dsn() -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("SHOP_DATABASE_URL", "")
    if not url.startswith(("postgresql", "postgres")):
        raise RuntimeError("Set BENCH_DATABASE_URL (or SHOP_DATABASE_URL) to a PostgreSQL URL.")
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def create_app() -> Litestar:
    dsn = database_dsn()
    # The shop's default pool: 10 connections per process, plus as many overflow.
    size = int(os.environ.get("BENCH_POOL_SIZE", "10"))

    @asynccontextmanager
    async def pool_lifespan(app: Litestar) -> AsyncIterator[None]:
        async with asyncpg.create_pool(dsn, min_size=size, max_size=2 * size) as pool:
            app.state.pool = pool
            row = await pool.fetchrow(DETAIL_SQL, CEILING_ID)
            app.state.ceiling = _encode(_product(row)) if row is not None else b'{"detail":"no product 123"}'
            yield

    return Litestar(
        route_handlers=[list_products, get_product, place_order, ceiling, ready],
        exception_handlers={Short: short_handler},
        lifespan=[pool_lifespan],
        openapi_config=None,
        debug=False,
    )
