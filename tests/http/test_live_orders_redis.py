"""Live order status with Redis, on PostgreSQL: two server instances share news over pub/sub and
tickets as Redis keys; a Redis outage fails no change and loses no event."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from shop_core.adapters.redis_order_news import RedisOrderNews
from tests.http.live_support import TIMEOUT, Served, World, account, product, serve, stream
from tests.http.test_live_orders import app_of, ticket_of
from tests.redis_outage import RedisOutage, redis_outage


class Pair:
    def __init__(self, a: World, b: httpx.AsyncClient, served_b: Served) -> None:
        self.a, self.b, self.served_b = a, b, served_b


async def pair_of(stack: AsyncExitStack, pg_url: str, **changes: Any) -> Pair:
    served_a = await stack.enter_async_context(serve(app_of(pg_url, **changes)))
    served_b = await stack.enter_async_context(serve(app_of(pg_url, **changes)))
    a = await stack.enter_async_context(httpx.AsyncClient(base_url=served_a.base_url, timeout=TIMEOUT))
    b = await stack.enter_async_context(httpx.AsyncClient(base_url=served_b.base_url, timeout=TIMEOUT))
    staff = await account(a, served_a.shop)
    world = World(served_a, a, staff, await account(a), await product(served_a.shop))
    return Pair(world, b, served_b)


@pytest.fixture
async def pair(pg_url: str, redis_url: str, redis_prefix: str) -> AsyncIterator[Pair]:
    async with AsyncExitStack() as stack:
        # Heartbeats far apart: what a stream hears within the test's waits came over Redis.
        yield await pair_of(
            stack, pg_url, redis_url=redis_url, redis_key_prefix=redis_prefix, sse_heartbeat_seconds=120
        )


async def test_a_change_made_on_one_instance_reaches_a_stream_on_the_other(pair: Pair) -> None:
    assert isinstance(pair.a.served.shop.ports.news, RedisOrderNews)
    order = await pair.a.order()
    async with stream(pair.a.http, order["id"], pair.a.customer.headers) as events:
        assert (await events.event()).json["status"] == "pending"
        confirmed = await pair.b.post(
            f"/api/orders/{order['id']}/confirm-cash/", headers=pair.a.staff.headers
        )
        assert confirmed.status_code == 200, confirmed.text
        paid = await events.event()
        assert (paid.json["status"], paid.json["payment_status"]) == ("paid", "paid")


async def test_one_subscription_per_process_serves_every_stream(pair: Pair, redis_url: str) -> None:
    from redis.asyncio import Redis

    news = pair.a.served.shop.ports.news
    assert isinstance(news, RedisOrderNews)
    orders = [await pair.a.order() for _ in range(3)]
    async with AsyncExitStack() as stack:
        readers = [
            await stack.enter_async_context(stream(pair.a.http, o["id"], pair.a.customer.headers))
            for o in orders
        ]
        for reader in readers:
            await reader.event()
        await asyncio.wait_for(news.subscribed.wait(), TIMEOUT)
        client = Redis.from_url(redis_url)
        try:
            [(_, subscribers)] = await client.pubsub_numsub(news.channel)
        finally:
            await client.aclose()
        assert subscribers == 1  # A's one subscription (B has no stream, so none)
        for o in orders:
            moved = await pair.b.post(f"/api/orders/{o['id']}/confirm-cash/", headers=pair.a.staff.headers)
            assert moved.status_code == 200
        for reader, o in zip(readers, orders, strict=True):
            heard = await reader.event()
            assert (heard.json["order_id"], heard.json["status"]) == (o["id"], "paid")


async def test_a_ticket_is_used_once_across_instances(pair: Pair) -> None:
    order = await pair.a.order()
    ticket = await ticket_of(pair.a, order["id"])
    statuses: list[int] = []

    async def use(http: httpx.AsyncClient) -> None:
        async with http.stream(
            "GET", f"/api/orders/{order['id']}/events/", params={"ticket": ticket}
        ) as answer:
            statuses.append(answer.status_code)

    await asyncio.gather(use(pair.a.http), use(pair.b))
    assert sorted(statuses) == [200, 401]
    # Issued on one instance, good on the other.
    other = await ticket_of(pair.a, order["id"])
    async with stream(pair.b, order["id"], ticket=other) as events:
        assert (await events.event()).event == "order.state"


@pytest.fixture
async def outage(redis_url: str) -> AsyncIterator[RedisOutage]:
    async with redis_outage(redis_url) as proxy:
        yield proxy


async def test_redis_down_fails_no_change_and_loses_no_event(
    pg_url: str, redis_prefix: str, outage: RedisOutage, caplog: pytest.LogCaptureFixture
) -> None:
    async with AsyncExitStack() as stack:
        pair = await pair_of(stack, pg_url, redis_url=outage.url, redis_key_prefix=redis_prefix,
                             sse_heartbeat_seconds=0.3)  # fmt: skip
        news = pair.a.served.shop.ports.news
        assert isinstance(news, RedisOrderNews)
        order = await pair.a.order()
        async with stream(pair.a.http, order["id"], pair.a.customer.headers) as events:
            await events.event()
            await asyncio.wait_for(news.subscribed.wait(), TIMEOUT)
            outage.down()
            with caplog.at_level(logging.WARNING, logger="shop.order_news"):
                confirmed = await pair.b.post(
                    f"/api/orders/{order['id']}/confirm-cash/", headers=pair.a.staff.headers
                )
                assert confirmed.status_code == 200, confirmed.text  # the change is made and answered
                paid = await events.event()  # caught up at a heartbeat
                assert paid.json["status"] == "paid"
            assert any("not published" in r.getMessage() for r in caplog.records)
            outage.up()
            await asyncio.wait_for(news.subscribed.wait(), TIMEOUT)  # subscribed again
            moved = await pair.b.patch(
                f"/api/orders/{order['id']}/", json={"status": "processing"}, headers=pair.a.staff.headers
            )
            assert moved.status_code == 200, moved.text
            while (await events.event()).json["status"] != "processing":
                pass


@pytest.mark.redis
async def test_news_announced_while_a_publish_is_under_way_all_reach_the_other_process(
    redis_url: str, redis_prefix: str
) -> None:
    """Commits announce faster than Redis answers: what comes meanwhile goes out in the next message,
    and every order's stream on the other process hears of its order."""
    from redis.asyncio import Redis

    clients = [Redis.from_url(redis_url) for _ in range(4)]
    here = RedisOrderNews(clients[0], clients[1], redis_prefix)
    there = RedisOrderNews(clients[2], clients[3], redis_prefix)
    try:
        async with AsyncExitStack() as stack:
            feeds = [await stack.enter_async_context(there.listen(order_id)) for order_id in range(1, 8)]
            await asyncio.wait_for(there.subscribed.wait(), TIMEOUT)
            for order_id in range(1, 8):  # one after the other, without waiting for Redis
                here.announce([order_id])
            heard = [await feed.wait(TIMEOUT) for feed in feeds]
        assert heard == [True] * 7
    finally:
        await here.aclose()
        await there.aclose()
        for client in clients:
            await client.aclose()
