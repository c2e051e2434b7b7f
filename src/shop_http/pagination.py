"""DRF-style pages: `?page=N&page_size=M` → `{count, next, previous, results}`."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar import Request
from litestar.exceptions import NotFoundException
from litestar.params import Parameter

from shop_core.services.paging import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    PAST_THE_END,
    past_the_end,
    window,
)

__all__ = ["DEFAULT_PAGE_SIZE", "PageNumber", "PageOf", "PageSize", "links", "page_of", "window"]

T = TypeVar("T")

PageNumber = Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="1-based page number.")]
PageSize = Annotated[
    int, Parameter(ge=1, le=MAX_PAGE_SIZE, description=f"Items per page, at most {MAX_PAGE_SIZE}.")
]


class PageOf(msgspec.Struct, Generic[T]):
    count: int
    next: str | None
    previous: str | None
    results: list[T]


def page_of(
    request: Request[Any, Any, Any], items: list[T], count: int, page: int, page_size: int
) -> PageOf[T]:
    """Wrap one page; a page past the end is 404 (the first page always exists)."""
    if past_the_end(page, page_size, count):
        raise NotFoundException(PAST_THE_END)
    next_url, previous_url = links(request, count, page, page_size)
    return PageOf(count=count, next=next_url, previous=previous_url, results=items)


def links(
    request: Request[Any, Any, Any], count: int, page: int, page_size: int
) -> tuple[str | None, str | None]:
    """The `next` and `previous` URLs of a page (None at either end)."""
    next_url = _link(request, page + 1, page_size) if page * page_size < count else None
    previous_url = _link(request, page - 1, page_size) if page > 1 else None
    return next_url, previous_url


def _link(request: Request[Any, Any, Any], page: int, page_size: int) -> str:
    params = dict(request.query_params)
    params["page"] = str(page)
    params["page_size"] = str(page_size)
    return str(request.url.with_replacements(path=_path_as_sent(request), query=urlencode(params)))


def _path_as_sent(request: Request[Any, Any, Any]) -> str:
    """The request's path with the trailing slash the client sent (routing strips it from the scope)."""
    path = request.url.path
    raw = request.scope.get("raw_path") or b""
    if raw.split(b"?", 1)[0].endswith(b"/") and not path.endswith("/"):
        return path + "/"
    return path
