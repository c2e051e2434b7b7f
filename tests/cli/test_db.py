"""`shop db upgrade|downgrade|current`."""

from __future__ import annotations

from shop_core.bootstrap import migration_head
from tests.cli.conftest import Cli, error_line, ok


def test_a_new_database_is_at_none_and_needs_upgrading(empty_cli: Cli) -> None:
    out = ok(empty_cli("db", "current"))

    assert f"current: none  head: {migration_head()}" in out
    assert "needs `shop db upgrade`" in out


def test_upgrade_brings_the_database_to_the_head_revision(empty_cli: Cli) -> None:
    head = migration_head()
    assert head != "none"

    assert f"Database at revision {head}" in ok(empty_cli("db", "upgrade"))

    out = ok(empty_cli("db", "current"))
    assert f"current: {head}  head: {head}" in out
    assert "up to date" in out
    assert ok(empty_cli("users", "list")).strip() == "No users."  # the tables exist


def test_upgrade_twice_is_harmless(cli: Cli) -> None:
    assert f"Database at revision {migration_head()}" in ok(cli("db", "upgrade"))


def test_downgrade_to_base_empties_the_database(cli: Cli) -> None:
    assert "Database at revision none" in ok(cli("db", "downgrade", "base", "--yes"))

    out = ok(cli("db", "current"))
    assert f"current: none  head: {migration_head()}" in out
    assert "needs `shop db upgrade`" in out
    error_line(cli("users", "list"))  # the tables are gone


def test_downgrade_then_upgrade_again(cli: Cli) -> None:
    ok(cli("db", "downgrade", "base", "--yes"))

    assert f"Database at revision {migration_head()}" in ok(cli("db", "upgrade"))
    assert "up to date" in ok(cli("db", "current"))


def test_an_unknown_revision_is_one_error_line(cli: Cli) -> None:
    error_line(cli("db", "upgrade", "no-such-revision"))
