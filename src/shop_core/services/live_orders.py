"""Live order status: the use cases behind `GET /api/orders/{id}/events/` (Server-Sent Events).

A stream is for the order's owner and staff (anyone else: NotFound, as for the order itself). It
sends one `order.updated` per audit event of the order, each with the order's state as it is now,
and without Last-Event-ID first the current state (`order.state`). It waits for news of the order
(OrderNews: in-process, or Redis pub/sub between processes) and, at every heartbeat, looks at the
database anyway, so news that never arrived is only late. Its user is checked when it opens and at
every heartbeat: deactivated, or the token revoked, ends it.
"""

from __future__ import annotations

import asyncio
import secrets
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from datetime import timedelta

import msgspec

from shop_core.domain.actors import Actor
from shop_core.domain.errors import AuthenticationFailed, TooManyAttempts
from shop_core.domain.ids import is_possible_id
from shop_core.domain.live_orders import (
    CHANGED,
    MAX_REPLAY_BATCH,
    STATE,
    TICKET_TTL_SECONDS,
    StreamGrant,
    parse_last_event_id,
    ticket_key,
)
from shop_core.domain.orders import Order, OrderEvent
from shop_core.ports.clock import Clock
from shop_core.ports.order_news import OrderNews, StreamTicketStore
from shop_core.ports.persistence import UnitOfWorkFactory
from shop_core.ports.security import TokenStore
from shop_core.services.live_order_views import OrderChange, StreamItem, StreamTicket, change_of
from shop_core.services.order_queries import visible_order

BAD_TICKET = "This stream ticket is unknown, used, expired or for another order."
SESSION_OVER = "The session of this stream has ended (signed out, or the account deactivated)."


@dataclass
class LiveOrderContext:
    uow: UnitOfWorkFactory
    clock: Clock
    news: OrderNews
    tickets: StreamTicketStore
    tokens: TokenStore
    heartbeat: float
    """Seconds between heartbeats (`SHOP_SSE_HEARTBEAT_SECONDS`)."""
    max_streams: int
    """Streams one user may hold open at once in one process (`SHOP_SSE_MAX_STREAMS_PER_USER`)."""
    max_seconds: float = 3600.0
    """How long one stream lasts at most (`SHOP_SSE_MAX_STREAM_SECONDS`)."""
    open_streams: Counter[int] = field(default_factory=Counter)


async def watcher(grant: StreamGrant, ctx: LiveOrderContext) -> Actor:
    """Who holds `grant`, if the session still stands; AuthenticationFailed otherwise."""
    if not is_possible_id(grant.user_id):
        raise AuthenticationFailed(SESSION_OVER)
    revoked, _ = await ctx.tokens.check_access(grant.jti, grant.user_id)
    if revoked:
        raise AuthenticationFailed(SESSION_OVER)
    async with ctx.uow() as uow:
        user = await uow.users.get_read_only(grant.user_id)
    if user is None or user.id is None or not user.is_active:
        raise AuthenticationFailed(SESSION_OVER)
    return Actor.user(user.id, user.email, is_staff=user.is_staff)


async def issue_ticket(order_id: int, grant: StreamGrant, ctx: LiveOrderContext) -> StreamTicket:
    """A single-use ticket, good for TICKET_TTL_SECONDS, to open a stream on this order (for
    EventSource, which cannot send an Authorization header)."""
    actor = await watcher(grant, ctx)
    async with ctx.uow() as uow:
        await visible_order(uow, order_id, actor)
    ticket = secrets.token_urlsafe(32)
    expires_at = ctx.clock.now() + timedelta(seconds=TICKET_TTL_SECONDS)
    stored = StreamGrant(grant.user_id, grant.jti, order_id, expires_at)
    key = ticket_key(ticket)
    assert key is not None
    await ctx.tickets.keep(key, msgspec.json.encode(stored).decode(), TICKET_TTL_SECONDS)
    return StreamTicket(ticket=ticket, expires_in=TICKET_TTL_SECONDS)


async def redeem_ticket(ticket: str, order_id: int, ctx: LiveOrderContext) -> StreamGrant:
    """The grant a ticket carries, used up; AuthenticationFailed if it is not good for this order now."""
    key = ticket_key(ticket)
    stored = None if key is None else await ctx.tickets.take(key)
    if stored is None:
        raise AuthenticationFailed(BAD_TICKET)
    grant = msgspec.json.decode(stored, type=StreamGrant)
    if not grant.admits(order_id, ctx.clock.now()):
        raise AuthenticationFailed(BAD_TICKET)
    return grant


