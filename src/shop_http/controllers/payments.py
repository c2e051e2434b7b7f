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

import dataclasses
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import (
    Example,
    OpenAPIMediaType,
    OpenAPIType,
    RequestBody,
    Schema,
)
from litestar.openapi.spec import Parameter as OpenAPIParameter
from litestar.params import Parameter, QueryParameter

from shop_core.bootstrap import Shop
from shop_core.domain.errors import (
    AuthenticationFailed,
    Conflict,
    GatewayUnavailable,
    InvalidInput,
    NotFound,
    PaymentDeclined,
    PermissionDenied,
    ServiceUnavailable,
)
from shop_core.domain.ids import MAX_ID
from shop_core.domain.payments import Gateway
from shop_core.services.payment_views import PaymentView, RefundPayment, StartPayment
from shop_core.services.views import UserView
from shop_http.api_docs.examples import REFUNDED_PAYMENT, SSLCOMMERZ_PAYMENT, STRIPE_PAYMENT
from shop_http.controllers.orders import IdempotencyKey, actor
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import (
    BEARER,
    ErrorBody,
    body,
    documented,
    error,
    example,
    form_body,
    header,
    ok,
    page_past_the_end,
    raises,
    request_example,
)
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize, page_of, window
from shop_http.security import NO_AUTH, PUBLIC, requires_staff

PaymentId = Annotated[
    int, Parameter(ge=1, le=MAX_ID, description="The payment's id.", examples=[Example(value=1)])
]
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


