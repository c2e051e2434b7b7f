"""Live order status: an order's changes as Server-Sent Events, and the tickets that open them from
a browser. The rules (who may watch, what is sent, when a stream ends) are in
`shop_core.services.live_orders`; this module authenticates and writes the events out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, InvalidInput
from shop_core.domain.live_orders import RETRY_MS, StreamGrant
from shop_core.services.live_order_views import StreamTicket
from shop_core.services.live_orders import OrderStream
from shop_core.services.views import UserView
from shop_http.api_docs import live_orders as doc
from shop_http.controllers.orders import OrderId
from shop_http.errors import RATE_LIMITED
from shop_http.live_streams import streams_stop
from shop_http.openapi import BEARER, raises
from shop_http.security import PUBLIC, bearer_token
from shop_runtime.log_context import user_id

NO_CREDENTIALS = "Send 'Authorization: Bearer <access>', or a stream ticket as ?ticket=."
ONE_CREDENTIAL = "Send either a bearer token or a stream ticket, not both."


async def _grant(
    shop: Shop, request: Request[Any, Any, Any], order_id: int, ticket: str | None
) -> StreamGrant:
    header = request.headers.get("Authorization")
    if ticket is not None and header is not None:
        raise InvalidInput.field("ticket", ONE_CREDENTIAL)
    if ticket is not None:
        return await shop.live_orders.redeem_ticket(ticket, order_id)
    if header is None:
        raise AuthenticationFailed(NO_CREDENTIALS)
    try:
        token = bearer_token(header)
    except Exception as exc:  # Litestar's NotAuthorizedException: the same 401, in the core's words
        raise AuthenticationFailed(NO_CREDENTIALS) from exc
    claims = shop.sessions.verify_token(token)
    user = await shop.sessions.authenticate(claims)
    return StreamGrant(user.id, claims.jti)


async def _messages(
    stream: OrderStream, request: Request[Any, Any, Any]
) -> AsyncIterator[ServerSentEventMessage]:
    # The retry hint goes with the first event: in a block of its own it reads as an event without data.
    retry: int | None = RETRY_MS
    async for item in stream.items(streams_stop(request.app)):
        if item is None:
            yield ServerSentEventMessage(data=None, comment="heartbeat")
        else:
            data = msgspec.json.encode(item.data).decode()
            yield ServerSentEventMessage(data=data, event=item.event, id=item.id, retry=retry)
            retry = None


class LiveOrderController(Controller):
    path = "/api/orders"
    tags = ["Orders"]
    security = BEARER

    @get(
        "/{order_id:int}/events",
        operation_id="streamOrderEvents",
        summary="The order's changes, live (Server-Sent Events)",
        description=doc.EVENTS,
        opt=PUBLIC,  # a ticket instead of the header is checked here; no credentials at all is 401
        responses={
            **doc.STREAM,
            **doc.BAD_RESUME,
            **doc.NOT_ALLOWED,
            **doc.NO_ORDER,
            **raises(RATE_LIMITED),  # and 503: the database (or Redis) unreachable
            **doc.TOO_MANY,
        },
    )
    async def events(
        self,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        order_id: OrderId,
        *,
        ticket: Annotated[
            str | None, QueryParameter(required=False, description=doc.TICKET_PARAMETER)
        ] = None,
        last_event_id_query: Annotated[
            str | None, QueryParameter(name="last_event_id", required=False, description=doc.LAST_EVENT_ID)
        ] = None,
        last_event_id: Annotated[
            str | None, HeaderParameter(name="Last-Event-ID", required=False, description=doc.LAST_EVENT_ID)
        ] = None,
    ) -> ServerSentEvent:
        grant = await _grant(shop, request, order_id, ticket)
        user_id.set(grant.user_id)
        resume = last_event_id if last_event_id is not None else last_event_id_query
        stream = await shop.live_orders.open_stream(order_id, grant, resume)
        return ServerSentEvent(_messages(stream, request), headers={"Cache-Control": "no-cache"})

    @post(
        "/{order_id:int}/events/ticket",
        status_code=201,
        operation_id="issueOrderStreamTicket",
        summary="A ticket to open the order's stream from a browser",
        description=doc.ISSUE_TICKET,
        responses={
            **doc.TICKET,
            **raises(InvalidInput, AuthenticationFailed),
            **doc.NO_ORDER,
            **raises(RATE_LIMITED),
        },
    )
    async def ticket(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], order_id: OrderId
    ) -> StreamTicket:
        return await shop.live_orders.issue_ticket(order_id, StreamGrant(request.user.id, request.auth.jti))
