"""A product's variants: staff list, add, change and remove them. Customers see the active ones in
the product itself (GET /api/products/{id}/)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from shop_core.services.catalog_variants import AddVariant, UpdateVariant
from shop_core.services.catalog_views import VariantView
from shop_core.services.views import UserView
from shop_http.api_docs import variants as doc
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import BEARER, raises
from shop_http.security import actor_of, requires_staff

StaffRequest = Request[UserView, Any, Any]
ProductId = Annotated[int, Parameter(description="The product's id.", examples=[Example(value=3)])]
VariantId = Annotated[int, Parameter(description="The variant's id.", examples=[Example(value=7)])]


class VariantController(Controller):
    path = "/api/products/{product_id:int}/variants"
    tags = ["Catalog"]
    guards = [requires_staff]
    security = BEARER

    @get(
        "/",
        operation_id="listVariants",
        summary="A product's variants (staff)",
        responses={
            **doc.LIST,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_VARIANT,
            **raises(RATE_LIMITED),
        },
    )
    async def list_variants(
        self, shop: NamedDependency[Shop], request: StaffRequest, product_id: ProductId
    ) -> list[VariantView]:
        """Inactive variants too, by id."""
        return await shop.catalog.list_variants(product_id, actor_of(request.user))

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        operation_id="addVariant",
        summary="Add a variant (staff)",
        responses={
            **doc.CREATED,
            **doc.BAD_VARIANT,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.NO_VARIANT,
            **doc.TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def add(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        product_id: ProductId,
        data: Annotated[AddVariant, doc.ADD_BODY],
    ) -> VariantView:
        """`options` gives one value for each of the product's options (set them first with PATCH
        /api/products/{id}/ `options`). Without `price` the variant costs the product's base price.
        The first variant of a product with options takes over its default variant (its id, and its
        stock unless `stock_quantity` is given). An opening stock is recorded as a stock movement."""
        return await shop.catalog.add_variant(product_id, data, actor_of(request.user))

    @patch(
        "/{variant_id:int}",
        operation_id="updateVariant",
        summary="Change some of a variant's fields (staff)",
        responses={
            **doc.CHANGED,
            **doc.BAD_VARIANT,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.NO_VARIANT,
            **doc.TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def update(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        product_id: ProductId,
        variant_id: VariantId,
        data: Annotated[UpdateVariant, doc.UPDATE_BODY],
    ) -> VariantView:
        """Only the fields sent change. A change of `stock_quantity` is recorded as a stock movement;
        deactivating a variant takes its stock out of the product's total."""
        return await shop.catalog.update_variant(product_id, variant_id, data, actor_of(request.user))

    @delete(
        "/{variant_id:int}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="deleteVariant",
        summary="Remove a variant (staff)",
        description=doc.DELETE,
        responses={
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_VARIANT,
            **doc.LAST_ONE,
            **raises(RATE_LIMITED),
        },
    )
    async def remove(
        self, shop: NamedDependency[Shop], request: StaffRequest, product_id: ProductId, variant_id: VariantId
    ) -> None:
        await shop.catalog.delete_variant(product_id, variant_id, actor_of(request.user))
