"""Shared fixtures: settings per backend, real PostgreSQL and Redis, the app and its client.

PostgreSQL and Redis are real servers. When one cannot be reached, the tests that need it are
reported as not run (and listed at the end), unless SHOP_TEST_REQUIRE_SERVICES=1 — which
.ci/run sets — turns that into a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path
from typing import Any

# pytest-xdist's workers inherit COLUMNS=80 and LINES=24 from it, and a rich Console made at import
# (the CLI's) would keep that width for good: tables cut at 80 columns. A test that needs a width
# sets it itself (tests/cli: 200), as when the suite runs in one process.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.testing import AsyncTestClient

from shop_core.adapters.argon2_hasher import Argon2PasswordHasher
from shop_core.bootstrap import Shop, bootstrap, migrate
from shop_core.settings import Environment, Settings
from tests.stand_ins.sslcommerz_server import SslcommerzStandIn
from tests.stand_ins.stripe_server import StripeStandIn

POSTGRES_ADMIN_URL = os.environ.get(
    "SHOP_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("SHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("SHOP_TEST_REQUIRE_SERVICES") == "1"
TEST_SECRET = "test-secret-key-0123456789abcdef0123456789"
TABLES = (
    "category_product_counts",
    "product_id_blocks",
    "wishlist_items",
    "webhook_deliveries",
    "webhook_subscriptions",
    "tax_rates",
    "shipping_zone_countries",
    "shipping_methods",
    "shipping_zones",
    "addresses",
    "voucher_uses",
    "voucher_products",
    "voucher_categories",
    "sale_products",
    "sale_categories",
    "sales",
    "jobs",
    "payment_events",
    "refunds",
    "payments",
    "invoices",
    "invoice_counters",
    "idempotency_keys",
    "order_events",
    "return_lines",
    "returns",
    "reviews",
    "fulfillment_lines",
    "fulfillments",
    "order_lines",
    "orders",
    "vouchers",
    "cart_lines",
    "carts",
    "password_reset_tokens",
    "users",
    "revoked_tokens",
    "refresh_families",
    "login_failures",
    "stock_movements",
    "product_variants",
    "products",
    "categories",
)

_not_run: dict[str, str] = {}


def fast_hasher() -> Argon2PasswordHasher:
    """Real argon2id with the cheapest parameters, so tests stay fast."""
    return Argon2PasswordHasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def make_settings(database_url: str, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "env": Environment.TEST,
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "rate_limit_enabled": False,
        "database_pool_size": 20,
    }
    values.update(changes)
    return Settings(**values).check()


def service_unavailable(name: str, reason: str) -> None:
    """Skip (and remember) or fail, depending on SHOP_TEST_REQUIRE_SERVICES."""
    if REQUIRE_SERVICES:
        pytest.fail(
            f"{name} is required (SHOP_TEST_REQUIRE_SERVICES=1) but unavailable: {reason}", pytrace=False
        )
    _not_run[name] = reason
    pytest.skip(f"{name} unavailable: {reason}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _not_run:
        terminalreporter.section("suites NOT run", sep="=", yellow=True, bold=True)
        for name, reason in _not_run.items():
            terminalreporter.write_line(f"{name}: {reason} (tests needing it were skipped)")
        terminalreporter.write_line("Set SHOP_TEST_REQUIRE_SERVICES=1 to make this a failure (.ci/run does).")


# --- PostgreSQL ----------------------------------------------------------------------------


async def _pg_admin(sql: str) -> None:
    import asyncpg

    dsn = POSTGRES_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run, dropped at the end."""
    name = f"shop_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - whatever the reason, the server is not usable
        service_unavailable("PostgreSQL", f"{POSTGRES_ADMIN_URL}: {type(exc).__name__}: {exc}")
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    url = f"{base}/{name}"
    migrate(make_settings(url), "upgrade")
    yield url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def truncate_postgres(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture
async def pg_url(postgres_url: str) -> AsyncIterator[str]:
    """The run's PostgreSQL database, emptied after the test."""
    yield postgres_url
    await truncate_postgres(postgres_url)


# --- SQLite --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate(make_settings(f"sqlite+aiosqlite:///{path}"), "upgrade")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite file of the test's own (a copy of a template migrated once)."""
    path = tmp_path / "shop.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


# --- Redis ---------------------------------------------------------------------------------


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The real Redis; the test gets its own key prefix (see `redis_prefix`), cleaned afterwards."""
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001
        await client.aclose()
        service_unavailable("Redis", f"{REDIS_URL}: {type(exc).__name__}: {exc}")
    yield REDIS_URL
    await client.aclose()


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    from redis.asyncio import Redis

    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = Redis.from_url(redis_url)
    # Ours, and SAQ's for this prefix's queue (`saq:<prefix>shop:…`, `saq:job:<prefix>shop:…`): jobs
    # that tests recorded and no worker ran.
    for pattern in (f"{prefix}*", f"saq:*{prefix}*"):
        keys = [key async for key in client.scan_iter(match=pattern)]
        if keys:
            await client.delete(*keys)
    await client.aclose()


# --- settings per backend, the shop, the app --------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over both databases."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    """Default test settings: the embedded SQLite default, no Redis, no rate limits."""
    return make_settings(sqlite_url)


ShopFactory = Callable[[Settings], AbstractAsyncContextManager[Shop]]
shop_factory: ShopFactory = partial(bootstrap, hasher=fast_hasher())


@pytest.fixture
async def shop(settings: Settings) -> AsyncIterator[Shop]:
    async with shop_factory(settings) as built:
        yield built


def build_app(settings: Settings) -> Litestar:
    from shop_http import create_app

    return create_app(settings, shop_factory=shop_factory)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The real app on the given settings, through Litestar's AsyncTestClient."""
    async with AsyncTestClient(build_app(settings)) as test_client:
        yield test_client


# --- payment gateway stand-ins ---------------------------------------------------------------


@pytest.fixture
def stripe_stand_in() -> Iterator[StripeStandIn]:
    """A local Stripe that speaks its wire protocol (tests/stand_ins/stripe_server.py)."""
    with StripeStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def sslcommerz_stand_in() -> Iterator[SslcommerzStandIn]:
    """A local SSLCommerz that speaks its wire protocol (tests/stand_ins/sslcommerz_server.py)."""
    with SslcommerzStandIn() as stand_in:
        yield stand_in


def gateway_settings(stripe: StripeStandIn | None, sslcommerz: SslcommerzStandIn | None) -> dict[str, Any]:
    """Settings that point the shop's real gateway adapters at the stand-ins."""
    values: dict[str, Any] = {"public_base_url": "http://shop.test"}
    if stripe is not None:
        values |= {
            "stripe_secret_key": stripe.api_key,
            "stripe_webhook_secret": stripe.webhook_secret,
            "stripe_api_base": stripe.url,
        }
    if sslcommerz is not None:
        values |= {
            "sslcommerz_store_id": sslcommerz.store_id,
            "sslcommerz_store_password": sslcommerz.store_password,
            "sslcommerz_base_url": sslcommerz.url,
        }
    return values
