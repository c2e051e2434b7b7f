"""Helpers for the HTTP suite: what a client of the API would do, spelled once."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import httpx
import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from litestar.testing.transport import TestClientTransport
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from shop_core.adapters.sql.pg_reads import PgReads
from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.services.commands import CreateAdmin
from shop_core.services.views import UserView
from shop_core.settings import Settings
from tests.conftest import TEST_SECRET, build_app, make_settings
from tests.webhook_receiver import Receiver, running_receiver

Client = AsyncTestClient[Litestar]

PASSWORD = "correct-horse-battery"
USER_FIELDS = {"id", "email", "username", "first_name", "last_name", "phone", "is_staff", "date_joined"}
SECRET_WORDS = ("password", "hash")


@dataclass
class Account:
    """A registered user and the session it logged in with."""

    id: int
    email: str
    password: str
    access: str
    refresh: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def shop_of(client: Client) -> Shop:
    shop: Shop = client.app.state.shop
    return shop


async def in_app(client: Client, call: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Await one of the shop's use cases on the app's own event loop, where its pools live
    (the test client runs the app in a thread of its own)."""
    return await asyncio.to_thread(client.blocking_portal.call, call, *args)


async def deactivate(client: Client, email: str) -> UserView:
    """What an operator does from the CLI: the user may no longer log in."""
    user: UserView = await in_app(client, shop_of(client).accounts.deactivate_user, email, Actor.operator())
    return user


def unique_email(stem: str = "user") -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}@example.com"


async def register(client: Client, email: str, password: str = PASSWORD, **extra: Any) -> httpx.Response:
    return await client.post("/api/auth/register/", json={"email": email, "password": password, **extra})


async def login(client: Client, identifier: str, password: str = PASSWORD) -> httpx.Response:
    field = "email" if "@" in identifier else "username"
    return await client.post("/api/auth/login/", json={field: identifier, "password": password})


async def refresh(client: Client, token: str) -> httpx.Response:
    return await client.post("/api/auth/refresh/", json={"refresh": token})


async def logout(client: Client, access: str, refresh_token: str) -> httpx.Response:
    return await client.post("/api/auth/logout/", json={"refresh": refresh_token}, headers=bearer(access))


async def profile(client: Client, access: str) -> httpx.Response:
    return await client.get("/api/auth/profile/", headers=bearer(access))


async def new_account(client: Client, email: str | None = None, password: str = PASSWORD) -> Account:
    """Register through the API and log in; the account's first session."""
    email = email or unique_email()
    created = await register(client, email, password)
    assert created.status_code == 201, created.text
    tokens = await login(client, email, password)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    return Account(created.json()["id"], email, password, body["access"], body["refresh"])


async def new_staff(client: Client) -> Account:
    """A superuser made the way operators make one (the CLI's use case), logged in through the API."""
    email = unique_email("staff")
    admin: UserView = await in_app(
        client,
        shop_of(client).accounts.create_admin,
        CreateAdmin(email=email, password=PASSWORD),
        Actor.operator(),
    )
    tokens = await login(client, email)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    return Account(admin.id, email, PASSWORD, body["access"], body["refresh"])


