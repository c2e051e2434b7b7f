"""The catalog's products: public (cached) reads, and staff's writes.

The reference is served at /api/docs; the API guide is the docs site's API page (docs/api.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from shop_core.services.catalog_commands import CreateProduct, ProductQuery, ReplaceProduct, UpdateProduct
from shop_core.services.catalog_views import StaffProductView
from shop_core.services.views import UserView
from shop_http.api_docs import products as doc
from shop_http.catalog_responses import json_bytes, page_response
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

StaffRequest = Request[UserView, Any, Any]
ProductId = Annotated[int, Parameter(description="The product's id.", examples=[Example(value=1)])]


class ProductController(Controller):
    path = "/api/products"
    tags = ["Catalog"]

    @get(
        "/",
        opt=PUBLIC,
        security=OPTIONAL_AUTH,  # guests, or staff (who see more)
        operation_id="listProducts",
        summary="A page of products",
        responses={
            **doc.PAGE,
            **doc.BAD_QUERY,
            **doc.OPTIONAL_BEARER,
            **page_past_the_end(),
            **raises(RATE_LIMITED),
        },
    )
    async def list_products(
        self,
        *,
        request: Request[Any, Any, Any],
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
        category: Annotated[
            int | None,
            Parameter(ge=1, description=doc.CATEGORY_FILTER, examples=[Example(value=2)]),
        ] = None,
        search: Annotated[
            str | None,
            Parameter(
                max_length=200,
                description=doc.SEARCH_FILTER,
                examples=[Example(value="mug")],
            ),
        ] = None,
        min_price: Annotated[
            Decimal | None, Parameter(description=doc.MIN_PRICE, examples=[Example(value="10.00")])
        ] = None,
        max_price: Annotated[
            Decimal | None, Parameter(description=doc.MAX_PRICE, examples=[Example(value="99.99")])
        ] = None,
        in_stock: Annotated[bool, Parameter(description=doc.IN_STOCK)] = False,
        ordering: Annotated[
            str | None,
            Parameter(description=doc.ORDERING, examples=[Example(value="-price")]),
        ] = None,
    ) -> Response[bytes]:
        """Public. Inactive products are hidden except from staff; staff also see `cost_price`.
        Filters combine; `category` includes its subcategories. Cached for everyone but staff."""
        query = ProductQuery(
            category=category,
            search=search,
            min_price=min_price,
            max_price=max_price,
            in_stock=in_stock,
            ordering=ordering,
        )
        staff = await viewer_is_staff(request)
        found = await shop_of(request).catalog.list_products(
            query, page=page, page_size=page_size, staff=staff
        )
        return page_response(request, found, page, page_size)

    @get(
        "/{product_id:int}",
        opt=PUBLIC,
        security=OPTIONAL_AUTH,  # guests, or staff (who see more)
        operation_id="getProduct",
        summary="One product",
        responses={
            **doc.ONE_PRODUCT,
            **raises(InvalidInput),
            **doc.OPTIONAL_BEARER,
            **doc.HIDDEN_PRODUCT,
            **raises(RATE_LIMITED),
        },
    )
    async def get_product(self, request: Request[Any, Any, Any], product_id: ProductId) -> Response[bytes]:
        """Public. 404 for unknown and (except for staff) inactive products."""
        staff = await viewer_is_staff(request)
        return json_bytes(await shop_of(request).catalog.get_product(product_id, staff=staff))

    @post(
        "/",
        guards=[requires_staff],
        security=BEARER,
        status_code=HTTP_201_CREATED,
        operation_id="createProduct",
        summary="Create a product (staff)",
        responses={
            **doc.CREATED,
            **doc.BAD_PRODUCT,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def create(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        data: Annotated[CreateProduct, doc.CREATE_BODY],
    ) -> StaffProductView:
        """Money is a decimal string. The slug is made from the name when left out. 409 when the sku or
        slug is taken. The opening `stock_quantity` is recorded as a stock movement."""
        return await shop.catalog.create_product(data, actor_of(request.user))

    @put(
        "/{product_id:int}",
        guards=[requires_staff],
        security=BEARER,
        operation_id="replaceProduct",
        summary="Replace a product (staff)",
        responses={
            **doc.AS_STAFF_SEE_IT,
            **doc.BAD_PRODUCT,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.NO_PRODUCT,
            **doc.TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def replace(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        product_id: ProductId,
        data: Annotated[ReplaceProduct, doc.REPLACE_BODY],
    ) -> StaffProductView:
        """`name`, `sku` and `price` must be sent; optional fields left out keep their values."""
        return await shop.catalog.update_product(product_id, data, actor_of(request.user))

    @patch(
        "/{product_id:int}",
        guards=[requires_staff],
        security=BEARER,
        operation_id="updateProduct",
        summary="Change some of a product's fields (staff)",
        responses={
            **doc.AS_STAFF_SEE_IT,
            **doc.BAD_PRODUCT,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.NO_PRODUCT,
            **doc.TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def update(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        product_id: ProductId,
        data: Annotated[UpdateProduct, doc.UPDATE_BODY],
    ) -> StaffProductView:
        """Only the fields sent change. A change of `stock_quantity` is recorded as a stock movement."""
        return await shop.catalog.update_product(product_id, data, actor_of(request.user))

    @delete(
        "/{product_id:int}",
        guards=[requires_staff],
        security=BEARER,
        status_code=HTTP_204_NO_CONTENT,
        operation_id="deleteProduct",
        summary="Delete a product (staff)",
        description=doc.DELETE,
        responses={
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_PRODUCT,
            **raises(RATE_LIMITED),
        },
    )
    async def remove(self, shop: NamedDependency[Shop], request: StaffRequest, product_id: ProductId) -> None:
        await shop.catalog.delete_product(product_id, actor_of(request.user))
