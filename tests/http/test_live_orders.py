"""API.md Part 2, GET /api/orders/{id}/events/: an order's changes as Server-Sent Events, in one
process (no Redis) on both databases, with replay, heartbeats, tickets and every refusal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import httpx
import pytest

from shop_core.bootstrap import bootstrap
from shop_core.domain.actors import Actor
from shop_http import create_app
from tests.conftest import fast_hasher, make_settings
from tests.fakes import FakeClock
from tests.http.conftest import bearer
from tests.http.live_support import EventReader, World, account, stream, world_of

HEARTBEAT = 0.2


def app_of(database_url: str, clock: FakeClock | None = None, **changes: Any) -> Any:
    settings = make_settings(database_url, **{"sse_heartbeat_seconds": HEARTBEAT, **changes})
    factory = partial(bootstrap, hasher=fast_hasher(), **({"clock": clock} if clock else {}))
    return create_app(settings, shop_factory=factory)


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with world_of(app_of(database_url)) as opened:
        yield opened


@pytest.fixture
async def sqlite_world(sqlite_url: str) -> AsyncIterator[World]:
    async with world_of(app_of(sqlite_url)) as opened:
        yield opened


async def staff_post(world: World, path: str, **body: Any) -> httpx.Response:
    answer = await world.http.post(path, json=body or None, headers=world.staff.headers)
    assert answer.status_code in (200, 201), answer.text
    return answer


async def event_ids(world: World, order_id: int) -> list[int]:
    async with world.served.shop.ports.uow() as uow:
        return [e.id or 0 for e in await uow.orders.events(order_id)]


async def test_a_stream_starts_with_the_state_and_sends_every_change(world: World) -> None:
    order = await world.order()
    async with stream(world.http, order["id"], world.customer.headers) as events:
        assert events.response.headers["content-type"].startswith("text/event-stream")
        assert events.response.headers["cache-control"] == "no-cache"
        assert events.response.headers["x-accel-buffering"] == "no"
        baseline = await events.event()
        assert (baseline.event, baseline.retry) == ("order.state", "3000")
        assert int(baseline.id or 0) == (await event_ids(world, order["id"]))[-1]
        assert baseline.json == {
            "order_id": order["id"], "order_number": order["order_number"], "action": "placed",
            "at": baseline.json["at"], "status": "pending", "payment_status": "unpaid",
            "fulfillment_status": "unfulfilled", "refunded_amount": "0.00", "currency": "USD",
            "updated_at": baseline.json["updated_at"],
        }  # fmt: skip

        await staff_post(world, f"/api/orders/{order['id']}/confirm-cash/")  # the payment
        paid = await events.event()
        assert (paid.event, paid.json["status"], paid.json["payment_status"]) == (
            "order.updated",
            "paid",
            "paid",
        )
        moved = await world.http.patch(
            f"/api/orders/{order['id']}/", json={"status": "processing"}, headers=world.staff.headers
        )
        assert moved.status_code == 200, moved.text
        seen = [paid]
        while (latest := await events.event()).json["status"] != "processing":
            seen.append(latest)
        seen.append(latest)
        [line] = order["items"]
        await staff_post(
            world, f"/api/orders/{order['id']}/fulfillments/", lines=[{"item_id": line["id"], "quantity": 1}]
        )
        trail = await event_ids(world, order["id"])
        while int(seen[-1].id or 0) != trail[-1]:
            seen.append(await events.event())
        latest = seen[-1]
        assert (latest.json["status"], latest.json["fulfillment_status"]) == ("shipped", "fulfilled")
        assert "fulfilled" in {e.json["action"] for e in seen}
        # One event per audit event, in order, none twice, none left out.
        ids = [int(e.id or 0) for e in seen]
        assert ids == (await event_ids(world, order["id"]))[1:]


async def test_reconnecting_with_last_event_id_replays_what_was_missed(world: World) -> None:
    order = await world.order()
    [placed] = await event_ids(world, order["id"])
    await staff_post(world, f"/api/orders/{order['id']}/confirm-cash/")
    trail = await event_ids(world, order["id"])
    assert len(trail) >= 2
    for how in ("header", "query"):
        if how == "header":
            opened = stream(world.http, order["id"], {**world.customer.headers, "Last-Event-ID": str(placed)})
        else:
            opened = stream(world.http, order["id"], world.customer.headers, last_event_id=placed)
        async with opened as events:
            replayed = [await events.event() for _ in trail[1:]]
            assert [int(e.id or 0) for e in replayed] == trail[1:]
            assert {e.event for e in replayed} == {"order.updated"}
            assert replayed[-1].json["status"] == "paid"
    # The header wins over the query (EventSource keeps the URL and sends the newer id).
    headers = {**world.customer.headers, "Last-Event-ID": str(trail[-2])}
    async with stream(world.http, order["id"], headers, last_event_id=placed) as events:
        assert int((await events.event()).id or 0) == trail[-1]


async def test_heartbeats_come_and_a_missed_notice_is_caught_up_at_the_next(sqlite_world: World) -> None:
    world = sqlite_world
    order = await world.order()
    async with stream(world.http, order["id"], world.customer.headers) as events:
        await events.event()
        await events.heartbeat()
        await events.heartbeat()
        # A change whose news never came (announced to nobody): the heartbeat's look finds it.
        shop = world.served.shop
        async with shop.ports.uow() as uow:
            from shop_core.domain.orders import OrderEvent

            await uow.orders.add_events(order["id"], [OrderEvent("note", shop.ports.clock.now(), "test")])
            uow._on_orders = None  # type: ignore[attr-defined] - the announcement is lost
            await uow.commit()
        caught = await events.event()
        assert caught.json["action"] == "note"


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", "99999999999", "1 2", "1e3", "0x10", "+5"])
async def test_a_malformed_last_event_id_is_400(sqlite_world: World, bad: str) -> None:
    order = await sqlite_world.order()
    path = f"/api/orders/{order['id']}/events/"
    headers = sqlite_world.customer.headers
    answer = await sqlite_world.http.get(path, headers={**headers, "Last-Event-ID": bad})
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"] == {
        "last_event_id": ["Last-Event-ID must be an event id this stream sent."]
    }
    answer = await sqlite_world.http.get(path, headers=headers, params={"last_event_id": bad})
    assert answer.status_code == 400, answer.text


async def test_who_may_watch(sqlite_world: World) -> None:
    world = sqlite_world
    order = await world.order()
    path = f"/api/orders/{order['id']}/events/"
    assert (await world.http.get(path)).status_code == 401
    assert (await world.http.get(path, headers={"Authorization": "Basic eDp5"})).status_code == 401
    assert (await world.http.get(path, headers=bearer("not.a.token"))).status_code == 401
    assert (await world.http.get(path, headers=bearer(world.customer.refresh))).status_code == 401
    stranger = await account(world.http)
    assert (await world.http.get(path, headers=stranger.headers)).json()["code"] == "not_found"
    assert (
        await world.http.get("/api/orders/999999/events/", headers=world.staff.headers)
    ).status_code == 404
    assert (await world.http.get("/api/orders/0/events/", headers=world.staff.headers)).status_code == 400
    async with stream(world.http, order["id"], world.staff.headers) as events:  # staff see every order
        assert (await events.event()).event == "order.state"


async def ticket_of(world: World, order_id: int, headers: dict[str, str] | None = None) -> str:
    answer = await world.http.post(
        f"/api/orders/{order_id}/events/ticket/", headers=headers or world.customer.headers
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["expires_in"] == 60
    ticket: str = answer.json()["ticket"]
    return ticket


async def test_a_ticket_opens_one_stream_once(sqlite_world: World) -> None:
    world = sqlite_world
    order = await world.order()
    ticket = await ticket_of(world, order["id"])
    async with stream(world.http, order["id"], ticket=ticket) as events:
        assert (await events.event()).json["order_id"] == order["id"]
    again = await world.http.get(f"/api/orders/{order['id']}/events/", params={"ticket": ticket})
    assert again.status_code == 401


async def test_two_uses_of_one_ticket_at_once_one_wins(sqlite_world: World) -> None:
    world = sqlite_world
    order = await world.order()
    ticket = await ticket_of(world, order["id"])
    statuses: list[int] = []

    async def use() -> None:
        async with world.http.stream(
            "GET", f"/api/orders/{order['id']}/events/", params={"ticket": ticket}
        ) as r:
            statuses.append(r.status_code)

    await asyncio.gather(use(), use())
    assert sorted(statuses) == [200, 401]


async def test_tickets_refused(sqlite_world: World) -> None:
    world = sqlite_world
    order, other = await world.order(), await world.order()
    path = f"/api/orders/{order['id']}/events/"
    for garbage in ("", "x", "a" * 500, "../../etc", "%00"):
        assert (await world.http.get(path, params={"ticket": garbage})).status_code == 401
    for_other = await ticket_of(world, other["id"])
    assert (await world.http.get(path, params={"ticket": for_other})).status_code == 401
    both = await world.http.get(
        path, params={"ticket": await ticket_of(world, order["id"])}, headers=world.customer.headers
    )
    assert both.status_code == 400
    stranger = await account(world.http)
    refused = await world.http.post(f"/api/orders/{order['id']}/events/ticket/", headers=stranger.headers)
    assert refused.status_code == 404
    assert (await world.http.post(f"/api/orders/{order['id']}/events/ticket/")).status_code == 401


async def test_a_ticket_expires(sqlite_url: str) -> None:
    clock = FakeClock()
    async with world_of(app_of(sqlite_url, clock)) as world:
        order = await world.order()
        ticket = await ticket_of(world, order["id"])
        clock.advance(61)
        assert (
            await world.http.get(f"/api/orders/{order['id']}/events/", params={"ticket": ticket})
        ).status_code == 401
        ticket = await ticket_of(world, order["id"])
        clock.advance(59)
        async with stream(world.http, order["id"], ticket=ticket) as events:
            assert (await events.event()).event == "order.state"


async def ended(events: EventReader) -> None:
    while (await events.next()) is not None:
        pass


async def test_the_stream_ends_when_the_user_is_deactivated_or_signs_out(sqlite_world: World) -> None:
    world = sqlite_world
    order = await world.order()
    async with stream(world.http, order["id"], world.customer.headers) as events:
        await events.event()
        signed_out = await world.http.post(
            "/api/auth/logout/", json={"refresh": world.customer.refresh}, headers=world.customer.headers
        )
        assert signed_out.status_code in (200, 204), signed_out.text
        await ended(events)
    assert (
        await world.http.get(f"/api/orders/{order['id']}/events/", headers=world.customer.headers)
    ).status_code == 401
    customer = await account(world.http)
    order = await world.order(customer)
    ticket = await ticket_of(world, order["id"], customer.headers)
    async with stream(world.http, order["id"], ticket=ticket) as events:
        await events.event()
        await world.served.shop.accounts.deactivate_user(customer.email, Actor.operator())
        await ended(events)


async def test_a_user_may_hold_only_so_many_streams(sqlite_url: str) -> None:
    async with world_of(app_of(sqlite_url, sse_max_streams_per_user=2)) as world:
        order = await world.order()
        path = f"/api/orders/{order['id']}/events/"
        async with (
            stream(world.http, order["id"], world.customer.headers),
            stream(world.http, order["id"], world.customer.headers),
        ):
            third = await world.http.get(path, headers=world.customer.headers)
            assert third.status_code == 429
            assert third.headers["retry-after"]
            async with stream(world.http, order["id"], world.staff.headers) as other:  # another user's count
                await other.event()
        # Both closed: their slots are free again.
        async with stream(world.http, order["id"], world.customer.headers) as events:
            await events.event()


async def test_a_stream_ends_after_its_longest_life_and_resumes(sqlite_url: str) -> None:
    async with world_of(app_of(sqlite_url, sse_max_stream_seconds=0.5, sse_heartbeat_seconds=60)) as world:
        order = await world.order()
        async with stream(world.http, order["id"], world.customer.headers) as events:
            baseline = await events.event()
            await ended(events)  # no heartbeat due: the stream's life ran out
        headers = {**world.customer.headers, "Last-Event-ID": baseline.id or ""}
        await staff_post(world, f"/api/orders/{order['id']}/confirm-cash/")
        async with stream(world.http, order["id"], headers) as events:
            assert (await events.event()).json["status"] == "paid"


async def test_the_ticket_is_never_logged(sqlite_world: World, caplog: pytest.LogCaptureFixture) -> None:
    world = sqlite_world
    order = await world.order()
    ticket = await ticket_of(world, order["id"])
    with caplog.at_level(logging.DEBUG):
        async with stream(world.http, order["id"], ticket=ticket) as events:
            await events.event()
        used = await world.http.get(f"/api/orders/{order['id']}/events/", params={"ticket": ticket})
        assert used.status_code == 401
        await world.http.get("/health/live")  # a later request: the stream's access line is out by now
    lines = [r for r in caplog.records if r.name == "shop.http"]
    assert {(r.getMessage().split()[1], r.getMessage().split()[2]) for r in lines} >= {
        ("/api/orders/{order_id}/events", "200"),
        ("/api/orders/{order_id}/events", "401"),
    }
    for record in caplog.records:
        if record.name.startswith(("httpx", "httpcore")):
            continue  # the test's own client, which logs the URL it asks for
        assert ticket not in record.getMessage()
        assert ticket not in repr(record.__dict__)
