"""Timed sales: staff list, create, change and remove them. Customers see them in the catalog's prices
(`final_price`, and `sale` on each product)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from shop_core.services.sales import CreateSale, SaleView, UpdateSale
from shop_core.services.views import UserView
from shop_http.api_docs import sales as doc
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import BEARER, page_past_the_end, raises
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize, page_of, window
from shop_http.security import actor_of, requires_staff

StaffRequest = Request[UserView, Any, Any]
SaleId = Annotated[int, Parameter(description="The sale's id.", examples=[Example(value=1)])]


class SaleController(Controller):
    path = "/api/sales"
    tags = ["Sales (staff)"]
    guards = [requires_staff]
    security = BEARER

    @get(
        "/",
        operation_id="listSales",
        summary="Every sale, newest first (staff)",
        description=doc.LIST,
        responses={
            **doc.PAGE,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **page_past_the_end(),
            **raises(RATE_LIMITED),
        },
    )
    async def list_sales(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> PageOf[SaleView]:
        offset, limit = window(page, page_size)
        found = await shop.sales.list_sales(actor_of(request.user), offset=offset, limit=limit)
        return page_of(request, found.items, found.total, page, page_size)

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        operation_id="createSale",
        summary="Create a sale (staff)",
        responses={
            **doc.CREATED,
            **doc.BAD_SALE,
            **raises(AuthenticationFailed, PermissionDenied, REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def create(
        self, shop: NamedDependency[Shop], request: StaffRequest, data: Annotated[CreateSale, doc.CREATE_BODY]
    ) -> SaleView:
        """`percentage` off the products of `product_ids` and of the categories of `category_ids` (with
        their subcategories) from `starts_at` (left out: now) until `ends_at`. While it runs, a
        product's `final_price` is its price less the better of its own `discount_percentage` and the
        best running sale covering it, never both."""
        return await shop.sales.create_sale(data, actor_of(request.user))

    @get(
        "/{sale_id:int}",
        operation_id="getSale",
        summary="One sale (staff)",
        responses={
            **doc.THE_SALE,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_SALE,
            **raises(RATE_LIMITED),
        },
    )
    async def get_sale(self, shop: NamedDependency[Shop], request: StaffRequest, sale_id: SaleId) -> SaleView:
        return await shop.sales.get_sale(sale_id, actor_of(request.user))

    @patch(
        "/{sale_id:int}",
        operation_id="updateSale",
        summary="Change some of a sale's fields (staff)",
        responses={
            **doc.THE_SALE,
            **doc.BAD_SALE,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.NO_SALE,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def update(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        sale_id: SaleId,
        data: Annotated[UpdateSale, doc.UPDATE_BODY],
    ) -> SaleView:
        """Only the fields sent change; a list sent replaces the list. The sale must still hold whole
        (it ends after it starts, and names a product or a category). `ends_at` set to now ends it."""
        return await shop.sales.update_sale(sale_id, data, actor_of(request.user))

    @delete(
        "/{sale_id:int}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="deleteSale",
        summary="Delete a sale (staff)",
        description=doc.DELETE,
        responses={
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_SALE,
            **raises(RATE_LIMITED),
        },
    )
    async def remove(self, shop: NamedDependency[Shop], request: StaffRequest, sale_id: SaleId) -> None:
        await shop.sales.delete_sale(sale_id, actor_of(request.user))
