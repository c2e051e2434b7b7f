"""POST /api/auth/login/: 200 token pair; 401 wrong credentials or inactive user; 429 when locked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import TEST_SECRET
from tests.http.conftest import (
    PASSWORD,
    Account,
    Client,
    assert_error,
    bearer,
    craft_token,
    deactivate,
    login,
    new_account,
    profile,
    register,
    shop_of,
)


def assert_token_pair(response: httpx.Response, user_id: int) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"access", "refresh", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    access = jwt.decode(body["access"], TEST_SECRET, algorithms=["HS256"])
    refresh = jwt.decode(body["refresh"], TEST_SECRET, algorithms=["HS256"])
    assert (access["sub"], access["type"]) == (str(user_id), "access")
    assert (refresh["sub"], refresh["type"]) == (str(user_id), "refresh")
    assert access["exp"] - access["iat"] == body["expires_in"]
    assert refresh["exp"] > access["exp"]
    assert access["jti"] != refresh["jti"]
    return body


@pytest.mark.parametrize("path", ["/api/auth/login/", "/api/auth/login"])
async def test_login_by_email_answers_a_bearer_pair(client: Client, path: str) -> None:
    created = (await register(client, "ada@example.com")).json()

    response = await client.post(path, json={"email": "ada@example.com", "password": PASSWORD})

    body = assert_token_pair(response, created["id"])
    me = await profile(client, body["access"])
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"


async def test_login_by_email_ignores_case_and_surrounding_spaces(client: Client) -> None:
    created = (await register(client, "ada@example.com")).json()

    response = await client.post(
        "/api/auth/login/", json={"email": "  ADA@Example.com ", "password": PASSWORD}
    )

    assert_token_pair(response, created["id"])


async def test_login_by_username(client: Client) -> None:
    created = (await register(client, "ada@example.com", username="countess")).json()

    response = await client.post("/api/auth/login/", json={"username": "countess", "password": PASSWORD})

    assert_token_pair(response, created["id"])


async def test_login_by_username_ignores_case(client: Client) -> None:
    created = (await register(client, "ada@example.com", username="Countess")).json()

    response = await client.post("/api/auth/login/", json={"username": "countess", "password": PASSWORD})

    assert_token_pair(response, created["id"])


async def test_each_login_is_a_session_of_its_own(client: Client) -> None:
    account = await new_account(client)

    again = (await login(client, account.email)).json()

    assert again["access"] != account.access
    assert again["refresh"] != account.refresh
    assert (await profile(client, account.access)).status_code == 200
    assert (await profile(client, again["access"])).status_code == 200


async def test_wrong_password_and_unknown_user_look_the_same(client: Client, account: Account) -> None:
    wrong_password = await login(client, account.email, "not-the-password")
    unknown_user = await login(client, "nobody@example.com", "not-the-password")
    unknown_username = await login(client, "nobody", "not-the-password")

    body = assert_error(wrong_password, 401, "not_authenticated")
    assert unknown_user.status_code == unknown_username.status_code == 401
    assert unknown_user.json() == unknown_username.json() == body
    assert wrong_password.headers["WWW-Authenticate"] == unknown_user.headers["WWW-Authenticate"] == "Bearer"
    assert "password" not in body["detail"].lower()


async def test_password_is_case_sensitive(client: Client, account: Account) -> None:
    assert_error(await login(client, account.email, account.password.upper()), 401)


async def test_inactive_user_cannot_log_in_and_loses_its_tokens(client: Client, account: Account) -> None:
    wrong = (await login(client, account.email, "not-the-password")).json()

    await deactivate(client, account.email)

    response = await login(client, account.email)
    assert assert_error(response, 401) == wrong
    assert_error(await profile(client, account.access), 401)
    assert_error(await client.post("/api/auth/refresh/", json={"refresh": account.refresh}), 401)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": PASSWORD}, "email"),
        ({"email": "", "password": PASSWORD}, "email"),
        ({"email": "ada@example.com"}, "password"),
        ({"email": "ada@example.com", "password": PASSWORD, "remember": True}, "remember"),
        ({"email": 1, "password": PASSWORD}, "email"),
        ({"email": "ada@example.com", "password": ["x"]}, "password"),
        ({"email": "a" * 5000, "password": PASSWORD}, "email"),
        ({"email": "ada@example.com", "password": "p" * 5000}, "password"),
    ],
)
async def test_malformed_login_is_400(
    client: Client, account: Account, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/auth/login/", json=body)

    answer = assert_error(response, 400, "invalid")
    assert field in answer["errors"], answer


@pytest.mark.parametrize("raw", [b"{", b"[]", b"", b"null"])
async def test_non_object_login_body_is_400(client: Client, raw: bytes) -> None:
    response = await client.post(
        "/api/auth/login/", content=raw, headers={"Content-Type": "application/json"}
    )

    assert_error(response, 400, "invalid")


# --- lockout ----------------------------------------------------------------------------------


async def _fail(client: Client, identifier: str, times: int) -> list[int]:
    return [(await login(client, identifier, f"wrong-{i}-password")).status_code for i in range(times)]


async def test_lockout_after_max_failed_logins(client: Client, account: Account) -> None:
    limit = shop_of(client).settings.max_failed_logins

    assert await _fail(client, account.email, limit) == [401] * limit
    locked = await login(client, account.email, "still-wrong-password")

    assert_error(locked, 429)
    assert int(locked.headers["Retry-After"]) >= 1
    assert int(locked.headers["Retry-After"]) <= shop_of(client).settings.failed_login_window


async def test_correct_password_while_locked_is_still_429(client: Client, account: Account) -> None:
    limit = shop_of(client).settings.max_failed_logins
    await _fail(client, account.email, limit)

    response = await login(client, account.email)

    assert_error(response, 429)
    assert "access" not in response.text
    assert "Retry-After" in response.headers


async def test_lockout_counts_the_identifier_whatever_its_case(client: Client, account: Account) -> None:
    limit = shop_of(client).settings.max_failed_logins
    await _fail(client, account.email.upper(), limit)

    assert_error(await login(client, account.email), 429)


async def test_lockout_of_unknown_identifier_looks_the_same(client: Client, account: Account) -> None:
    limit = shop_of(client).settings.max_failed_logins
    known = [await login(client, account.email, "wrong-password") for _ in range(limit + 2)]
    unknown = [await login(client, "ghost@example.com", "wrong-password") for _ in range(limit + 2)]

    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [401] * limit + [429, 429]
    assert [r.json() for r in known] == [r.json() for r in unknown]
    assert [sorted(r.headers.keys()) for r in known] == [sorted(r.headers.keys()) for r in unknown]
    assert all("Retry-After" in r.headers for r in known[limit:] + unknown[limit:])


async def test_lockout_is_per_identifier(client: Client, account: Account) -> None:
    other = await new_account(client)
    limit = shop_of(client).settings.max_failed_logins
    await _fail(client, account.email, limit)

    assert (await login(client, other.email)).status_code == 200
    assert (await login(client, account.email)).status_code == 429


async def test_a_successful_login_resets_the_failure_count(client: Client, account: Account) -> None:
    limit = shop_of(client).settings.max_failed_logins
    await _fail(client, account.email, limit - 1)
    assert (await login(client, account.email)).status_code == 200

    assert await _fail(client, account.email, limit - 1) == [401] * (limit - 1)
    assert (await login(client, account.email)).status_code == 200


async def test_public_endpoints_ignore_a_stale_bearer_header(client: Client) -> None:
    """Clients often send their (maybe expired or revoked) token everywhere; logging in must still work."""
    stale = bearer(craft_token(1, lifetime=timedelta(seconds=-60)))

    created = await client.post(
        "/api/auth/register/", json={"email": "ada@example.com", "password": PASSWORD}, headers=stale
    )
    tokens = await client.post(
        "/api/auth/login/", json={"email": "ada@example.com", "password": PASSWORD}, headers=stale
    )
    rotated = await client.post(
        "/api/auth/refresh/", json={"refresh": tokens.json()["refresh"]}, headers=stale
    )

    assert (created.status_code, tokens.status_code, rotated.status_code) == (201, 200, 200)
