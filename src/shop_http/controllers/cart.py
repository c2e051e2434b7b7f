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

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.spec import Example, OpenAPIHeader, OpenAPIType, Schema
from litestar.params import Parameter

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, ServiceUnavailable
from shop_core.domain.ids import MAX_ID
from shop_core.services.cart import AddToCart, CartView, SetQuantity
from shop_core.services.order_commands import Checkout
from shop_core.services.order_views import OrderView
from shop_http.api_docs.examples import ADDRESS_INPUT, CART, EMPTY_CART
from shop_http.api_docs.orders import CONFLICT, PLACED
from shop_http.controllers.orders import IdempotencyKey, checkout
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import (
    BEARER,
    OPTIONAL_AUTH,
    ErrorBody,
    body,
    documented,
    error,
    example,
    header,
    ok,
    raises,
    request_example,
)
from shop_http.security import PUBLIC, provide_viewer

CART_TOKEN = "X-Cart-Token"  # noqa: S105 - a header name, not a secret
ProductId = Annotated[
    int, Parameter(ge=1, le=MAX_ID, description="The product's id.", examples=[Example(value=1)])
]
GUEST_RULES = (
    "Customers send `Authorization: Bearer <access>`; guests send the `X-Cart-Token` they were given. "
    "A bearer token together with a guest's `X-Cart-Token` merges the guest cart into the customer's "
    "first (quantities add up, capped by stock and the per-line maximum; the guest cart is then gone)."
)
TOKEN_EXAMPLE = "3q2-7wEAAQIDBAUGBwgJCgsMDQ4P.pS0v8m3kZQ9uXyA1b2c3d4e5"  # noqa: S105 - an example
SENT_TOKEN = header(
    CART_TOKEN,
    "A guest's cart token, as a cart response gave it. Customers send it once, with their bearer token, "
    "to merge the guest cart into theirs.",
    examples=[TOKEN_EXAMPLE],
)
ECHOED_TOKEN = {
    CART_TOKEN: OpenAPIHeader(
        description="Guests only: the token of their cart (new when this request created it). Send it back "
        "as `X-Cart-Token` on every cart request.",
        schema=Schema(type=OpenAPIType.STRING, examples=[TOKEN_EXAMPLE]),
    )
}
CART_OPERATION = documented(parameters=[SENT_TOKEN], success_headers=ECHOED_TOKEN)


class StockErrorBody(ErrorBody):
    """A 409 for stock names how many there are."""

    available: int | None = None


ONE_CART = ok(
    CartView,
    "The cart, priced from the catalog.",
    example(CART, "A cart with one line"),
    example(EMPTY_CART, "An empty cart"),
)
BAD_TOKEN = error(
    InvalidInput,
    "Invalid input, or an `X-Cart-Token` this shop did not issue.",
    ErrorBody(
        detail="This cart token is not one we issued.",
        code="invalid",
        errors={"X-Cart-Token": ["This cart token is not one we issued."]},
    ),
    ErrorBody(
        detail="Use a whole number from 1 to 99.",
        code="invalid",
        errors={"quantity": ["Use a whole number from 1 to 99."]},
    ),
)
OPTIONAL_BEARER = error(
    AuthenticationFailed, "A bearer token was sent and it is invalid, expired or revoked (it is optional)."
)
CARTS_DOWN = error(
    ServiceUnavailable,
    "The cart store (Redis) is unreachable; retry after `Retry-After` seconds.",
    ErrorBody(detail="Carts unavailable right now; try again shortly.", code="service_unavailable"),
)
NO_PRODUCT = error(
    NotFound,
    "No such product, or it is no longer sold.",
    ErrorBody(detail="No such product.", code="not_found"),
)
STOCK_CONFLICT = error(
    Conflict,
    "More than is in stock (`code` `insufficient_stock`, `available` says how many there are), "
    "or the cart already has its maximum number of different products.",
    StockErrorBody(
        detail="Only 3 of product 1 in stock; the cart would hold 5.",
        code="insufficient_stock",
        available=3,
    ),
    StockErrorBody(detail="The cart is full: at most 100 different products.", code="conflict"),
    data_container=StockErrorBody,
)


