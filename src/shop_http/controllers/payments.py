"""The Payments table of API.md: starting a payment, the gateways' webhooks, and staff's views.

Starting a payment is idempotent per order: while the order has a live payment, asking again
returns it (200) instead of making another (201). Send an `Idempotency-Key` header (a UUID) too:
a retry with the same key is answered as the first request was (201), and the same key for
another order is 409 `idempotency_key_reused`.

The webhooks are public (the gateways sign them instead): they read the raw body, which the use
case verifies (Stripe's HMAC over the exact bytes, SSLCommerz's `verify_sign` and validation API)
before anything changes. Money moves once however often an event is delivered.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, Parameter, QueryParameter

from shop_core.bootstrap import Shop
from shop_core.domain.errors import InvalidInput, NotFound
from shop_core.domain.ids import MAX_ID
from shop_core.domain.payments import Gateway
from shop_core.services.payment_views import PaymentView, RefundPayment, StartPayment
from shop_core.services.views import UserView
from shop_http.controllers.orders import IdempotencyKey, actor
from shop_http.openapi import ErrorBody, responses
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize, page_of, window
from shop_http.security import NO_AUTH, PUBLIC, requires_staff

PaymentId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The payment's id.")]
STATUSES = "pending, succeeded, failed, refunded, cancelled"
MAX_TRAN_ID = 255


class WebhookAnswer(msgspec.Struct):
    """What became of a delivery: `applied`, `duplicate` (already handled) or `ignored` (not news
    about one of our payments)."""

    status: str


class ReturnAnswer(msgspec.Struct):
    """Where the payment stands once the gateway was asked (`pending` while it has not decided)."""

    status: str
    order_id: int


def _error(status: int, description: str) -> dict[int, ResponseSpec]:
    return {status: ResponseSpec(data_container=ErrorBody, description=description, generate_examples=False)}


ONE_PAYMENT = {200: ResponseSpec(data_container=PaymentView, description="The payment.")}
STARTED = {
    201: ResponseSpec(
        data_container=PaymentView,
        description="A payment was started: `client_secret` (Stripe) or `redirect_url` (SSLCommerz).",
    ),
    200: ResponseSpec(
        data_container=PaymentView,
        description="The order's live payment, started earlier, returned again (nothing new was made).",
    ),
}
NOT_PAYABLE = _error(
    409,
    "`order_not_payable`: the order is paid, cancelled, free, held for review, or to be paid by another "
    "gateway; `idempotency_key_reused`: the key was used for a different request.",
)
DECLINED = _error(402, "`payment_declined`: the gateway refused the payment.")
GATEWAY_DOWN = _error(502, "`gateway_error`: the gateway failed or could not be reached; retry later.")
NOT_CONFIGURED = _error(503, "That gateway is not configured on this shop; retry after `Retry-After`.")
WEBHOOK_ANSWER = {200: ResponseSpec(data_container=WebhookAnswer, description="Handled, or already handled.")}
WEBHOOK_REFUSED = _error(400, "The signature is bad, missing or stale, or the body is not an event.")
UNCONFIRMED = _error(
    503, "The gateway could not confirm the event now, or is not configured here; deliver it again later."
)
RETURN_RULES = (
    "SSLCommerz's success, fail and cancel URL: the browser comes back with `tran_id` (in the form or the "
    "query). Nothing else it carries is trusted: the gateway is asked, and the answer is the payment's "
    "status and its order."
)
RETURN_RESPONSES = {
    200: ResponseSpec(data_container=ReturnAnswer, description="The payment's status, as the gateway says."),
    **_error(400, "No `tran_id`, or one longer than 255 characters."),
    **responses(404, 413),
    **GATEWAY_DOWN,
    **NOT_CONFIGURED,
}
REFUND_CONFLICT = _error(409, "The payment has nothing left to refund, or is not a succeeded payment.")


class PaymentController(Controller):
    path = "/api/payments"
    tags = ["Payments"]

    @post(
        "/process",
        status_code=201,
        operation_id="startPayment",
        summary="Start paying for an order",
        description=(
            "The customer's own unpaid order. `gateway` defaults to the order's `payment_method` "
            "(`stripe` or `sslcommerz`; cash is confirmed by staff). 201 with `client_secret` (Stripe) or "
            "`redirect_url` (SSLCommerz) for a new payment; 200 with the order's live payment when one "
            "exists (a declined Stripe payment takes another card). Send an `Idempotency-Key`."
        ),
        responses={
            **STARTED,
            **responses(400, 401, 404, 413),
            **DECLINED,
            **NOT_PAYABLE,
            **GATEWAY_DOWN,
            **NOT_CONFIGURED,
        },
    )
    async def process(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        data: JSONBody[StartPayment],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[PaymentView]:
        started = await shop.start_payment(data, actor(request.user), idempotency_key)
        return Response(started.payment, status_code=201 if started.created else 200)

    @post(
        "/webhook",
        status_code=200,
        opt=PUBLIC,
        security=NO_AUTH,
        operation_id="stripeWebhook",
        summary="Stripe's webhook",
        description=(
            "Stripe's event delivery, signed by the `Stripe-Signature` header over the raw body. "
            "200 once handled or already handled; 400 for a bad, missing or stale signature."
        ),
        responses={**WEBHOOK_ANSWER, **WEBHOOK_REFUSED, **responses(413), **UNCONFIRMED},
    )
    async def stripe_webhook(
        self, shop: NamedDependency[Shop], request: Request[Any, Any, Any]
    ) -> WebhookAnswer:
        return await _webhook(shop, request, Gateway.STRIPE)

    @post(
        "/webhook/sslcommerz",
        status_code=200,
        opt=PUBLIC,
        security=NO_AUTH,
        operation_id="sslcommerzIpn",
        summary="SSLCommerz's IPN",
        description=(
            "The Instant Payment Notification, form-encoded as SSLCommerz sends it, checked by its "
            "`verify_sign` and confirmed with the validation API before anything changes."
        ),
        responses={**WEBHOOK_ANSWER, **WEBHOOK_REFUSED, **responses(413), **UNCONFIRMED},
    )
    async def sslcommerz_ipn(
        self, shop: NamedDependency[Shop], request: Request[Any, Any, Any]
    ) -> WebhookAnswer:
        return await _webhook(shop, request, Gateway.SSLCOMMERZ)

    @get(
        "/sslcommerz/return",
        opt=PUBLIC,
        security=NO_AUTH,
        operation_id="sslcommerzReturn",
        summary="The customer's return from SSLCommerz's page",
        description=RETURN_RULES,
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
        operation_id="sslcommerzReturnPosted",
        summary="The customer's return from SSLCommerz's page (posted)",
        description=RETURN_RULES + " SSLCommerz posts the browser back with a form.",
        responses=RETURN_RESPONSES,
    )
    async def sslcommerz_return_posted(
        self, shop: NamedDependency[Shop], request: Request[Any, Any, Any]
    ) -> ReturnAnswer:
        return await _returned(shop, request)

    @get(
        "/",
        operation_id="listPayments",
        summary="Payments, newest first (staff)",
        description=(
            f"Filters: `status` ({STATUSES}) and `held` (`true`: waiting for staff, e.g. an amount that "
            "did not match or a risky card)."
        ),
        guards=[requires_staff],
        responses={
            200: ResponseSpec(data_container=PageOf[PaymentView], description="A page of payments."),
            **responses(400, 401, 403, 404),
        },
    )
    async def list_payments(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        *,
        status: Annotated[
            str | None, QueryParameter(max_length=32, required=False, description=f"One of {STATUSES}.")
        ] = None,
        held: Annotated[
            bool | None, QueryParameter(required=False, description="Only held (or only unheld) payments.")
        ] = None,
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> PageOf[PaymentView]:
        offset, limit = window(page, page_size)
        found = await shop.list_payments(status=status, held=held, offset=offset, limit=limit)
        return page_of(request, found.items, found.total, page, page_size)

    @get(
        "/{payment_id:int}",
        operation_id="getPayment",
        summary="One payment",
        description="Owner and staff; staff also see its `refunds`. Someone else's payment is 404.",
        responses={**ONE_PAYMENT, **responses(400, 401, 404)},
    )
    async def get_payment(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], payment_id: PaymentId
    ) -> PaymentView:
        return await shop.get_payment(payment_id, actor(request.user))

    @post(
        "/{payment_id:int}/verify",
        status_code=200,
        operation_id="verifyPayment",
        summary="Ask the gateway about a payment",
        description=(
            "Owner and staff. Brings the payment, its order and its refunds up to date with what the "
            "gateway says (for a webhook that has not arrived)."
        ),
        responses={**ONE_PAYMENT, **responses(400, 401, 404), **GATEWAY_DOWN, **NOT_CONFIGURED},
    )
    async def verify(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], payment_id: PaymentId
    ) -> PaymentView:
        return await shop.verify_payment(payment_id, actor(request.user))

    @post(
        "/{payment_id:int}/refund",
        status_code=200,
        operation_id="refundPayment",
        summary="Refund a payment, in full or in part (staff)",
        description=(
            '`amount` (a decimal string, e.g. "10.00") defaults to all that is left (as does no body at '
            "all); `reason` is kept. "
            "The payment becomes `refunded` once refunds cover it, and its order too. A refund the "
            "gateway has not confirmed stays pending (502) and is asked about again, never made twice."
        ),
        guards=[requires_staff],
        responses={
            **ONE_PAYMENT,
            **responses(400, 401, 403, 404, 413),
            **REFUND_CONFLICT,
            **GATEWAY_DOWN,
            **NOT_CONFIGURED,
        },
    )
    async def refund(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        payment_id: PaymentId,
        data: JSONBody[RefundPayment | None] = None,
    ) -> PaymentView:
        """No body (or `{}`) refunds all that is left."""
        cmd = data if data is not None else RefundPayment()
        return await shop.refund_payment(payment_id, cmd, actor(request.user))


async def _webhook(shop: Shop, request: Request[Any, Any, Any], gateway: Gateway) -> WebhookAnswer:
    """The raw bytes as sent (signatures cover them exactly) and the headers, to the use case."""
    body = await request.body()
    return WebhookAnswer(status=await shop.handle_webhook(gateway, body, dict(request.headers)))


async def _returned(shop: Shop, request: Request[Any, Any, Any]) -> ReturnAnswer:
    payment = await shop.customer_returned(Gateway.SSLCOMMERZ, await _tran_id(request))
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
