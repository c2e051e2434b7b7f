"""The documentation of `controllers.live_orders`: an order's changes as Server-Sent Events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema

from shop_core.domain.errors import AuthenticationFailed, InvalidInput, NotFound, TooManyAttempts
from shop_core.domain.live_orders import RETRY_MS, TICKET_TTL_SECONDS
from shop_core.services.live_order_views import OrderChange, StreamTicket
from shop_http.api_docs.examples import AT
from shop_http.openapi import ErrorBody, error, example, ok, sample

BASELINE = OrderChange(
    order_id=7,
    order_number="ORD-2026-8K4Q2PXM",
    action="placed",
    at=AT,
    status="pending",
    payment_status="unpaid",
    fulfillment_status="unfulfilled",
    refunded_amount="0.00",
    currency="USD",
    updated_at=AT,
)


_FIELD_SCHEMAS = {
    int: Schema(type=OpenAPIType.INTEGER),
    str: Schema(type=OpenAPIType.STRING),
    datetime: Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME),
}


def _flat_schema(struct: type[msgspec.Struct]) -> Schema:
    """The schema of a Struct of plain fields (int, str, datetime), every one required."""
    fields = msgspec.structs.fields(struct)
    return Schema(
        type=OpenAPIType.OBJECT,
        properties={f.encode_name: _FIELD_SCHEMAS[f.type] for f in fields},
        required=[f.encode_name for f in fields],
    )


ORDER_CHANGE_SCHEMA = _flat_schema(OrderChange)


class OrderStreamEvent(msgspec.Struct, kw_only=True):
    """One event of the stream, as EventSource hands it to a listener (documentation only)."""

    event: Annotated[
        Literal["order.state", "order.updated"],
        msgspec.Meta(description="`order.state`: the baseline, first; `order.updated`: a change."),
    ]
    id: Annotated[str, msgspec.Meta(description="The audit event's id: send it back as Last-Event-ID.")]
    data: Annotated[
        str,
        msgspec.Meta(
            description="JSON: the order, the audit action and its time, and the order's state now.",
            extra_json_schema={
                "extra": {"content_media_type": "application/json", "content_schema": ORDER_CHANGE_SCHEMA}
            },
        ),
    ]
    retry: Annotated[
        int | None, msgspec.Meta(description="Milliseconds to wait before reconnecting (the first event).")
    ] = None


STREAM = ok(
    OrderStreamEvent,
    "`text/event-stream`, open until the client leaves, the server shuts down, the session ends or "
    "`SHOP_SSE_MAX_STREAM_SECONDS` pass (reconnect with Last-Event-ID). Each event: `id` (the audit "
    "event's id), `event` (`order.state` for the baseline, `order.updated` for a change) and `data` "
    "(JSON, `OrderChange`); the first also carries `retry`. Comment lines (`: heartbeat`) every "
    "`SHOP_SSE_HEARTBEAT_SECONDS`.",
    example(
        {
            "event": "order.state",
            "id": "41",
            "data": msgspec.json.encode(BASELINE).decode(),
            "retry": RETRY_MS,
        },
        "The first event of a new order's stream",
    ),
    media_type="text/event-stream",
)
TICKET = ok(
    StreamTicket,
    f"A single-use ticket for this order's stream, good for {TICKET_TTL_SECONDS} seconds.",
    example(StreamTicket(ticket="c2VjcmV0LXRpY2tldC1leGFtcGxlLW9ubHk", expires_in=TICKET_TTL_SECONDS)),
    status=201,
)
BAD_RESUME = error(
    InvalidInput,
    "`Last-Event-ID` (or `last_event_id`) is not an event id; or both a ticket and a bearer token were sent.",
    sample(InvalidInput.field("last_event_id", "Last-Event-ID must be an event id this stream sent.")),
)
NOT_ALLOWED = error(
    AuthenticationFailed,
    "No credentials, a bad or revoked token, a deactivated user, or a ticket that is unknown, used, "
    "expired or for another order.",
    sample(AuthenticationFailed("This stream ticket is unknown, used, expired or for another order.")),
)
NO_ORDER = error(NotFound, "No such order, or someone else's.", sample(NotFound("No such order.")))
TOO_MANY = error(
    TooManyAttempts,
    "The user already holds `SHOP_SSE_MAX_STREAMS_PER_USER` streams on this server process, or the "
    "client went over the rate limit; retry after `Retry-After` seconds.",
    sample(TooManyAttempts("At most 5 live streams at once; close one first.", retry_after=15)),
    ErrorBody(detail="Too Many Requests.", code="throttled"),
)

EVENTS = (
    "The order's changes as Server-Sent Events, for its customer and staff (anyone else: 404). "
    "One `order.updated` per entry of the order's audit trail (every change of its status, payment "
    "or fulfilment writes one), carrying the order's state as it is now; across every server "
    "process (over Redis when `SHOP_REDIS_URL` is set). Without `Last-Event-ID` the stream starts "
    "with the current state (`order.state`, its id the latest audit event's); with it (the header, "
    "or `?last_event_id=` for clients that cannot set headers; the header wins) it first replays "
    "every event after that id. Authenticate with `Authorization: Bearer <access>`, or, from a "
    "browser's EventSource, with `?ticket=` from POST .../events/ticket/. The stream ends when the "
    "user is deactivated or the token revoked (checked at every heartbeat)."
)
ISSUE_TICKET = (
    "A short-lived, single-use ticket to open this order's stream without an Authorization header "
    "(EventSource cannot send one): `GET /api/orders/{id}/events/?ticket=...`. Bound to the user, "
    "the access token used here and this order; stored hashed."
)
TICKET_PARAMETER = "A stream ticket from POST .../events/ticket/ (instead of the Authorization header)."
LAST_EVENT_ID = "The id of the last event received: the stream replays every event after it."
