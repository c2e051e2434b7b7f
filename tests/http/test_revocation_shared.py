"""Two API instances behind one load balancer: what one revokes, the other refuses at once.

Also the core token flows on both databases (SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import build_app, make_settings
from tests.http.conftest import (
    Client,
    assert_error,
    bearer,
    deactivate,
    in_app,
    login,
    logout,
    new_account,
    profile,
    refresh,
    shop_of,
)
from tests.redis_outage import redis_outage


@asynccontextmanager
async def two_instances(database_url: str, **changes: Any) -> AsyncIterator[tuple[Client, Client]]:
    """Two apps, each with its own pools, on the same database (and the same Redis, if given)."""
    settings = make_settings(database_url, **changes)
    async with AsyncTestClient(build_app(settings)) as a, AsyncTestClient(build_app(settings)) as b:
        assert shop_of(a) is not shop_of(b)
        yield a, b


@pytest.fixture
async def redis_pair(pg_url: str, redis_url: str, redis_prefix: str) -> AsyncIterator[tuple[Client, Client]]:
    async with two_instances(pg_url, redis_url=redis_url, redis_key_prefix=redis_prefix) as pair:
        yield pair


@pytest.fixture
async def database_pair(pg_url: str) -> AsyncIterator[tuple[Client, Client]]:
    """No Redis: revocations live in the shared database."""
    async with two_instances(pg_url) as pair:
        yield pair


@pytest.fixture(params=["redis", "database"])
def pair(request: pytest.FixtureRequest) -> tuple[Client, Client]:
    found: tuple[Client, Client] = request.getfixturevalue(f"{request.param}_pair")
    return found


async def test_the_instances_really_use_redis(redis_pair: tuple[Client, Client]) -> None:
    a, _ = redis_pair

    assert "redis" in (await a.get("/health/ready")).json()["dependencies"]


async def test_a_session_opened_on_one_instance_works_on_the_other(pair: tuple[Client, Client]) -> None:
    a, b = pair
    account = await new_account(a)

    assert (await profile(b, account.access)).status_code == 200
    rotated = await refresh(b, account.refresh)
    assert rotated.status_code == 200
    assert (await profile(a, rotated.json()["access"])).status_code == 200


async def test_logout_on_one_instance_is_seen_by_the_other_at_once(pair: tuple[Client, Client]) -> None:
    a, b = pair
    account = await new_account(a)
    assert (await profile(b, account.access)).status_code == 200

    assert (await logout(a, account.access, account.refresh)).status_code == 204

    assert_error(await profile(b, account.access), 401)
    assert_error(await refresh(b, account.refresh), 401)


async def test_refresh_reuse_on_one_instance_revokes_the_family_on_the_other(
    pair: tuple[Client, Client],
) -> None:
    a, b = pair
    account = await new_account(a)
    newest = (await refresh(a, account.refresh)).json()

    assert_error(await refresh(a, account.refresh), 401)

    assert_error(await refresh(b, newest["refresh"]), 401)


async def test_rotation_on_one_instance_retires_the_old_token_on_the_other(
    pair: tuple[Client, Client],
) -> None:
    a, b = pair
    account = await new_account(a)
    assert (await refresh(a, account.refresh)).status_code == 200

    assert_error(await refresh(b, account.refresh), 401)


async def test_deactivation_is_seen_by_every_instance(pair: tuple[Client, Client]) -> None:
    a, b = pair
    account = await new_account(a)
    assert (await profile(b, account.access)).status_code == 200  # b knows the user now

    await deactivate(a, account.email)

    assert_error(await profile(b, account.access), 401)
    assert_error(await login(b, account.email), 401)


async def test_lockout_is_shared_by_the_instances(pair: tuple[Client, Client]) -> None:
    a, b = pair
    account = await new_account(a)
    limit = shop_of(a).settings.max_failed_logins
    for n in range(limit):
        assert (await login(a if n % 2 else b, account.email, f"wrong-{n}")).status_code == 401

    assert_error(await login(a, account.email), 429)
    assert_error(await login(b, account.email), 429)


# --- the core token flows on both databases ---------------------------------------------------------


@pytest.fixture
async def db_client(database_url: str) -> AsyncIterator[Client]:
    async with AsyncTestClient(build_app(make_settings(database_url))) as client:
        yield client


async def test_token_flows_on_each_database(db_client: Client) -> None:
    client = db_client
    account = await new_account(client)
    assert (await profile(client, account.access)).json()["email"] == account.email

    assert_error(await login(client, account.email, "wrong-password"), 401)
    first = (await refresh(client, account.refresh)).json()
    second = (await refresh(client, first["refresh"])).json()
    assert_error(await refresh(client, first["refresh"]), 401)
    assert_error(await refresh(client, second["refresh"]), 401)

    other = (await login(client, account.email)).json()
    assert (await logout(client, other["access"], other["refresh"])).status_code == 204
    assert_error(await profile(client, other["access"]), 401)
    assert_error(await refresh(client, other["refresh"]), 401)
    assert (await profile(client, account.access)).status_code == 200


async def test_lockout_on_each_database(db_client: Client) -> None:
    client = db_client
    account = await new_account(client)
    limit = shop_of(client).settings.max_failed_logins
    for _ in range(limit):
        assert_error(await login(client, account.email, "wrong-password"), 401)

    locked = await login(client, account.email)

    assert_error(locked, 429)
    assert int(locked.headers["Retry-After"]) >= 1


async def test_duplicate_email_on_each_database(db_client: Client) -> None:
    client = db_client
    account = await new_account(client)

    response = await client.post(
        "/api/auth/register/", json={"email": account.email.upper(), "password": "another-good-pass"}
    )

    assert_error(response, 409, "conflict")


async def test_user_round_trips_through_each_database(db_client: Client) -> None:
    client = db_client
    created = await client.post(
        "/api/auth/register/",
        json={"email": "ada@example.com", "password": "correct-horse-battery", "first_name": "Ada"},
    )
    tokens = (await login(client, "ada@example.com")).json()

    stored = (await profile(client, tokens["access"])).json()
    patched = await client.patch(
        "/api/auth/profile/", json={"phone": "+1 555"}, headers=bearer(tokens["access"])
    )

    assert created.status_code == 201
    assert stored == created.json()
    assert stored["date_joined"].endswith(("Z", "+00:00"))
    assert patched.json() == {**stored, "phone": "+1 555"}


# --- a Redis outage -----------------------------------------------------------------------------


async def test_sign_in_keeps_working_while_redis_is_down(sqlite_url: str) -> None:
    """Register, log in, use, refresh, log out, and be locked out after failed logins, all with
    Redis configured but unreachable: the database answers for it."""
    settings = make_settings(sqlite_url, redis_url="redis://127.0.0.1:1/0", max_failed_logins=3)
    async with AsyncTestClient(build_app(settings)) as client:
        me = await new_account(client)
        assert (await profile(client, me.access)).status_code == 200
        renewed = await refresh(client, me.refresh)
        assert renewed.status_code == 200, renewed.text
        assert_error(await refresh(client, me.refresh), 401)  # the rotated token is spent
        tokens = renewed.json()
        assert (await logout(client, tokens["access"], tokens["refresh"])).status_code in (200, 204)
        assert_error(await profile(client, tokens["access"]), 401)
        assert_error(await refresh(client, tokens["refresh"]), 401)

        for _ in range(3):
            assert_error(await login(client, me.email, "wrong-password-1"), 401)
        assert_error(await login(client, me.email, me.password), 429)


async def test_a_logout_during_an_outage_is_refused_by_every_instance_after_it(
    sqlite_url: str, redis_url: str, redis_prefix: str
) -> None:
    async with (
        redis_outage(redis_url) as outage,
        two_instances(sqlite_url, redis_url=outage.url, redis_key_prefix=redis_prefix) as (a, b),
    ):
        me = await new_account(a)
        assert (await profile(b, me.access)).status_code == 200  # b trusts Redis's copy now

        outage.down()
        assert (await logout(a, me.access, me.refresh)).status_code in (200, 204)
        assert_error(await profile(b, me.access), 401)  # b asks the database meanwhile

        outage.up()
        await in_app(a, shop_of(a).ports.tokens.breaker.repaired)  # type: ignore[attr-defined]
        shop_of(b).ports.tokens.breaker.reset()  # type: ignore[attr-defined]  # b's pause is over: it asks Redis
        assert_error(await profile(b, me.access), 401)
        assert_error(await refresh(b, me.refresh), 401)
        fresh = await login(b, me.email, me.password)
        assert fresh.status_code == 200, fresh.text
        assert (await profile(b, fresh.json()["access"])).status_code == 200


async def test_a_deactivation_during_an_outage_is_seen_by_an_instance_that_knew_the_user(
    sqlite_url: str, redis_url: str, redis_prefix: str
) -> None:
    async with (
        redis_outage(redis_url) as outage,
        two_instances(sqlite_url, redis_url=outage.url, redis_key_prefix=redis_prefix) as (a, b),
    ):
        me = await new_account(a)
        assert (await profile(b, me.access)).status_code == 200  # b keeps the user it read

        outage.down()
        await deactivate(a, me.email)  # Redis cannot hear of it
        assert_error(await profile(b, me.access), 401)  # b asks the database meanwhile

        outage.up()
        await in_app(a, shop_of(a).ports.tokens.breaker.repaired)  # type: ignore[attr-defined]
        shop_of(b).ports.tokens.breaker.reset()  # type: ignore[attr-defined]  # b trusts Redis again
        assert_error(await profile(b, me.access), 401)
