"""The Catalog table of API.md: categories."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from shop_core.bootstrap import Shop
from shop_core.services.catalog_commands import CreateCategory, ReplaceCategory, UpdateCategory
from shop_core.services.catalog_views import CategoryView, ProductView
from shop_http.catalog_responses import category_response, page_response
from shop_http.openapi import responses
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize
from shop_http.security import NO_AUTH, PUBLIC, requires_staff, viewer_is_staff

CategoryId = Annotated[int, Parameter(description="The category's id.")]


class CategoryDetailView(CategoryView, kw_only=True):
    """The category, its direct children, and a page of its products (those of descendants too)."""

    children: list[CategoryView]
    products: PageOf[ProductView]


class CategoryController(Controller):
    path = "/api/categories"
    tags = ["Catalog"]

    @get(
        "/",
        opt=PUBLIC,
        security=NO_AUTH,
        operation_id="listCategories",
        summary="A page of categories",
        responses={
            200: ResponseSpec(data_container=PageOf[CategoryView], description="A page of categories."),
            **responses(400, 401, 404),
        },
    )
    async def list_categories(
        self,
        *,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> Response[bytes]:
        await viewer_is_staff(request)  # a bad bearer token is 401 here too
        found = await shop.list_categories(page=page, page_size=page_size)
        return page_response(request, found, page, page_size)

    @get(
        "/{category_id:int}",
        opt=PUBLIC,
        security=NO_AUTH,
        operation_id="getCategory",
        summary="A category with its children and products",
        responses={
            200: ResponseSpec(data_container=CategoryDetailView, description="The category."),
            **responses(400, 401, 404),
        },
    )
    async def get_category(
        self,
        *,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        category_id: CategoryId,
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> Response[bytes]:
        """`page` and `page_size` page through the products."""
        staff = await viewer_is_staff(request)
        detail = await shop.get_category(category_id, page=page, page_size=page_size, staff=staff)
        return category_response(request, detail, page, page_size)

    @post(
        "/",
        guards=[requires_staff],
        status_code=HTTP_201_CREATED,
        operation_id="createCategory",
        summary="Create a category (staff)",
        responses=responses(400, 401, 403, 409, 413),
    )
    async def create(self, shop: NamedDependency[Shop], data: JSONBody[CreateCategory]) -> CategoryView:
        """The slug is made from the name when left out; `parent` must exist."""
        return await shop.create_category(data)

    @put(
        "/{category_id:int}",
        guards=[requires_staff],
        operation_id="replaceCategory",
        summary="Replace a category (staff)",
        responses=responses(400, 401, 403, 404, 409, 413),
    )
    async def replace(
        self, shop: NamedDependency[Shop], category_id: CategoryId, data: JSONBody[ReplaceCategory]
    ) -> CategoryView:
        """A parent that would make a cycle (itself or a descendant) is a 400."""
        return await shop.update_category(category_id, data)

    @patch(
        "/{category_id:int}",
        guards=[requires_staff],
        operation_id="updateCategory",
        summary="Change some of a category's fields (staff)",
        responses=responses(400, 401, 403, 404, 409, 413),
    )
    async def update(
        self, shop: NamedDependency[Shop], category_id: CategoryId, data: JSONBody[UpdateCategory]
    ) -> CategoryView:
        return await shop.update_category(category_id, data)

    @delete(
        "/{category_id:int}",
        guards=[requires_staff],
        status_code=HTTP_204_NO_CONTENT,
        operation_id="deleteCategory",
        summary="Delete a category (staff)",
        responses=responses(401, 403, 404, 409),
    )
    async def remove(self, shop: NamedDependency[Shop], category_id: CategoryId) -> None:
        """409 while it has products or subcategories."""
        await shop.delete_category(category_id)
