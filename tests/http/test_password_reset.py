"""Password reset end to end, through the app and a real SMTP server.

POST /api/auth/password-reset/ is always 202 with one body; POST /api/auth/password-reset/confirm/
is 204, or 400 `invalid_token` for any unknown, used or expired token (nothing changes), or 400
`invalid` for a weak password (the token stays usable). A reset signs out every refresh token.

The email is a background job (`email.password_reset`) run by the embedded in-process queue after
the request's commit: tests drain the jobs before reading the inbox, and a "no email" assertion is
only made after draining. At most one reset email per account and minute of the shop's clock.
Registering also mails a welcome, so the inbox is read by subject.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from functools import partial
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from shop_core.bootstrap import bootstrap
from shop_core.domain.actors import Actor
from shop_core.services.jobs import PASSWORD_RESET_EMAIL, JobView
from tests.conftest import build_app, fast_hasher, make_settings
from tests.fakes import FakeClock
from tests.http.conftest import (
    PASSWORD,
    Client,
    assert_error,
    deactivate,
    in_app,
    login,
    new_account,
    post_concurrently,
    refresh,
    register,
    shop_of,
)
from tests.smtp_server import REFUSED, Inbox, running_inbox

REQUEST = "/api/auth/password-reset/"
CONFIRM = "/api/auth/password-reset/confirm/"
ANSWER = {"detail": "If that email has an account, a reset link is on its way."}
FRONT_END = "http://front.test"
TTL = 600
NEW_PASSWORD = "a-brand-new-passphrase"
LINK = re.compile(r"http://front\.test/reset-password\?token=([A-Za-z0-9_-]+)")
RESET_SUBJECT = "Reset your password"


@dataclass
class World:
    client: Client
    inbox: Inbox
    clock: FakeClock

    async def ask(self, email: Any) -> httpx.Response:
        """Ask for a reset; the jobs it recorded (if any) have run when this returns."""
        answer = await self.client.post(REQUEST, json={"email": email})
        await self.drain()
        return answer

    async def drain(self) -> None:
        """Wait until every recorded job has run (on the app's own event loop, where they run)."""
        await in_app(self.client, shop_of(self.client).jobs.drain_jobs)

    async def jobs(self, status: str | None = None) -> list[JobView]:
        page = await in_app(self.client, shop_of(self.client).jobs.list_jobs, Actor.operator(), status)
        items: list[JobView] = page.items
        return items

    @property
    def welcome_subject(self) -> str:
        """What registering mails the new account."""
        return f"Welcome to {shop_of(self.client).settings.store_name}"

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for message in self.inbox.messages]

    def reset_emails_to(self, email: str) -> list[EmailMessage]:
        return [
            message
            for message in self.inbox.messages
            if message["To"] == email and str(message["Subject"]).startswith(RESET_SUBJECT)
        ]

    async def confirm(self, token: str, password: str = NEW_PASSWORD) -> httpx.Response:
        return await self.client.post(CONFIRM, json={"token": token, "password": password})

    def tokens_sent_to(self, email: str) -> list[str]:
        """The token of every link mailed to `email`, oldest first."""
        found = []
        for message in self.reset_emails_to(email):
            text = message.get_body(preferencelist=("plain",))
            assert text is not None
            match = LINK.search(text.get_content())
            assert match is not None, text.get_content()
            found.append(match.group(1))
        return found

    async def token_for(self, email: str) -> str:
        """Ask for a reset of `email`'s password; the token of the link that arrives."""
        before = len(self.tokens_sent_to(email))
        answer = await self.ask(email)
        assert (answer.status_code, answer.json()) == (202, ANSWER), answer.text
        sent = self.tokens_sent_to(email)
        assert len(sent) == before + 1
        return sent[-1]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with running_inbox() as box:
        yield box


