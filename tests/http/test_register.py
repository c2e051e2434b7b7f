"""POST /api/auth/register/: 201 user; 400 weak password or bad email; 409 email taken."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import build_app, make_settings
from tests.http.conftest import (
    PASSWORD,
    Account,
    Client,
    all_emails,
    assert_error,
    assert_user,
    in_app,
    login,
    new_staff,
    register,
    shop_of,
)


@pytest.mark.parametrize("path", ["/api/auth/register/", "/api/auth/register"])
async def test_register_answers_201_with_the_user(client: Client, path: str) -> None:
    sent = {
        "email": "Ada@Example.com",
        "password": PASSWORD,
        "username": "ada",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": "+44 (20) 7946-0958",
    }

    response = await client.post(path, json=sent)

    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert_user(body, "ada@example.com")
    assert body["username"] == "ada"
    assert body["first_name"] == "Ada"
    assert body["last_name"] == "Lovelace"
    assert body["phone"] == "+44 (20) 7946-0958"
    assert body["is_staff"] is False
    assert PASSWORD not in response.text


async def test_register_with_only_email_and_password_fills_defaults(client: Client) -> None:
    response = await register(client, "grace@example.com")

    assert response.status_code == 201, response.text
    body = response.json()
    assert_user(body, "grace@example.com")
    assert body["username"]
    assert (body["first_name"], body["last_name"], body["phone"]) == ("", "", "")


async def test_registered_user_can_log_in(client: Client) -> None:
    await register(client, "linus@example.com")

    assert (await login(client, "linus@example.com")).status_code == 200


async def test_registration_refuses_attempts_to_become_staff(client: Client, staff: Account) -> None:
    response = await register(client, "mallory@example.com", is_staff=True)

    assert_error(response, 400)
    assert "mallory@example.com" not in await all_emails(client, staff)


@pytest.mark.parametrize("again", ["ada@example.com", "ADA@EXAMPLE.COM", "  Ada@Example.Com "])
async def test_duplicate_email_is_409_whatever_its_case(client: Client, staff: Account, again: str) -> None:
    first = await register(client, "ada@example.com", first_name="First")
    assert first.status_code == 201

    response = await register(client, again, "another-good-pass", first_name="Second")

    assert_error(response, 409, "conflict")
    assert (await all_emails(client, staff)).count("ada@example.com") == 1
    assert (await login(client, "ada@example.com")).status_code == 200
    assert (await login(client, "ada@example.com", "another-good-pass")).status_code == 401


async def test_duplicate_username_is_409(client: Client, staff: Account) -> None:
    assert (await register(client, "one@example.com", username="taken")).status_code == 201

    response = await register(client, "two@example.com", username="taken")

    assert_error(response, 409, "conflict")
    assert "two@example.com" not in await all_emails(client, staff)


@pytest.mark.parametrize(
    "email",
    [
        "not-an-email",
        "ada@",
        "@example.com",
        "ada@example",
        "ada example@example.com",
        "ada@@example.com",
        "   ",
    ],
)
async def test_bad_email_is_400_on_the_email_field(client: Client, staff: Account, email: str) -> None:
    before = await all_emails(client, staff)

    response = await register(client, email)

    body = assert_error(response, 400, "invalid")
    assert "email" in body["errors"]
    assert await all_emails(client, staff) == before


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1!", "at least 8"),
        ("12345678901", "digits"),
        ("weak@example.com", "email"),
        ("WEAK@Example.COM", "email"),
        ("x" * 129, "at most 128"),
    ],
)
async def test_weak_password_is_400_on_the_password_field(
    client: Client, staff: Account, password: str, problem: str
) -> None:
    response = await register(client, "weak@example.com", password)

    body = assert_error(response, 400, "invalid")
    assert list(body["errors"]) == ["password"]
    assert any(problem in message for message in body["errors"]["password"]), body
    assert "weak@example.com" not in await all_emails(client, staff)
    assert (await login(client, "weak@example.com", password)).status_code == 401


def _bodies() -> list[Any]:
    return [
        pytest.param({"password": PASSWORD}, "email", id="missing-email"),
        pytest.param({"email": "new@example.com"}, "password", id="missing-password"),
        pytest.param(
            {"email": "new@example.com", "password": PASSWORD, "role": "admin"}, "role", id="unknown"
        ),
        pytest.param({"email": 42, "password": PASSWORD}, "email", id="email-not-string"),
        pytest.param({"email": "new@example.com", "password": 12345678}, "password", id="password-number"),
        pytest.param({"email": "new@example.com", "password": None}, "password", id="password-null"),
        pytest.param({"email": ["new@example.com"], "password": PASSWORD}, "email", id="email-list"),
        pytest.param(
            {"email": "new@example.com", "password": PASSWORD, "username": 7}, "username", id="user-int"
        ),
        pytest.param(
            {"email": "new@example.com", "password": PASSWORD, "phone": "call me"}, "phone", id="phone"
        ),
        pytest.param(
            {"email": "new@example.com", "password": PASSWORD, "username": "a@b"}, "username", id="at"
        ),
        pytest.param(
            {"email": "new@example.com", "password": PASSWORD, "username": "ab"}, "username", id="short"
        ),
    ]


@pytest.mark.parametrize(("body", "field"), _bodies())
async def test_invalid_body_is_400_naming_the_field(
    client: Client, staff: Account, body: dict[str, Any], field: str
) -> None:
    before = await all_emails(client, staff)

    response = await client.post("/api/auth/register/", json=body)

    answer = assert_error(response, 400, "invalid")
    assert field in answer.get("errors", {}), answer
    assert await all_emails(client, staff) == before


HUGE = {
    "email": "a" * 300 + "@example.com",
    "password": "p" * 5000,
    "username": "u" * 151,
    "first_name": "f" * 10_000,
    "last_name": "l" * 151,
    "phone": "1" * 33,
}


@pytest.mark.parametrize("field", list(HUGE))
async def test_huge_strings_are_400_naming_the_field(client: Client, staff: Account, field: str) -> None:
    before = await all_emails(client, staff)
    body = {"email": "huge@example.com", "password": PASSWORD, field: HUGE[field]}

    response = await client.post("/api/auth/register/", json=body)

    answer = assert_error(response, 400, "invalid")
    assert field in answer["errors"], answer
    assert len(response.content) < 1000
    assert await all_emails(client, staff) == before


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"email": "new@example.com", "password": ', id="truncated"),
        pytest.param(b"{'email': 'new@example.com'}", id="single-quotes"),
        pytest.param(b"not json at all", id="text"),
        pytest.param(b'["new@example.com", "correct-horse-battery"]', id="array"),
        pytest.param(b'"new@example.com"', id="string"),
        pytest.param(b"null", id="null"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe\x00garbage", id="binary"),
        pytest.param(b'{"email": "\xff@example.com", "password": "correct-horse-battery"}', id="bad-utf8"),
        pytest.param(
            b'{"email": "\\ud800@example.com", "password": "correct-horse-battery"}', id="surrogate"
        ),
        pytest.param(b'{"email": ' + b"[" * 5000 + b"]" * 5000 + b"}", id="deep-nesting"),
        pytest.param(b'{"email": 1e999, "password": "correct-horse-battery"}', id="huge-number"),
    ],
)
async def test_malformed_or_non_object_json_is_400(client: Client, staff: Account, raw: bytes) -> None:
    before = await all_emails(client, staff)

    response = await client.post(
        "/api/auth/register/", content=raw, headers={"Content-Type": "application/json"}
    )

    body = assert_error(response, 400, "invalid")
    assert body["detail"].endswith(".")
    assert "'data'" not in response.text
    assert await all_emails(client, staff) == before


async def test_body_above_the_size_limit_is_413(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, max_request_body_bytes=2048)
    async with AsyncTestClient(build_app(settings)) as client:
        staff = await new_staff(client)
        padding = "x" * 4096
        raw = f'{{"email": "big@example.com", "password": "{PASSWORD}", "first_name": "{padding}"}}'.encode()

        response = await client.post(
            "/api/auth/register/", content=raw, headers={"Content-Type": "application/json"}
        )

        assert_error(response, 413, "request_too_large")
        assert "big@example.com" not in await all_emails(client, staff)
        small = await register(client, "small@example.com")
        assert small.status_code == 201


async def test_body_above_the_default_limit_is_413(client: Client, staff: Account) -> None:
    limit = shop_of(client).settings.max_request_body_bytes
    raw = b'{"email": "big@example.com", "password": "' + b"p" * limit + b'"}'

    response = await client.post(
        "/api/auth/register/", content=raw, headers={"Content-Type": "application/json"}
    )

    assert_error(response, 413)
    assert "big@example.com" not in await all_emails(client, staff)


async def test_chunked_body_above_the_limit_is_413(sqlite_url: str) -> None:
    """No Content-Length: the limit holds while the body streams in."""
    settings = make_settings(sqlite_url, max_request_body_bytes=2048)
    async with AsyncTestClient(build_app(settings)) as client:
        staff = await new_staff(client)
        chunks = [b'{"email": "big@example.com", "password": "' + b"p" * 1000] + [b"p" * 1000] * 4 + [b'"}']
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            body = chunks.pop(0) if chunks else b""
            return {"type": "http.request", "body": body, "more_body": bool(chunks)}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/auth/register/",
            "raw_path": b"/api/auth/register/",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"testserver.local"), (b"content-type", b"application/json")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver.local", 80),
            "state": {},
        }
        await in_app(client, client.app, scope, receive, send)

        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        assert start["status"] == 413, body
        assert json.loads(body)["code"] == "request_too_large"
        assert "big@example.com" not in await all_emails(client, staff)
