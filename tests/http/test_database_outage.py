"""The database going away under a running app: every request answers 503 with Retry-After (and
the readiness check says why), not a 500 and a traceback per request."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from shop_core.bootstrap import migrate
from tests.conftest import POSTGRES_ADMIN_URL, _pg_admin, build_app, make_settings
from tests.http.conftest import assert_error


@pytest.fixture
async def doomed_database(postgres_url: str) -> AsyncIterator[str]:
    """A database of this test's own, which the test drops while the app uses it."""
    name = f"shop_outage_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    url = f"{POSTGRES_ADMIN_URL.rpartition('/')[0]}/{name}"
    try:
        await asyncio.to_thread(migrate, make_settings(url), "upgrade")
        yield url
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_a_lost_database_is_503_with_retry_after(
    doomed_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(doomed_database, cache_enabled=False)
    async with AsyncTestClient(build_app(settings)) as client:
        assert (await client.get("/api/products/")).status_code == 200
        name = doomed_database.rpartition("/")[2]
        await _pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)')  # kills the app's connections too

        for answer in (
            await client.get("/api/products/"),
            await client.get("/api/categories/"),
            await client.post(
                "/api/auth/login/", json={"email": "a@example.com", "password": "whatever-pass"}
            ),
        ):
            body = assert_error(answer, 503, "service_unavailable")
            assert "database" in body["detail"]
            assert answer.headers["Retry-After"] == "5"

        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["dependencies"]["database"]["ok"] is False
    assert "Traceback" not in caplog.text