async def open_stream(
    order_id: int, grant: StreamGrant, last_event_id: str | None, ctx: LiveOrderContext
) -> OrderStream:
    """Check everything a stream needs before it starts (so the answer can still be an error):
    the Last-Event-ID, the session, the order, and the user's count of open streams."""
    after = parse_last_event_id(last_event_id)
    actor = await watcher(grant, ctx)
    async with ctx.uow() as uow:
        await visible_order(uow, order_id, actor)
    if ctx.open_streams[grant.user_id] >= ctx.max_streams:
        raise TooManyAttempts(
            f"At most {ctx.max_streams} live streams at once; close one first.",
            retry_after=max(1, round(ctx.heartbeat)),
        )
    return OrderStream(order_id, grant, after, ctx)


class OrderStream:
    """An opened stream: `items()` yields a StreamItem per change and None per heartbeat."""

    def __init__(self, order_id: int, grant: StreamGrant, after: int | None, ctx: LiveOrderContext) -> None:
        self.order_id = order_id
        self._grant = grant
        self._last = after
        self._ctx = ctx
        ctx.open_streams[grant.user_id] += 1
        # The slot is given back when the stream ends, or, if it never started, when it is dropped.
        self.close = weakref.finalize(self, _give_back, ctx.open_streams, grant.user_id)

    async def items(self, stop: asyncio.Event) -> AsyncIterator[StreamItem | None]:
        """Until `stop` is set, the session ends, the stream has lasted `max_seconds` (the client
        reconnects with Last-Event-ID, perhaps to another server), or the consumer stops iterating."""
        loop = asyncio.get_running_loop()
        end_at = loop.time() + self._ctx.max_seconds
        try:
            async with self._ctx.news.listen(self.order_id) as feed:
                if self._last is None:
                    baseline = await self._baseline()
                    self._last = baseline.id
                    yield baseline
                for item in await self._catch_up():
                    yield item
                beat_at = loop.time() + self._ctx.heartbeat
                while not stop.is_set():
                    if not await _first(feed.wait(max(min(beat_at, end_at) - loop.time(), 0)), stop):
                        if loop.time() >= end_at:
                            return
                        if loop.time() < beat_at:
                            continue  # stopped
                        await watcher(self._grant, self._ctx)  # ends the stream when the session did
                        beat_at = loop.time() + self._ctx.heartbeat
                        yield None
                    for item in await self._catch_up():
                        yield item
        except AuthenticationFailed:
            return
        finally:
            self.close()

    async def _baseline(self) -> StreamItem:
        async with self._ctx.uow() as uow:
            order = await uow.orders.get(self.order_id)
            last = await uow.orders.last_event_id(self.order_id)
            latest = await uow.orders.events_after(self.order_id, last - 1, limit=1) if last else []
        assert order is not None  # orders are never deleted
        event = latest[0] if latest else OrderEvent("placed", order.created_at, "", id=0)
        return StreamItem(id=event.id or 0, event=STATE, data=change_of(order, event))

    async def _catch_up(self) -> list[StreamItem]:
        """Every audit event after the last one sent (one indexed query when there is none)."""
        found: list[StreamItem] = []
        while True:
            assert self._last is not None
            async with self._ctx.uow() as uow:
                events = await uow.orders.events_after(self.order_id, self._last, limit=MAX_REPLAY_BATCH)
                order: Order | None = await uow.orders.get(self.order_id) if events else None
            if order is None:
                return found
            found += [StreamItem(id=e.id or 0, event=CHANGED, data=change_of(order, e)) for e in events]
            self._last = found[-1].id
            if len(events) < MAX_REPLAY_BATCH:
                return found


def _give_back(open_streams: Counter[int], user_id: int) -> None:
    open_streams[user_id] -= 1
    if open_streams[user_id] <= 0:
        del open_streams[user_id]


async def _first(news: Awaitable[bool], stop: asyncio.Event) -> bool:
    """Whether news came before the wait's timeout, or `stop` (then False)."""
    waiting = asyncio.ensure_future(news)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiting, stopping):
            task.cancel()
        await asyncio.gather(waiting, stopping, return_exceptions=True)
    return waiting.done() and not waiting.cancelled() and waiting.exception() is None and waiting.result()


class LiveOrders:
    """Live order status, bound to its ports (`shop.live_orders`)."""

    def __init__(self, ctx: LiveOrderContext) -> None:
        self.context = ctx

    async def issue_ticket(self, order_id: int, grant: StreamGrant) -> StreamTicket:
        return await issue_ticket(order_id, grant, self.context)

    async def redeem_ticket(self, ticket: str, order_id: int) -> StreamGrant:
        return await redeem_ticket(ticket, order_id, self.context)

    async def open_stream(self, order_id: int, grant: StreamGrant, last_event_id: str | None) -> OrderStream:
        return await open_stream(order_id, grant, last_event_id, self.context)


__all__ = ["LiveOrderContext", "LiveOrders", "OrderChange", "OrderStream", "StreamItem", "StreamTicket"]
