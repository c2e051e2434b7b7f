"""The per-address limits hold across processes that share Redis: two app instances (two workers)
taking logins from one address at the same moment let exactly the limit through, and refuse the
rest with 429 and Retry-After. Without Redis reachable, the limiter stands aside (fails open)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import build_app, make_settings
from tests.http.conftest import Client, assert_error, in_app

LIMIT = 20
PER_INSTANCE = 30


async def burst(client: Client, times: int) -> list[httpx.Response]:
    """`times` logins from one address, started together on the app's own event loop."""

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app, client=("198.51.100.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as http:
            return list(
                await asyncio.gather(
                    *(
                        http.post(
                            "/api/auth/login/", json={"email": f"nobody{n}@example.com", "password": "x" * 12}
                        )
                        for n in range(times)
                    )
                )
            )

    responses: list[httpx.Response] = await in_app(client, run)
    return responses


@pytest.fixture
async def two_instances(
    sqlite_url: str, redis_url: str, redis_prefix: str
) -> AsyncIterator[tuple[Client, Client]]:
    settings = make_settings(
        sqlite_url,
        rate_limit_enabled=True,
        auth_rate_limit_per_minute=LIMIT,
        max_failed_logins=1000,
        redis_url=redis_url,
        redis_key_prefix=redis_prefix,
    )
    async with AsyncTestClient(build_app(settings)) as a, AsyncTestClient(build_app(settings)) as b:
        yield a, b


@pytest.mark.redis
async def test_simultaneous_logins_on_two_instances_let_exactly_the_limit_through(
    two_instances: tuple[Client, Client],
) -> None:
    a, b = two_instances

    first, second = await asyncio.gather(burst(a, PER_INSTANCE), burst(b, PER_INSTANCE))
    answers = first + second

    passed = [r for r in answers if r.status_code != 429]
    throttled = [r for r in answers if r.status_code == 429]
    assert len(passed) == LIMIT, sorted(r.status_code for r in answers)
    assert {r.status_code for r in passed} == {401}
    assert len(throttled) == 2 * PER_INSTANCE - LIMIT
    for response in throttled:
        assert_error(response, 429, "throttled")
        assert 1 <= int(response.headers["Retry-After"]) <= 60
    # The window is shared: the next request, on either instance, is refused too.
    assert (await burst(a, 1))[0].status_code == 429
    assert (await burst(b, 1))[0].status_code == 429


@pytest.mark.redis
async def test_the_limiter_fails_open_while_redis_is_unreachable(sqlite_url: str) -> None:
    settings = make_settings(
        sqlite_url,
        rate_limit_enabled=True,
        auth_rate_limit_per_minute=3,
        rate_limit_per_minute=3,
        redis_url="redis://127.0.0.1:1/0",
    )
    async with AsyncTestClient(build_app(settings)) as client:
        answers = [
            await client.post("/api/auth/login/", json={"email": f"n{n}@example.com", "password": "x" * 12})
            for n in range(6)
        ]

    assert [r.status_code for r in answers] == [401] * 6