async def all_emails(client: Client, staff: Account) -> list[str]:
    """Every account's email, as a staff client sees them through the API."""
    emails: list[str] = []
    page = 1
    while True:
        found = await client.get(
            "/api/users/", params={"page": page, "page_size": 100}, headers=staff.headers
        )
        assert found.status_code == 200, found.text
        body = found.json()
        emails += [u["email"] for u in body["results"]]
        if body["next"] is None:
            return emails
        page += 1


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """API.md's error shape: `{detail, code, errors?}` (and `reason` for `voucher_invalid`), JSON,
    `errors` only on 400."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    # Part 2: a voucher that does not apply also says why (`reason`).
    allowed = {"detail", "code", "errors"} | ({"reason"} if body.get("code") == "voucher_invalid" else set())
    assert set(body) <= allowed, body
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body["code"], str)
    assert body["code"]
    if code is not None:
        assert body["code"] == code, body
    if "errors" in body:
        assert status == 400, body
        assert isinstance(body["errors"], dict)
        assert body["errors"]
        for field, messages in body["errors"].items():
            assert isinstance(field, str)
            assert isinstance(messages, list)
            assert messages
            assert all(isinstance(m, str) and m for m in messages)
    for word in ("Traceback", 'File "', "Exception"):
        assert word not in response.text
    return body


def assert_user(body: dict[str, Any], email: str) -> None:
    """API.md's user shape, and never a password or a hash anywhere in it."""
    assert set(body) >= USER_FIELDS, body
    assert body["email"] == email
    assert isinstance(body["id"], int)
    assert isinstance(body["is_staff"], bool)
    assert datetime.fromisoformat(body["date_joined"].replace("Z", "+00:00")).utcoffset() == timedelta(0)
    for key in body:
        assert not any(word in key.lower() for word in SECRET_WORDS), key
    assert "argon2" not in str(body)


def craft_token(
    user_id: int,
    token_type: str = "access",
    *,
    secret: str = TEST_SECRET,
    algorithm: str = "HS256",
    lifetime: timedelta = timedelta(minutes=5),
    drop: tuple[str, ...] = (),
    **extra: Any,
) -> str:
    """A token like the API's own, signed the way the arguments say."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "type": token_type,
        "jti": uuid.uuid4().hex,
        "iat": int((now - timedelta(seconds=5)).timestamp()),
        "exp": int((now + lifetime).timestamp()),
        **extra,
    }
    if token_type == "refresh":
        claims.setdefault("fam", uuid.uuid4().hex)
    for name in drop:
        claims.pop(name)
    return jwt.encode(claims, secret, algorithm=algorithm)


@pytest.fixture
async def account(client: Client) -> Account:
    """A customer with an open session."""
    return await new_account(client)


@pytest.fixture
async def staff(client: Client) -> Account:
    """A superuser with an open session."""
    return await new_staff(client)


# --- the catalog ---------------------------------------------------------------------------------

PART_1_PRODUCT_FIELDS = {
    "id",
    "name",
    "slug",
    "description",
    "category",
    "category_name",
    "price",
    "discount_percentage",
    "final_price",
    "stock_quantity",
    "sku",
    "image_url",
    "is_active",
    "created_at",
    "updated_at",
}
# Part 2 adds what a product's variants differ by, the variants themselves ("Variants"), and the
# running sale that sets its final price, if any ("Vouchers and sales").
PRODUCT_FIELDS = PART_1_PRODUCT_FIELDS | {"options", "variants", "sale", "rating_average", "rating_count"}
STAFF_PRODUCT_FIELDS = PRODUCT_FIELDS | {"cost_price"}
CATEGORY_FIELDS = {"id", "name", "slug", "parent", "description"}
PAGE_FIELDS = {"count", "next", "previous", "results"}


@dataclass
class Catalog:
    """One app with a staff member and a customer logged in: the catalog as its clients use it."""

    client: Client
    staff: Account
    customer: Account

    async def category(self, name: str, parent: int | None = None, **extra: Any) -> dict[str, Any]:
        """Create a category through the API (as staff); its body."""
        created = await self.client.post(
            "/api/categories/", json={"name": name, "parent": parent, **extra}, headers=self.staff.headers
        )
        assert created.status_code == 201, created.text
        body: dict[str, Any] = created.json()
        return body

    async def product(
        self, name: str, price: str = "10.00", *, sku: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """Create a product through the API (as staff); its body as staff see it."""
        sku = sku or f"SKU-{uuid.uuid4().hex[:10]}"
        fields = {"name": name, "sku": sku, "price": price, **extra}
        created = await self.client.post("/api/products/", json=fields, headers=self.staff.headers)
        assert created.status_code == 201, created.text
        body: dict[str, Any] = created.json()
        return body

    async def stored(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every category and product as stored (read past the cache, straight from the database)."""
        return await stored_catalog(self.client)


