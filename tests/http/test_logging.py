"""The API's logs, read as an operator reads them: the JSON lines the app writes to standard error.

The app is built by `create_app` as in production (it calls `configure_logging`) with
`SHOP_LOG_FORMAT=json`; standard error is captured (capsys) and every line of it must be one JSON
object. Each request gets an id (the client's `X-Request-ID` when sane, else a new one), echoed in
the response and carried by every line logged while serving it, the use cases' included; lines
after the bearer token is verified carry the user id; no password, token or key gets into a line.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from shop_core.settings import Settings
from shop_runtime.logging_setup import flush_logs
from tests.conftest import TEST_SECRET, build_app
from tests.http.conftest import (
    PASSWORD,
    Account,
    Client,
    bearer,
    craft_token,
    in_app,
    login,
    logout,
    profile,
    refresh,
    register,
    shop_of,
    unique_email,
)

GENERATED = re.compile(r"[0-9a-f]{32}")
NEW_PASSWORD = "another-horse-staple-9"
WRONG_PASSWORD = "wrong-horse-battery-7"
RESET_LINK_TOKEN = re.compile(r"reset-password\?token=([A-Za-z0-9_-]+)")


class Logs:
    """Everything the app wrote to standard error since the test began (or since `clear`)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self._text = ""

    def text(self) -> str:
        flush_logs()  # the listener thread has written every line logged so far
        self._text += self._capsys.readouterr().err
        return self._text

    def lines(self) -> list[dict[str, Any]]:
        """Each line parsed: standard error holds JSON objects, one a line, and nothing else."""
        parsed = []
        for line in self.text().splitlines():
            obj = json.loads(line)
            assert isinstance(obj, dict), line
            parsed.append(obj)
        return parsed

    def shop(self) -> list[dict[str, Any]]:
        """The shop's own lines (a stray line of the interpreter's, such as asyncio's about a task of
        an earlier test's event loop being collected, may come at any time)."""
        return [line for line in self.lines() if line["logger"].startswith("shop.")]

    def access(self) -> list[dict[str, Any]]:
        """The access lines: one per request."""
        return [line for line in self.lines() if line["logger"] == "shop.http" and "status" in line]

    def clear(self) -> None:
        self.text()
        self._text = ""


@pytest.fixture
def json_settings(settings: Settings) -> Settings:
    return settings.replace(log_format="json")


@pytest.fixture
async def client(
    json_settings: Settings, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Client]:
    """The real app, logging JSON lines to the captured standard error, with the access line of
    every request (a successful read's is at DEBUG)."""
    caplog.set_level(logging.WARNING, logger="httpx")  # the test client's own request lines
    caplog.set_level(logging.DEBUG, logger="shop.http")
    async with AsyncTestClient(build_app(json_settings)) as test_client:
        yield test_client


@pytest.fixture
def logs(client: Client, capsys: pytest.CaptureFixture[str]) -> Logs:
    captured = Logs(capsys)
    captured.clear()  # the start-up's lines
    return captured


async def drain(client: Client) -> None:
    """Wait until the jobs the requests recorded (emails) have run."""
    await in_app(client, shop_of(client).jobs.drain_jobs)


# --- request ids -----------------------------------------------------------------------------------


async def test_a_sane_request_id_is_echoed_and_on_every_line_of_the_request(
    client: Client, logs: Logs
) -> None:
    rid = "edge-7f3a.2026:11_27"

    created = await client.post(
        "/api/auth/register/",
        json={"email": unique_email(), "password": PASSWORD},
        headers={"X-Request-ID": rid},
    )
    await drain(client)  # the welcome email: a job the registration recorded and started

    assert created.status_code == 201, created.text
    assert created.headers["X-Request-ID"] == rid
    lines = logs.shop()
    assert {line.get("request_id") for line in lines} == {rid}  # no line without it, none other
    by_logger = {line["logger"] for line in lines}
    # The use cases' own lines (the job runner's, the mailer's), not only the access line.
    assert {"shop.http", "shop.jobs", "shop.mail"} <= by_logger, lines
    [access] = logs.access()
    assert (access["method"], access["route"], access["status"]) == ("POST", "/api/auth/register", 201)


