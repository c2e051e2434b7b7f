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
from shop_core.domain.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, PermissionDenied
from shop_core.services.catalog_commands import CreateCategory, ReplaceCategory, UpdateCategory
from shop_core.services.catalog_views import CategoryView, ProductView
from shop_http.api_docs.examples import CATEGORY, PRODUCT
from shop_http.catalog_responses import category_response, page_response
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import (
    BEARER,
    OPTIONAL_AUTH,
    PAST_THE_END,
    ErrorBody,
    body,
    error,
    example,
    ok,
    page_past_the_end,
    raises,
    request_example,
)
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize
from shop_http.security import PUBLIC, requires_staff, viewer_is_staff

CategoryId = Annotated[int, Parameter(description="The category's id.", examples=[Example(value=1)])]


class CategoryDetailView(CategoryView, kw_only=True):
    """The category, its direct children, and a page of its products (those of descendants too)."""

    children: list[CategoryView]
    products: PageOf[ProductView]


HOME = CategoryView(id=1, name="Home", slug="home", parent=None, description="")
ONE_CATEGORY = example(CATEGORY)
OPTIONAL_BEARER = error(
    AuthenticationFailed, "A bearer token was sent and it is invalid, expired or revoked (it is optional)."
)
NO_CATEGORY = error(
    NotFound, "No category has that id.", ErrorBody(detail="No such category.", code="not_found")
)
BAD_CATEGORY = error(
    InvalidInput,
    "A field is missing or invalid, `parent` names no category, or would make a cycle.",
    ErrorBody(
        detail="A category cannot be placed under itself or its descendants.",
        code="invalid",
        errors={"parent": ["A category cannot be placed under itself or its descendants."]},
    ),
)
SLUG_TAKEN = error(
    Conflict,
    "The slug is taken by another category.",
    ErrorBody(detail="A category with the slug 'mugs' already exists.", code="conflict"),
)


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
            **ok(
                PageOf[CategoryView],
                "A page of categories, by id.",
                example(
                    PageOf(count=2, next=None, previous=None, results=[HOME, CATEGORY]), "Every category"
                ),
            ),
            **raises(InvalidInput),
            **OPTIONAL_BEARER,
            **page_past_the_end(),
            **raises(RATE_LIMITED),
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
        """Public. `parent` is null for a top-level category."""
        await viewer_is_staff(request)  # a bad bearer token is 401 here too
        found = await shop.list_categories(page=page, page_size=page_size)
        return page_response(request, found, page, page_size)

    @get(
        "/{category_id:int}",
        opt=PUBLIC,
        security=OPTIONAL_AUTH,  # guests, or staff (who see more)
        operation_id="getCategory",
        summary="A category with its children and products",
        responses={
            **ok(
                CategoryDetailView,
                "The category.",
                example(
                    CategoryDetailView(
                        id=1,
                        name="Home",
                        slug="home",
                        parent=None,
                        description="",
                        children=[CATEGORY],
                        products=PageOf(count=1, next=None, previous=None, results=[PRODUCT]),
                    )
                ),
            ),
            **raises(InvalidInput),
            **OPTIONAL_BEARER,
            **error(
                NotFound,
                "No category has that id, or the products' page is past the end.",
                ErrorBody(detail="No such category.", code="not_found"),
                PAST_THE_END,
            ),
            **raises(RATE_LIMITED),
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
        """Public. `page` and `page_size` page through the products (active ones, except for staff)."""
        staff = await viewer_is_staff(request)
        detail = await shop.get_category(category_id, page=page, page_size=page_size, staff=staff)
        return category_response(request, detail, page, page_size)

    @post(
        "/",
        guards=[requires_staff],
        security=BEARER,
        status_code=HTTP_201_CREATED,
        operation_id="createCategory",
        summary="Create a category (staff)",
        responses={
            **ok(CategoryView, "The new category.", ONE_CATEGORY, status=201),
            **BAD_CATEGORY,
            **raises(AuthenticationFailed, PermissionDenied),
            **SLUG_TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def create(
        self,
        shop: NamedDependency[Shop],
        data: Annotated[
            CreateCategory,
            body(
                request_example(CreateCategory, "A top-level category", name="Home"),
                request_example(
                    CreateCategory,
                    "A subcategory",
                    name="Mugs",
                    parent=1,
                    description="Stoneware and enamel.",
                ),
            ),
        ],
    ) -> CategoryView:
        """The slug is made from the name when left out; `parent` must exist."""
        return await shop.create_category(data)

    @put(
        "/{category_id:int}",
        guards=[requires_staff],
        security=BEARER,
        operation_id="replaceCategory",
        summary="Replace a category (staff)",
        responses={
            **ok(CategoryView, "The category.", ONE_CATEGORY),
            **BAD_CATEGORY,
            **raises(AuthenticationFailed, PermissionDenied),
            **NO_CATEGORY,
            **SLUG_TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def replace(
        self,
        shop: NamedDependency[Shop],
        category_id: CategoryId,
        data: Annotated[
            ReplaceCategory,
            body(
                request_example(
                    ReplaceCategory, "Renamed and moved", name="Cups & mugs", slug="cups-and-mugs", parent=1
                )
            ),
        ],
    ) -> CategoryView:
        """`name` must be sent; optional fields left out keep their values. A parent that would make a
        cycle (itself or a descendant) is a 400."""
        return await shop.update_category(category_id, data)

    @patch(
        "/{category_id:int}",
        guards=[requires_staff],
        security=BEARER,
        operation_id="updateCategory",
        summary="Change some of a category's fields (staff)",
        responses={
            **ok(CategoryView, "The category.", ONE_CATEGORY),
            **BAD_CATEGORY,
            **raises(AuthenticationFailed, PermissionDenied),
            **NO_CATEGORY,
            **SLUG_TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def update(
        self,
        shop: NamedDependency[Shop],
        category_id: CategoryId,
        data: Annotated[
            UpdateCategory,
            body(
                request_example(UpdateCategory, "A new description", description="Stoneware and enamel."),
                request_example(UpdateCategory, "Make it top-level", parent=None),
            ),
        ],
    ) -> CategoryView:
        """Only the fields sent change."""
        return await shop.update_category(category_id, data)

    @delete(
        "/{category_id:int}",
        guards=[requires_staff],
        security=BEARER,
        status_code=HTTP_204_NO_CONTENT,
        operation_id="deleteCategory",
        summary="Delete a category (staff)",
        responses={
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **NO_CATEGORY,
            **error(
                Conflict,
                "The category still has products or subcategories.",
                ErrorBody(detail="The category has products; move or delete them first.", code="conflict"),
            ),
            **raises(RATE_LIMITED),
        },
    )
    async def remove(self, shop: NamedDependency[Shop], category_id: CategoryId) -> None:
        """409 while it has products or subcategories."""
        await shop.delete_category(category_id)