class CartController(Controller):
    """Carts live 30 days after their last change. Lines whose product was deactivated or deleted
    stay in the cart with `in_stock: false` and count towards neither `subtotal` nor `item_count`."""

    path = "/api/cart"
    tags = ["Cart"]
    opt = PUBLIC

    @get(
        "/",
        security=OPTIONAL_AUTH,
        operation_class=CART_OPERATION,
        operation_id="viewCart",
        summary="The current cart",
        description=f"Without a bearer token or cart token: an empty cart. {GUEST_RULES}",
        responses={**ONE_CART, **BAD_TOKEN, **OPTIONAL_BEARER, **raises(RATE_LIMITED), **CARTS_DOWN},
    )
    async def view(self, shop: NamedDependency[Shop], request: Request[Any, Any, Any]) -> Response[CartView]:
        owner, token = await _owner(shop, request, create=False)
        return _answer(await shop.view_cart(owner), token)

    @post(
        "/add",
        status_code=200,
        security=OPTIONAL_AUTH,
        operation_class=CART_OPERATION,
        operation_id="addToCart",
        summary="Add a product to the cart",
        description=(
            "Adds `quantity` (default 1) to what the cart already holds. A guest without a token gets "
            f"a new cart and its token in the `X-Cart-Token` response header. {GUEST_RULES}"
        ),
        responses={
            **ONE_CART,
            **BAD_TOKEN,
            **OPTIONAL_BEARER,
            **NO_PRODUCT,
            **STOCK_CONFLICT,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
            **CARTS_DOWN,
        },
    )
    async def add(
        self,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        data: Annotated[
            AddToCart,
            body(
                request_example(AddToCart, "Two of product 1", product_id=1, quantity=2),
                request_example(AddToCart, "One (the default)", product_id=1),
            ),
        ],
    ) -> Response[CartView]:
        """400 for a quantity that is not a whole number from 1 to the per-line maximum (in total);
        404 for an unknown or inactive product; 409 past the stock (with `available`)."""
        owner, token = await _owner(shop, request, create=True)
        return _answer(await shop.add_to_cart(owner, data), token)

    @put(
        "/items/{product_id:int}",
        security=OPTIONAL_AUTH,
        operation_class=CART_OPERATION,
        operation_id="setCartQuantity",
        summary="Set a line's quantity (0 removes it)",
        description=f"Replaces the line's quantity; 0 removes the line. {GUEST_RULES}",
        responses={
            **ONE_CART,
            **BAD_TOKEN,
            **OPTIONAL_BEARER,
            **NO_PRODUCT,
            **STOCK_CONFLICT,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
            **CARTS_DOWN,
        },
    )
    async def set_quantity(
        self,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        product_id: ProductId,
        data: Annotated[
            SetQuantity,
            body(
                request_example(SetQuantity, "Three of it", quantity=3),
                request_example(SetQuantity, "Remove the line", quantity=0),
            ),
        ],
    ) -> Response[CartView]:
        """404 for an unknown or inactive product; 409 past the stock (with `available`)."""
        owner, token = await _owner(shop, request, create=data.quantity > 0)
        return _answer(await shop.set_cart_quantity(owner, product_id, data), token)

    @delete(
        "/items/{product_id:int}",
        status_code=200,
        security=OPTIONAL_AUTH,
        operation_class=CART_OPERATION,
        operation_id="removeFromCart",
        summary="Remove a line",
        description=f"404 when that product is not in the cart. {GUEST_RULES}",
        responses={
            **ONE_CART,
            **BAD_TOKEN,
            **OPTIONAL_BEARER,
            **error(
                NotFound,
                "That product is not in the cart.",
                ErrorBody(detail="That product is not in the cart.", code="not_found"),
            ),
            **raises(RATE_LIMITED),
            **CARTS_DOWN,
        },
    )
    async def remove(
        self, shop: NamedDependency[Shop], request: Request[Any, Any, Any], product_id: ProductId
    ) -> Response[CartView]:
        owner, token = await _owner(shop, request, create=False)
        return _answer(await shop.remove_from_cart(owner, product_id), token)

    @post(
        "/clear",
        status_code=200,
        security=OPTIONAL_AUTH,
        operation_class=CART_OPERATION,
        operation_id="clearCart",
        summary="Empty the cart",
        description=GUEST_RULES,
        responses={
            **ok(CartView, "The cart, now empty.", example(EMPTY_CART)),
            **BAD_TOKEN,
            **OPTIONAL_BEARER,
            **raises(RATE_LIMITED),
            **CARTS_DOWN,
        },
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
        security=BEARER,
        operation_class=documented(parameters=[SENT_TOKEN]),
        responses={
            **PLACED,
            **error(
                InvalidInput,
                "The cart is empty, an address or the payment method is invalid, or the `X-Cart-Token` or "
                "`Idempotency-Key` is malformed.",
                ErrorBody(
                    detail="The cart is empty.", code="invalid", errors={"cart": ["The cart is empty."]}
                ),
                ErrorBody(
                    detail="The order cannot be placed as sent.",
                    code="invalid",
                    errors={
                        "payment_method": ["Unknown payment method 'card'; one of stripe, sslcommerz, cod."]
                    },
                ),
            ),
            **error(
                AuthenticationFailed,
                "No bearer token (guests log in to check out), or an invalid, expired or revoked one.",
                ErrorBody(
                    detail="Log in to check out; send your X-Cart-Token along to bring the guest cart.",
                    code="not_authenticated",
                ),
            ),
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
            **CARTS_DOWN,
            **CONFLICT,
        },
    )
    async def checkout(
        self,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        data: Annotated[
            Checkout,
            body(
                request_example(
                    Checkout, "Pay by card (Stripe)", shipping_address=ADDRESS_INPUT, payment_method="stripe"
                ),
                request_example(
                    Checkout,
                    "Cash on delivery, billed elsewhere",
                    shipping_address=ADDRESS_INPUT,
                    billing_address={**ADDRESS_INPUT, "line1": "1 Billing Way", "postal_code": "EC1A 1BB"},
                    payment_method="cod",
                ),
            ),
        ],
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
