"""The documentation of `controllers.payments`: starting a payment, the gateways' webhooks, and
staff's views.

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

from litestar.openapi.spec import Example, OpenAPIMediaType, OpenAPIType, RequestBody, Schema
from litestar.openapi.spec import Parameter as OpenAPIParameter

from shop_core.domain.errors import (
    Conflict,
    GatewayUnavailable,
    InvalidInput,
    NotFound,
    PaymentDeclined,
    ServiceUnavailable,
)
from shop_core.domain.orders import PaymentMethod
from shop_core.domain.payments import PaymentState
from shop_core.services.order_placement import IdempotencyKeyReused
from shop_core.services.payment_views import PaymentView, RefundPayment, StartPayment
from shop_core.services.payments import OrderNotPayable, not_configured
from shop_http.api_docs.domain_text import any_of, one_of
from shop_http.api_docs.examples import REFUNDED_PAYMENT, SSLCOMMERZ_PAYMENT, STRIPE_PAYMENT
from shop_http.openapi import body, documented, error, example, form_body, header, ok, request_example, sample
from shop_http.pagination import PageOf
from shop_http.payment_callbacks import MAX_TRAN_ID, ReturnAnswer, WebhookAnswer

STATUSES = one_of(PaymentState)
STARTABLE = any_of(gateway for gateway in PaymentMethod if gateway is not PaymentMethod.COD)
NOT_CONFIGURED_HERE = ServiceUnavailable(not_configured(PaymentMethod.STRIPE))

# --- answers ---------------------------------------------------------------------------------------

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
PAGE = ok(
    PageOf[PaymentView],
    "A page of payments.",
    example(
        PageOf(count=2, next=None, previous=None, results=[SSLCOMMERZ_PAYMENT, STRIPE_PAYMENT]),
        "Two payments",
    ),
)
REFUNDED = ok(PaymentView, "The payment, with its refunds.", example(REFUNDED_PAYMENT))
WEBHOOK_ANSWER = ok(
    WebhookAnswer,
    "Handled, or already handled.",
    example(WebhookAnswer(status="applied"), "Applied"),
    example(WebhookAnswer(status="duplicate"), "Delivered before"),
)
RETURN_ANSWER = ok(
    ReturnAnswer,
    "The payment's status, as the gateway says.",
    example(ReturnAnswer(status="succeeded", order_id=1), "Paid"),
    example(ReturnAnswer(status="pending", order_id=1), "Not decided yet"),
)

# --- errors ----------------------------------------------------------------------------------------

NO_ORDER = error(NotFound, "No such order, or someone else's.", sample(NotFound("No such order.")))
NO_PAYMENT = error(NotFound, "No such payment, or someone else's.", sample(NotFound("No such payment.")))
NOT_PAYABLE = error(
    Conflict,
    f"`{OrderNotPayable.code}`: the order is paid, cancelled, free, held for review, or to be paid by "
    f"another gateway; `{IdempotencyKeyReused.code}`: the key was used for a different request.",
    sample(OrderNotPayable("Order ORD-2026-8K4Q2PXM is already paid.")),
    sample(IdempotencyKeyReused()),
)
DECLINED = error(
    PaymentDeclined,
    f"`{PaymentDeclined.code}`: the gateway refused the payment.",
    sample(PaymentDeclined("Your card was declined.")),
)
GATEWAY_DOWN = error(
    GatewayUnavailable,
    f"`{GatewayUnavailable.code}`: the gateway failed or could not be reached; retry later.",
    sample(GatewayUnavailable("The stripe gateway failed: timed out.")),
)
NOT_CONFIGURED = error(
    ServiceUnavailable,
    "That gateway is not configured on this shop; retry after `Retry-After`.",
    sample(NOT_CONFIGURED_HERE),
)
WEBHOOK_REFUSED = error(
    InvalidInput,
    "The signature is bad, missing or stale, or the body is not an event.",
    sample(InvalidInput("The webhook was refused: The Stripe-Signature header is missing.")),
)
UNCONFIRMED = error(
    ServiceUnavailable,
    "The gateway could not confirm the event now, or is not configured here; deliver it again later.",
    sample(NOT_CONFIGURED_HERE),
)
NO_TRAN_ID = error(
    InvalidInput,
    f"No `tran_id`, or one longer than {MAX_TRAN_ID} characters.",
    sample(InvalidInput.field("tran_id", f"A tran_id of 1 to {MAX_TRAN_ID} characters is required.")),
)
BAD_FILTER = error(
    InvalidInput,
    "A filter or page parameter is invalid.",
    sample(InvalidInput.field("status", f"Unknown status 'lost'; one of {STATUSES}.")),
)
REFUND_CONFLICT = error(
    Conflict,
    "The payment has nothing left to refund, or is not a succeeded payment.",
    sample(Conflict("Payment 1 has nothing left to refund (refunds pending: 0).")),
)

# --- starting a payment ----------------------------------------------------------------------------

START = (
    "The customer's own unpaid order. `gateway` defaults to the order's `payment_method` "
    f"({STARTABLE}; cash is confirmed by staff). 201 with `client_secret` (Stripe) or "
    "`redirect_url` (SSLCommerz) for a new payment; 200 with the order's live payment when one "
    "exists (a declined Stripe payment takes another card). Send an `Idempotency-Key`."
)
START_LEGACY = (
    "`POST /api/payments/process/` under the path the original API's clients call, with the "
    "same body, `Idempotency-Key` and answers. Use `POST /api/payments/process/`."
)
START_BODY = body(
    request_example(StartPayment, "With the order's payment method", order_id=1),
    request_example(StartPayment, "With another gateway", order_id=1, gateway="sslcommerz"),
)

# --- the gateways' callbacks -----------------------------------------------------------------------

STRIPE_WEBHOOK_RULES = (
    "Stripe's event delivery, signed by the `Stripe-Signature` header over the raw body. "
    "200 once handled or already handled; 400 for a bad, missing or stale signature; 503 when "
    "Stripe is not configured on this shop (Stripe delivers again later). Point "
    "`stripe listen --forward-to` (or the dashboard's endpoint) here."
)
IPN_RULES = (
    "The Instant Payment Notification, form-encoded as SSLCommerz sends it, checked by its "
    "`verify_sign` and confirmed with the validation API before anything changes. 503 when "
    "SSLCommerz is not configured on this shop."
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
RETURNED = documented(parameters=[dataclasses.replace(TRAN_ID, required=True)])
RETURNED_POSTED = documented(parameters=[TRAN_ID], request_body=RETURN_FORM)
RETURN_RULES = (
    "SSLCommerz's success, fail and cancel URL: the browser comes back with `tran_id` (in the form or the "
    "query). Nothing else it carries is trusted: the gateway is asked, and the answer is the payment's "
    "status and its order."
)
RETURN_POSTED_RULES = RETURN_RULES + " SSLCommerz posts the browser back with a form."

# --- staff's views, verification and refunds -------------------------------------------------------

LIST = (
    f"Filters: `status` ({STATUSES}) and `held` (`true`: waiting for staff, e.g. an amount that "
    "did not match or a risky card)."
)
STATUS_FILTER = f"One of {STATUSES}."
HELD_FILTER = "Only held (or only unheld) payments."
GET = "Owner and staff; staff also see its `refunds`. Someone else's payment is 404."
VERIFY = (
    "Owner and staff. Brings the payment, its order and its refunds up to date with what the "
    "gateway says (for a webhook that has not arrived). No request body."
)
REFUND = (
    '`amount` (a decimal string, e.g. "10.00") defaults to all that is left (as does no body at '
    "all); `reason` is kept. "
    "The payment becomes `refunded` once refunds cover it, and its order too. A refund the "
    "gateway has not confirmed stays pending (502) and is asked about again, never made twice."
)
REFUND_BODY = body(
    request_example(RefundPayment, "Part of it", amount="10.00", reason="One mug arrived broken"),
    request_example(RefundPayment, "All that is left"),
)
