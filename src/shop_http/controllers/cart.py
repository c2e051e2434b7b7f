"""The cart: the current customer's (or guest's) cart, priced from the catalog, and its checkout.

Who owns the cart a request works on:

- A request with a valid bearer token works on that customer's cart.
- Otherwise it works on the guest cart its `X-Cart-Token` header names. A client without a token
  gets an empty cart from `GET`; its first `POST /api/cart/add/` (or `PUT` of a positive quantity)
  creates a guest cart and returns the new token in the `X-Cart-Token` response header. Every
  successful guest response echoes the token. A token the shop did not issue is 400.
- A request with a bearer token *and* a valid `X-Cart-Token` first merges that guest cart into the
  customer's: quantities add up, capped by the current stock and the per-line maximum; inactive or
  deleted products are dropped, and so are lines past the cart's line limit. The guest cart is gone
  afterwards. This is how a guest cart follows its client through login.

The reference is served at /api/docs; the API guide is the docs site's API page (docs/api.md).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Parameter, QueryParameter

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed
from shop_core.domain.ids import MAX_ID
from shop_core.services.cart import AddToCart, ApplyVoucher, CartView, SetQuantity
from shop_core.services.order_commands import Checkout
from shop_core.services.order_views import OrderView
from shop_core.services.shipping_offers import ShippingOfferView
from shop_http.api_docs import cart as doc
from shop_http.api_docs import orders as order_doc
from shop_http.cart_token import CART_TOKEN
from shop_http.controllers.orders import IdempotencyKey, checkout
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import BEARER, OPTIONAL_AUTH, raises
from shop_http.security import PUBLIC, provide_viewer

__all__ = ["CART_TOKEN", "CartController"]

T = TypeVar("T")

ProductId = Annotated[
    int, Parameter(ge=1, le=MAX_ID, description="The product's id.", examples=[Example(value=1)])
]
VariantId = Annotated[
    int | None,
    QueryParameter(
        required=False,
        ge=0,  # 0: a line whose variant shows 0 (its product's default variant, gone since)
        le=MAX_ID,
        description=doc.VARIANT_QUERY,
        examples=[Example(value=23)],
    ),
]
Country = Annotated[
    str,
    QueryParameter(
        max_length=2,
        description="Where to ship: an ISO 3166-1 alpha-2 code in capitals.",
        examples=[Example(value="BD")],
    ),
]
CHANGE_RESPONSES = {
    **doc.ONE_CART,
    **doc.BAD_INPUT,
    **doc.OPTIONAL_BEARER,
    **doc.NO_PRODUCT,
    **doc.STOCK_CONFLICT,
    **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
    **doc.CARTS_DOWN,
}


class CartController(Controller):
    """Carts live 30 days after their last change. Lines whose product was deactivated or deleted
    stay in the cart with `in_stock: false` and count towards neither `subtotal` nor `item_count`."""

    path = "/api/cart"
    tags = ["Cart"]
    opt = PUBLIC

    @get(
        "/",
        security=OPTIONAL_AUTH,
        operation_class=doc.CART_OPERATION,
        operation_id="viewCart",
        summary="The current cart",
        description=doc.VIEW,
        responses={
            **doc.ONE_CART,
            **doc.BAD_TOKEN,
            **doc.OPTIONAL_BEARER,
            **raises(RATE_LIMITED),
            **doc.CARTS_DOWN,
        },
    )
    async def view(self, shop: NamedDependency[Shop], request: Request[Any, Any, Any]) -> Response[CartView]:
        owner, token = await _owner(shop, request, create=False)
        return _answer(await shop.cart.view_cart(owner), token)

    @get(
        "/shipping-methods",
        security=OPTIONAL_AUTH,
        operation_class=doc.CART_OPERATION,
        operation_id="cartShippingMethods",
        summary="The shipping methods for this cart to a country",
        description=doc.SHIPPING_METHODS_TEXT,
        responses={
            **doc.SHIPPING_METHODS,
            **doc.NO_SHIPPING,
            **doc.OPTIONAL_BEARER,
            **raises(RATE_LIMITED),
            **doc.CARTS_DOWN,
        },
    )
    async def shipping_methods(
        self, shop: NamedDependency[Shop], request: Request[Any, Any, Any], country: Country
    ) -> Response[list[ShippingOfferView]]:
        owner, token = await _owner(shop, request, create=False)
        return _answer(await shop.shipping_offers.cart_shipping_methods(owner, country), token)

    @post(
        "/add",
        status_code=200,
        security=OPTIONAL_AUTH,
        operation_class=doc.CART_OPERATION,
        operation_id="addToCart",
        summary="Add a product to the cart",
        description=doc.ADD,
        responses=CHANGE_RESPONSES,
    )
    async def add(
        self,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        data: Annotated[AddToCart, doc.ADD_BODY],
    ) -> Response[CartView]:
        """400 for a quantity that is not a whole number from 1 to the per-line maximum (in total),
        or `variant_required`; 404 for an unknown or inactive product or variant; 409 past the
        variant's stock (with `available`)."""
        owner, token = await _owner(shop, request, create=True)
        return _answer(await shop.cart.add_to_cart(owner, data), token)

    @put(
        "/items/{product_id:int}",
        security=OPTIONAL_AUTH,
        operation_class=doc.CART_OPERATION,
        operation_id="setCartQuantity",
        summary="Set a line's quantity (0 removes it)",
        description=doc.SET_QUANTITY,
        responses=CHANGE_RESPONSES,
    )
    async def set_quantity(
        self,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        product_id: ProductId,
        data: Annotated[SetQuantity, doc.SET_QUANTITY_BODY],
        variant_id: VariantId = None,
    ) -> Response[CartView]:
        """404 for an unknown or inactive product or variant; 400 `variant_required` when the
        product has several variants and none is named; 409 past the stock (with `available`)."""
        owner, token = await _owner(shop, request, create=data.quantity > 0)
        view = await shop.cart.set_cart_quantity(owner, product_id, data, variant_id=variant_id)
        return _answer(view, token)

    @delete(
        "/items/{product_id:int}",
        status_code=200,
        security=OPTIONAL_AUTH,
        operation_class=doc.CART_OPERATION,
        operation_id="removeFromCart",
        summary="Remove a line",
        description=doc.REMOVE,
        responses={
            **doc.ONE_CART,
            **doc.BAD_INPUT,
            **doc.OPTIONAL_BEARER,
            **doc.NOT_IN_CART,
            **raises(RATE_LIMITED),
            **doc.CARTS_DOWN,
        },
    )
    async def remove(
        self,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        product_id: ProductId,
        variant_id: VariantId = None,
    ) -> Response[CartView]:
        owner, token = await _owner(shop, request, create=False)
        return _answer(await shop.cart.remove_from_cart(owner, product_id, variant_id=variant_id), token)

    @post(
        "/clear",
        status_code=200,
        security=OPTIONAL_AUTH,
        operation_class=doc.CART_OPERATION,
        operation_id="clearCart",
        summary="Empty the cart",
        description=doc.CLEAR,
        responses={
            **doc.EMPTIED,
            **doc.BAD_TOKEN,
            **doc.OPTIONAL_BEARER,
            **raises(RATE_LIMITED),
            **doc.CARTS_DOWN,
        },
    )
    async def clear(self, shop: NamedDependency[Shop], request: Request[Any, Any, Any]) -> Response[CartView]:
        owner, token = await _owner(shop, request, create=False)
        return _answer(await shop.cart.clear_cart(owner), token)

    @post(
        "/voucher",
        status_code=200,
        security=OPTIONAL_AUTH,
        operation_class=doc.CART_OPERATION,
        operation_id="applyCartVoucher",
        summary="Apply a voucher to the cart",
        description=doc.APPLY_VOUCHER,
        responses={
            **doc.ONE_CART,
            **doc.NO_VOUCHER,
            **doc.OPTIONAL_BEARER,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
            **doc.CARTS_DOWN,
        },
        opt={**PUBLIC, "auth_rate_limit": True},
    )
    async def apply_voucher(
        self,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        data: Annotated[ApplyVoucher, doc.APPLY_VOUCHER_BODY],
    ) -> Response[CartView]:
        owner, token = await _owner(shop, request, create=True)
        return _answer(await shop.cart.apply_voucher(owner, data), token)

    @delete(
        "/voucher",
        status_code=200,
        security=OPTIONAL_AUTH,
        operation_class=doc.CART_OPERATION,
        operation_id="removeCartVoucher",
        summary="Take the voucher off the cart",
        description=doc.REMOVE_VOUCHER,
        responses={
            **doc.ONE_CART,
            **doc.BAD_TOKEN,
            **doc.OPTIONAL_BEARER,
            **raises(RATE_LIMITED),
            **doc.CARTS_DOWN,
        },
    )
    async def remove_voucher(
        self, shop: NamedDependency[Shop], request: Request[Any, Any, Any]
    ) -> Response[CartView]:
        owner, token = await _owner(shop, request, create=False)
        return _answer(await shop.cart.remove_voucher(owner), token)

    @post(
        "/checkout",
        status_code=201,
        operation_id="checkoutCart",
        summary="Place an order from the cart",
        description=doc.CHECKOUT,
        security=BEARER,
        operation_class=doc.CHECKOUT_OPERATION,
        responses={
            **order_doc.PLACED,
            **doc.BAD_CHECKOUT,
            **doc.NOT_LOGGED_IN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
            **doc.CARTS_DOWN,
            **order_doc.CONFLICT,
        },
    )
    async def checkout(
        self,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        data: Annotated[Checkout, doc.CHECKOUT_BODY],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[OrderView]:
        viewer = await provide_viewer(request)
        if viewer is None:
            raise AuthenticationFailed(doc.LOG_IN_TO_CHECK_OUT)
        return await checkout(shop, viewer, data, idempotency_key, request.headers.get(CART_TOKEN))


async def _owner(shop: Shop, request: Request[Any, Any, Any], *, create: bool) -> tuple[str, str | None]:
    """The cart owner the request works on, and the guest token to echo (None for customers)."""
    viewer = await provide_viewer(request)
    user_id = viewer.id if viewer is not None else None
    return await shop.cart.cart_owner(user_id, request.headers.get(CART_TOKEN), create=create)


def _answer(view: T, token: str | None) -> Response[T]:
    return Response(view, headers={CART_TOKEN: token} if token else None)