async def open_world(database_url: str, inbox: Inbox, **changes: Any) -> AsyncIterator[World]:
    clock = FakeClock()
    settings = make_settings(
        database_url, smtp_url=inbox.url, public_base_url=FRONT_END + "/", password_reset_ttl=TTL, **changes
    )
    from shop_http import create_app

    app = create_app(settings, shop_factory=partial(bootstrap, hasher=fast_hasher(), clock=clock))
    async with AsyncTestClient(app) as client:
        yield World(client, inbox, clock)


@pytest.fixture
async def world(database_url: str, inbox: Inbox) -> AsyncIterator[World]:
    """The app on each database, mailing through a real SMTP server, on a clock the test moves."""
    async for opened in open_world(database_url, inbox):
        yield opened


@pytest.fixture
async def impatient_world(database_url: str, inbox: Inbox) -> AsyncIterator[World]:
    """Like `world`, with failed jobs tried again after 0.01 s (then 0.02 s...), not 10 s."""
    async for opened in open_world(database_url, inbox, job_retry_delay=0.01):
        yield opened


@pytest.fixture
async def pg_world(pg_url: str, inbox: Inbox) -> AsyncIterator[World]:
    async for opened in open_world(pg_url, inbox):
        yield opened


async def test_reset_end_to_end(world: World) -> None:
    account = await new_account(world.client)
    token = await world.token_for(account.email)
    [message] = world.reset_emails_to(account.email)
    assert message["Subject"].startswith(RESET_SUBJECT)
    assert f"{TTL // 60}" in str(message.get_body(preferencelist=("plain",)))

    confirmed = await world.confirm(token)
    assert confirmed.status_code == 204, confirmed.text

    assert (await login(world.client, account.email, NEW_PASSWORD)).status_code == 200
    assert_error(await login(world.client, account.email, PASSWORD), 401)
    assert_error(await refresh(world.client, account.refresh), 401)  # the session from before
    again = assert_error(await world.confirm(token, "yet-another-passphrase"), 400, "invalid_token")
    assert "errors" not in again
    assert (await login(world.client, account.email, NEW_PASSWORD)).status_code == 200


async def test_every_session_of_the_user_ends_and_no_one_elses(world: World) -> None:
    account = await new_account(world.client)
    second = (await login(world.client, account.email)).json()["refresh"]
    rotated = (await refresh(world.client, second)).json()["refresh"]
    other = await new_account(world.client)

    assert (await world.confirm(await world.token_for(account.email))).status_code == 204

    assert_error(await refresh(world.client, account.refresh), 401)
    assert_error(await refresh(world.client, rotated), 401)
    assert (await refresh(world.client, other.refresh)).status_code == 200


async def test_an_expired_token_changes_nothing(world: World) -> None:
    account = await new_account(world.client)
    token = await world.token_for(account.email)
    world.clock.advance(TTL)

    assert_error(await world.confirm(token), 400, "invalid_token")
    assert (await login(world.client, account.email, PASSWORD)).status_code == 200
    assert_error(await login(world.client, account.email, NEW_PASSWORD), 401)
    assert (await refresh(world.client, account.refresh)).status_code == 200


async def test_a_token_works_until_just_before_it_expires(world: World) -> None:
    account = await new_account(world.client)
    token = await world.token_for(account.email)
    world.clock.advance(TTL - 1)
    assert (await world.confirm(token)).status_code == 204


@pytest.mark.parametrize("token", ["nope", "x" * 200, "A" * 43])
async def test_an_unknown_token_is_invalid(world: World, token: str) -> None:
    body = assert_error(await world.confirm(token), 400, "invalid_token")
    assert "link" in body["detail"]


async def test_a_new_request_replaces_the_older_link(world: World) -> None:
    account = await new_account(world.client)
    older = await world.token_for(account.email)
    world.clock.advance(60)  # one email per account and minute: the next minute may ask again
    newer = await world.token_for(account.email)
    assert older != newer
    assert_error(await world.confirm(older), 400, "invalid_token")
    assert (await world.confirm(newer)).status_code == 204


