"""Staff views of user accounts."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from shop_core.services.views import UserView
from shop_http.api_docs import users as doc
from shop_http.errors import RATE_LIMITED
from shop_http.openapi import BEARER, page_past_the_end, raises
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize, page_of, window
from shop_http.security import actor_of, requires_staff


class UserController(Controller):
    path = "/api/users"
    tags = ["Users (staff)"]
    guards = [requires_staff]
    security = BEARER

    @get(
        "/",
        operation_id="listUsers",
        summary="Every account, by id (staff only)",
        description=doc.LIST,
        responses={
            **doc.PAGE,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **page_past_the_end(),
            **raises(RATE_LIMITED),
        },
    )
    async def list_users(
        self,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> PageOf[UserView]:
        offset, limit = window(page, page_size)
        found = await shop.accounts.list_users(actor_of(request.user), offset=offset, limit=limit)
        return page_of(request, found.items, found.total, page, page_size)
