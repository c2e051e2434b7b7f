"""The catalog's categories: public (cached) reads, a category's products, and staff's writes.

The reference is served at /api/docs; the API guide is the docs site's API page (docs/api.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from shop_core.services.catalog_commands import CreateCategory, ReplaceCategory, UpdateCategory
from shop_core.services.catalog_views import CategoryView
from shop_core.services.views import UserView
from shop_http.api_docs import categories as doc
from shop_http.catalog_responses import category_response, page_response
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import (
    BEARER,
    OPTIONAL_AUTH,
    page_past_the_end,
    raises,
)
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageSize
from shop_http.request import shop_of
from shop_http.security import PUBLIC, actor_of, requires_staff, viewer_is_staff

CategoryId = Annotated[int, Parameter(description="The category's id.", examples=[Example(value=1)])]


class CategoryController(Controller):
    path = "/api/categories"
    tags = ["Catalog"]

    @get(
        "/",
        opt=PUBLIC,
        security=OPTIONAL_AUTH,  # guests, or staff (who see more)
        operation_id="listCategories",
        summary="A page of categories",
        responses={
            **doc.PAGE,
            **raises(InvalidInput),
            **doc.OPTIONAL_BEARER,
            **page_past_the_end(),
            **raises(RATE_LIMITED),
        },
    )
    async def list_categories(
        self,
        *,
        request: Request[Any, Any, Any],
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> Response[bytes]:
        """Public. `parent` is null for a top-level category."""
        await viewer_is_staff(request)  # a bad bearer token is 401 here too
        found = await shop_of(request).catalog.list_categories(page=page, page_size=page_size)
        return page_response(request, found, page, page_size)

    @get(
        "/{category_id:int}",
        opt=PUBLIC,
        security=OPTIONAL_AUTH,  # guests, or staff (who see more)
        operation_id="getCategory",
        summary="A category with its children and products",
        responses={
            **doc.DETAIL,
            **raises(InvalidInput),
            **doc.OPTIONAL_BEARER,
            **doc.NO_CATEGORY_OR_PAGE,
            **raises(RATE_LIMITED),
        },
    )
    async def get_category(
        self,
        *,
        request: Request[Any, Any, Any],
        category_id: CategoryId,
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> Response[bytes]:
        """Public. `page` and `page_size` page through the products (active ones, except for staff)."""
        staff = await viewer_is_staff(request)
        detail = await shop_of(request).catalog.get_category(
            category_id, page=page, page_size=page_size, staff=staff
        )
        return category_response(request, detail, page, page_size)

    @post(
        "/",
        guards=[requires_staff],
        security=BEARER,
        status_code=HTTP_201_CREATED,
        operation_id="createCategory",
        summary="Create a category (staff)",
        responses={
            **doc.CREATED,
            **doc.BAD_CATEGORY,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.SLUG_TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def create(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        data: Annotated[CreateCategory, doc.CREATE_BODY],
    ) -> CategoryView:
        """The slug is made from the name when left out; `parent` must exist."""
        return await shop.catalog.create_category(data, actor_of(request.user))

    @put(
        "/{category_id:int}",
        guards=[requires_staff],
        security=BEARER,
        operation_id="replaceCategory",
        summary="Replace a category (staff)",
        responses={
            **doc.THE_CATEGORY,
            **doc.BAD_CATEGORY,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.NO_CATEGORY,
            **doc.SLUG_TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def replace(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        category_id: CategoryId,
        data: Annotated[ReplaceCategory, doc.REPLACE_BODY],
    ) -> CategoryView:
        """`name` must be sent; optional fields left out keep their values. A parent that would make a
        cycle (itself or a descendant) is a 400."""
        return await shop.catalog.update_category(category_id, data, actor_of(request.user))

    @patch(
        "/{category_id:int}",
        guards=[requires_staff],
        security=BEARER,
        operation_id="updateCategory",
        summary="Change some of a category's fields (staff)",
        responses={
            **doc.THE_CATEGORY,
            **doc.BAD_CATEGORY,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.NO_CATEGORY,
            **doc.SLUG_TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def update(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        category_id: CategoryId,
        data: Annotated[UpdateCategory, doc.UPDATE_BODY],
    ) -> CategoryView:
        """Only the fields sent change."""
        return await shop.catalog.update_category(category_id, data, actor_of(request.user))

    @delete(
        "/{category_id:int}",
        guards=[requires_staff],
        security=BEARER,
        status_code=HTTP_204_NO_CONTENT,
        operation_id="deleteCategory",
        summary="Delete a category (staff)",
        responses={
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_CATEGORY,
            **doc.NOT_EMPTY,
            **raises(RATE_LIMITED),
        },
    )
    async def remove(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], category_id: CategoryId
    ) -> None:
        """409 while it has products or subcategories."""
        await shop.catalog.delete_category(category_id, actor_of(request.user))
