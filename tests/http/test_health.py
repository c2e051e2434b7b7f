"""`/health/ready` says which dependency is down, never where it lives: the reason goes to the log."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from litestar.testing import AsyncTestClient

from shop_core.bootstrap import migrate
from tests.conftest import POSTGRES_ADMIN_URL, _pg_admin, build_app, make_settings


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port that refuses connections: bound (so nothing else takes it) but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_a_redis_that_refuses_is_unavailable_and_its_address_is_only_logged(
    sqlite_url: str, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(sqlite_url, redis_url=f"redis://127.0.0.1:{closed_port}/0", cache_enabled=False)
    async with AsyncTestClient(build_app(settings)) as client:
        with caplog.at_level(logging.WARNING, logger="shop.health"):
            response = await client.get("/health/ready")

    assert response.status_code == 503
    assert response.json() == {
        "ok": False,
        "dependencies": {
            "database": {"ok": True, "detail": "ok"},
            "redis": {"ok": False, "detail": "unavailable"},
        },
    }
    assert str(closed_port) not in response.text
    assert "127.0.0.1" not in response.text
    assert "Error" not in response.text

    [record] = [r for r in caplog.records if r.name == "shop.health"]
    assert record.levelno == logging.WARNING
    assert "redis" in record.getMessage()
    assert f"127.0.0.1:{closed_port}" in record.getMessage()
    assert record.exc_info is None  # one line: probes repeat every few seconds during an outage


@pytest.fixture
async def doomed_database(postgres_url: str) -> AsyncIterator[str]:
    """A PostgreSQL database of this test's own, which the test drops while the app uses it."""
    name = f"shop_health_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    url = f"{POSTGRES_ADMIN_URL.rpartition('/')[0]}/{name}"
    try:
        await asyncio.to_thread(migrate, make_settings(url), "upgrade")
        yield url
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_a_lost_database_is_unavailable_and_the_reason_is_only_logged(
    doomed_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = doomed_database.rpartition("/")[2]
    async with AsyncTestClient(build_app(make_settings(doomed_database, cache_enabled=False))) as client:
        assert (await client.get("/health/ready")).status_code == 200
        await _pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)')  # its connections are killed too
        with caplog.at_level(logging.WARNING, logger="shop.health"):
            response = await client.get("/health/ready")

    assert response.status_code == 503
    assert response.json() == {
        "ok": False,
        "dependencies": {"database": {"ok": False, "detail": "unavailable"}},
    }
    [record] = [r for r in caplog.records if r.name == "shop.health"]
    # The log says what broke (the driver's exception); the body says only "unavailable".
    assert "database" in record.getMessage()
    assert "Error: " in record.getMessage()
    assert "Error" not in response.text
    assert name not in response.text


async def test_a_healthy_shop_is_ready(sqlite_url: str, redis_url: str) -> None:
    settings = make_settings(sqlite_url, redis_url=redis_url)
    async with AsyncTestClient(build_app(settings)) as client:
        response = await client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "dependencies": {"database": {"ok": True, "detail": "ok"}, "redis": {"ok": True, "detail": "ok"}},
    }
