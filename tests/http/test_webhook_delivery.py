"""Outgoing webhooks delivered to a real local HTTP server: signed (checked with the Standard
Webhooks algorithm written out in the test), retried until a failing receiver recovers, a timeout
and a redirect counted as failures, the answer kept as a short excerpt, redelivered with the same
id; never sent for a change that rolled back; one event for each place where it happens.

The in-process queue runs the jobs after each commit (retries 10 ms apart); `drain` waits until
every job and its retries are done: no sleeping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest
import sqlalchemy as sa

from shop_core.domain.webhook_deliveries import ATTEMPTS
from tests.http.conftest import engine_of, in_app
from tests.http.test_notifications import World, inbox  # noqa: F401 - a fixture
from tests.http.webhooks_support import deliveries, hooks_world, sql, subscribe, verified
from tests.smtp_server import Inbox
from tests.webhook_receiver import Answer, Receiver


@pytest.fixture
async def world(database_url: str, inbox: Inbox) -> AsyncIterator[World]:  # noqa: F811 - the fixture
    async with hooks_world(database_url, inbox) as opened:
        yield opened


async def test_an_order_placed_is_delivered_signed_with_the_order_as_staff_see_it(
    world: World, receiver: Receiver
) -> None:
    hook = await subscribe(world, receiver.url(), "order.created")
    product = await world.product("Lamp", "25.00")
    order = await world.order([(product["id"], 2)])
    await world.drain()

    [got] = receiver.received
    assert got.path == "/hooks"
    body = verified(hook["secret"], got)
    assert body["type"] == "order.created"
    assert datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    as_staff_see_it = await world.client.get(f"/api/orders/{order['id']}/", headers=world.staff.headers)
    without_trail = {k: v for k, v in as_staff_see_it.json().items() if k != "events"}
    assert {k: v for k, v in body["data"].items() if k != "events"} == without_trail
    assert body["data"]["items"][0]["quantity"] == 2
    assert got.headers["webhook-id"].startswith("msg_")
    [attempt] = await deliveries(world, hook)
    assert attempt["event_id"] == got.headers["webhook-id"]
    assert (attempt["event_type"], attempt["attempt"], attempt["status"]) == ("order.created", 1, "succeeded")
    assert attempt["response_status"] == 200
    assert attempt["response_excerpt"] == '{"ok":true}'
    assert attempt["duration_ms"] >= 0
    assert attempt["finished_at"] is not None
    assert attempt["next_retry_at"] is None
    stored = await sql(world, "SELECT payload FROM webhook_deliveries")
    assert [row[0].encode() for row in stored] == [got.body]  # the exact bytes, kept


async def test_a_failing_receiver_is_retried_until_it_recovers(world: World, receiver: Receiver) -> None:
    hook = await subscribe(world, receiver.url(), "order.created")
    receiver.answer_with(Answer(500, b"Internal Server Error"))
    product = await world.product("Lamp")
    await world.order([(product["id"], 1)])
    await world.drain()

    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    verified(hook["secret"], second)
    newest, oldest = await deliveries(world, hook)
    assert (oldest["attempt"], oldest["status"], oldest["response_status"]) == (1, "retrying", 500)
    assert oldest["error"] == "HTTP 500"
    assert oldest["response_excerpt"] == "Internal Server Error"
    assert oldest["next_retry_at"] is not None
    assert oldest["next_retry_at"] >= oldest["finished_at"]
    assert (newest["attempt"], newest["status"], newest["response_status"]) == (2, "succeeded", 200)


async def test_a_receiver_that_never_recovers_fails_after_the_last_attempt(
    world: World, receiver: Receiver
) -> None:
    hook = await subscribe(world, receiver.url(), "order.created")
    receiver.answer_with(*[Answer(503, b"down")] * ATTEMPTS)
    product = await world.product("Lamp")
    await world.order([(product["id"], 1)])
    await world.drain()

    assert len(receiver.received) == ATTEMPTS
    attempts = await deliveries(world, hook)
    assert [a["attempt"] for a in attempts] == list(range(ATTEMPTS, 0, -1))
    assert [a["status"] for a in attempts] == ["failed"] + ["retrying"] * (ATTEMPTS - 1)
    assert attempts[0]["next_retry_at"] is None


async def test_a_timeout_and_a_redirect_are_failures_and_the_redirect_is_not_followed(
    world: World, receiver: Receiver
) -> None:
    hook = await subscribe(world, receiver.url(), "order.created")
    elsewhere = receiver.url("/elsewhere")
    receiver.answer_with(Answer(hang=True), Answer(302, b"", (("location", elsewhere),)))
    product = await world.product("Lamp")
    await world.order([(product["id"], 1)])
    await world.drain()

    assert [r.path for r in receiver.received] == ["/hooks", "/hooks", "/hooks"]  # never /elsewhere
    third, second, first = await deliveries(world, hook)
    assert (first["status"], first["response_status"]) == ("retrying", None)
    assert first["error"] == "timed out after 1 s"
    assert (second["status"], second["response_status"]) == ("retrying", 302)
    assert "redirects are not followed" in second["error"]
    assert third["status"] == "succeeded"


async def test_only_a_short_excerpt_of_the_answer_is_kept(world: World, receiver: Receiver) -> None:
    hook = await subscribe(world, receiver.url(), "order.created")
    receiver.answer_with(Answer(200, b"x" * 20_000))
    product = await world.product("Lamp")
    await world.order([(product["id"], 1)])
    await world.drain()

    [attempt] = await deliveries(world, hook)
    assert attempt["response_excerpt"] == "x" * 256
    [(longest,)] = await sql(world, "SELECT max(length(response_excerpt)) FROM webhook_deliveries")
    assert longest == 256


async def test_a_redelivery_is_a_new_attempt_with_the_same_id_and_body(
    world: World, receiver: Receiver
) -> None:
    hook = await subscribe(world, receiver.url(), "order.created")
    product = await world.product("Lamp")
    await world.order([(product["id"], 1)])
    await world.drain()
    [first] = await deliveries(world, hook)

    again = await world.client.post(
        f"/api/webhooks/{hook['id']}/deliveries/{first['id']}/redeliver/", headers=world.staff.headers
    )
    assert again.status_code == 202, again.text
    assert (again.json()["attempt"], again.json()["status"]) == (2, "pending")
    await world.drain()

    original, repeat = receiver.received
    assert repeat.headers["webhook-id"] == original.headers["webhook-id"]
    assert repeat.body == original.body
    verified(hook["secret"], repeat)
    newest, _ = await deliveries(world, hook)
    assert (newest["attempt"], newest["status"]) == (2, "succeeded")


async def test_a_paused_or_removed_subscription_receives_nothing_more(
    world: World, receiver: Receiver
) -> None:
    paused = await subscribe(world, receiver.url("/paused"), "order.created")
    removed = await subscribe(world, receiver.url("/removed"), "order.created")
    kept = await subscribe(world, receiver.url("/kept"), "order.created")
    off = await world.client.patch(
        f"/api/webhooks/{paused['id']}/", json={"is_active": False}, headers=world.staff.headers
    )
    assert off.status_code == 200, off.text
    gone = await world.client.delete(f"/api/webhooks/{removed['id']}/", headers=world.staff.headers)
    assert gone.status_code == 204
    product = await world.product("Lamp")
    await world.order([(product["id"], 1)])
    await world.drain()

    assert [r.path for r in receiver.received] == ["/kept"]
    assert await deliveries(world, paused) == []
    assert len(await deliveries(world, kept)) == 1


async def test_nothing_is_recorded_while_no_subscription_listens(world: World, receiver: Receiver) -> None:
    await subscribe(world, receiver.url(), "product.updated")  # another event type
    product = await world.product("Lamp")
    await world.order([(product["id"], 1)])
    await world.drain()

    assert await sql(world, "SELECT id FROM jobs WHERE name LIKE 'webhook.%'") == []
    assert receiver.received == []


async def test_a_change_that_rolls_back_after_the_emit_point_records_and_sends_nothing(
    sqlite_url: str,
    inbox: Inbox,  # noqa: F811 - the fixture
    receiver: Receiver,
) -> None:
    async with hooks_world(sqlite_url, inbox, low_stock_threshold=5) as world:
        hook = await subscribe(world, receiver.url(), "order.created", "stock.low")
        product = await world.product("Lamp", stock=6)
        # The order's transaction records order.created, then the low-stock alert, which fails.
        await sql_write(
            world,
            "CREATE TRIGGER refuse_alert BEFORE INSERT ON jobs WHEN NEW.name = 'stock.low_alert' "
            "BEGIN SELECT RAISE(ABORT, 'the alert cannot be recorded'); END",
        )
        failed = await world.place([(product["id"], 2)])
        assert failed.status_code == 500
        await world.drain()
        assert await sql(world, "SELECT id FROM jobs WHERE name LIKE 'webhook.%'") == []
        assert await sql(world, "SELECT id FROM orders") == []
        assert await deliveries(world, hook) == []
        assert receiver.received == []

        await sql_write(world, "DROP TRIGGER refuse_alert")
        await world.order([(product["id"], 2)])
        await world.drain()
        assert sorted(verified(hook["secret"], r)["type"] for r in receiver.received) == [
            "order.created",
            "stock.low",
        ]


async def sql_write(world: World, statement: str) -> None:
    async def run() -> None:
        async with engine_of(world.client).begin() as conn:
            await conn.execute(sa.text(statement))

    await in_app(world.client, run)