ONE_PAYMENT = ok(PaymentView, "The payment.", example(STRIPE_PAYMENT))
STARTED = {
    **ok(
        PaymentView,
        "A payment was started: `client_secret` (Stripe) or `redirect_url` (SSLCommerz).",
        example(STRIPE_PAYMENT, "Stripe: confirm client_secret with Stripe.js"),
        example(SSLCOMMERZ_PAYMENT, "SSLCommerz: send the customer to redirect_url"),
        status=201,
    ),
    **ok(
        PaymentView,
        "The order's live payment, started earlier, returned again (nothing new was made).",
        example(STRIPE_PAYMENT),
    ),
}
NOT_PAYABLE = error(
    Conflict,
    "`order_not_payable`: the order is paid, cancelled, free, held for review, or to be paid by another "
    "gateway; `idempotency_key_reused`: the key was used for a different request.",
    ErrorBody(detail="Order ORD-2026-8K4Q2PXM is already paid.", code="order_not_payable"),
    ErrorBody(
        detail="This Idempotency-Key was already used for a different request; use a new key for a new "
        "order.",
        code="idempotency_key_reused",
    ),
)
DECLINED = error(
    PaymentDeclined,
    "`payment_declined`: the gateway refused the payment.",
    ErrorBody(detail="Your card was declined.", code="payment_declined"),
)
GATEWAY_DOWN = error(
    GatewayUnavailable,
    "`gateway_error`: the gateway failed or could not be reached; retry later.",
    ErrorBody(detail="The stripe gateway failed: timed out.", code="gateway_error"),
)
NOT_CONFIGURED = error(
    ServiceUnavailable,
    "That gateway is not configured on this shop; retry after `Retry-After`.",
    ErrorBody(detail="stripe payments are not configured on this shop.", code="service_unavailable"),
)
NO_PAYMENT = error(
    NotFound, "No such payment, or someone else's.", ErrorBody(detail="No such payment.", code="not_found")
)
WEBHOOK_ANSWER = ok(
    WebhookAnswer,
    "Handled, or already handled.",
    example(WebhookAnswer(status="applied"), "Applied"),
    example(WebhookAnswer(status="duplicate"), "Delivered before"),
)
WEBHOOK_REFUSED = error(
    InvalidInput,
    "The signature is bad, missing or stale, or the body is not an event.",
    ErrorBody(detail="The webhook was refused: The Stripe-Signature header is missing.", code="invalid"),
)
UNCONFIRMED = error(
    ServiceUnavailable,
    "The gateway could not confirm the event now, or is not configured here; deliver it again later.",
    ErrorBody(detail="stripe payments are not configured on this shop.", code="service_unavailable"),
)
STRIPE_EVENT = {
    "id": "evt_3Q0aBcDeFgHiJkLm",
    "object": "event",
    "type": "payment_intent.succeeded",
    "created": 1795716300,
    "data": {
        "object": {
            "id": "pi_3Q0aBcDeFgHiJkLm",
            "object": "payment_intent",
            "amount": 2750,
            "currency": "usd",
            "status": "succeeded",
            "metadata": {"order_number": "ORD-2026-8K4Q2PXM", "payment_id": "1"},
        }
    },
}
STRIPE_WEBHOOK = documented(
    parameters=[
        header(
            "Stripe-Signature",
            "Stripe's signature over the raw body (`t=…,v1=…`), checked with `SHOP_STRIPE_WEBHOOK_SECRET`.",
            required=True,
            examples=["t=1795716300,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"],
        )
    ],
    request_body=RequestBody(
        description="A Stripe event, exactly as Stripe sent it (the signature covers these bytes).",
        required=True,
        content={
            "application/json": OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.OBJECT,
                    required=["id", "type", "data"],
                    properties={
                        "id": Schema(type=OpenAPIType.STRING),
                        "type": Schema(type=OpenAPIType.STRING),
                        "data": Schema(type=OpenAPIType.OBJECT),
                    },
                ),
                examples={
                    "payment-intent-succeeded": Example(
                        summary="A card payment succeeded", value=STRIPE_EVENT
                    )
                },
            )
        },
    ),
)
IPN_FIELDS = {
    name: Schema(type=OpenAPIType.STRING)
    for name in (
        "tran_id",
        "val_id",
        "amount",
        "currency",
        "status",
        "verify_sign",
        "verify_sign_sha2",
        "verify_key",
    )
}
SSLCOMMERZ_IPN = documented(
    request_body=form_body(
        "The IPN as SSLCommerz posts it; `verify_key` lists the fields `verify_sign` covers.",
        IPN_FIELDS,
        Example(
            summary="A validated payment",
            value={
                "tran_id": "ORD-2026-8K4Q2PXM-1",
                "val_id": "2611261800001aBcDeFgHiJkLm",
                "amount": "3025.00",
                "currency": "BDT",
                "status": "VALID",
                "verify_sign": "4cb5a9b0a8d7c1e8f3b2a1d0c9e8f7a6",
                "verify_key": "amount,currency,status,tran_id,val_id",
            },
        ),
    )
)
TRAN_ID = OpenAPIParameter(
    name="tran_id",
    param_in="query",
    required=False,
    description="The payment's SSLCommerz transaction id (POSTed back in the form instead, usually).",
    schema=Schema(type=OpenAPIType.STRING, max_length=MAX_TRAN_ID, examples=["ORD-2026-8K4Q2PXM-1"]),
)
RETURN_FORM = form_body(
    "The form SSLCommerz posts the browser back with; only `tran_id` is read.",
    {
        "tran_id": Schema(type=OpenAPIType.STRING, max_length=MAX_TRAN_ID),
        "status": Schema(type=OpenAPIType.STRING),
    },
    Example(
        summary="Back from the payment page", value={"tran_id": "ORD-2026-8K4Q2PXM-1", "status": "VALID"}
    ),
)
RETURN_FORM.required = False
RETURN_RULES = (
    "SSLCommerz's success, fail and cancel URL: the browser comes back with `tran_id` (in the form or the "
    "query). Nothing else it carries is trusted: the gateway is asked, and the answer is the payment's "
    "status and its order."
)
RETURN_RESPONSES = {
    **ok(
        ReturnAnswer,
        "The payment's status, as the gateway says.",
        example(ReturnAnswer(status="succeeded", order_id=1), "Paid"),
        example(ReturnAnswer(status="pending", order_id=1), "Not decided yet"),
    ),
    **error(
        InvalidInput,
        "No `tran_id`, or one longer than 255 characters.",
        ErrorBody(
            detail="A tran_id of 1 to 255 characters is required.",
            code="invalid",
            errors={"tran_id": ["A tran_id of 1 to 255 characters is required."]},
        ),
    ),
    **NO_PAYMENT,
    **raises(RATE_LIMITED),
    **GATEWAY_DOWN,
    **NOT_CONFIGURED,
}
REFUND_CONFLICT = error(
    Conflict,
    "The payment has nothing left to refund, or is not a succeeded payment.",
    ErrorBody(detail="Payment 1 has nothing left to refund (refunds pending: 0).", code="conflict"),
)


