"""Real servers for the live order streams (Litestar's test client reads a response to its end, which
a stream never reaches) and a reader of Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import uvicorn
from litestar import Litestar

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.services.catalog_commands import CreateProduct
from shop_core.services.commands import CreateAdmin
from shop_http.live_streams import streams_stop
from tests.http.conftest import PASSWORD, Account, bearer, unique_email

TIMEOUT = 30.0  # generous: the events come in milliseconds; this only bounds a failure
ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "1 Main St",
    "city": "London",
    "postal_code": "N1",
    "country": "GB",
}


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.up = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.up.set()


@dataclass
class Served:
    base_url: str
    app: Litestar
    server: _Server

    @property
    def shop(self) -> Shop:
        shop: Shop = self.app.state.shop
        return shop


@asynccontextmanager
async def serve(app: Litestar) -> AsyncIterator[Served]:
    """`app` under uvicorn on a free port, on this event loop."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = _Server(uvicorn.Config(app, lifespan="on", log_config=None, access_log=False))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(TIMEOUT):
            await asyncio.wait({task, asyncio.ensure_future(server.up.wait())}, return_when="FIRST_COMPLETED")
        assert server.started, "uvicorn could not start the app"
        yield Served(f"http://127.0.0.1:{port}", app, server)
    finally:
        streams_stop(app).set()  # what the server's stop signal does (see shop_http.live_streams)
        server.should_exit = True
        await task
        listener.close()


@dataclass
class World:
    """A served shop with a staff member, a customer, a product and the HTTP client."""

    served: Served
    http: httpx.AsyncClient
    staff: Account
    customer: Account
    product_id: int
    others: list[Account] = field(default_factory=list)

    async def order(
        self, who: Account | None = None, http: httpx.AsyncClient | None = None
    ) -> dict[str, Any]:
        body = {
            "items": [{"product_id": self.product_id, "quantity": 1}],
            "shipping_address": ADDRESS,
            "payment_method": "cod",
        }
        placed = await (http or self.http).post(
            "/api/orders/", json=body, headers=(who or self.customer).headers
        )
        assert placed.status_code == 201, placed.text
        found: dict[str, Any] = placed.json()
        return found


async def account(http: httpx.AsyncClient, shop: Shop | None = None) -> Account:
    """A customer (or, given the shop, a staff member made as operators make one), logged in."""
    email = unique_email("staff" if shop else "live")
    if shop is not None:
        await shop.accounts.create_admin(CreateAdmin(email=email, password=PASSWORD), Actor.operator())
    else:
        created = await http.post("/api/auth/register/", json={"email": email, "password": PASSWORD})
        assert created.status_code == 201, created.text
    tokens = await http.post("/api/auth/login/", json={"email": email, "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    profile = await http.get("/api/auth/profile/", headers=bearer(tokens.json()["access"]))
    return Account(profile.json()["id"], email, PASSWORD, tokens.json()["access"], tokens.json()["refresh"])


async def product(shop: Shop) -> int:
    created = await shop.catalog.create_product(
        CreateProduct(
            name="Lamp", sku=f"SKU-{uuid.uuid4().hex[:10]}", price=Decimal("10.00"), stock_quantity=100
        ),
        Actor("seed", is_staff=True),
    )
    return created.id


@asynccontextmanager
async def world_of(app: Litestar) -> AsyncIterator[World]:
    async with serve(app) as served, httpx.AsyncClient(base_url=served.base_url, timeout=TIMEOUT) as http:
        staff = await account(http, served.shop)
        yield World(served, http, staff, await account(http), await product(served.shop))


@dataclass
class Event:
    id: str | None = None
    event: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)
    retry: str | None = None

    @property
    def json(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.data)
        return found


class EventReader:
    """Reads a text/event-stream response one event (or comment block) at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self) -> Event | None:
        """The next block up to a blank line; None when the stream ended."""
        found = Event()
        seen = False
        async with asyncio.timeout(TIMEOUT):
            async for line in self._lines:
                if line == "":
                    if seen:
                        return found
                    continue
                seen = True
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "":
                    found.comments.append(value)
                elif name == "data":
                    found.data = f"{found.data}\n{value}" if found.data else value
                elif name in ("id", "event", "retry"):
                    setattr(found, name, value)
        return found if seen else None

    async def event(self) -> Event:
        """The next real event (skipping heartbeats and the retry hint)."""
        while True:
            found = await self.next()
            assert found is not None, "the stream ended"
            if found.event is not None:
                return found

    async def heartbeat(self) -> Event:
        while True:
            found = await self.next()
            assert found is not None, "the stream ended"
            if "heartbeat" in found.comments:
                assert found.event is None
                return found


@asynccontextmanager
async def stream(
    http: httpx.AsyncClient, order_id: int, headers: dict[str, str] | None = None, **params: Any
) -> AsyncIterator[EventReader]:
    async with http.stream(
        "GET", f"/api/orders/{order_id}/events/", headers=headers, params=params
    ) as answer:
        assert answer.status_code == 200, (await answer.aread()).decode()
        yield EventReader(answer)
