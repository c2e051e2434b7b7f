"""The Orders table of API.md, and checkout from the cart.

Placing an order takes the stock in the same transaction (409 `insufficient_stock` names every
short line, with what is available; nothing is taken then). Send an `Idempotency-Key` header (a
UUID) with every placement: a retry with the same key and body answers with the first order and
the same status code, and places nothing; the same key with another body is 409
`idempotency_key_reused`. Keys are kept for 24 hours.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import HeaderParameter, Parameter, QueryParameter

from shop_core.bootstrap import Shop
from shop_core.domain.errors import (
    AuthenticationFailed,
    Conflict,
    GatewayUnavailable,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
)
from shop_core.domain.ids import MAX_ID
from shop_core.services.order_commands import IDEMPOTENCY_KEY, Actor, ChangeOrderStatus, Checkout, PlaceOrder
from shop_core.services.order_views import OrderView
from shop_core.services.payment_views import PaymentView
from shop_core.services.views import UserView
from shop_http.api_docs.examples import (
    ADDRESS_INPUT,
    AT,
    IDEMPOTENCY_KEY_EXAMPLE,
    ORDER,
    PAID_ORDER,
    STRIPE_PAYMENT,
)
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import (
    BEARER,
    ErrorBody,
    body,
    documented,
    error,
    example,
    ok,
    page_past_the_end,
    raises,
    request_example,
)
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize, page_of, window
from shop_http.security import actor_of, requires_staff

OrderId = Annotated[
    int, Parameter(ge=1, le=MAX_ID, description="The order's id.", examples=[Example(value=1)])
]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        pattern=IDEMPOTENCY_KEY,
        description="A key the client makes up per order (a UUID); a retry with it places nothing twice.",
        examples=[Example(value=IDEMPOTENCY_KEY_EXAMPLE)],
    ),
]
STATUSES = "pending, paid, processing, shipped, delivered, cancelled, refunded"
PDF = "application/pdf"
# The invoice's media types, PDF first: generic clients (and generators that know no `application/pdf`,
# such as openapi-python-client) take the same bytes as a plain binary download.
INVOICE_TYPES = (PDF, "application/octet-stream")


class ShortLine(msgspec.Struct):
    product_id: int
    requested: int
    available: int


class OutOfStockBody(ErrorBody):
    """409 for stock names every short line and what is available."""

    shortages: list[ShortLine] | None = None


PLACED = ok(
    OrderView,
    "The order, placed (or replayed for a key).",
    example(ORDER, "A new order, waiting for its payment"),
    status=201,
)
CONFLICT = error(
    Conflict,
    "`insufficient_stock`: some lines cannot be served (`shortages` names each, nothing was taken); "
    "`idempotency_key_reused`: the key was used for a different request; `idempotency_key_in_use`: a "
    "request with that key is still being processed.",
    OutOfStockBody(
        detail="Not enough stock: product 1: 5 wanted, 3 available.",
        code="insufficient_stock",
        shortages=[ShortLine(product_id=1, requested=5, available=3)],
    ),
    OutOfStockBody(
        detail="This Idempotency-Key was already used for a different request; use a new key for a new "
        "order.",
        code="idempotency_key_reused",
    ),
    data_container=OutOfStockBody,
)
MOVE_CONFLICT = error(
    Conflict,
    "The order's life does not allow that move (or it changed meanwhile); nothing changed.",
    OutOfStockBody(
        detail="Order ORD-2026-8K4Q2PXM is delivered; it cannot become cancelled "
        "(allowed from here: refunded).",
        code="conflict",
    ),
    data_container=OutOfStockBody,
)
NO_ORDER = error(
    NotFound, "No such order, or someone else's.", ErrorBody(detail="No such order.", code="not_found")
)
BAD_ORDER = error(
    InvalidInput,
    "A field is missing or invalid (an address, the payment method, a quantity), a product is unknown, "
    "or the `Idempotency-Key` is malformed.",
    ErrorBody(
        detail="The order cannot be placed as sent.",
        code="invalid",
        errors={
            "shipping_address.country": ["Use an ISO 3166-1 alpha-2 country code, such as US, GB or BD."]
        },
    ),
)
ONE_ORDER = ok(
    OrderView,
    "The order (staff also see its audit trail, `events`).",
    example(ORDER, "As its customer sees it"),
    example(PAID_ORDER, "As staff see it"),
)
GATEWAY_REFUND = {
    **error(
        GatewayUnavailable,
        "Staff cancelling a paid order: the gateway did not confirm the refund; it stays pending and is "
        "asked about again, never made twice. The order is left as it was.",
        ErrorBody(
            detail="The stripe gateway did not confirm refund #1: timed out. It stays pending and is tried "
            "again by reconciliation.",
            code="gateway_error",
        ),
    ),
    **error(
        ServiceUnavailable,
        "Staff cancelling a paid order whose gateway is not configured on this shop.",
        ErrorBody(detail="stripe payments are not configured on this shop.", code="service_unavailable"),
    ),
}
STATUS_BODY = body(
    request_example(ChangeOrderStatus, "Shipped", status="shipped"),
    request_example(ChangeOrderStatus, "Refunded (by hand)", status="refunded"),
)
COD_PAYMENT = msgspec.structs.replace(
    STRIPE_PAYMENT,
    id=3,
    gateway="cod",
    status="succeeded",
    gateway_reference="cod-ORD-2026-8K4Q2PXM-1",
    client_secret=None,
    updated_at=AT,
)


PLACE_DESCRIPTION = (
    "Prices are the catalog's at this moment (after each product's discount), frozen on the order. "
    "`billing_address` defaults to the shipping address. `payment_method`: `stripe`, `sslcommerz` "
    "or `cod`. Send an `Idempotency-Key`."
)
PLACE_RESPONSES = {
    **PLACED,
    **BAD_ORDER,
    **raises(AuthenticationFailed, REQUEST_TOO_LARGE, RATE_LIMITED),
    **CONFLICT,
}
PLACE_BODY = body(
    request_example(
        PlaceOrder,
        "Two mugs, paid by card",
        items=[{"product_id": 1, "quantity": 2}],
        shipping_address=ADDRESS_INPUT,
        payment_method="stripe",
    ),
    request_example(
        PlaceOrder,
        "Cash on delivery",
        items=[{"product_id": 1, "quantity": 1}, {"product_id": 2, "quantity": 3}],
        shipping_address=ADDRESS_INPUT,
        payment_method="cod",
    ),
)


def actor(user: UserView) -> Actor:
    return Actor(actor_of(user), user.id, user.is_staff)


async def place_order(shop: Shop, user: UserView, data: PlaceOrder, key: str | None) -> Response[OrderView]:
    placed = await shop.place_order(user.id, actor(user), data, idempotency_key=key)
    return Response(placed.order, status_code=201)


class OrderController(Controller):
    path = "/api/orders"
    tags = ["Orders"]
    security = BEARER

    @get(
        "/",
        operation_id="listOrders",
        summary="Orders, newest first",
        description=(
            f"Customers see their own orders. Staff see everyone's and may filter by `status` ({STATUSES}) "
            "and `user` (a user id)."
        ),
        responses={
            **ok(
                PageOf[OrderView],
                "A page of orders.",
                example(PageOf(count=1, next=None, previous=None, results=[ORDER]), "One order"),
            ),
            **error(
                InvalidInput,
                "A filter or page parameter is invalid.",
                ErrorBody(
                    detail="Unknown status 'lost'; one of pending, paid, processing, shipped, delivered, "
                    "cancelled, refunded.",
                    code="invalid",
                    errors={
                        "status": [
                            "Unknown status 'lost'; one of pending, paid, processing, shipped, delivered, "
                            "cancelled, refunded."
                        ]
                    },
                ),
            ),
            **raises(AuthenticationFailed),
            **page_past_the_end(),
            **raises(RATE_LIMITED),
        },
    )
    async def list_orders(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        *,
        status: Annotated[
            str | None,
            QueryParameter(
                max_length=32,
                required=False,
                description=f"Staff only: one of {STATUSES}.",
                examples=[Example(value="paid")],
            ),
        ] = None,
        user: Annotated[
            int | None,
            QueryParameter(
                ge=1,
                le=MAX_ID,
                required=False,
                description="Staff only: a user's id.",
                examples=[Example(value=2)],
            ),
        ] = None,
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> PageOf[OrderView]:
        offset, limit = window(page, page_size)
        found = await shop.list_orders(
            actor(request.user), status=status, user_id=user, offset=offset, limit=limit
        )
        return page_of(request, found.items, found.total, page, page_size)

    @post(
        "/",
        status_code=201,
        operation_id="placeOrder",
        summary="Place an order",
        description=PLACE_DESCRIPTION,
        responses=PLACE_RESPONSES,
    )
    async def place(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        data: Annotated[PlaceOrder, PLACE_BODY],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[OrderView]:
        return await place_order(shop, request.user, data, idempotency_key)

    @post(
        "/create",
        status_code=201,
        operation_id="placeOrderLegacy",
        summary="Place an order (the original API's path; deprecated)",
        description="`POST /api/orders/` under the path the original API's clients call, with the same body, "
        "`Idempotency-Key` and answers. Use `POST /api/orders/`.",
        deprecated=True,
        responses=PLACE_RESPONSES,
    )
    async def place_legacy(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        data: Annotated[PlaceOrder, PLACE_BODY],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[OrderView]:
        return await place_order(shop, request.user, data, idempotency_key)

    @get(
        "/{order_id:int}",
        operation_id="getOrder",
        summary="One order with its items",
        description="Staff also see its audit trail (`events`). Someone else's order is 404.",
        responses={
            **ONE_ORDER,
            **raises(InvalidInput, AuthenticationFailed),
            **NO_ORDER,
            **raises(RATE_LIMITED),
        },
    )
    async def get_order(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], order_id: OrderId
    ) -> OrderView:
        return await shop.get_order(order_id, actor(request.user))

    @put(
        "/{order_id:int}",
        operation_id="replaceOrderStatus",
        summary="Move an order along its life (staff)",
        description=(
            "`pending` → `paid` → `processing` → `shipped` → `delivered`; `pending` or `paid` → `cancelled`; "
            "`paid` and later → `refunded`. Any other move is 409 and changes nothing. A refund recorded "
            "this way is made by hand (use the payment's refund endpoint to refund through the gateway)."
        ),
        guards=[requires_staff],
        responses={
            **ONE_ORDER,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **NO_ORDER,
            **MOVE_CONFLICT,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def put_status(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        order_id: OrderId,
        data: Annotated[ChangeOrderStatus, STATUS_BODY],
    ) -> OrderView:
        return await shop.change_order_status(order_id, data, actor(request.user))

    @patch(
        "/{order_id:int}",
        operation_id="updateOrderStatus",
        summary="Move an order along its life (staff)",
        description="As PUT.",
        guards=[requires_staff],
        responses={
            **ONE_ORDER,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **NO_ORDER,
            **MOVE_CONFLICT,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def patch_status(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        order_id: OrderId,
        data: Annotated[ChangeOrderStatus, STATUS_BODY],
    ) -> OrderView:
        return await shop.change_order_status(order_id, data, actor(request.user))

    @delete(
        "/{order_id:int}",
        status_code=200,
        operation_id="cancelOrder",
        summary="Cancel an order",
        description=(
            "Customers cancel their own unpaid orders; staff cancel pending and paid ones (a paid order is "
            "refunded through its gateway first). The stock goes back, once, even if two cancels race."
        ),
        responses={
            **ok(
                OrderView,
                "The order, now cancelled.",
                example(msgspec.structs.replace(ORDER, status="cancelled"), "Cancelled before payment"),
            ),
            **raises(InvalidInput, AuthenticationFailed),
            **NO_ORDER,
            **MOVE_CONFLICT,
            **raises(RATE_LIMITED),
            **GATEWAY_REFUND,
        },
    )
    async def cancel(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], order_id: OrderId
    ) -> OrderView:
        return await shop.cancel_order(order_id, actor(request.user))

    @get(
        "/{order_id:int}/invoice",
        operation_id="getOrderInvoice",
        summary="The order's invoice as a PDF",
        description=(
            "A paid order's invoice, numbered per year without gaps (`INV-2026-000001`); an unpaid order's "
            "pro-forma, without a number. Owner and staff only. Sent inline with a file name "
            '(`Content-Disposition: inline; filename="INV-2026-000001.pdf"`), as '
            "`application/pdf`, or as `application/octet-stream` (the same bytes) for a client whose "
            "`Accept` header prefers it."
        ),
        operation_class=documented(downloads=INVOICE_TYPES),
        responses={
            **ok(bytes, "The PDF file.", media_type=PDF),
            **raises(InvalidInput, AuthenticationFailed),
            **NO_ORDER,
            **raises(RATE_LIMITED),
        },
    )
    async def invoice(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], order_id: OrderId
    ) -> Response[bytes]:
        found = await shop.order_invoice(order_id, actor(request.user))
        return Response(
            found.pdf,
            media_type=request.accept.best_match(list(INVOICE_TYPES), default=PDF) or PDF,
            headers={"Content-Disposition": f'inline; filename="{found.filename}"'},
        )

    @get(
        "/{order_id:int}/payments",
        operation_id="listOrderPayments",
        summary="The order's payments, oldest first",
        description="Each attempt to collect the order's money. Owner and staff; another's order is 404.",
        responses={
            **ok(list[PaymentView], "The order's payments.", example([STRIPE_PAYMENT], "One card payment")),
            **raises(InvalidInput, AuthenticationFailed),
            **NO_ORDER,
            **raises(RATE_LIMITED),
        },
    )
    async def payments(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], order_id: OrderId
    ) -> list[PaymentView]:
        return await shop.payments_of_order(order_id, actor(request.user))

    @post(
        "/{order_id:int}/confirm-cash",
        status_code=200,
        operation_id="confirmCashPayment",
        summary="Confirm a cash-on-delivery payment was collected (staff)",
        description=(
            "The order (paid by `cod`) becomes paid; 409 `order_not_payable` when it is paid by another "
            "method, already paid, or cancelled. No request body."
        ),
        guards=[requires_staff],
        responses={
            **ok(PaymentView, "The cash payment, succeeded.", example(COD_PAYMENT)),
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **NO_ORDER,
            **error(
                Conflict,
                "`order_not_payable`: not a cash order, or nothing left to pay.",
                ErrorBody(
                    detail="Order ORD-2026-8K4Q2PXM is paid by stripe, not cash.", code="order_not_payable"
                ),
            ),
            **raises(RATE_LIMITED),
        },
    )
    async def confirm_cash(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], order_id: OrderId
    ) -> PaymentView:
        who = actor(request.user)
        order = await shop.get_order(order_id, who)
        return await shop.confirm_cash(order.order_number, who)


async def checkout(shop: Shop, user: UserView, data: Checkout, key: str | None) -> Response[OrderView]:
    """The cart controller's checkout: the customer's cart becomes an order and is emptied."""
    placed = await shop.checkout_cart(user.id, actor(user), data, idempotency_key=key)
    return Response(placed.order, status_code=201)
