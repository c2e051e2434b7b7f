"""What the webhook tests share: the app delivering to a real local receiver, subscribing, reading
deliveries, and the Standard Webhooks verification written out independently of the shop's code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import sqlalchemy as sa
from litestar.testing import AsyncTestClient

from shop_core.bootstrap import bootstrap
from shop_http import create_app
from tests.conftest import fast_hasher, make_settings
from tests.http.conftest import engine_of, in_app, new_account, new_staff
from tests.http.test_notifications import STORE, World
from tests.smtp_server import Inbox
from tests.webhook_receiver import Received


@asynccontextmanager
async def hooks_world(
    url: str, inbox: Inbox, overrides: dict[str, Any] | None = None, **settings: Any
) -> AsyncIterator[World]:
    """The app (in-process jobs, retries 10 ms apart), private targets allowed unless told;
    `overrides` replace ports (bootstrap's)."""
    values: dict[str, Any] = {
        "smtp_url": inbox.url,
        "store_name": STORE,
        "job_retry_delay": 0.01,
        "webhooks_allow_private": True,
        "webhooks_timeout": 1.0,
        **settings,
    }
    made = make_settings(url, **values)
    app = create_app(made, shop_factory=partial(bootstrap, hasher=fast_hasher(), **(overrides or {})))
    async with AsyncTestClient(app) as client:
        world = World(client, inbox, await new_staff(client), await new_account(client))
        await world.drain()
        yield world


async def subscribe(world: World, url: str, *events: str, **extra: Any) -> dict[str, Any]:
    made = await world.client.post(
        "/api/webhooks/", json={"url": url, "events": list(events), **extra}, headers=world.staff.headers
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def deliveries(world: World, subscription: dict[str, Any]) -> list[dict[str, Any]]:
    """Every attempt, newest first."""
    found = await world.client.get(
        f"/api/webhooks/{subscription['id']}/deliveries/?page_size=100", headers=world.staff.headers
    )
    assert found.status_code == 200, found.text
    results: list[dict[str, Any]] = found.json()["results"]
    return results


async def sql(world: World, statement: str, **params: Any) -> list[Any]:
    async def run() -> list[Any]:
        async with engine_of(world.client).connect() as conn:
            return list((await conn.execute(sa.text(statement), params)).all())

    rows: list[Any] = await in_app(world.client, run)
    return rows


def verified(secret: str, received: Received, tolerance: int = 300) -> dict[str, Any]:
    """The Standard Webhooks check, as a receiver writes it: HMAC-SHA256 over
    `{webhook-id}.{webhook-timestamp}.{body}` keyed with the base64 part of `whsec_...`, compared
    with each `v1,` signature of the header; the timestamp within `tolerance` seconds. The body."""
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[len("whsec_") :])
    msg_id = received.headers["webhook-id"]
    timestamp = received.headers["webhook-timestamp"]
    content = msg_id.encode() + b"." + timestamp.encode() + b"." + received.body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    signatures = [
        s.split(",", 1)[1] for s in received.headers["webhook-signature"].split(" ") if s.startswith("v1,")
    ]
    assert any(hmac.compare_digest(expected, s) for s in signatures), received.headers
    assert abs(int(timestamp) - time.time()) <= tolerance
    assert received.headers["content-type"] == "application/json"
    body: dict[str, Any] = json.loads(received.body)
    return body
