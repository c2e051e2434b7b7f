"""Webhooks under real parallel transactions on PostgreSQL: racing redeliveries of one event make one
new attempt; an event fanned out twice at once (a job run twice) is delivered once per subscription."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shop_core.bootstrap import webhook_context_of
from shop_core.domain.actors import Actor
from shop_core.domain.errors import Conflict
from shop_core.domain.webhooks import new_event_id
from shop_core.services.webhook_events import fan_out
from tests.http.conftest import in_app, shop_of
from tests.http.test_notifications import World, inbox  # noqa: F401 - a fixture
from tests.http.webhooks_support import deliveries, hooks_world, subscribe, verified
from tests.smtp_server import Inbox
from tests.webhook_receiver import Answer, Receiver

RACERS = 8


@pytest.fixture
async def pg_world(pg_url: str, inbox: Inbox) -> AsyncIterator[World]:  # noqa: F811 - the fixture
    async with hooks_world(pg_url, inbox, webhooks_timeout=30.0) as opened:
        yield opened


async def test_racing_redeliveries_make_one_new_attempt(pg_world: World, receiver: Receiver) -> None:
    world = pg_world
    hook = await subscribe(world, receiver.url(), "order.created")
    product = await world.product("Lamp")
    await world.order([(product["id"], 1)])
    await world.drain()
    [first] = await deliveries(world, hook)
    shop = shop_of(world.client)
    gate = threading.Event()
    receiver.answer_with(Answer(gate=gate))  # the redelivery is being sent until the race is over

    async def race() -> list[Any]:
        return await asyncio.gather(
            *(shop.webhooks.redeliver(first["id"], Actor.operator()) for _ in range(RACERS)),
            return_exceptions=True,
        )

    results = await in_app(world.client, race)
    made = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(made) == 1, results
    assert len(refused) == RACERS - 1, results
    assert all("waiting to be sent" in str(r) for r in refused)
    gate.set()
    await world.drain()
    assert [(d["attempt"], d["status"]) for d in await deliveries(world, hook)] == [
        (2, "succeeded"),
        (1, "succeeded"),
    ]
    assert len(receiver.received) == 2


async def test_an_event_fanned_out_twice_at_once_is_delivered_once_per_subscription(
    pg_world: World, receiver: Receiver
) -> None:
    world = pg_world
    hooks = [await subscribe(world, receiver.url(f"/{n}"), "stock.low") for n in range(3)]
    shop = shop_of(world.client)
    context = webhook_context_of(shop.settings, shop.ports)
    event_id = new_event_id()
    body = '{"type":"stock.low","timestamp":"2026-12-07T09:00:00Z","data":{"product_id":1,"stock":2}}'

    async def race() -> list[int]:
        return list(
            await asyncio.gather(*(fan_out(event_id, "stock.low", body, context) for _ in range(RACERS)))
        )

    made = await in_app(world.client, race)
    assert sum(made) == len(hooks)
    await world.drain()
    assert sorted(r.path for r in receiver.received) == ["/0", "/1", "/2"]
    for hook, got in zip(hooks, sorted(receiver.received, key=lambda r: r.path), strict=True):
        assert verified(hook["secret"], got)["data"] == {"product_id": 1, "stock": 2}
        assert got.headers["webhook-id"] == event_id