async def test_two_requests_in_the_same_minute_send_one_email(world: World) -> None:
    account = await new_account(world.client)
    first = await world.ask(account.email)
    world.clock.advance(59 - world.clock.now().second)  # the last second of the same minute
    second = await world.ask(f" {account.email.upper()}")
    assert [(a.status_code, a.json()) for a in (first, second)] == [(202, ANSWER)] * 2
    [token] = world.tokens_sent_to(account.email)
    resets = [job for job in await world.jobs() if job.name == PASSWORD_RESET_EMAIL]
    assert [job.status for job in resets] == ["complete"]
    assert (await world.confirm(token)).status_code == 204  # the one link is the live one

    world.clock.advance(1)  # the next minute: a new request mails a new link
    newest = await world.token_for(account.email)
    assert len(world.tokens_sent_to(account.email)) == 2
    assert newest != token


@pytest.mark.parametrize("email", ["nobody-here@example.com", "not an email", "", "@", "a" * 1000])
async def test_an_address_without_an_account_gets_the_same_answer_and_no_email(
    world: World, email: str
) -> None:
    account = await new_account(world.client)
    await world.drain()
    assert world.subjects() == [world.welcome_subject]  # the account's own welcome

    answer = await world.ask(email)  # drains: any email it caused has been sent by now
    assert (answer.status_code, answer.json()) == (202, ANSWER)
    assert world.subjects() == [world.welcome_subject]
    assert [m["To"] for m in world.inbox.messages] == [account.email]
    assert PASSWORD_RESET_EMAIL not in {job.name for job in await world.jobs()}


async def test_an_inactive_account_gets_the_same_answer_and_no_email(world: World) -> None:
    account = await new_account(world.client)
    await world.drain()
    await deactivate(world.client, account.email)
    answer = await world.ask(account.email)
    assert (answer.status_code, answer.json()) == (202, ANSWER)
    assert world.reset_emails_to(account.email) == []
    assert world.subjects() == [world.welcome_subject]
    assert PASSWORD_RESET_EMAIL not in {job.name for job in await world.jobs()}


async def test_the_email_is_matched_ignoring_case_and_spaces(world: World) -> None:
    account = await new_account(world.client)
    answer = await world.ask(f"  {account.email.upper()} ")
    assert (answer.status_code, answer.json()) == (202, ANSWER)
    assert len(world.tokens_sent_to(account.email)) == 1


async def test_a_mail_server_that_refuses_still_gets_a_202(impatient_world: World, caplog: Any) -> None:
    world = impatient_world
    assert (await register(world.client, REFUSED)).status_code == 201
    answer = await world.ask(REFUSED)  # drains: every attempt has been made by now
    assert (answer.status_code, answer.json()) == (202, ANSWER)
    assert world.inbox.envelopes == []

    [failed] = [job for job in await world.jobs("failed") if job.name == PASSWORD_RESET_EMAIL]
    assert (failed.attempts, failed.max_attempts) == (3, 3)
    assert failed.error is not None
    assert "recipient refused" in failed.error
    assert "550" in failed.error
    assert failed.finished_at is not None
    assert [job for job in await world.jobs() if job.status not in ("complete", "failed")] == []
    assert any(
        r.levelname == "ERROR" and PASSWORD_RESET_EMAIL in r.getMessage() and "550" in r.getMessage()
        for r in caplog.records
    ), caplog.text


async def test_a_weak_password_keeps_the_token_usable(world: World) -> None:
    account = await new_account(world.client)
    token = await world.token_for(account.email)

    for weak in ("short", "12345678901", account.email):
        body = assert_error(await world.confirm(token, weak), 400, "invalid")
        assert body["errors"]["password"]
    assert (await login(world.client, account.email, PASSWORD)).status_code == 200

    assert (await world.confirm(token)).status_code == 204
    assert (await login(world.client, account.email, NEW_PASSWORD)).status_code == 200


