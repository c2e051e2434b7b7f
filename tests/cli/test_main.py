"""`shop demo|serve|worker`, and how every command reports bad settings and an unreachable database."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import uvicorn

from shop_core.bootstrap import migration_head
from tests.cli.conftest import UNREACHABLE_DATABASE, Cli, can_log_in, error_line, ok, table_rows, user_rows

DEMO_PASSWORD = "demo-pass-123"
COMMANDS = [
    ["db", "upgrade"],
    ["db", "downgrade", "--yes"],
    ["db", "current"],
    ["demo"],
    ["users", "create-admin", "--email", "boss@example.com", "--password", "s3cret-pass"],
    ["users", "list"],
    ["users", "deactivate", "boss@example.com"],
    ["catalog", "export", "out.csv"],
    ["catalog", "seed", "--yes", "--products", "5", "--categories", "2"],
    ["products", "list", "--search", "lamp"],
    ["stock", "set", "LAMP-1", "3", "--reason", "restock"],
    ["stock", "adjust", "LAMP-1", "-3", "--reason", "damage"],
    ["stock", "history", "LAMP-1"],
]
IDS = [" ".join(c[:2]) for c in COMMANDS]


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record what `shop serve` would run instead of starting a server (and failing tests hang)."""
    calls: list[dict[str, Any]] = []

    def run(app: str, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs})

    monkeypatch.setattr(uvicorn, "run", run)
    return calls


@pytest.fixture
def no_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> int:
        raise AssertionError(f"should not have started {args}")

    monkeypatch.setattr(subprocess, "call", refuse)


# --- demo -------------------------------------------------------------------------------------


def test_demo_migrates_and_creates_the_demo_accounts_and_catalog(empty_cli: Cli) -> None:
    out = ok(empty_cli("demo"))

    assert f"database at revision {migration_head()}" in out
    assert [(row["account"], row["state"]) for row in table_rows(out)] == [
        ("admin@example.com", "created"),
        ("customer@example.com", "created"),
    ]
    rows = user_rows(ok(empty_cli("users", "list")))
    assert list(rows) == ["admin@example.com", "customer@example.com"]
    assert rows["admin@example.com"]["staff"] == "yes"
    assert rows["customer@example.com"]["staff"] == ""
    assert can_log_in(empty_cli.database_url, "admin@example.com", DEMO_PASSWORD)
    assert can_log_in(empty_cli.database_url, "customer@example.com", DEMO_PASSWORD)
    # and a small catalog
    assert (
        "Demo catalog: 60 products in 12 categories (60 created, 0 updated, 0 unchanged, 0 rejected), "
        "and a T-shirt in 6 variants (DEMO-TEE)." in out
    )
    listed = ok(empty_cli("products", "list", "--page-size", "100"))
    assert "Products 1-61 of 61" in listed
    *products, shirt = table_rows(listed)
    assert (shirt["sku"], shirt["price"], shirt["stock"]) == ("DEMO-TEE", "18.00", str(sum(range(5, 21, 3))))
    variants = table_rows(ok(empty_cli("products", "variants", "list", "61")))
    assert [(v["name"], v["price"]) for v in variants[::2]] == [
        ("S / Red", "18.00"),
        ("M / Red", "18.00"),
        ("L / Red", "20.00"),
    ]
    assert all(row["category"] for row in products)
    assert len({row["category"] for row in products}) > 5
    assert table_rows(ok(empty_cli("stock", "history", products[0]["sku"])))[0]["reason"] == "import"


def test_demo_is_idempotent(empty_cli: Cli) -> None:
    ok(empty_cli("demo"))
    exported = ok(empty_cli("catalog", "export", "-"))

    out = ok(empty_cli("demo"))

    assert [row["state"] for row in table_rows(out)] == ["already there", "already there"]
    assert (
        "Demo catalog: 60 products in 12 categories "
        "(0 created, 0 updated, 0 unchanged, 0 rejected, 60 skipped (already there)), "
        "and a T-shirt in 6 variants (DEMO-TEE)." in out
    )
    assert "Users 1-2 of 2" in ok(empty_cli("users", "list"))
    assert ok(empty_cli("catalog", "export", "-")) == exported


# --- settings and the database ------------------------------------------------------------------


