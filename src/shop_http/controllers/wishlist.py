"""The customer's wishlist: products (or one variant of a product) kept for later, with their live
price and stock, and optionally an email when one comes back in stock."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Parameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed
from shop_core.domain.ids import MAX_ID
from shop_core.services.views import UserView
from shop_core.services.wishlist import AddToWishlist
from shop_core.services.wishlist_views import WishlistItemView
from shop_http.api_docs import wishlist as doc
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import BEARER, raises
from shop_http.security import actor_of

CustomerRequest = Request[UserView, Any, Any]
ProductId = Annotated[
    int, Parameter(ge=1, le=MAX_ID, description="The product's id.", examples=[Example(value=3)])
]
VariantId = Annotated[
    int | None,
    QueryParameter(
        required=False,
        ge=1,
        le=MAX_ID,
        description="Remove only this variant's entry (else every entry of the product).",
        examples=[Example(value=23)],
    ),
]


class WishlistController(Controller):
    path = "/api/wishlist"
    tags = ["Wishlist"]
    security = BEARER

    @get(
        "/",
        operation_id="listWishlist",
        summary="The customer's wishlist",
        responses={**doc.LIST, **raises(AuthenticationFailed, RATE_LIMITED)},
    )
    async def list_items(
        self, shop: NamedDependency[Shop], request: CustomerRequest
    ) -> list[WishlistItemView]:
        """Each entry with its product's (or chosen variant's) current price, `final_price` (with a
        running sale, as the catalog shows it) and stock; inactive ones stay with `is_available: false`."""
        return await shop.wishlist.list_items(actor_of(request.user))

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        operation_id="addToWishlist",
        summary="Add a product or variant to the wishlist",
        responses={
            **doc.CREATED,
            **doc.ALREADY,
            **doc.BAD_INPUT,
            **doc.NO_PRODUCT,
            **doc.FULL,
            **raises(AuthenticationFailed, REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def add(
        self,
        shop: NamedDependency[Shop],
        request: CustomerRequest,
        data: Annotated[AddToWishlist, doc.ADD_BODY],
    ) -> Response[WishlistItemView]:
        """Idempotent: 201 with the new entry, or 200 with the entry already there (one entry per
        product and variant; a product's only, default variant is the product itself). `notify:
        true` asks for an email when it comes back in stock (default false; sent again, it changes
        the entry's). 404 for an unknown or inactive product or variant, or a variant of another
        product; 409 `wishlist_full` past 100 entries."""
        view, created = await shop.wishlist.add_item(actor_of(request.user), data)
        return Response(view, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @delete(
        "/{product_id:int}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="removeFromWishlist",
        summary="Remove a product (or one variant of it) from the wishlist",
        responses={**doc.NOT_THERE, **raises(AuthenticationFailed, 400, RATE_LIMITED)},
    )
    async def remove(
        self,
        shop: NamedDependency[Shop],
        request: CustomerRequest,
        product_id: ProductId,
        variant_id: VariantId = None,
    ) -> None:
        """Every entry of the product, or with `?variant_id=` only that variant's; 404 when there
        was none."""
        await shop.wishlist.remove_item(actor_of(request.user), product_id, variant_id)
