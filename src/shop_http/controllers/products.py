"""The Catalog table of API.md: products."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from shop_core.bootstrap import Shop
from shop_core.services.catalog_commands import CreateProduct, ProductQuery, ReplaceProduct, UpdateProduct
from shop_core.services.catalog_reads import ORDERINGS
from shop_core.services.catalog_views import ProductView, StaffProductView
from shop_core.services.views import UserView
from shop_http.catalog_responses import json_bytes, page_response
from shop_http.openapi import responses
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize
from shop_http.security import NO_AUTH, PUBLIC, actor_of, requires_staff, viewer_is_staff

StaffRequest = Request[UserView, Any, Any]
ProductId = Annotated[int, Parameter(description="The product's id.")]
PAGE_OF_PRODUCTS = {200: ResponseSpec(data_container=PageOf[ProductView], description="A page of products.")}
ONE_PRODUCT = {200: ResponseSpec(data_container=ProductView, description="The product.")}


class ProductController(Controller):
    path = "/api/products"
    tags = ["Catalog"]

    @get(
        "/",
        opt=PUBLIC,
        security=NO_AUTH,
        operation_id="listProducts",
        summary="A page of products",
        responses={**PAGE_OF_PRODUCTS, **responses(400, 401, 404)},
    )
    async def list_products(
        self,
        *,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
        category: Annotated[
            int | None, Parameter(ge=1, description="A category id; its descendants count.")
        ] = None,
        search: Annotated[
            str | None, Parameter(max_length=200, description="Words in name, description or sku.")
        ] = None,
        min_price: Annotated[Decimal | None, Parameter(description='e.g. "10.00"')] = None,
        max_price: Annotated[Decimal | None, Parameter(description='e.g. "99.99"')] = None,
        in_stock: Annotated[bool, Parameter(description="Only products with stock.")] = False,
        ordering: Annotated[str | None, Parameter(description=f"One of {', '.join(ORDERINGS)}.")] = None,
    ) -> Response[bytes]:
        """Inactive products are hidden except from staff; staff also see `cost_price`."""
        query = ProductQuery(
            category=category,
            search=search,
            min_price=min_price,
            max_price=max_price,
            in_stock=in_stock,
            ordering=ordering,
        )
        staff = await viewer_is_staff(request)
        found = await shop.list_products(query, page=page, page_size=page_size, staff=staff)
        return page_response(request, found, page, page_size)

    @get(
        "/{product_id:int}",
        opt=PUBLIC,
        security=NO_AUTH,
        operation_id="getProduct",
        summary="One product",
        responses={**ONE_PRODUCT, **responses(401, 404)},
    )
    async def get_product(
        self, shop: NamedDependency[Shop], request: Request[Any, Any, Any], product_id: ProductId
    ) -> Response[bytes]:
        """404 for unknown and (except for staff) inactive products."""
        staff = await viewer_is_staff(request)
        return json_bytes(await shop.get_product(product_id, staff=staff))

    @post(
        "/",
        guards=[requires_staff],
        status_code=HTTP_201_CREATED,
        operation_id="createProduct",
        summary="Create a product (staff)",
        responses=responses(400, 401, 403, 409, 413),
    )
    async def create(
        self, shop: NamedDependency[Shop], request: StaffRequest, data: JSONBody[CreateProduct]
    ) -> StaffProductView:
        """The slug is made from the name when left out. 409 when the sku or slug is taken."""
        return await shop.create_product(data, actor_of(request.user))

    @put(
        "/{product_id:int}",
        guards=[requires_staff],
        operation_id="replaceProduct",
        summary="Replace a product (staff)",
        responses=responses(400, 401, 403, 404, 409, 413),
    )
    async def replace(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        product_id: ProductId,
        data: JSONBody[ReplaceProduct],
    ) -> StaffProductView:
        return await shop.update_product(product_id, data, actor_of(request.user))

    @patch(
        "/{product_id:int}",
        guards=[requires_staff],
        operation_id="updateProduct",
        summary="Change some of a product's fields (staff)",
        responses=responses(400, 401, 403, 404, 409, 413),
    )
    async def update(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        product_id: ProductId,
        data: JSONBody[UpdateProduct],
    ) -> StaffProductView:
        """A change of `stock_quantity` is recorded as a stock movement."""
        return await shop.update_product(product_id, data, actor_of(request.user))

    @delete(
        "/{product_id:int}",
        guards=[requires_staff],
        status_code=HTTP_204_NO_CONTENT,
        operation_id="deleteProduct",
        summary="Delete a product (staff)",
        responses=responses(401, 403, 404),
    )
    async def remove(self, shop: NamedDependency[Shop], product_id: ProductId) -> None:
        await shop.delete_product(product_id)
