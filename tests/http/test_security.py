"""Security headers, CORS, rate limits, health, the OpenAPI schema and the docs page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import build_app, make_settings
from tests.http.conftest import (
    PASSWORD,
    Account,
    Client,
    assert_error,
    bearer,
    login,
    new_account,
    register,
    unique_email,
)

API_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def assert_security_headers(response: httpx.Response) -> None:
    for name, value in API_HEADERS.items():
        assert response.headers.get(name) == value, (response.status_code, name, dict(response.headers))
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in csp, (response.status_code, csp)
    assert "frame-ancestors 'none'" in csp


Request = Callable[[Client, Account], Awaitable[httpx.Response]]

RESPONSES: dict[str, Request] = {
    "200-login": lambda c, a: login(c, a.email),
    "200-profile": lambda c, a: c.get("/api/auth/profile/", headers=a.headers),
    "201-register": lambda c, a: register(c, unique_email()),
    "204-logout": lambda c, a: c.post("/api/auth/logout/", json={"refresh": a.refresh}, headers=a.headers),
    "400-invalid": lambda c, a: register(c, "not-an-email"),
    "401-wrong-password": lambda c, a: login(c, a.email, "wrong-password"),
    "401-no-token": lambda c, a: c.get("/api/auth/profile/"),
    "401-bad-token": lambda c, a: c.get("/api/auth/profile/", headers=bearer("garbage")),
    "403-customer": lambda c, a: c.get("/api/users/", headers=a.headers),
    "404-unknown-path": lambda c, a: c.get("/api/nothing-here/"),
    "405-wrong-method": lambda c, a: c.delete("/api/auth/login/"),
    "409-taken": lambda c, a: register(c, a.email),
    "413-too-large": lambda c, a: c.post(
        "/api/auth/register/",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={"Content-Type": "application/json"},
    ),
}


@pytest.mark.parametrize("kind", list(RESPONSES))
async def test_every_api_response_carries_the_security_headers(
    client: Client, account: Account, kind: str
) -> None:
    response = await RESPONSES[kind](client, account)

    assert str(response.status_code) == kind.split("-", maxsplit=1)[0], response.text
    assert_security_headers(response)


async def test_json_errors_say_they_are_json(client: Client) -> None:
    response = await client.get("/api/nothing-here/")

    assert_error(response, 404, "not_found")


async def test_wrong_method_is_405_in_the_error_shape(client: Client) -> None:
    response = await client.delete("/api/auth/login/")

    assert_error(response, 405, "method_not_allowed")


async def test_no_hsts_over_plain_http(client: Client) -> None:
    assert "Strict-Transport-Security" not in (await client.get("/health/live")).headers


async def test_hsts_over_https(settings: Any) -> None:
    async with AsyncTestClient(build_app(settings), base_url="https://testserver.local") as client:
        response = await client.get("/health/live")

    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


# --- docs, schema, health -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/docs/", "/api/docs"])
async def test_docs_page_is_html_with_a_csp_that_allows_its_scripts(client: Client, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()
    assert "swagger" in response.text.lower()
    assert "/api/schema/openapi.json" in response.text or "openapi" in response.text.lower()
    for name, value in API_HEADERS.items():
        assert response.headers[name] == value
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, _, sources = part.strip().partition(" ")
        directives[name] = sources
    # Swagger UI's files are the app's own (/api/docs/assets/): no CDN, no inline script.
    assert directives["script-src"] == "'self'"
    assert "https:" not in response.headers["Content-Security-Policy"]
    assert "frame-ancestors" in directives


async def test_openapi_schema_describes_auth(client: Client) -> None:
    response = await client.get("/api/schema/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    paths = {p.rstrip("/") for p in schema["paths"]}
    assert {
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/logout",
        "/api/auth/profile",
        "/api/users",
    } <= paths
    schemes = schema["components"]["securitySchemes"]
    assert any(s["type"] == "http" and s["scheme"].lower() == "bearer" for s in schemes.values()), schemes
    operations = {p.rstrip("/"): ops for p, ops in schema["paths"].items()}
    assert "patch" in operations["/api/auth/profile"]
    assert "401" in operations["/api/auth/login"]["post"]["responses"]
    assert "409" in operations["/api/auth/register"]["post"]["responses"]
    assert "429" in operations["/api/auth/login"]["post"]["responses"]


async def test_openapi_marks_public_endpoints_as_public(client: Client) -> None:
    schema = (await client.get("/api/schema/openapi.json")).json()
    operations = {p.rstrip("/"): ops for p, ops in schema["paths"].items()}
    bearer_schemes = set(schema["components"]["securitySchemes"])

    def needs_bearer(path: str, method: str) -> bool:
        requirements = operations[path][method].get("security", schema.get("security", []))
        return bool(requirements) and all(set(r) & bearer_schemes for r in requirements)

    for path in (
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/health/live",
        "/health/ready",
    ):
        method = "get" if path.startswith("/health") else "post"
        assert not needs_bearer(path, method), (path, operations[path][method].get("security"))
    for path, method in (
        ("/api/auth/profile", "get"),
        ("/api/auth/profile", "patch"),
        ("/api/auth/logout", "post"),
        ("/api/users", "get"),
    ):
        assert needs_bearer(path, method), path


async def test_health_live(client: Client) -> None:
    response = await client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_health_ready_reports_its_dependencies(client: Client) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["dependencies"]["database"]["ok"] is True


async def test_health_ready_checks_redis_when_configured(
    sqlite_url: str, redis_url: str, redis_prefix: str
) -> None:
    settings = make_settings(sqlite_url, redis_url=redis_url, redis_key_prefix=redis_prefix)
    async with AsyncTestClient(build_app(settings)) as client:
        response = await client.get("/health/ready")

    assert response.status_code == 200
    assert set(response.json()["dependencies"]) == {"database", "redis"}
    assert all(d["ok"] for d in response.json()["dependencies"].values())


async def test_health_ready_is_503_when_redis_is_down(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, redis_url="redis://127.0.0.1:1/0")
    async with AsyncTestClient(build_app(settings)) as client:
        response = await client.get("/health/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["dependencies"]["database"]["ok"] is True
    assert body["dependencies"]["redis"]["ok"] is False


# --- CORS ---------------------------------------------------------------------------------------


@pytest.fixture
async def cors_client(sqlite_url: str) -> AsyncIterator[Client]:
    settings = make_settings(sqlite_url, cors_origins=("https://shop.example",))
    async with AsyncTestClient(build_app(settings)) as client:
        yield client


def _preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_cors_preflight_from_the_allowed_origin(cors_client: Client) -> None:
    response = await cors_client.options("/api/auth/login/", headers=_preflight("https://shop.example"))

    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed
    assert "content-type" in allowed


async def test_cors_preflight_from_another_origin_is_refused(cors_client: Client) -> None:
    response = await cors_client.options("/api/auth/login/", headers=_preflight("https://evil.example"))

    assert response.headers.get("Access-Control-Allow-Origin") not in ("https://evil.example", "*")
    assert response.status_code >= 400


async def test_cors_simple_request_from_the_allowed_origin(cors_client: Client) -> None:
    response = await cors_client.get("/health/live", headers={"Origin": "https://shop.example"})

    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert response.headers.get("Access-Control-Allow-Credentials") != "true"


async def test_cors_simple_request_from_another_origin_gets_no_grant(cors_client: Client) -> None:
    response = await cors_client.get("/health/live", headers={"Origin": "https://evil.example"})

    assert "Access-Control-Allow-Origin" not in response.headers


async def test_no_cors_grants_when_no_origin_is_configured(client: Client) -> None:
    response = await client.options("/api/auth/login/", headers=_preflight("https://shop.example"))

    assert "Access-Control-Allow-Origin" not in response.headers


# --- rate limits --------------------------------------------------------------------------------


@pytest.fixture
async def limited_client(sqlite_url: str) -> AsyncIterator[Client]:
    settings = make_settings(sqlite_url, rate_limit_enabled=True, auth_rate_limit_per_minute=3)
    async with AsyncTestClient(build_app(settings)) as client:
        yield client


def assert_throttled(response: httpx.Response) -> None:
    assert_error(response, 429, "throttled")
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert_security_headers(response)


async def test_fourth_login_within_a_minute_is_429(limited_client: Client) -> None:
    answers = [await login(limited_client, "ada@example.com", "wrong-password") for _ in range(3)]
    assert [r.status_code for r in answers] == [401, 401, 401]

    assert_throttled(await login(limited_client, "ada@example.com", "wrong-password"))


async def test_fourth_registration_within_a_minute_is_429_and_creates_nobody(
    limited_client: Client, sqlite_url: str
) -> None:
    for n in range(3):
        assert (await register(limited_client, f"user{n}@example.com")).status_code == 201

    assert_throttled(await register(limited_client, "user3@example.com"))

    async with AsyncTestClient(build_app(make_settings(sqlite_url))) as unlimited:
        assert (await login(unlimited, "user2@example.com")).status_code == 200
        assert (await login(unlimited, "user3@example.com")).status_code == 401


async def test_auth_limit_is_shared_by_the_password_endpoints(limited_client: Client) -> None:
    await register(limited_client, "ada@example.com")
    await login(limited_client, "ada@example.com")
    await limited_client.post("/api/auth/refresh/", json={"refresh": "garbage"})

    assert_throttled(await login(limited_client, "ada@example.com"))


async def test_auth_limit_leaves_other_endpoints_alone(limited_client: Client) -> None:
    account = await new_account(limited_client)
    await login(limited_client, account.email)
    assert_throttled(await login(limited_client, account.email))

    for _ in range(5):
        assert (await limited_client.get("/api/auth/profile/", headers=account.headers)).status_code == 200


async def test_forged_forwarding_headers_do_not_reset_the_limit(limited_client: Client) -> None:
    for n in range(3):
        await login(limited_client, "ada@example.com", f"wrong-{n}")

    response = await limited_client.post(
        "/api/auth/login/",
        json={"email": "ada@example.com", "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"},
    )

    assert_throttled(response)


async def test_successful_answers_announce_the_limit(limited_client: Client) -> None:
    response = await register(limited_client, "ada@example.com")

    assert response.status_code == 201
    assert response.headers["RateLimit-Limit"] in ("3", "300")
    assert "RateLimit-Remaining" in response.headers


@pytest.fixture
async def general_limited_client(sqlite_url: str) -> AsyncIterator[Client]:
    settings = make_settings(
        sqlite_url, rate_limit_enabled=True, rate_limit_per_minute=3, auth_rate_limit_per_minute=100
    )
    async with AsyncTestClient(build_app(settings)) as client:
        yield client


async def test_general_limit_applies_to_every_api_request(
    general_limited_client: Client, sqlite_url: str
) -> None:
    client = general_limited_client
    async with AsyncTestClient(build_app(make_settings(sqlite_url))) as unlimited:
        account = await new_account(unlimited)

    for _ in range(3):
        assert (await client.get("/api/auth/profile/", headers=account.headers)).status_code == 200

    assert_throttled(await client.get("/api/auth/profile/", headers=account.headers))
    assert_throttled(await login(client, account.email))


async def test_general_limit_counts_unauthenticated_requests(general_limited_client: Client) -> None:
    client = general_limited_client
    for _ in range(3):
        assert (await client.get("/api/auth/profile/", headers=bearer("guess"))).status_code == 401

    assert_throttled(await client.get("/api/auth/profile/", headers=bearer("guess")))


async def test_health_and_docs_are_not_limited(general_limited_client: Client) -> None:
    client = general_limited_client
    for _ in range(5):
        assert (await client.get("/health/live")).status_code == 200
        assert (await client.get("/api/schema/openapi.json")).status_code == 200


async def test_rate_limits_live_in_redis_when_configured(
    sqlite_url: str, redis_url: str, redis_prefix: str
) -> None:
    settings = make_settings(
        sqlite_url,
        rate_limit_enabled=True,
        auth_rate_limit_per_minute=3,
        redis_url=redis_url,
        redis_key_prefix=redis_prefix,
    )
    async with AsyncTestClient(build_app(settings)) as first:
        for _ in range(3):
            await login(first, "ada@example.com", "wrong-password")
    async with AsyncTestClient(build_app(settings)) as second:
        assert_throttled(await login(second, "ada@example.com", "wrong-password"))