async def stored_catalog(client: Client) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every category and every product (active or not) straight from the database, past any cache."""
    from shop_core.ports.catalog import ProductFilter

    reader = shop_of(client).ports.reader
    categories, _ = await in_app(client, partial(reader.categories, offset=0, limit=10_000))
    rows, _ = await in_app(
        client, partial(reader.products, ProductFilter(include_inactive=True), offset=0, limit=10_000)
    )
    return [asdict(c) for c in categories], [row._asdict() for row in rows]


@asynccontextmanager
async def open_catalog(settings: Settings) -> AsyncIterator[Catalog]:
    """The app on `settings`, with a staff member and a customer."""
    async with AsyncTestClient(build_app(settings)) as client:
        yield Catalog(client, await new_staff(client), await new_account(client))


@pytest.fixture
async def catalog(database_url: str) -> AsyncIterator[Catalog]:
    """The catalog on each database (SQLite and PostgreSQL), with its in-process cache on."""
    async with open_catalog(make_settings(database_url)) as opened:
        yield opened


def engine_of(client: Client) -> AsyncEngine:
    """The app's database engine (the one the catalog reader and the units of work share)."""
    engine = shop_of(client).ports.reader._engine  # type: ignore[attr-defined]
    assert isinstance(engine, AsyncEngine)
    return engine


def reads_of(client: Client) -> PgReads | None:
    """On PostgreSQL, the catalog reader's own pool (`pg_reads`); None on SQLite."""
    reads: PgReads | None = shop_of(client).ports.reader._reads  # type: ignore[attr-defined]
    return reads


@contextmanager
def sql_statements(client: Client) -> Iterator[list[str]]:
    """Collect every SQL statement the app sends to its database while the block runs (through
    the engine, and on PostgreSQL the catalog reader's own pool: `pg_reads`)."""
    seen: list[str] = []
    engine = engine_of(client).sync_engine
    reads = reads_of(client)

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    if reads is not None:
        reads.listeners.append(seen.append)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
        if reads is not None:
            reads.listeners.remove(seen.append)


class _SyncTransport(httpx.BaseTransport):
    """The test client's ASGI transport for a synchronous httpx client (one per thread)."""

    def __init__(self, client: Client) -> None:
        self._transport = TestClientTransport(client)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._transport.handle_request(request)


def get_concurrently(client: Client, path: str, times: int) -> list[httpx.Response]:
    """`times` GETs of `path` sent at once, each from a thread of its own (the async test client
    handles one request at a time), so the app serves them concurrently on its event loop."""
    with (
        httpx.Client(transport=_SyncTransport(client), base_url=str(client.base_url)) as sync_client,
        ThreadPoolExecutor(times) as pool,
    ):
        return list(pool.map(lambda _: sync_client.get(path), range(times)))


def money(value: str) -> Decimal:
    """A money field as the API sends it: a string with exactly two decimal places."""
    assert isinstance(value, str), value
    assert re.fullmatch(r"-?\d+\.\d\d", value), value
    return Decimal(value)


def assert_utc(timestamp: str) -> None:
    parsed = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0), timestamp


# Ids a client may send that no row has: beyond PostgreSQL's 32-bit integer, and beyond 64 bits.
INT4_OVERFLOW = 3_000_000_000
BEYOND_64_BITS = 10**20


# --- the cart ------------------------------------------------------------------------------------


async def post_concurrently(
    client: Client, path: str, body: dict[str, Any], headers: dict[str, str], times: int
) -> list[httpx.Response]:
    """`times` POSTs of `body` to `path`, started together with asyncio.gather on the app's own event
    loop (through an ASGI transport), so the app really serves them concurrently."""

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as burst_client:
            return list(
                await asyncio.gather(
                    *(burst_client.post(path, json=body, headers=headers) for _ in range(times))
                )
            )

    responses: list[httpx.Response] = await in_app(client, burst)
    return responses


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real local HTTP server that webhooks are delivered to (it records what it received)."""
    with running_receiver() as running:
        yield running
