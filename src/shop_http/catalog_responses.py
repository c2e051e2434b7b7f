"""JSON responses assembled from the core's pre-encoded (and often cached) bytes."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import MediaType, Request, Response

from shop_core.services.catalog_reads import CategoryDetail
from shop_core.services.catalog_views import EncodedPage
from shop_http.pagination import links

_encode = msgspec.json.encode


def json_bytes(body: bytes, status_code: int = 200) -> Response[bytes]:
    return Response(body, media_type=MediaType.JSON, status_code=status_code)


def page_bytes(request: Request[Any, Any, Any], page: EncodedPage, number: int, size: int) -> bytes:
    next_url, previous_url = links(request, page.count, number, size)
    return b'{"count":%d,"next":%s,"previous":%s,"results":%s}' % (
        page.count,
        _encode(next_url),
        _encode(previous_url),
        page.results,
    )


def page_response(
    request: Request[Any, Any, Any], page: EncodedPage, number: int, size: int
) -> Response[bytes]:
    return json_bytes(page_bytes(request, page, number, size))


def category_response(
    request: Request[Any, Any, Any], detail: CategoryDetail, number: int, size: int
) -> Response[bytes]:
    return json_bytes(
        detail.head + b',"products":' + page_bytes(request, detail.products, number, size) + b"}"
    )
