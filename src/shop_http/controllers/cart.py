"""The Cart table of API.md: the current customer's (or guest's) cart.

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
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import SecurityRequirement
from litestar.params import JSONBody, Parameter

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed
from shop_core.domain.ids import MAX_ID
from shop_core.services.cart import AddToCart, CartView, SetQuantity
from shop_core.services.order_commands import Checkout
from shop_core.services.order_views import OrderView
from shop_http.controllers.orders import CONFLICT, PLACED, IdempotencyKey, checkout
from shop_http.openapi import responses
from shop_http.security import PUBLIC, provide_viewer

CART_TOKEN = "X-Cart-Token"  # noqa: S105 - a header name, not a secret
ProductId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The product's id.")]
# Anonymous (a guest, with or without `X-Cart-Token`) or a customer's bearer token.
OPTIONAL_AUTH: list[SecurityRequirement] = [{}, {"BearerToken": []}]
GUEST_RULES = (
    "Customers send `Authorization: Bearer <access>`; guests send the `X-Cart-Token` they were given. "
    "A bearer token together with a guest's `X-Cart-Token` merges the guest cart into the customer's "
    "first (quantities add up, capped by stock and the per-line maximum; the guest cart is then gone)."
)


class StockErrorBody(msgspec.Struct):
    """A 409 for stock names how many there are."""

    detail: str
    code: str
    available: int | None = None


ONE_CART = {200: ResponseSpec(data_container=CartView, description="The cart, priced from the catalog.")}
STOCK_CONFLICT = {
    409: ResponseSpec(
        data_container=StockErrorBody,
        description=(
            "More than is in stock (`code` `insufficient_stock`, `available` says how many there are), "
            "or the cart already has its maximum number of different products."
        ),
        generate_examples=False,
    )
}


class CartController(Controller):
    """Carts live 30 days after their last change. Lines whose product was deactivated or deleted
    stay in the cart with `in_stock: false` and count towards neither `subtotal` nor `item_count`."""

    path = "/api/cart"
    tags = ["Cart"]
    opt = PUBLIC
    security = OPTIONAL_AUTH

    @get(
        "/",
        operation_id="viewCart",
        summary="The current cart",
        description=f"Without a bearer token or cart token: an empty cart. {GUEST_RULES}",
        responses={**ONE_CART, **responses(400, 401, 503)},
    )
    async def view(self, shop: NamedDependency[Shop], request: Request[Any, Any, Any]) -> Response[CartView]:
        owner, token = await _owner(shop, request, create=False)
        return _answer(await shop.view_cart(owner), token)

    @post(
        "/add",
        status_code=200,
        operation_id="addToCart",
        summary="Add a product to the cart",
        description=(
            "Adds `quantity` (default 1) to what the cart already holds. A guest without a token gets "
            f"a new cart and its token in the `X-Cart-Token` response header. {GUEST_RULES}"
        ),
        responses={**ONE_CART, **responses(400, 401, 404, 413, 503), **STOCK_CONFLICT},
    )
    async def add(
        self, shop: NamedDependency[Shop], request: Request[Any, Any, Any], data: JSONBody[AddToCart]
    ) -> Response[CartView]:
        """400 for a quantity that is not a whole number from 1 to the per-line maximum (in total);
        404 for an unknown or inactive product; 409 past the stock (with `available`)."""
        owner, token = await _owner(shop, request, create=True)
        return _answer(await shop.add_to_cart(owner, data), token)

    @put(
        "/items/{product_id:int}",
        operation_id="setCartQuantity",
        summary="Set a line's quantity (0 removes it)",
        description=f"Replaces the line's quantity; 0 removes the line. {GUEST_RULES}",
        responses={**ONE_CART, **responses(400, 401, 404, 413, 503), **STOCK_CONFLICT},
    )
    async def set_quantity(
        self,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        product_id: ProductId,
        data: JSONBody[SetQuantity],
    ) -> Response[CartView]:
        """404 for an unknown or inactive product; 409 past the stock (with `available`)."""
        owner, token = await _owner(shop, request, create=data.quantity > 0)
        return _answer(await shop.set_cart_quantity(owner, product_id, data), token)

    @delete(
        "/items/{product_id:int}",
        status_code=200,
        operation_id="removeFromCart",
        summary="Remove a line",
        description=f"404 when that product is not in the cart. {GUEST_RULES}",
        responses={**ONE_CART, **responses(400, 401, 404, 503)},
    )
    async def remove(
        self, shop: NamedDependency[Shop], request: Request[Any, Any, Any], product_id: ProductId
    ) -> Response[CartView]:
        owner, token = await _owner(shop, request, create=False)
        return _answer(await shop.remove_from_cart(owner, product_id), token)

    @post(
        "/clear",
        status_code=200,
        operation_id="clearCart",
        summary="Empty the cart",
        description=GUEST_RULES,
        responses={**ONE_CART, **responses(400, 401, 503)},
    )
    async def clear(self, shop: NamedDependency[Shop], request: Request[Any, Any, Any]) -> Response[CartView]:
        owner, token = await _owner(shop, request, create=False)
        return _answer(await shop.clear_cart(owner), token)

    @post(
        "/checkout",
        status_code=201,
        operation_id="checkoutCart",
        summary="Place an order from the cart",
        description=(
            "Customers only (a guest logs in first; its `X-Cart-Token` merges the guest cart). Everything in "
            "the cart becomes one order at the catalog's current prices and the cart is emptied. 400 for an "
            "empty cart (also what a second click gets), 409 `insufficient_stock` when stock ran out since "
            "it was added (nothing is taken and the cart is left as it was). Send an `Idempotency-Key`."
        ),
        security=[{"BearerToken": []}],
        responses={**PLACED, **responses(400, 401, 413, 503), **CONFLICT},
    )
    async def checkout(
        self,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        data: JSONBody[Checkout],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[OrderView]:
        viewer = await provide_viewer(request)
        if viewer is None:
            raise AuthenticationFailed(
                "Log in to check out; send your X-Cart-Token along to bring the guest cart."
            )
        await _owner(shop, request, create=False)  # merges the guest cart its X-Cart-Token names, if any
        return await checkout(shop, viewer, data, idempotency_key)


async def _owner(shop: Shop, request: Request[Any, Any, Any], *, create: bool) -> tuple[str, str | None]:
    """The cart owner the request works on, and the guest token to echo (None for customers)."""
    viewer = await provide_viewer(request)
    user_id = viewer.id if viewer is not None else None
    return await shop.cart_owner(user_id, request.headers.get(CART_TOKEN), create=create)


def _answer(view: CartView, token: str | None) -> Response[CartView]:
    return Response(view, headers={CART_TOKEN: token} if token else None)
