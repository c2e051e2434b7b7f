"""Payments: starting one, the gateways' webhooks and the customer's return, and staff's views.

The routes only; what each operation means, its examples and its documented errors are in
`shop_http.api_docs.payments` (served at /api/docs).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Parameter, QueryParameter

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, InvalidInput, NotFound, PermissionDenied
from shop_core.domain.ids import MAX_ID
from shop_core.domain.orders import PaymentMethod
from shop_core.services.payment_views import PaymentView, RefundPayment, StartPayment
from shop_core.services.views import UserView
from shop_http.api_docs import payments as doc
from shop_http.controllers.orders import IdempotencyKey
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import BEARER, documented, page_past_the_end, raises
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize, page_of, window
from shop_http.payment_callbacks import MAX_TRAN_ID, ReturnAnswer, WebhookAnswer
from shop_http.security import NO_AUTH, PUBLIC, actor_of, requires_staff

PaymentId = Annotated[
    int, Parameter(ge=1, le=MAX_ID, description="The payment's id.", examples=[Example(value=1)])
]
START_RESPONSES = {
    **doc.STARTED,
    **raises(InvalidInput, AuthenticationFailed),
    **doc.NO_ORDER,
    **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
    **doc.DECLINED,
    **doc.NOT_PAYABLE,
    **doc.GATEWAY_DOWN,
    **doc.NOT_CONFIGURED,
}
WEBHOOK_RESPONSES = {
    **doc.WEBHOOK_ANSWER,
    **doc.WEBHOOK_REFUSED,
    **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
    **doc.UNCONFIRMED,
}
RETURN_RESPONSES = {
    **doc.RETURN_ANSWER,
    **doc.NO_TRAN_ID,
    **doc.NO_PAYMENT,
    **raises(RATE_LIMITED),
    **doc.GATEWAY_DOWN,
    **doc.NOT_CONFIGURED,
}


async def start_payment(
    shop: Shop, user: UserView, data: StartPayment, key: str | None
) -> Response[PaymentView]:
    started = await shop.payments.start_payment(data, actor_of(user), key)
    return Response(started.payment, status_code=201 if started.created else 200)


class PaymentController(Controller):
    path = "/api/payments"
    tags = ["Payments"]

    @post(
        "/process",
        status_code=201,
        security=BEARER,
        operation_id="startPayment",
        summary="Start paying for an order",
        description=doc.START,
        responses=START_RESPONSES,
    )
    async def process(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        data: Annotated[StartPayment, doc.START_BODY],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[PaymentView]:
        return await start_payment(shop, request.user, data, idempotency_key)

    @post(
        "/create-session",
        status_code=201,
        security=BEARER,
        operation_id="startPaymentLegacy",
        summary="Start paying for an order (the original API's path; deprecated)",
        description=doc.START_LEGACY,
        deprecated=True,
        responses=START_RESPONSES,
    )
    async def process_legacy(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        data: Annotated[StartPayment, doc.START_BODY],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[PaymentView]:
        return await start_payment(shop, request.user, data, idempotency_key)

    @post(
        "/webhook",
        status_code=200,
        opt=PUBLIC,
        security=NO_AUTH,
        operation_class=doc.STRIPE_WEBHOOK,
        operation_id="stripeWebhook",
        summary="Stripe's webhook",
        description=doc.STRIPE_WEBHOOK_RULES,
        responses=WEBHOOK_RESPONSES,
    )
    async def stripe_webhook(
        self, shop: NamedDependency[Shop], request: Request[Any, Any, Any]
    ) -> WebhookAnswer:
        return await _webhook(shop, request, PaymentMethod.STRIPE)

    @post(
        "/webhook/sslcommerz",
        status_code=200,
        opt=PUBLIC,
        security=NO_AUTH,
        operation_class=doc.SSLCOMMERZ_IPN,
        operation_id="sslcommerzIpn",
        summary="SSLCommerz's IPN",
        description=doc.IPN_RULES,
        responses=WEBHOOK_RESPONSES,
    )
    async def sslcommerz_ipn(
        self, shop: NamedDependency[Shop], request: Request[Any, Any, Any]
    ) -> WebhookAnswer:
        return await _webhook(shop, request, PaymentMethod.SSLCOMMERZ)

    @get(
        "/sslcommerz/return",
        opt=PUBLIC,
        security=NO_AUTH,
        operation_class=doc.RETURNED,
        operation_id="sslcommerzReturn",
        summary="The customer's return from SSLCommerz's page",
        description=doc.RETURN_RULES,
        responses=RETURN_RESPONSES,
    )
    async def sslcommerz_return(
        self, shop: NamedDependency[Shop], request: Request[Any, Any, Any]
    ) -> ReturnAnswer:
        return await _returned(shop, request)

    @post(
        "/sslcommerz/return",
        status_code=200,
        opt=PUBLIC,
        security=NO_AUTH,
        operation_class=doc.RETURNED_POSTED,
        operation_id="sslcommerzReturnPosted",
        summary="The customer's return from SSLCommerz's page (posted)",
        description=doc.RETURN_POSTED_RULES,
        responses={**RETURN_RESPONSES, **raises(REQUEST_TOO_LARGE)},
    )
    async def sslcommerz_return_posted(
        self, shop: NamedDependency[Shop], request: Request[Any, Any, Any]
    ) -> ReturnAnswer:
        return await _returned(shop, request)

    @get(
        "/",
        security=BEARER,
        operation_id="listPayments",
        summary="Payments, newest first (staff)",
        description=doc.LIST,
        guards=[requires_staff],
        responses={
            **doc.PAGE,
            **doc.BAD_FILTER,
            **raises(AuthenticationFailed, PermissionDenied),
            **page_past_the_end(),
            **raises(RATE_LIMITED),
        },
    )
    async def list_payments(
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
                examples=[Example(value="succeeded")],
            ),
        ] = None,
        held: Annotated[bool | None, QueryParameter(required=False, description=doc.HELD_FILTER)] = None,
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> PageOf[PaymentView]:
        offset, limit = window(page, page_size)
        found = await shop.payments.list_payments(
            actor_of(request.user), status=status, held=held, offset=offset, limit=limit
        )
        return page_of(request, found.items, found.total, page, page_size)

    @get(
        "/{payment_id:int}",
        security=BEARER,
        operation_id="getPayment",
        summary="One payment",
        description=doc.GET,
        responses={
            **doc.ONE_PAYMENT,
            **raises(InvalidInput, AuthenticationFailed),
            **doc.NO_PAYMENT,
            **raises(RATE_LIMITED),
        },
    )
    async def get_payment(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], payment_id: PaymentId
    ) -> PaymentView:
        return await shop.payments.get_payment(payment_id, actor_of(request.user))

    @post(
        "/{payment_id:int}/verify",
        status_code=200,
        security=BEARER,
        operation_id="verifyPayment",
        summary="Ask the gateway about a payment",
        description=doc.VERIFY,
        responses={
            **doc.ONE_PAYMENT,
            **raises(InvalidInput, AuthenticationFailed),
            **doc.NO_PAYMENT,
            **raises(RATE_LIMITED),
            **doc.GATEWAY_DOWN,
            **doc.NOT_CONFIGURED,
        },
    )
    async def verify(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], payment_id: PaymentId
    ) -> PaymentView:
        return await shop.payments.verify_payment(payment_id, actor_of(request.user))

    @post(
        "/{payment_id:int}/refund",
        status_code=200,
        security=BEARER,
        operation_class=documented(optional_body=True),
        operation_id="refundPayment",
        summary="Refund a payment, in full or in part (staff)",
        description=doc.REFUND,
        guards=[requires_staff],
        responses={
            **doc.REFUNDED,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_PAYMENT,
            **doc.REFUND_CONFLICT,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
            **doc.GATEWAY_DOWN,
            **doc.NOT_CONFIGURED,
        },
    )
    async def refund(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        payment_id: PaymentId,
        data: Annotated[RefundPayment | None, doc.REFUND_BODY] = None,
    ) -> PaymentView:
        """No body (or `{}`) refunds all that is left."""
        cmd = data if data is not None else RefundPayment()
        return await shop.payments.refund_payment(payment_id, cmd, actor_of(request.user))


async def _webhook(shop: Shop, request: Request[Any, Any, Any], gateway: PaymentMethod) -> WebhookAnswer:
    """The raw bytes as sent (signatures cover them exactly) and the headers, to the use case."""
    body = await request.body()
    return WebhookAnswer(status=await shop.payments.handle_webhook(gateway, body, dict(request.headers)))


async def _returned(shop: Shop, request: Request[Any, Any, Any]) -> ReturnAnswer:
    payment = await shop.payments.customer_returned(PaymentMethod.SSLCOMMERZ, await _tran_id(request))
    if payment is None:
        raise NotFound("No such payment.")
    return ReturnAnswer(status=payment.status, order_id=payment.order_id)


async def _tran_id(request: Request[Any, Any, Any]) -> str:
    """The `tran_id` the browser brings back: from the posted form, else from the query."""
    found: Any = None
    if request.method == "POST":
        form = await request.form()
        found = form.get("tran_id")
    if found is None:
        found = request.query_params.get("tran_id")
    tran_id = found.strip() if isinstance(found, str) else ""
    if not tran_id or len(tran_id) > MAX_TRAN_ID:
        raise InvalidInput.field("tran_id", f"A tran_id of 1 to {MAX_TRAN_ID} characters is required.")
    return tran_id