@pytest.mark.parametrize(
    "sent",
    [
        "",
        "x" * 129,
        "two words",
        "semi;colon",
        "slash/ed",
        "quote'd",
        "<script>",
    ],
)
async def test_an_unacceptable_request_id_is_replaced_by_a_new_one(
    client: Client, logs: Logs, sent: str
) -> None:
    answer = await client.get("/api/categories/", headers={"X-Request-ID": sent})

    assert answer.status_code == 200
    rid = answer.headers["X-Request-ID"]
    assert GENERATED.fullmatch(rid), rid
    assert [line["request_id"] for line in logs.access()] == [rid]
    assert sent not in {line.get("request_id") for line in logs.shop()}


async def test_a_non_ascii_request_id_is_replaced_by_a_new_one(client: Client, logs: Logs) -> None:
    answer = await client.get("/api/categories/", headers={"X-Request-ID": "réq-1".encode()})

    assert GENERATED.fullmatch(answer.headers["X-Request-ID"])
    assert [line["request_id"] for line in logs.access()] == [answer.headers["X-Request-ID"]]


async def test_the_longest_acceptable_request_id_is_kept(client: Client, logs: Logs) -> None:
    rid = "A-z0.9_:" * 16  # 128 characters

    answer = await client.get("/api/categories/", headers={"X-Request-ID": rid})

    assert answer.headers["X-Request-ID"] == rid
    assert [line["request_id"] for line in logs.access()] == [rid]


async def test_without_a_request_id_each_request_gets_a_new_one(client: Client, logs: Logs) -> None:
    first = await client.get("/api/categories/")
    second = await client.get("/api/no-such-thing/")  # the router's 404 too

    ids = [first.headers["X-Request-ID"], second.headers["X-Request-ID"]]
    assert all(GENERATED.fullmatch(rid) for rid in ids), ids
    assert ids[0] != ids[1]
    access = logs.access()
    assert [line["request_id"] for line in access] == ids
    assert [line["status"] for line in access] == [200, 404]
    assert access[1]["route"] == "/api/no-such-thing/"  # no route matched: the path as asked


async def test_answers_made_outside_the_routes_carry_the_request_id(client: Client, logs: Logs) -> None:
    """The auth middleware's 401 and the router's 405 are built outside the route middleware."""
    unauthorized = await client.get("/api/auth/profile/", headers={"X-Request-ID": "no-token"})
    not_allowed = await client.put("/api/auth/login/", headers={"X-Request-ID": "wrong-method"})

    assert (unauthorized.status_code, unauthorized.headers["X-Request-ID"]) == (401, "no-token")
    assert (not_allowed.status_code, not_allowed.headers["X-Request-ID"]) == (405, "wrong-method")
    assert [(line["request_id"], line["status"]) for line in logs.access()] == [
        ("no-token", 401),
        ("wrong-method", 405),
    ]


async def test_reads_that_went_well_are_logged_at_debug_the_rest_at_info(
    client: Client, logs: Logs, caplog: pytest.LogCaptureFixture
) -> None:
    await client.get("/api/categories/")
    await client.get("/api/categories/999999/")
    await client.post("/api/auth/login/", json={"email": "nobody@example.com", "password": WRONG_PASSWORD})
    await client.post("/api/auth/password-reset/", json={"email": "nobody@example.com"})
    caplog.set_level(logging.INFO, logger="shop.http")  # the production default
    await client.get("/api/categories/")
    await client.get("/api/categories/999999/")

    assert [(line["method"], line["status"], line["level"]) for line in logs.access()] == [
        ("GET", 200, "DEBUG"),
        ("GET", 404, "INFO"),
        ("POST", 401, "INFO"),
        ("POST", 202, "INFO"),
        ("GET", 404, "INFO"),  # the second successful read left no line at INFO
    ]


# --- the user id -----------------------------------------------------------------------------------


async def test_lines_after_auth_carry_the_user_id(client: Client, account: Account, logs: Logs) -> None:
    mine = await profile(client, account.access)
    anonymous = await client.get("/api/categories/")
    forged = await client.get("/api/auth/profile/", headers=bearer(craft_token(account.id, secret="x" * 40)))

    assert (mine.status_code, anonymous.status_code, forged.status_code) == (200, 200, 401)
    by_id = {line["request_id"]: line for line in logs.access()}
    assert by_id[mine.headers["X-Request-ID"]]["user_id"] == account.id
    assert "user_id" not in by_id[anonymous.headers["X-Request-ID"]]
    assert "user_id" not in by_id[forged.headers["X-Request-ID"]]  # a token that did not verify