@pytest.mark.parametrize("command", [*COMMANDS, ["worker"]], ids=[*IDS, "worker"])
def test_an_invalid_setting_is_named(no_subprocess: None, cli: Cli, command: list[str]) -> None:
    line = error_line(cli(*command, env={"SHOP_ACCESS_TOKEN_TTL": "abc"}))

    assert line.startswith("error: SHOP_ACCESS_TOKEN_TTL:")


@pytest.mark.parametrize("value", ["0", "-5"])
def test_an_out_of_range_setting_is_named(cli: Cli, value: str) -> None:
    assert "SHOP_ACCESS_TOKEN_TTL" in error_line(cli("users", "list", env={"SHOP_ACCESS_TOKEN_TTL": value}))


# Production refuses SQLite, so these give a PostgreSQL URL; `serve` (no server started) only parses it.
# It also refuses open metrics unless told: these keep /metrics open on purpose.
PRODUCTION = {
    "SHOP_ENV": "production",
    "SHOP_DATABASE_URL": "postgresql+asyncpg://shop@db.invalid/shop",
    "SHOP_METRICS_PUBLIC": "true",
}


def test_production_needs_a_secret_key(cli: Cli) -> None:
    line = error_line(cli("users", "list", env={**PRODUCTION, "SHOP_SECRET_KEY": None}))

    assert "SHOP_SECRET_KEY" in line


def test_production_accepts_a_real_secret_key(cli: Cli, no_server: list[dict[str, Any]]) -> None:
    ok(cli("serve", env=PRODUCTION))

    assert len(no_server) == 1


def test_production_refuses_sqlite(cli: Cli, no_server: list[dict[str, Any]]) -> None:
    line = error_line(cli("serve", env={"SHOP_ENV": "production"}))  # the test's SQLite file

    assert line.startswith("error: SHOP_DATABASE_URL ")
    assert no_server == []


def test_a_short_secret_key_is_refused(cli: Cli) -> None:
    assert "SHOP_SECRET_KEY" in error_line(cli("users", "list", env={"SHOP_SECRET_KEY": "too-short"}))


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_an_unreachable_database_is_one_error_line(cli: Cli, command: list[str]) -> None:
    line = error_line(cli(*command, env={"SHOP_DATABASE_URL": UNREACHABLE_DATABASE}))

    assert "Connect" in line  # ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 1)


# --- serve --------------------------------------------------------------------------------------


def test_serve_runs_the_app_factory_with_the_options(cli: Cli, no_server: list[dict[str, Any]]) -> None:
    out = ok(cli("serve", "--host", "localhost", "--port", "8123", "--workers", "3"))

    assert "http://localhost:8123" in out
    [call] = no_server
    assert call["app"] == "shop_http.app:create_app"
    assert call["factory"] is True
    assert (call["host"], call["port"], call["workers"], call["reload"]) == ("localhost", 8123, 3, False)


@pytest.mark.parametrize(
    "options",
    [["--port", "0"], ["--port", "65536"], ["--workers", "0"], ["--port", "http"]],
    ids=["port-0", "port-too-big", "workers-0", "port-not-a-number"],
)
def test_serve_rejects_bad_options(cli: Cli, no_server: list[dict[str, Any]], options: list[str]) -> None:
    result = cli("serve", *options)

    assert result.exit_code == 2
    assert options[0] in result.stderr
    assert no_server == []


def test_serve_refuses_reload_with_several_workers(cli: Cli, no_server: list[dict[str, Any]]) -> None:
    assert "--reload" in error_line(cli("serve", "--reload", "--workers", "2"))
    assert no_server == []


def test_serve_checks_the_settings_before_starting(cli: Cli, no_server: list[dict[str, Any]]) -> None:
    assert "SHOP_ACCESS_TOKEN_TTL" in error_line(cli("serve", env={"SHOP_ACCESS_TOKEN_TTL": "abc"}))
    assert no_server == []


# --- worker (the run against Redis is in tests/integration/test_worker.py) ----------------------


def test_worker_without_redis_names_the_setting(cli: Cli, no_subprocess: None) -> None:
    line = error_line(cli("worker", "--burst"))

    assert "SHOP_REDIS_URL" in line


def test_worker_rejects_a_concurrency_of_0(cli: Cli, no_subprocess: None) -> None:
    result = cli("worker", "--concurrency", "0", env={"SHOP_REDIS_URL": "redis://127.0.0.1:6379/0"})

    assert result.exit_code == 2
    assert "--concurrency" in result.stderr
