"""The operator's path once against PostgreSQL: migrate, create an admin, list the users."""

from __future__ import annotations

from shop_core.bootstrap import migration_head
from tests.cli.conftest import Cli, can_log_in, ok, user_rows


def test_upgrade_create_admin_and_list_on_postgres(pg_url: str) -> None:
    cli = Cli(pg_url)

    assert f"Database at revision {migration_head()}" in ok(cli("db", "upgrade"))
    assert "up to date" in ok(cli("db", "current"))
    out = ok(cli("users", "create-admin", "--email", "boss@example.com", "--password", "s3cret-pass"))
    assert "Created admin boss@example.com" in out

    rows = user_rows(ok(cli("users", "list")))

    assert list(rows) == ["boss@example.com"]
    assert rows["boss@example.com"]["staff"] == "yes"
    assert can_log_in(pg_url, "boss@example.com", "s3cret-pass")
    assert "Deactivated boss@example.com" in ok(cli("users", "deactivate", "boss@example.com"))
    assert user_rows(ok(cli("users", "list")))["boss@example.com"]["active"] == "no"
