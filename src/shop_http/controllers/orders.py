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
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody, Parameter, QueryParameter

from shop_core.bootstrap import Shop
from shop_core.domain.ids import MAX_ID
from shop_core.services.order_commands import IDEMPOTENCY_KEY, Actor, ChangeOrderStatus, Checkout, PlaceOrder
from shop_core.services.order_views import OrderView
from shop_core.services.payment_views import PaymentView
from shop_core.services.views import UserView
from shop_http.openapi import ErrorBody, responses
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize, page_of, window
from shop_http.security import actor_of, requires_staff

OrderId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The order's id.")]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        pattern=IDEMPOTENCY_KEY,
        description="A key the client makes up per order (a UUID); a retry with it places nothing twice.",
    ),
]
STATUSES = "pending, paid, processing, shipped, delivered, cancelled, refunded"


class ShortLine(msgspec.Struct):
    product_id: int
    requested: int
    available: int


class OutOfStockBody(msgspec.Struct):
    """409 for stock names every short line and what is available."""

    detail: str
    code: str
    shortages: list[ShortLine] | None = None


PLACED = {
    201: ResponseSpec(data_container=OrderView, description="The order, placed (or replayed for a key).")
}
CONFLICT = {
    409: ResponseSpec(
        data_container=OutOfStockBody,
        description=(
            "`insufficient_stock`: some lines cannot be served (`shortages` names each, nothing was taken); "
            "`idempotency_key_reused`: the key was used for a different request."
        ),
        generate_examples=False,
    )
}
MOVE_CONFLICT = {
    409: ResponseSpec(
        data_container=OutOfStockBody,
        description="The order's life does not allow that move (or it changed meanwhile); nothing changed.",
        generate_examples=False,
    )
}


def actor(user: UserView) -> Actor:
    return Actor(actor_of(user), user.id, user.is_staff)


class OrderController(Controller):
    path = "/api/orders"
    tags = ["Orders"]

    @get(
        "/",
        operation_id="listOrders",
        summary="Orders, newest first",
        description=(
            f"Customers see their own orders. Staff see everyone's and may filter by `status` ({STATUSES}) "
            "and `user` (a user id)."
        ),
        responses=responses(400, 401, 404),
    )
    async def list_orders(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        *,
        status: Annotated[str | None, QueryParameter(max_length=32, required=False)] = None,
        user: Annotated[int | None, QueryParameter(ge=1, le=MAX_ID, required=False)] = None,
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
        description=(
            "Prices are the catalog's at this moment (after each product's discount), frozen on the order. "
            "`billing_address` defaults to the shipping address. `payment_method`: `stripe`, `sslcommerz` "
            "or `cod`. Send an `Idempotency-Key`."
        ),
        responses={**PLACED, **responses(400, 401, 413), **CONFLICT},
    )
    async def place(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        data: JSONBody[PlaceOrder],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[OrderView]:
        user = request.user
        placed = await shop.place_order(user.id, actor(user), data, idempotency_key=idempotency_key)
        return Response(placed.order, status_code=201)

    @get(
        "/{order_id:int}",
        operation_id="getOrder",
        summary="One order with its items",
        description="Staff also see its audit trail (`events`). Someone else's order is 404.",
        responses=responses(400, 401, 404),
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
            "`paid` and later → `refunded`. Any other move is 409 and changes nothing."
        ),
        guards=[requires_staff],
        responses={**responses(400, 401, 403, 404), **MOVE_CONFLICT},
    )
    async def put_status(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        order_id: OrderId,
        data: JSONBody[ChangeOrderStatus],
    ) -> OrderView:
        return await shop.change_order_status(order_id, data, actor(request.user))

    @patch(
        "/{order_id:int}",
        operation_id="updateOrderStatus",
        summary="Move an order along its life (staff)",
        description="As PUT.",
        guards=[requires_staff],
        responses={**responses(400, 401, 403, 404), **MOVE_CONFLICT},
    )
    async def patch_status(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        order_id: OrderId,
        data: JSONBody[ChangeOrderStatus],
    ) -> OrderView:
        return await shop.change_order_status(order_id, data, actor(request.user))

    @delete(
        "/{order_id:int}",
        status_code=200,
        operation_id="cancelOrder",
        summary="Cancel an order",
        description=(
            "Customers cancel their own unpaid orders; staff cancel pending and paid ones (a paid order is "
            "refunded). The stock goes back, once, even if two cancels race."
        ),
        responses={**responses(400, 401, 404), **MOVE_CONFLICT},
    )
    async def cancel(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], order_id: OrderId
    ) -> OrderView:
        return await shop.cancel_order(order_id, actor(request.user))

    @get(
        "/{order_id:int}/invoice",
        operation_id="getOrderInvoice",
        summary="The order's invoice as a PDF",
        description="Numbered once, per year without gaps, on the first request. Owner and staff only.",
        responses={
            200: ResponseSpec(data_container=bytes, media_type="application/pdf", description="The PDF."),
            **responses(400, 401, 404),
        },
    )
    async def invoice(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], order_id: OrderId
    ) -> Response[bytes]:
        found = await shop.order_invoice(order_id, actor(request.user))
        return Response(
            found.pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{found.filename}"'},
        )

    @get(
        "/{order_id:int}/payments",
        operation_id="listOrderPayments",
        summary="The order's payments, oldest first",
        description="Each attempt to collect the order's money. Owner and staff; another's order is 404.",
        responses={
            200: ResponseSpec(data_container=list[PaymentView], description="The order's payments."),
            **responses(400, 401, 404),
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
            "method, already paid, or cancelled."
        ),
        guards=[requires_staff],
        responses={
            200: ResponseSpec(data_container=PaymentView, description="The cash payment, succeeded."),
            **responses(400, 401, 403, 404),
            409: ResponseSpec(
                data_container=ErrorBody,
                description="`order_not_payable`: not a cash order, or nothing left to pay.",
                generate_examples=False,
            ),
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
