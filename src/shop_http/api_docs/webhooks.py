"""The documentation of `controllers.webhooks`: staff's webhook subscriptions and their deliveries
(what each operation does is in its handler's docstring or description)."""

from __future__ import annotations

from shop_core.domain.errors import Conflict, InvalidInput, NotFound
from shop_core.domain.webhooks import EVENT_TYPES, check_url, parse_events
from shop_core.services.webhooks import (
    CreatedSubscriptionView,
    CreateSubscription,
    DeliveryView,
    SubscriptionView,
    UpdateSubscription,
)
from shop_http.api_docs.examples import AT
from shop_http.openapi import body, error, example, ok, refusal, request_example, sample
from shop_http.pagination import PageOf

SUBSCRIPTION = SubscriptionView(
    id=1,
    url="https://erp.example.com/hooks/shop",
    events=["order.paid", "order.cancelled"],
    description="ERP",
    is_active=True,
    created_at=AT,
    updated_at=AT,
)
CREATED_ONE = CreatedSubscriptionView(
    **{f: getattr(SUBSCRIPTION, f) for f in SUBSCRIPTION.__struct_fields__},
    secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # noqa: S106 - an example
)
SUCCEEDED = DeliveryView(
    id=2,
    subscription_id=1,
    event_id="msg_2b1c6f0e9d8a4b7c8e1f2a3b4c5d6e7f",
    event_type="order.paid",
    attempt=2,
    status="succeeded",
    response_status=200,
    duration_ms=84,
    response_excerpt='{"ok":true}',
    error=None,
    next_retry_at=None,
    created_at=AT,
    finished_at=AT,
)
RETRYING = DeliveryView(
    **{
        **{f: getattr(SUCCEEDED, f) for f in SUCCEEDED.__struct_fields__},
        "id": 1,
        "attempt": 1,
        "status": "retrying",
        "response_status": 500,
        "response_excerpt": "Internal Server Error",
        "error": "HTTP 500",
        "next_retry_at": AT,
    }
)
PENDING = DeliveryView(
    **{
        **{f: getattr(SUCCEEDED, f) for f in SUCCEEDED.__struct_fields__},
        "id": 3,
        "attempt": 3,
        "status": "pending",
        "response_status": None,
        "duration_ms": None,
        "response_excerpt": "",
        "finished_at": None,
    }
)


def _public_only(url: str) -> str:
    return check_url(url, allow_private=False)


# --- answers ---------------------------------------------------------------------------------------

PAGE = ok(
    PageOf[SubscriptionView],
    "A page of subscriptions, oldest first (never their secrets).",
    example(PageOf(count=1, next=None, previous=None, results=[SUBSCRIPTION]), "One subscription"),
)
CREATED = ok(
    CreatedSubscriptionView,
    "The new subscription, with its signing `secret`: shown in this answer only.",
    example(CREATED_ONE),
    status=201,
)
THE_SUBSCRIPTION = ok(SubscriptionView, "The subscription (without its secret).", example(SUBSCRIPTION))
DELIVERIES = ok(
    PageOf[DeliveryView],
    "A page of delivery attempts, newest first.",
    example(PageOf(count=2, next=None, previous=None, results=[SUCCEEDED, RETRYING]), "Retried once"),
)
REDELIVERED = ok(DeliveryView, "The new attempt, waiting to be sent.", example(PENDING), status=202)

# --- errors ----------------------------------------------------------------------------------------

BAD_SUBSCRIPTION = error(
    InvalidInput,
    "A field is missing or invalid: an unknown event type (the known ones: "
    + ", ".join(f"`{t}`" for t in EVENT_TYPES)
    + "), no event, a URL that is not http(s), carries a user or password, names no host, or names a "
    "loopback, private, link-local or reserved address or `localhost` (unless the shop allows "
    "private targets: `SHOP_WEBHOOKS_ALLOW_PRIVATE`), a description over 500 characters, an unknown "
    "field. Nothing was stored.",
    sample(refusal(parse_events, ["order.teleported"], kind=InvalidInput)),
    sample(refusal(_public_only, "http://169.254.169.254/latest", kind=InvalidInput)),
)
NO_SUBSCRIPTION = error(
    NotFound, "No webhook subscription has that id.", sample(NotFound("No such webhook subscription."))
)
NO_DELIVERY = error(
    NotFound,
    "No such subscription, or no delivery of that id belongs to it.",
    sample(NotFound("No delivery 9 of webhook subscription 1.")),
)
NOT_NOW = error(
    Conflict,
    "The subscription is paused, or an attempt of the event is waiting to be sent already.",
    sample(Conflict("Webhook subscription 1 is paused; resume it first.")),
)

# --- request bodies --------------------------------------------------------------------------------

CREATE_BODY = body(
    request_example(
        CreateSubscription,
        "Paid and cancelled orders to an ERP",
        url="https://erp.example.com/hooks/shop",
        events=["order.paid", "order.cancelled"],
        description="ERP",
    ),
    request_example(
        CreateSubscription,
        "Low stock to a chat bot",
        url="https://bot.example.com/shop",
        events=["stock.low"],
    ),
)
UPDATE_BODY = body(
    request_example(UpdateSubscription, "Pause it", is_active=False),
    request_example(UpdateSubscription, "Listen to more", events=["order.paid", "order.refunded"]),
)

LIST = "Every subscription, oldest first. Secrets are never listed: they are shown once, at creation."
CREATE = (
    "Subscribes a URL to event types. The answer holds the signing `secret` (`whsec_...`) ONCE: every "
    "delivery carries `webhook-id`, `webhook-timestamp` and `webhook-signature` per the Standard "
    "Webhooks specification (see the Webhooks page of the documentation). Every process of the shop "
    "sends the new subscription its events within `SHOP_WEBHOOKS_REFRESH_SECONDS` (5 s by default)."
)
DELETE = "Erases the subscription and its deliveries; attempts waiting to be sent are never sent."
DELIVERIES_TEXT = (
    "One row per attempt, newest first: the event's id (`webhook-id`) and type, the attempt number, "
    "its status (`pending`, `succeeded`, `retrying` with `next_retry_at`, `failed`), the receiver's "
    "status code, how long it took, at most 256 characters of its answer, and the error."
)
REDELIVER = (
    "Sends the delivery's event again (same `webhook-id`, same body, a new timestamp and signature) as "
    "a new attempt, after the answer. 409 when the subscription is paused or an attempt of that event "
    "is waiting to be sent already."
)
