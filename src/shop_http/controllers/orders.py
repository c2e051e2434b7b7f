"""Orders: placing them (and checking the cart out, for the cart's routes), their life, their
payments and invoices.

The routes only; what each operation means, its examples and its documented errors are in
`shop_http.api_docs.orders` (served at /api/docs).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import HeaderParameter, Parameter, QueryParameter

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from shop_core.domain.ids import MAX_ID
from shop_core.services.order_commands import IDEMPOTENCY_KEY, ChangeOrderStatus, Checkout, PlaceOrder
from shop_core.services.order_queries import OrderQuery
from shop_core.services.order_views import OrderView
from shop_core.services.payment_views import PaymentView
from shop_core.services.views import UserView
from shop_http.api_docs import orders as doc
from shop_http.api_docs.examples import IDEMPOTENCY_KEY_EXAMPLE
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import BEARER, documented, ok, page_past_the_end, raises
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize, page_of, window
from shop_http.security import CONFIRMS_USER, actor_of, requires_staff

OrderId = Annotated[
    int, Parameter(ge=1, le=MAX_ID, description="The order's id.", examples=[Example(value=1)])
]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        pattern=IDEMPOTENCY_KEY,
        description=doc.IDEMPOTENCY_KEY,
        examples=[Example(value=IDEMPOTENCY_KEY_EXAMPLE)],
    ),
]
PDF = "application/pdf"
# The invoice's media types, PDF first: generic clients (and generators that know no `application/pdf`,
# such as openapi-python-client) take the same bytes as a plain binary download.
INVOICE_TYPES = (PDF, "application/octet-stream")
PLACE_RESPONSES = {
    **doc.PLACED,
    **doc.BAD_ORDER,
    **raises(AuthenticationFailed, REQUEST_TOO_LARGE, RATE_LIMITED),
    **doc.CONFLICT,
}
MOVE_RESPONSES = {
    **doc.ONE_ORDER,
    **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
    **doc.NO_ORDER,
    **doc.MOVE_CONFLICT,
    **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
}


async def place_order(shop: Shop, user: UserView, data: PlaceOrder, key: str | None) -> Response[OrderView]:
    # Its routes are marked CONFIRMS_USER: authentication may have taken the user from memory, and
    # the order's own statement checks that the user is still active (401 if not).
    placed = await shop.orders.place_order(
        user.id, actor_of(user), data, idempotency_key=key, confirm_user=True
    )
    return Response(placed.order, status_code=201)


class OrderController(Controller):
    path = "/api/orders"
    tags = ["Orders"]
    security = BEARER

    @get(
        "/",
        operation_id="listOrders",
        summary="Orders, newest first",
        description=doc.LIST,
        responses={
            **doc.PAGE,
            **doc.BAD_FILTER,
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
                description=doc.STATUS_FILTER,
                examples=[Example(value="paid")],
            ),
        ] = None,
        user: Annotated[
            int | None,
            QueryParameter(
                ge=1,
                le=MAX_ID,
                required=False,
                description=doc.USER_FILTER,
                examples=[Example(value=2)],
            ),
        ] = None,
        voucher_code: Annotated[
            str | None,
            QueryParameter(
                max_length=64,
                pattern=r"^[^\x00]*$",
                required=False,
                description="Only orders that used this voucher (its code, any case).",
                examples=[Example(value="SAVE10")],
            ),
        ] = None,
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> PageOf[OrderView]:
        offset, limit = window(page, page_size)
        query = OrderQuery(status=status, user_id=user, voucher_code=voucher_code)
        found = await shop.orders.list_orders(actor_of(request.user), query, offset=offset, limit=limit)
        return page_of(request, found.items, found.total, page, page_size)

    @post(
        "/",
        status_code=201,
        operation_id="placeOrder",
        summary="Place an order",
        description=doc.PLACE,
        responses=PLACE_RESPONSES,
        opt={CONFIRMS_USER: True},
    )
    async def place(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        data: Annotated[PlaceOrder, doc.PLACE_BODY],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[OrderView]:
        return await place_order(shop, request.user, data, idempotency_key)

    @post(
        "/create",
        status_code=201,
        operation_id="placeOrderLegacy",
        summary="Place an order (the original API's path; deprecated)",
        description=doc.PLACE_LEGACY,
        deprecated=True,
        responses=PLACE_RESPONSES,
        opt={CONFIRMS_USER: True},
    )
    async def place_legacy(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        data: Annotated[PlaceOrder, doc.PLACE_BODY],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[OrderView]:
        return await place_order(shop, request.user, data, idempotency_key)

    @get(
        "/{order_id:int}",
        operation_id="getOrder",
        summary="One order with its items",
        description=doc.GET,
        responses={
            **doc.ONE_ORDER,
            **raises(InvalidInput, AuthenticationFailed),
            **doc.NO_ORDER,
            **raises(RATE_LIMITED),
        },
    )
    async def get_order(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], order_id: OrderId
    ) -> OrderView:
        return await shop.orders.get_order(order_id, actor_of(request.user))

    @put(
        "/{order_id:int}",
        operation_id="replaceOrderStatus",
        summary="Move an order along its life (staff)",
        description=doc.MOVE,
        guards=[requires_staff],
        responses=MOVE_RESPONSES,
    )
    async def put_status(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        order_id: OrderId,
        data: Annotated[ChangeOrderStatus, doc.STATUS_BODY],
    ) -> OrderView:
        return await shop.orders.change_order_status(order_id, data, actor_of(request.user))

    @patch(
        "/{order_id:int}",
        operation_id="updateOrderStatus",
        summary="Move an order along its life (staff)",
        description=doc.MOVE_AS_PUT,
        guards=[requires_staff],
        responses=MOVE_RESPONSES,
    )
    async def patch_status(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        order_id: OrderId,
        data: Annotated[ChangeOrderStatus, doc.STATUS_BODY],
    ) -> OrderView:
        return await shop.orders.change_order_status(order_id, data, actor_of(request.user))

    @delete(
        "/{order_id:int}",
        status_code=200,
        operation_id="cancelOrder",
        summary="Cancel an order",
        description=doc.CANCEL,
        responses={
            **doc.CANCELLED,
            **raises(InvalidInput, AuthenticationFailed),
            **doc.NO_ORDER,
            **doc.MOVE_CONFLICT,
            **raises(RATE_LIMITED),
            **doc.GATEWAY_REFUND,
        },
    )
    async def cancel(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], order_id: OrderId
    ) -> OrderView:
        return await shop.orders.cancel_order(order_id, actor_of(request.user))

    @get(
        "/{order_id:int}/invoice",
        operation_id="getOrderInvoice",
        summary="The order's invoice as a PDF",
        description=doc.INVOICE,
        operation_class=documented(downloads=INVOICE_TYPES),
        responses={
            **ok(bytes, doc.INVOICE_FILE, media_type=PDF),
            **raises(InvalidInput, AuthenticationFailed),
            **doc.NO_ORDER,
            **raises(RATE_LIMITED),
        },
    )
    async def invoice(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], order_id: OrderId
    ) -> Response[bytes]:
        found = await shop.invoices.order_invoice(order_id, actor_of(request.user))
        return Response(
            found.pdf,
            media_type=request.accept.best_match(list(INVOICE_TYPES), default=PDF) or PDF,
            headers={"Content-Disposition": f'inline; filename="{found.filename}"'},
        )

    @get(
        "/{order_id:int}/payments",
        operation_id="listOrderPayments",
        summary="The order's payments, oldest first",
        description=doc.ORDER_PAYMENTS,
        responses={
            **doc.PAYMENTS,
            **raises(InvalidInput, AuthenticationFailed),
            **doc.NO_ORDER,
            **raises(RATE_LIMITED),
        },
    )
    async def payments(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], order_id: OrderId
    ) -> list[PaymentView]:
        return await shop.payments.payments_of_order(order_id, actor_of(request.user))

    @post(
        "/{order_id:int}/confirm-cash",
        status_code=200,
        operation_id="confirmCashPayment",
        summary="Confirm a cash-on-delivery payment was collected (staff)",
        description=doc.CONFIRM_CASH,
        guards=[requires_staff],
        responses={
            **doc.CASH_CONFIRMED,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_ORDER,
            **doc.NOT_CASH,
            **raises(RATE_LIMITED),
        },
    )
    async def confirm_cash(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], order_id: OrderId
    ) -> PaymentView:
        return await shop.payments.confirm_cash_for_order(order_id, actor_of(request.user))


async def checkout(
    shop: Shop, user: UserView, data: Checkout, key: str | None, guest_cart_token: str | None
) -> Response[OrderView]:
    """The cart controller's checkout: the customer's cart (with the guest cart the token names
    merged into it first) becomes an order and is emptied."""
    placed = await shop.orders.checkout_cart(
        user.id, actor_of(user), data, idempotency_key=key, guest_cart_token=guest_cart_token
    )
    return Response(placed.order, status_code=201)
