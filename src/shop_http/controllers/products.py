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
from shop_core.domain.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, PermissionDenied
from shop_core.services.catalog_commands import CreateProduct, ProductQuery, ReplaceProduct, UpdateProduct
from shop_core.services.catalog_reads import ORDERINGS
from shop_core.services.catalog_views import ProductView, StaffProductView
from shop_core.services.views import UserView
from shop_http.api_docs.examples import PRODUCT, STAFF_PRODUCT
from shop_http.catalog_responses import json_bytes, page_response
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import (
    BEARER,
    OPTIONAL_AUTH,
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
from shop_http.security import PUBLIC, actor_of, requires_staff, viewer_is_staff

StaffRequest = Request[UserView, Any, Any]
ProductId = Annotated[int, Parameter(description="The product's id.", examples=[Example(value=1)])]
PAGE_OF_PRODUCTS = ok(
    PageOf[ProductView],
    "A page of products (staff also see `cost_price`, and inactive products).",
    example(
        PageOf(
            count=41,
            next="http://127.0.0.1:8000/api/products/?page=2&page_size=20",
            previous=None,
            results=[PRODUCT],
        ),
        "The first page",
    ),
)
ONE_PRODUCT = ok(ProductView, "The product (staff also see `cost_price`).", example(PRODUCT))
STAFF_VIEW = example(STAFF_PRODUCT)
TAKEN = error(
    Conflict,
    "The sku or slug is taken by another product.",
    ErrorBody(detail="A product with the sku 'MUG-ENAMEL-350' already exists.", code="conflict"),
)
BAD_PRODUCT = error(
    InvalidInput,
    "A field is missing or invalid, or `category` names no category.",
    ErrorBody(
        detail="There is no category 99.",
        code="invalid",
        errors={"category": ["There is no category 99."]},
    ),
)
NO_PRODUCT = error(
    NotFound, "No product has that id.", ErrorBody(detail="No such product.", code="not_found")
)
NEW_PRODUCT = {
    "name": "Enamel mug",
    "sku": "MUG-ENAMEL-350",
    "price": "12.50",
    "category": 2,
    "description": "A 350 ml camping mug.",
    "discount_percentage": "10.00",
    "cost_price": "4.80",
    "stock_quantity": 42,
    "image_url": "https://cdn.example.com/mugs/enamel.jpg",
}


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
            **PAGE_OF_PRODUCTS,
            **error(
                InvalidInput,
                "A filter or page parameter is invalid (e.g. `min_price` above `max_price`, an unknown "
                "`ordering`).",
                ErrorBody(
                    detail="Order by one of: price, -price, name, -name, created_at, -created_at.",
                    code="invalid",
                    errors={
                        "ordering": ["Order by one of: price, -price, name, -name, created_at, -created_at."]
                    },
                ),
            ),
            **error(
                AuthenticationFailed,
                "A bearer token was sent and it is invalid, expired or revoked (it is optional).",
            ),
            **page_past_the_end(),
            **raises(RATE_LIMITED),
        },
    )
    async def list_products(
        self,
        *,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
        category: Annotated[
            int | None,
            Parameter(ge=1, description="A category id; its descendants count.", examples=[Example(value=2)]),
        ] = None,
        search: Annotated[
            str | None,
            Parameter(
                max_length=200,
                description="Words in name, description or sku.",
                examples=[Example(value="mug")],
            ),
        ] = None,
        min_price: Annotated[
            Decimal | None, Parameter(description='e.g. "10.00"', examples=[Example(value="10.00")])
        ] = None,
        max_price: Annotated[
            Decimal | None, Parameter(description='e.g. "99.99"', examples=[Example(value="99.99")])
        ] = None,
        in_stock: Annotated[bool, Parameter(description="Only products with stock.")] = False,
        ordering: Annotated[
            str | None,
            Parameter(description=f"One of {', '.join(ORDERINGS)}.", examples=[Example(value="-price")]),
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
        found = await shop.list_products(query, page=page, page_size=page_size, staff=staff)
        return page_response(request, found, page, page_size)

    @get(
        "/{product_id:int}",
        opt=PUBLIC,
        security=OPTIONAL_AUTH,  # guests, or staff (who see more)
        operation_id="getProduct",
        summary="One product",
        responses={
            **ONE_PRODUCT,
            **raises(InvalidInput),
            **error(
                AuthenticationFailed,
                "A bearer token was sent and it is invalid, expired or revoked (it is optional).",
            ),
            **error(
                NotFound,
                "No product has that id, or it is inactive (staff see inactive products).",
                ErrorBody(detail="No such product.", code="not_found"),
            ),
            **raises(RATE_LIMITED),
        },
    )
    async def get_product(
        self, shop: NamedDependency[Shop], request: Request[Any, Any, Any], product_id: ProductId
    ) -> Response[bytes]:
        """Public. 404 for unknown and (except for staff) inactive products."""
        staff = await viewer_is_staff(request)
        return json_bytes(await shop.get_product(product_id, staff=staff))

    @post(
        "/",
        guards=[requires_staff],
        security=BEARER,
        status_code=HTTP_201_CREATED,
        operation_id="createProduct",
        summary="Create a product (staff)",
        responses={
            **ok(StaffProductView, "The new product, as staff see it.", STAFF_VIEW, status=201),
            **BAD_PRODUCT,
            **raises(AuthenticationFailed, PermissionDenied),
            **TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def create(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        data: Annotated[
            CreateProduct,
            body(
                request_example(
                    CreateProduct, "The fields a product needs", name="Enamel mug", sku="MUG-1", price="12.50"
                ),
                request_example(CreateProduct, "Every field", **NEW_PRODUCT),
            ),
        ],
    ) -> StaffProductView:
        """Money is a decimal string. The slug is made from the name when left out. 409 when the sku or
        slug is taken. The opening `stock_quantity` is recorded as a stock movement."""
        return await shop.create_product(data, actor_of(request.user))

    @put(
        "/{product_id:int}",
        guards=[requires_staff],
        security=BEARER,
        operation_id="replaceProduct",
        summary="Replace a product (staff)",
        responses={
            **ok(StaffProductView, "The product, as staff see it.", STAFF_VIEW),
            **BAD_PRODUCT,
            **raises(AuthenticationFailed, PermissionDenied),
            **NO_PRODUCT,
            **TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def replace(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        product_id: ProductId,
        data: Annotated[
            ReplaceProduct, body(request_example(ReplaceProduct, "A new product sheet", **NEW_PRODUCT))
        ],
    ) -> StaffProductView:
        """`name`, `sku` and `price` must be sent; optional fields left out keep their values."""
        return await shop.update_product(product_id, data, actor_of(request.user))

    @patch(
        "/{product_id:int}",
        guards=[requires_staff],
        security=BEARER,
        operation_id="updateProduct",
        summary="Change some of a product's fields (staff)",
        responses={
            **ok(StaffProductView, "The product, as staff see it.", STAFF_VIEW),
            **BAD_PRODUCT,
            **raises(AuthenticationFailed, PermissionDenied),
            **NO_PRODUCT,
            **TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def update(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        product_id: ProductId,
        data: Annotated[
            UpdateProduct,
            body(
                request_example(UpdateProduct, "A sale", discount_percentage="25.00"),
                request_example(UpdateProduct, "A restock", stock_quantity=120),
                request_example(UpdateProduct, "Take it off sale", is_active=False),
            ),
        ],
    ) -> StaffProductView:
        """Only the fields sent change. A change of `stock_quantity` is recorded as a stock movement."""
        return await shop.update_product(product_id, data, actor_of(request.user))

    @delete(
        "/{product_id:int}",
        guards=[requires_staff],
        security=BEARER,
        status_code=HTTP_204_NO_CONTENT,
        operation_id="deleteProduct",
        summary="Delete a product (staff)",
        description="A product that orders reference is deactivated instead of erased.",
        responses={
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **NO_PRODUCT,
            **raises(RATE_LIMITED),
        },
    )
    async def remove(self, shop: NamedDependency[Shop], product_id: ProductId) -> None:
        await shop.delete_product(product_id)