async def test_a_reset_lifts_the_login_lockout(world: World) -> None:
    account = await new_account(world.client)
    for _ in range(shop_of(world.client).settings.max_failed_logins):
        await login(world.client, account.email, "wrong-password")
    assert_error(await login(world.client, account.email, PASSWORD), 429)

    assert (await world.confirm(await world.token_for(account.email))).status_code == 204
    assert (await login(world.client, account.email, NEW_PASSWORD)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{}, {"email": 5}, {"email": None}, {"email": ["a@example.com"]}, {"email": "a@example.com", "x": 1}, []],
)
async def test_a_malformed_request_is_400(world: World, body: Any) -> None:
    assert_error(await world.client.post(REQUEST, json=body), 400, "invalid")
    await world.drain()
    assert world.inbox.envelopes == []
    assert await world.jobs() == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"token": "abc"},
        {"password": NEW_PASSWORD},
        {"token": 5, "password": NEW_PASSWORD},
        {"token": "", "password": NEW_PASSWORD},
        {"token": "abc", "password": None},
        {"token": "abc", "password": NEW_PASSWORD, "email": "a@example.com"},
    ],
)
async def test_a_malformed_confirmation_is_400(world: World, body: Any) -> None:
    assert_error(await world.client.post(CONFIRM, json=body), 400, "invalid")


async def test_not_json_is_400(world: World) -> None:
    for path in (REQUEST, CONFIRM):
        sent = await world.client.post(
            path, content=b"{not json", headers={"content-type": "application/json"}
        )
        assert_error(sent, 400)


async def test_one_token_confirmed_concurrently_succeeds_exactly_once(pg_world: World) -> None:
    account = await new_account(pg_world.client)
    token = await pg_world.token_for(account.email)
    body = {"token": token, "password": NEW_PASSWORD}

    answers = await post_concurrently(pg_world.client, CONFIRM, body, {}, 6)

    assert sorted(a.status_code for a in answers) == [204] + [400] * 5, [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 400):
        assert_error(refused, 400, "invalid_token")
    assert (await login(pg_world.client, account.email, NEW_PASSWORD)).status_code == 200
    assert_error(await refresh(pg_world.client, account.refresh), 401)


def test_the_routes_are_public_rate_limited_and_documented(client: Client) -> None:
    schema = client.app.openapi_schema.to_schema()
    for path, operation in (
        ("/api/auth/password-reset", "requestPasswordReset"),
        ("/api/auth/password-reset/confirm", "confirmPasswordReset"),
    ):
        found = [p for p in schema["paths"] if p.rstrip("/") == path]
        assert found, sorted(schema["paths"])
        post = schema["paths"][found[0]]["post"]
        assert post["operationId"] == operation
        assert post.get("security") in ([], [{}])
    handlers = {
        route.path: handler
        for route in client.app.routes
        for handler in getattr(route, "route_handlers", [])
        if route.path.startswith("/api/auth/password-reset") and "POST" in handler.http_methods
    }
    assert len(handlers) == 2
    assert all(h.opt.get("auth_rate_limit") for h in handlers.values())


@pytest.mark.parametrize(
    ("path", "body"),
    [(REQUEST, {"email": "a@example.com"}), (CONFIRM, {"token": "t", "password": NEW_PASSWORD})],
)
async def test_both_routes_have_the_auth_rate_limit(sqlite_url: str, path: str, body: dict[str, str]) -> None:
    settings = make_settings(sqlite_url, rate_limit_enabled=True, auth_rate_limit_per_minute=3)
    async with AsyncTestClient(build_app(settings)) as client:
        answers = [await client.post(path, json=body) for _ in range(3)]
        assert all(a.status_code in {202, 400} for a in answers), [a.text for a in answers]
        assert_error(await client.post(path, json=body), 429, "throttled")