async def test_a_500_logs_its_traceback_with_the_request_and_user_ids(
    client: Client, account: Account, logs: Logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(_user_id: int) -> None:
        raise RuntimeError("the profile store fell over")

    monkeypatch.setattr(shop_of(client).accounts, "get_profile", broken)

    answer = await client.get("/api/auth/profile/", headers={**account.headers, "X-Request-ID": "boom-1"})

    assert answer.status_code == 500
    assert answer.headers["X-Request-ID"] == "boom-1"
    assert "Traceback" not in answer.text
    [error] = [line for line in logs.shop() if line["level"] == "ERROR"]
    assert error["logger"] == "shop.http"
    assert (error["request_id"], error["user_id"]) == ("boom-1", account.id)
    assert error["exc"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: the profile store fell over" in error["exc"]
    [access] = logs.access()
    assert (access["request_id"], access["status"]) == ("boom-1", 500)


# --- the JSON lines --------------------------------------------------------------------------------


async def test_every_line_is_a_json_object_with_the_documented_fields(
    client: Client, account: Account, logs: Logs
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    await profile(client, account.access)
    await client.get("/api/products/")
    await client.post("/api/auth/login/", json={"email": account.email, "password": WRONG_PASSWORD})

    lines = logs.lines()
    assert len(lines) >= 3
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
        assert "request_id" in line or not line["logger"].startswith("shop."), line
        assert line["time"].endswith("Z"), line
        when = datetime.fromisoformat(line["time"].replace("Z", "+00:00"))
        assert when.utcoffset() == timedelta(0)
        assert before <= when <= datetime.now(UTC) + timedelta(seconds=1)
        assert line["level"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
        assert isinstance(line["message"], str)
    assert all("exc" not in line for line in logs.shop())  # nothing failed
    for access in logs.access():
        assert isinstance(access["duration_ms"], float)
        assert access["duration_ms"] >= 0
        assert access["message"] == (
            f"{access['method']} {access['route']} {access['status']} {access['duration_ms']:.2f} ms"
        )
    assert [(a["route"], a["status"]) for a in logs.access()] == [
        ("/api/auth/profile", 200),
        ("/api/products", 200),
        ("/api/auth/login", 401),
    ]


# --- no secrets ------------------------------------------------------------------------------------


def _pair(answer: httpx.Response) -> tuple[str, str]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["access"], body["refresh"]


async def test_no_password_token_or_key_gets_into_the_log(
    client: Client, logs: Logs, caplog: pytest.LogCaptureFixture
) -> None:
    email = unique_email()
    bogus = f"bogus-{uuid.uuid4().hex}"
    forged = craft_token(1, secret="an-attackers-own-signing-key-0123456789")
    secrets: dict[str, str] = {
        "password": PASSWORD,
        "new password": NEW_PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "secret key": TEST_SECRET,
        "bogus bearer token": bogus,
        "forged bearer token": forged,
    }

    assert (await register(client, email)).status_code == 201
    secrets["access"], secrets["refresh"] = _pair(await login(client, email))
    assert (await profile(client, secrets["access"])).status_code == 200
    secrets["rotated access"], secrets["rotated refresh"] = _pair(await refresh(client, secrets["refresh"]))
    assert (await login(client, email, WRONG_PASSWORD)).status_code == 401
    assert (await client.get("/api/auth/profile/", headers=bearer(bogus))).status_code == 401
    assert (await client.get("/api/auth/profile/", headers=bearer(forged))).status_code == 401
    assert (await client.get("/api/products/", headers=bearer(bogus))).status_code == 401  # optional auth
    with caplog.at_level(logging.INFO):
        asked = await client.post("/api/auth/password-reset/", json={"email": email})
        await drain(client)
    assert asked.status_code == 202
    # Without a mail server the link is logged: the record holds the token, the line must not.
    [mail] = [r.getMessage() for r in caplog.records if RESET_LINK_TOKEN.search(r.getMessage())]
    secrets["reset token"] = RESET_LINK_TOKEN.search(mail)[1]  # type: ignore[index]
    confirmed = await client.post(
        "/api/auth/password-reset/confirm/", json={"token": secrets["reset token"], "password": NEW_PASSWORD}
    )
    assert confirmed.status_code == 204, confirmed.text
    secrets["new access"], secrets["new refresh"] = _pair(await login(client, email, NEW_PASSWORD))
    assert (await logout(client, secrets["new access"], secrets["new refresh"])).status_code == 204
    await drain(client)

    text = logs.text()
    leaked = [name for name, value in secrets.items() if value in text]
    assert leaked == [], leaked
    assert "Bearer " not in text
    assert "reset-password?token=***" in text  # the mailer's line was written, scrubbed
    assert len(logs.access()) == 12  # and every request was logged
