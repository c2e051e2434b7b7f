"""API.md Part 2, the webhooks row: staff subscribe URLs to events, change, pause and remove them,
read their deliveries; the secret is shown once. Bad input is a precise 4xx that changes nothing;
private targets are refused when subscribing and, through DNS, when delivering."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from shop_core.adapters.httpx_webhook_sender import HttpxWebhookSender
from shop_core.domain.webhook_deliveries import Subscription
from tests.http.conftest import assert_error
from tests.http.test_notifications import World, inbox  # noqa: F401 - a fixture
from tests.http.webhooks_support import deliveries, hooks_world, sql, subscribe, verified
from tests.smtp_server import Inbox
from tests.webhook_receiver import Answer, Receiver

FIELDS = {"id", "url", "events", "description", "is_active", "created_at", "updated_at"}
URL = "https://erp.example.com/hooks"
PRIVATE_TARGETS = [
    "http://127.0.0.1/hooks",
    "http://127.1.2.3:8080/",
    "http://10.0.0.5/",
    "http://172.16.3.4/",
    "http://192.168.1.10/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://0.0.0.0/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://localhost:8000/",
    "http://printer.local/",
]
BAD_URLS = [
    "ftp://erp.example.com/hooks",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "https://user:pass@erp.example.com/",
    "https://token@erp.example.com/",
    "https:///nohost",
    "https://erp.example.com:99999/",
    "https://erp.example.com/a b",
    "https://erp.example.com/\x00",
    "https://" + "a" * 2000 + ".com/",
    "",
]


@pytest.fixture
async def world(database_url: str, inbox: Inbox) -> AsyncIterator[World]:  # noqa: F811 - the fixture
    async with hooks_world(database_url, inbox, webhooks_allow_private=False) as opened:
        yield opened


async def stored(world: World) -> list[Any]:
    return await sql(
        world,
        "SELECT id, url, events, description, is_active, updated_at FROM webhook_subscriptions ORDER BY id",
    )


async def test_a_subscription_is_made_listed_changed_paused_and_removed(world: World) -> None:
    made = await subscribe(world, URL, "order.paid", "order.cancelled", "order.paid", description="ERP")
    assert set(made) == FIELDS | {"secret"}
    assert made["events"] == ["order.paid", "order.cancelled"]  # each once, in the order sent
    assert made["secret"].startswith("whsec_")
    assert (made["url"], made["description"], made["is_active"]) == (URL, "ERP", True)

    listed = await world.client.get("/api/webhooks/", headers=world.staff.headers)
    assert listed.status_code == 200
    assert [set(r) for r in listed.json()["results"]] == [FIELDS]
    one = await world.client.get(f"/api/webhooks/{made['id']}/", headers=world.staff.headers)
    assert set(one.json()) == FIELDS

    changed = await world.client.patch(
        f"/api/webhooks/{made['id']}/",
        json={"events": ["stock.low"], "is_active": False},
        headers=world.staff.headers,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["events"], changed.json()["is_active"], changed.json()["url"]) == (
        ["stock.low"],
        False,
        URL,
    )
    assert set(changed.json()) == FIELDS

    gone = await world.client.delete(f"/api/webhooks/{made['id']}/", headers=world.staff.headers)
    assert gone.status_code == 204
    assert_error(await world.client.get(f"/api/webhooks/{made['id']}/", headers=world.staff.headers), 404)
    assert await stored(world) == []


async def test_the_secret_is_shown_once_and_never_logged(
    sqlite_url: str,
    inbox: Inbox,  # noqa: F811 - the fixture
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with hooks_world(sqlite_url, inbox) as world:
        made = await subscribe(world, receiver.url(), "order.created")
        product = await world.product("Lamp")
        await world.order([(product["id"], 1)])
        await world.drain()
        verified(made["secret"], receiver.received[0])
        answers = [
            await world.client.get("/api/webhooks/", headers=world.staff.headers),
            await world.client.get(f"/api/webhooks/{made['id']}/", headers=world.staff.headers),
            await world.client.get(f"/api/webhooks/{made['id']}/deliveries/", headers=world.staff.headers),
            await world.client.patch(
                f"/api/webhooks/{made['id']}/", json={"description": "x"}, headers=world.staff.headers
            ),
            await world.client.get("/api/jobs/", headers=world.staff.headers),
        ]
    key = made["secret"].removeprefix("whsec_")
    assert all(key not in a.text for a in answers)
    assert key not in caplog.text
    assert receiver.url() not in caplog.text  # a receiver's URL may hold its own token
    now = datetime.now(UTC)
    assert key not in repr(Subscription(made["url"], made["events"], made["secret"], now, now))


async def test_unknown_events_and_bad_urls_are_400_and_store_nothing(world: World) -> None:
    bodies: list[Any] = [
        {"url": URL, "events": ["order.teleported"]},
        {"url": URL, "events": []},
        {"url": URL, "events": "order.paid"},
        {"url": URL, "events": [1]},
        {"url": URL},
        {"events": ["order.paid"]},
        {"url": URL, "events": ["order.paid"], "secret": "whsec_mine"},
        {"url": URL, "events": ["order.paid"], "description": "x" * 501},
        {"url": URL, "events": ["order.paid"], "is_active": "yes"},
        [],
        *({"url": bad, "events": ["order.paid"]} for bad in BAD_URLS + PRIVATE_TARGETS),
    ]
    for body in bodies:
        answer = await world.client.post("/api/webhooks/", json=body, headers=world.staff.headers)
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["code"] == "invalid", answer.text
    answer = await world.client.post(
        "/api/webhooks/", json={"url": URL, "events": ["order.teleported"]}, headers=world.staff.headers
    )
    assert "order.teleported" in assert_error(answer, 400)["errors"]["events"][0]
    answer = await world.client.post(
        "/api/webhooks/",
        json={"url": "http://10.0.0.5/", "events": ["order.paid"]},
        headers=world.staff.headers,
    )
    assert "private" in assert_error(answer, 400)["errors"]["url"][0]
    assert await stored(world) == []


async def test_bad_changes_are_4xx_and_change_nothing(world: World) -> None:
    made = await subscribe(world, URL, "order.paid")
    before = await stored(world)
    path = f"/api/webhooks/{made['id']}/"
    for body in [
        {"url": "http://192.168.0.1/"},
        {"url": "gopher://erp.example.com/"},
        {"events": ["nope"]},
        {"events": []},
        {"is_active": None},
        {"description": "\x00"},
        {"unknown": 1},
    ]:
        answer = await world.client.patch(path, json=body, headers=world.staff.headers)
        assert answer.status_code == 400, (body, answer.text)
    for wrong in ("/api/webhooks/0/", "/api/webhooks/-1/", "/api/webhooks/2147483648/", "/api/webhooks/x/"):
        assert (await world.client.patch(wrong, json={}, headers=world.staff.headers)).status_code in (
            400,
            404,
        )
    assert_error(await world.client.patch("/api/webhooks/999/", json={}, headers=world.staff.headers), 404)
    assert_error(await world.client.delete("/api/webhooks/999/", headers=world.staff.headers), 404)
    assert_error(await world.client.get("/api/webhooks/999/deliveries/", headers=world.staff.headers), 404)
    assert_error(await world.client.get(f"{path}deliveries/?page_size=0", headers=world.staff.headers), 400)
    assert_error(await world.client.post(f"{path}deliveries/1/redeliver/", headers=world.staff.headers), 404)
    assert_error(await world.client.post(f"{path}deliveries/0/redeliver/", headers=world.staff.headers), 400)
    assert await stored(world) == before


async def test_only_staff(world: World) -> None:
    made = await subscribe(world, URL, "order.paid")
    calls = [
        ("GET", "/api/webhooks/", None),
        ("POST", "/api/webhooks/", {"url": URL, "events": ["order.paid"]}),
        ("GET", f"/api/webhooks/{made['id']}/", None),
        ("PATCH", f"/api/webhooks/{made['id']}/", {"is_active": False}),
        ("DELETE", f"/api/webhooks/{made['id']}/", None),
        ("GET", f"/api/webhooks/{made['id']}/deliveries/", None),
        ("POST", f"/api/webhooks/{made['id']}/deliveries/1/redeliver/", None),
    ]
    for method, path, body in calls:
        customer = await world.client.request(method, path, json=body, headers=world.customer.headers)
        assert_error(customer, 403)
        assert_error(await world.client.request(method, path, json=body), 401)
    assert len(await stored(world)) == 1


async def test_redelivery_is_refused_while_paused_or_while_an_attempt_waits(
    sqlite_url: str,
    inbox: Inbox,  # noqa: F811 - the fixture
    receiver: Receiver,
) -> None:
    async with hooks_world(sqlite_url, inbox) as world:
        hook = await subscribe(world, receiver.url(), "order.created")
        other = await subscribe(world, receiver.url("/other"), "stock.low")
        receiver.answer_with(Answer(hang=True))  # the first attempt is being sent until it times out
        product = await world.product("Lamp")
        await world.order([(product["id"], 1)])
        await asyncio.to_thread(receiver.wait_for, 1)
        [first] = await deliveries(world, hook)
        assert first["status"] == "pending"
        path = f"/api/webhooks/{hook['id']}/deliveries/{first['id']}/redeliver/"
        assert (
            "waiting to be sent"
            in assert_error(await world.client.post(path, headers=world.staff.headers), 409)["detail"]
        )
        await world.drain()
        assert [d["status"] for d in await deliveries(world, hook)] == ["succeeded", "retrying"]
        foreign = f"/api/webhooks/{other['id']}/deliveries/{first['id']}/redeliver/"
        assert_error(await world.client.post(foreign, headers=world.staff.headers), 404)
        paused = await world.client.patch(
            f"/api/webhooks/{hook['id']}/", json={"is_active": False}, headers=world.staff.headers
        )
        assert paused.status_code == 200
        assert (
            "paused"
            in assert_error(await world.client.post(path, headers=world.staff.headers), 409)["detail"]
        )
        assert len(await deliveries(world, hook)) == 2


async def test_a_name_resolving_to_a_private_address_is_refused_when_delivering(
    database_url: str,
    inbox: Inbox,  # noqa: F811 - the fixture
    receiver: Receiver,
) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return {"hooks.example.test": ["93.184.215.14", "127.0.0.1"]}.get(host, [])

    sender = HttpxWebhookSender(timeout=1.0, allow_private=False, resolver=resolve)
    try:
        async with hooks_world(
            database_url, inbox, {"webhook_sender": sender}, webhooks_allow_private=False
        ) as world:
            hook = await subscribe(world, f"http://hooks.example.test:{receiver.port}/hooks", "order.created")
            product = await world.product("Lamp")
            await world.order([(product["id"], 1)])
            await world.drain()
            [attempt] = await deliveries(world, hook)  # refused: not retried
            assert (attempt["status"], attempt["response_status"]) == ("failed", None)
            assert attempt["error"] == (
                "refused: hooks.example.test resolves to a non-public address (127.0.0.1)"
            )
            assert receiver.received == []
    finally:
        await sender.aclose()


async def test_the_connection_goes_to_the_address_that_was_checked(
    sqlite_url: str,
    inbox: Inbox,  # noqa: F811 - the fixture
    receiver: Receiver,
) -> None:
    """The name resolves only through the sender's own lookup (no DNS knows it): the delivery
    reaching the receiver went to the address that lookup gave and the check saw."""
    looked_up: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"] if host == "hooks.example.test" else []

    sender = HttpxWebhookSender(timeout=1.0, allow_private=True, resolver=resolve)
    try:
        async with hooks_world(sqlite_url, inbox, {"webhook_sender": sender}) as world:
            hook = await subscribe(world, f"http://hooks.example.test:{receiver.port}/hooks", "order.created")
            product = await world.product("Lamp")
            await world.order([(product["id"], 1)])
            await world.drain()
            [got] = receiver.received
            assert got.headers["host"] == f"hooks.example.test:{receiver.port}"
            verified(hook["secret"], got)
            assert looked_up == ["hooks.example.test"]
    finally:
        await sender.aclose()