START_DESCRIPTION = (
    "The customer's own unpaid order. `gateway` defaults to the order's `payment_method` "
    "(`stripe` or `sslcommerz`; cash is confirmed by staff). 201 with `client_secret` (Stripe) or "
    "`redirect_url` (SSLCommerz) for a new payment; 200 with the order's live payment when one "
    "exists (a declined Stripe payment takes another card). Send an `Idempotency-Key`."
)
START_RESPONSES = {
    **STARTED,
    **raises(InvalidInput, AuthenticationFailed),
    **error(
        NotFound, "No such order, or someone else's.", ErrorBody(detail="No such order.", code="not_found")
    ),
    **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
    **DECLINED,
    **NOT_PAYABLE,
    **GATEWAY_DOWN,
    **NOT_CONFIGURED,
}
START_BODY = body(
    request_example(StartPayment, "With the order's payment method", order_id=1),
    request_example(StartPayment, "With another gateway", order_id=1, gateway="sslcommerz"),
)


async def start_payment(
    shop: Shop, user: UserView, data: StartPayment, key: str | None
) -> Response[PaymentView]:
    started = await shop.start_payment(data, actor(user), key)
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
        description=START_DESCRIPTION,
        responses=START_RESPONSES,
    )
    async def process(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        data: Annotated[StartPayment, START_BODY],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[PaymentView]:
        return await start_payment(shop, request.user, data, idempotency_key)

    @post(
        "/create-session",
        status_code=201,
        security=BEARER,
        operation_id="startPaymentLegacy",
        summary="Start paying for an order (the original API's path; deprecated)",
        description="`POST /api/payments/process/` under the path the original API's clients call, with the "
        "same body, `Idempotency-Key` and answers. Use `POST /api/payments/process/`.",
        deprecated=True,
        responses=START_RESPONSES,
    )
    async def process_legacy(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        data: Annotated[StartPayment, START_BODY],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[PaymentView]:
        return await start_payment(shop, request.user, data, idempotency_key)

    @post(
        "/webhook",
        status_code=200,
        opt=PUBLIC,
        security=NO_AUTH,
        operation_class=STRIPE_WEBHOOK,
        operation_id="stripeWebhook",
        summary="Stripe's webhook",
        description=(
            "Stripe's event delivery, signed by the `Stripe-Signature` header over the raw body. "
            "200 once handled or already handled; 400 for a bad, missing or stale signature; 503 when "
            "Stripe is not configured on this shop (Stripe delivers again later). Point "
            "`stripe listen --forward-to` (or the dashboard's endpoint) here."
        ),
        responses={
            **WEBHOOK_ANSWER,
            **WEBHOOK_REFUSED,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
            **UNCONFIRMED,
        },
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
        operation_class=SSLCOMMERZ_IPN,
        operation_id="sslcommerzIpn",
        summary="SSLCommerz's IPN",
        description=(
            "The Instant Payment Notification, form-encoded as SSLCommerz sends it, checked by its "
            "`verify_sign` and confirmed with the validation API before anything changes. 503 when "
            "SSLCommerz is not configured on this shop."
        ),
        responses={
            **WEBHOOK_ANSWER,
            **WEBHOOK_REFUSED,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
            **UNCONFIRMED,
        },
    )
    async def sslcommerz_ipn(
        self, shop: NamedDependency[Shop], request: Request[Any, Any, Any]
    ) -> WebhookAnswer:
        return await _webhook(shop, request, Gateway.SSLCOMMERZ)

    @get(
        "/sslcommerz/return",
        opt=PUBLIC,
        security=NO_AUTH,
        operation_class=documented(parameters=[dataclasses.replace(TRAN_ID, required=True)]),
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
        operation_class=documented(parameters=[TRAN_ID], request_body=RETURN_FORM),
        operation_id="sslcommerzReturnPosted",
        summary="The customer's return from SSLCommerz's page (posted)",
        description=RETURN_RULES + " SSLCommerz posts the browser back with a form.",
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
        description=(
            f"Filters: `status` ({STATUSES}) and `held` (`true`: waiting for staff, e.g. an amount that "
            "did not match or a risky card)."
        ),
        guards=[requires_staff],
        responses={
            **ok(
                PageOf[PaymentView],
                "A page of payments.",
                example(
                    PageOf(count=2, next=None, previous=None, results=[SSLCOMMERZ_PAYMENT, STRIPE_PAYMENT]),
                    "Two payments",
                ),
            ),
            **error(
                InvalidInput,
                "A filter or page parameter is invalid.",
                ErrorBody(
                    detail="Unknown status 'lost'; one of pending, succeeded, failed, refunded, cancelled.",
                    code="invalid",
                    errors={
                        "status": [
                            "Unknown status 'lost'; one of pending, succeeded, failed, refunded, cancelled."
                        ]
                    },
                ),
            ),
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
                description=f"One of {STATUSES}.",
                examples=[Example(value="succeeded")],
            ),
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
        security=BEARER,
        operation_id="getPayment",
        summary="One payment",
        description="Owner and staff; staff also see its `refunds`. Someone else's payment is 404.",
        responses={
            **ONE_PAYMENT,
            **raises(InvalidInput, AuthenticationFailed),
            **NO_PAYMENT,
            **raises(RATE_LIMITED),
        },
    )
    async def get_payment(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], payment_id: PaymentId
    ) -> PaymentView:
        return await shop.get_payment(payment_id, actor(request.user))

    @post(
        "/{payment_id:int}/verify",
        status_code=200,
        security=BEARER,
        operation_id="verifyPayment",
        summary="Ask the gateway about a payment",
        description=(
            "Owner and staff. Brings the payment, its order and its refunds up to date with what the "
            "gateway says (for a webhook that has not arrived). No request body."
        ),
        responses={
            **ONE_PAYMENT,
            **raises(InvalidInput, AuthenticationFailed),
            **NO_PAYMENT,
            **raises(RATE_LIMITED),
            **GATEWAY_DOWN,
            **NOT_CONFIGURED,
        },
    )
    async def verify(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], payment_id: PaymentId
    ) -> PaymentView:
        return await shop.verify_payment(payment_id, actor(request.user))

    @post(
        "/{payment_id:int}/refund",
        status_code=200,
        security=BEARER,
        operation_class=documented(optional_body=True),
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
            **ok(PaymentView, "The payment, with its refunds.", example(REFUNDED_PAYMENT)),
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **NO_PAYMENT,
            **REFUND_CONFLICT,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
            **GATEWAY_DOWN,
            **NOT_CONFIGURED,
        },
    )
    async def refund(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        payment_id: PaymentId,
        data: Annotated[
            RefundPayment | None,
            body(
                request_example(RefundPayment, "Part of it", amount="10.00", reason="One mug arrived broken"),
                request_example(RefundPayment, "All that is left"),
            ),
        ] = None,
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
