"""Order news over Redis pub/sub, so a stream on one server process hears what another committed.

One channel (`<prefix>order-news`) carries the ids of changed orders. Each process holds ONE
subscription, opened with the first stream and shared by all of them, and fans the news out to its
local feeds. Redis being down never fails the request that changed an order (the announcement is
logged and dropped) nor a stream (the subscription reconnects; streams also catch up from the
database at every heartbeat, and all of them look again once it is back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from contextlib import AbstractAsyncContextManager
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shop_core.adapters.inprocess_order_news import Feed, LocalListeners
from shop_core.adapters.redis_errors import reachable

log = logging.getLogger("shop.order_news")
RECONNECT_DELAY = 1.0  # seconds between attempts to subscribe again after losing Redis
_CLOSE_GRACE = 2.0  # seconds the announcements under way get at shutdown


class RedisOrderNews:
    def __init__(self, publisher: Redis, subscriber: Redis, prefix: str = "shop:") -> None:
        """`subscriber` is a client without a socket timeout: a quiet channel is not an error."""
        self._publisher = publisher
        self._subscriber = subscriber
        self.channel = f"{prefix}order-news"
        self._listeners = LocalListeners()
        self._announcing: set[asyncio.Task[None]] = set()
        self._unsent: set[int] = set()  # announced while a publish was under way: the next one's
        self._publishing: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()
        """Set while the subscription is up (tests wait on it)."""

    def announce(self, order_ids: Collection[int]) -> None:
        if not order_ids:
            return
        self._listeners.wake(order_ids)  # this process's streams need no round trip
        # One publish at a time: what commits announce meanwhile goes out together in the next
        # message, right after it (under load, one round trip for many orders, not one each).
        self._unsent.update(order_ids)
        if self._publishing is not None and not self._publishing.done():
            return
        task = asyncio.get_running_loop().create_task(self._publish_unsent())
        self._publishing = task
        self._announcing.add(task)
        task.add_done_callback(self._announcing.discard)

    async def _publish_unsent(self) -> None:
        while self._unsent:
            order_ids, self._unsent = sorted(self._unsent), set()
            await self._publish(order_ids)

    async def _publish(self, order_ids: list[int]) -> None:
        try:
            await self._publisher.publish(self.channel, " ".join(map(str, order_ids)))
        except (RedisError, OSError) as exc:
            log.warning(
                "Order news for %s not published (streams catch up at their next heartbeat): %s",
                order_ids,
                exc,
            )

    def listen(self, order_id: int) -> AbstractAsyncContextManager[Feed]:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read())
        return self._listeners.listen(order_id)

    async def _read(self) -> None:
        while True:
            pubsub: Any = self._subscriber.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.subscribed.set()
                self._listeners.wake_all()  # what was said while we were not listening
                async for message in pubsub.listen():
                    self._listeners.wake(_ids(message.get("data")))
            except (RedisError, OSError) as exc:
                log.warning("Order news subscription lost; subscribing again: %s", exc)
            finally:
                self.subscribed.clear()
                await _quietly_close(pubsub)
            await asyncio.sleep(RECONNECT_DELAY)  # a back-off, not a wait for something to happen

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._announcing:
            _, late = await asyncio.wait(set(self._announcing), timeout=_CLOSE_GRACE)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)


def _ids(data: object) -> list[int]:
    text = data.decode() if isinstance(data, bytes) else str(data)
    return [int(part) for part in text.split() if part.isdigit()]


async def _quietly_close(pubsub: Any) -> None:
    with contextlib.suppress(RedisError, OSError):
        await pubsub.aclose()


class RedisStreamTickets:
    """Tickets as keys that expire; taken with GETDEL, so of two uses at once only one gets it."""

    def __init__(self, client: Redis, prefix: str = "shop:") -> None:
        self._redis = client
        self._prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self._prefix}stream-ticket:{key}"

    async def keep(self, key: str, grant: str, ttl_seconds: int) -> None:
        async with reachable("Stream tickets are"):
            await self._redis.set(self._key(key), grant, ex=ttl_seconds)

    async def take(self, key: str) -> str | None:
        async with reachable("Stream tickets are"):
            found = await self._redis.getdel(self._key(key))
        return None if found is None else (found.decode() if isinstance(found, bytes) else str(found))
