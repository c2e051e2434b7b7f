"""What an operator runs into first: an unmigrated database, pipes, confirmations, `--json`,
`--version`, completion, the categories group, seeding beside the demo, CSV cells a spreadsheet
would run."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shop_cli.main import app
from shop_core.bootstrap import migration_head
from tests.cli.conftest import Cli, error_line, make_categories, ok, table_rows
from tests.conftest import POSTGRES_ADMIN_URL, TEST_SECRET, _pg_admin, service_unavailable

NOT_MIGRATED = "error: the database is not migrated: run `shop db upgrade`"
ROOT = Path(__file__).resolve().parents[2]
READS = [
    ["products", "list"],
    ["users", "list"],
    ["orders", "list"],
    ["orders", "show", "ORD-2026-AAAAAAAA"],
    ["payments", "list"],
    ["payments", "show", "1"],
    ["jobs", "list"],
    ["categories", "list"],
    ["categories", "show", "1"],
    ["stock", "history", "LAMP-1"],
    ["carts", "show", "ann@example.com"],
    ["catalog", "export", "-"],
    ["catalog", "export", "out.csv"],
    ["db", "downgrade", "--yes"],
]
READ_IDS = [" ".join(c[:2]) for c in READS]


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


# --- a database never migrated -------------------------------------------------------------------


@pytest.mark.parametrize("command", READS, ids=READ_IDS)
def test_reading_a_database_that_is_not_there_says_to_migrate_and_creates_no_file(
    empty_cli: Cli, tmp_path: Path, command: list[str]
) -> None:
    line = error_line(empty_cli(*command))

    assert line.startswith(f"{NOT_MIGRATED} (there is no database file at ")
    assert not (tmp_path / "empty.db").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_db_current_on_a_missing_file_says_none_and_creates_nothing(empty_cli: Cli, tmp_path: Path) -> None:
    out = ok(empty_cli("db", "current"))

    assert f"current: none  head: {migration_head()}" in out
    assert not (tmp_path / "empty.db").exists()
    assert "Database at revision" in ok(empty_cli("db", "upgrade"))  # upgrading creates it
    assert (tmp_path / "empty.db").exists()


def test_an_existing_but_empty_sqlite_file_says_to_migrate(empty_cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()

    assert error_line(empty_cli("products", "list")) == NOT_MIGRATED
    assert error_line(empty_cli("users", "list")) == NOT_MIGRATED


@pytest.fixture
def unmigrated_pg_url() -> Iterator[str]:
    """A PostgreSQL database of its own that no migration has touched."""
    name = f"shop_test_empty_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - whatever the reason, the server is not usable
        service_unavailable("PostgreSQL", f"{POSTGRES_ADMIN_URL}: {type(exc).__name__}: {exc}")
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    yield f"{base}/{name}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_an_unmigrated_postgres_database_says_to_migrate(unmigrated_pg_url: str) -> None:
    cli = Cli(unmigrated_pg_url)

    assert error_line(cli("products", "list")) == NOT_MIGRATED
    assert error_line(cli("orders", "list")) == NOT_MIGRATED
    assert "current: none" in ok(cli("db", "current"))


# --- pipes ---------------------------------------------------------------------------------------


def test_export_into_a_pipe_closed_early_ends_quietly(cli: Cli, tmp_path: Path) -> None:
    ok(
        cli("catalog", "seed", "--yes", "--products", "3000", "--categories", "5")
    )  # far beyond a pipe's buffer
    env = {"SHOP_ENV": "test", "SHOP_DATABASE_URL": cli.database_url, "SHOP_SECRET_KEY": TEST_SECRET}
    command = [sys.executable, "-m", "shop_cli.main", "catalog", "export", "-"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env | _path_env()
    ) as child:
        assert child.stdout is not None
        assert child.stderr is not None
        header = child.stdout.readline()
        child.stdout.close()  # what `| head -1` does
        errors = child.stderr.read()
        code = child.wait()

    assert header.decode().startswith("sku,name,slug,category,price")
    assert errors == b""
    assert code in (0, 141)


def _path_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}


# --- version and completion ------------------------------------------------------------------------


def test_version_is_the_installed_distributions(cli: Cli) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    name, version = ok(cli("--version")).split()

    assert name == project["name"]  # the distribution's name as pyproject.toml gives it
    assert metadata.version(name) == version  # and the version of the one installed


def test_shell_completion_is_offered(cli: Cli) -> None:
    # `--show-completion` with no value detects the shell from the process tree (Typer's flag form
    # when shellingham is installed), which a test runner's tree does not reliably show.
    assert "--install-completion" in ok(cli("--help"))


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [("shop categ", "1", "categories"), ("shop orders l", "2", "list"), ("shop db down", "2", "downgrade")],
)
def test_the_shell_completes_commands(words: str, cword: str, expected: str) -> None:
    """What bash's completion function asks the `shop` command, and what it gets back."""
    env = {"_SHOP_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
    result = CliRunner().invoke(app, [], prog_name="shop", env=env)

    assert result.exit_code == 0, result.output
    assert result.output.split() == [expected]


# --- confirmations -------------------------------------------------------------------------------


def test_downgrade_asks_first_and_no_changes_nothing(cli: Cli) -> None:
    result = cli("db", "downgrade", "base", input="n\n")

    assert result.exit_code == 1
    assert "Aborted" in result.stderr
    assert "Traceback" not in result.output
    assert "up to date" in ok(cli("db", "current"))
    assert "Database at revision none" in ok(cli("db", "downgrade", "base", input="y\n"))


def test_downgrade_without_an_answer_changes_nothing(cli: Cli) -> None:
    result = cli("db", "downgrade", "base")  # no terminal, no input: no consent

    assert result.exit_code == 1
    assert "Aborted" in result.stderr
    assert "up to date" in ok(cli("db", "current"))


def test_seed_asks_first(cli: Cli) -> None:
    result = cli("catalog", "seed", "--products", "5", "--categories", "2", input="n\n")

    assert result.exit_code == 1
    assert "Aborted" in result.stderr
    assert ok(cli("products", "list")).strip() == "No products."
    assert "5 created" in ok(cli("catalog", "seed", "--products", "5", "--categories", "2", input="y\n"))


# --- seeding beside the demo catalog ---------------------------------------------------------------


def test_seeding_after_the_demo_never_changes_a_demo_product(empty_cli: Cli) -> None:
    ok(empty_cli("demo"))
    demo = csv_rows(ok(empty_cli("catalog", "export", "-")))

    out = ok(empty_cli("catalog", "seed", "--yes", "--products", "100", "--categories", "20"))

    assert "100 created, 0 updated, 0 unchanged, 0 rejected." in out
    rows = csv_rows(ok(empty_cli("catalog", "export", "-")))
    assert rows[: len(demo)] == demo  # names, slugs, prices and stock of products 1-60 as they were
    assert all(row[0].startswith("SEED-") for row in rows[len(demo) :])
    again = ok(empty_cli("catalog", "seed", "--yes", "--products", "120", "--categories", "20"))
    assert "20 created, 0 updated, 0 unchanged, 0 rejected, 100 skipped (already there)." in again


def test_update_existing_is_explicit(cli: Cli) -> None:
    ok(cli("catalog", "seed", "--yes", "--products", "10", "--categories", "3"))

    out = ok(cli("catalog", "seed", "--yes", "--products", "10", "--categories", "4", "--update-existing"))

    assert "0 created" in out
    assert "skipped" not in out


def test_a_bad_sku_prefix_is_one_error(cli: Cli) -> None:
    line = error_line(cli("catalog", "seed", "--yes", "--sku-prefix", "a b", "--products", "2"))

    assert line.startswith("error: sku_prefix: ")
    assert ok(cli("products", "list")).strip() == "No products."


# --- --json ----------------------------------------------------------------------------------------


def test_products_list_as_json_has_money_as_decimal_strings(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(
        "sku,name,price,discount_percentage,stock_quantity\nA-1,Lamp,19.99,10,4\n"
    )
    ok(cli("catalog", "import", "p.csv"))

    listed = json.loads(ok(cli("products", "list", "--json")))

    assert {k: listed[k] for k in ("count", "page", "page_size", "pages")} == {
        "count": 1,
        "page": 1,
        "page_size": 20,
        "pages": 1,
    }
    [product] = listed["results"]
    assert (product["sku"], product["price"], product["final_price"], product["stock_quantity"]) == (
        "A-1",
        "19.99",
        "17.99",
        4,
    )


# --- categories ------------------------------------------------------------------------------------


def test_categories_create_list_show_update_delete(cli: Cli, tmp_path: Path) -> None:
    home = json.loads(ok(cli("categories", "create", "--name", "Home", "--json")))
    out = ok(cli("categories", "create", "--name", "Kitchen", "--parent", str(home["id"])))
    assert f"under {home['id']}" in out
    (tmp_path / "p.csv").write_text("sku,name,price,category\nK-1,Kettle,30,Home > Kitchen\n")
    assert "1 created" in ok(cli("catalog", "import", "p.csv"))  # the import finds the new path

    rows = table_rows(ok(cli("categories", "list")))
    assert [(r["name"], r["slug"]) for r in rows] == [("Home", "home"), ("Kitchen", "kitchen")]
    assert rows[1]["parent"] == f"{home['id']} Home"
    shown = ok(cli("categories", "show", str(home["id"])))
    assert "subcategories: " in shown
    assert [r["sku"] for r in table_rows(shown)] == ["K-1"]  # its subcategories' products too
    detail = json.loads(ok(cli("categories", "show", str(home["id"]), "--json")))
    assert [c["name"] for c in detail["children"]] == ["Kitchen"]
    assert detail["products"]["count"] == 1
    assert detail["products"]["results"][0]["sku"] == "K-1"

    kitchen = rows[1]["id"]
    renamed = json.loads(
        ok(cli("categories", "update", kitchen, "--name", "Cooking", "--top-level", "--json"))
    )
    assert (renamed["name"], renamed["parent"]) == ("Cooking", None)
    line = error_line(cli("categories", "delete", kitchen))
    assert line == "error: The category has products; move or delete them first."
    assert "Deleted category" in ok(cli("categories", "delete", str(home["id"])))
    assert [r["name"] for r in table_rows(ok(cli("categories", "list")))] == ["Cooking"]


def test_categories_bad_input_is_one_error(cli: Cli) -> None:
    assert error_line(cli("categories", "show", "99")) == "error: No such category."
    assert error_line(cli("categories", "update", "99", "--name", "X")) == "error: No such category."
    assert "Nothing to change" in error_line(cli("categories", "update", "1"))
    assert error_line(cli("categories", "create", "--name", "A", "--slug", "Not A Slug")).startswith(
        "error: "
    )
    assert ok(cli("categories", "list")).startswith("No categories.")


# --- CSV cells a spreadsheet would run -------------------------------------------------------------


def test_export_neutralises_formulas_and_import_brings_them_back(
    cli: Cli, other_cli: Cli, tmp_path: Path
) -> None:
    make_categories(cli.database_url, "=evil")
    rows = [
        ["sku", "name", "category", "price", "description"],
        ["F-1", '=HYPERLINK("http://evil.example","x")', "'=evil", "1", "@SUM(A1:A2)"],
        ["F-2", "+cmd|' /C calc'!A0", "", "2", "-2+3"],
        ["F-3", "'quoted already", "", "3", "plain"],
    ]
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    # a file as a spreadsheet saves it: the formulas escaped, a leading quote escaped too
    escaped = [rows[0]] + [[("'" + c if c[:1] in "=+-@'" else c) for c in row] for row in rows[1:]]
    escaped[1][2] = "'=evil"
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(escaped)
    (tmp_path / "in.csv").write_text(buffer.getvalue())
    ok(cli("catalog", "import", "in.csv"))

    exported = ok(cli("catalog", "export", "-"))

    cells = [cell for row in csv_rows(exported)[1:] for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    names = {row[0]: row[1] for row in csv_rows(exported)[1:]}
    assert names == {
        "F-1": '\'=HYPERLINK("http://evil.example","x")',
        "F-2": "'+cmd|' /C calc'!A0",
        "F-3": "''quoted already",
    }
    (tmp_path / "out.csv").write_text(exported)
    make_categories(other_cli.database_url, "=evil")
    assert "3 created" in ok(other_cli("catalog", "import", "out.csv"))
    assert ok(other_cli("catalog", "export", "-")) == exported
    listed = {r["sku"]: r["name"] for r in table_rows(ok(other_cli("products", "list")))}
    assert listed["F-2"] == "+cmd|' /C calc'!A0"
    assert listed["F-3"] == "'quoted already"


def test_a_row_with_an_empty_required_column_names_the_column_and_line(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("sku,name,price\nA-1,Lamp,1\n,Nameless sku,2\n")

    out = ok(cli("catalog", "import", "p.csv"))

    [rejected] = [r for r in table_rows(out) if set(r) == {"line", "reason"}]
    assert rejected == {"line": "3", "reason": "sku: the sku column is empty, and every product needs one"}
    assert "Object missing" not in out
