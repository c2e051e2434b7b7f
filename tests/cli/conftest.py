"""Drive the `shop` command in-process through Typer's CliRunner, configured by SHOP_* variables.

The CLI calls `asyncio.run` itself, so every test here is a plain (sync) test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from shop_cli.main import app
from shop_core.bootstrap import bootstrap
from shop_core.domain.actors import Actor
from shop_core.domain.errors import AuthenticationFailed
from shop_core.services.catalog_commands import CreateCategory
from shop_core.services.commands import Login
from tests.conftest import TEST_SECRET, fast_hasher, make_settings

UNREACHABLE_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:1/x"


class Cli:
    """`cli("users", "list")` runs `shop users list` against `database_url` and returns the Result."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def __call__(
        self, *args: str, env: Mapping[str, str | None] | None = None, input: str | None = None
    ) -> Result:
        # Unset every SHOP_* variable of the outer environment: only what the test says counts.
        full: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SHOP_")}
        full.update(
            SHOP_ENV="test",
            SHOP_DATABASE_URL=self.database_url,
            SHOP_SECRET_KEY=TEST_SECRET,
            COLUMNS="200",  # rich reads it: wide enough that no table cell is cut short
        )
        full.update(env or {})
        return CliRunner().invoke(app, list(args), env=full, input=input)


@pytest.fixture(autouse=True)
def _no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from an empty directory, so no stray `.env` file feeds the settings."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def cli(sqlite_url: str) -> Cli:
    """The CLI on a migrated SQLite file of this test's own."""
    return Cli(sqlite_url)


@pytest.fixture
def other_cli(sqlite_template: Path, tmp_path: Path) -> Cli:
    """The CLI on a second migrated SQLite file: another shop, for comparisons and round trips."""
    path = tmp_path / "other.db"
    shutil.copy(sqlite_template, path)
    return Cli(f"sqlite+aiosqlite:///{path}")


@pytest.fixture
def empty_cli(tmp_path: Path) -> Cli:
    """The CLI on a SQLite file that does not exist yet (no migrations applied)."""
    return Cli(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")


def ok(result: Result) -> str:
    """Assert the command succeeded; return its standard output."""
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.exception!r}\n{result.output}"
    return result.stdout


def error_line(result: Result, exit_code: int = 1) -> str:
    """Assert the command failed with exactly one `error:` line and no traceback; return that line."""
    # CliRunner turns an uncaught exception into exit code 1 too: insist on a deliberate exit.
    assert isinstance(result.exception, SystemExit), f"crashed: {result.exception!r}\n{result.output}"
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    return lines[0]


def user_rows(output: str) -> dict[str, dict[str, str]]:
    """The rows of the `shop users list` table, by email."""
    header: list[str] = []
    rows: dict[str, dict[str, str]] = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("┃" if "┃" in line else "│")[1:-1]]
        if "┃" in line:
            header = cells
        elif cells and cells[0].isdigit():
            row = dict(zip(header, cells, strict=True))
            rows[row["email"]] = row
    return rows


def table_rows(output: str) -> list[dict[str, str]]:
    """The rows of the rich table(s) in `output`, as dicts by column header.

    A line whose first cell is empty continues the row above (a cell wrapped onto a second line).
    """
    header: list[str] = []
    rows: list[dict[str, str]] = []
    for line in output.splitlines():
        if "┃" in line:
            header = [cell.strip() for cell in line.split("┃")[1:-1]]
            continue
        if "│" not in line or not header:
            continue
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) != len(header):
            continue
        if cells[0] == "" and rows:
            for name, cell in zip(header, cells, strict=True):
                if cell:
                    rows[-1][name] = f"{rows[-1][name]} {cell}".strip()
        else:
            rows.append(dict(zip(header, cells, strict=True)))
    return rows


def make_categories(database_url: str, *paths: str) -> dict[str, int]:
    """Create the categories of each "Parent > Child" path (parents first); returns ids by path."""

    async def create() -> dict[str, int]:
        ids: dict[str, int] = {}
        async with bootstrap(make_settings(database_url), hasher=fast_hasher()) as shop:
            for path in paths:
                names = [name.strip() for name in path.split(">")]
                for depth in range(1, len(names) + 1):
                    sub = " > ".join(names[:depth])
                    if sub not in ids:
                        parent = ids[" > ".join(names[: depth - 1])] if depth > 1 else None
                        view = await shop.catalog.create_category(
                            CreateCategory(name=names[depth - 1], parent=parent), Actor.operator()
                        )
                        ids[sub] = view.id
        return ids

    return asyncio.run(create())


def can_log_in(database_url: str, email: str, password: str) -> bool:
    """Whether the core accepts these credentials (what the HTTP login would answer)."""

    async def attempt() -> bool:
        settings = make_settings(database_url)
        async with bootstrap(settings, hasher=fast_hasher()) as shop:
            try:
                await shop.sessions.login(Login(email=email, password=password))
            except AuthenticationFailed:
                return False
        return True

    return asyncio.run(attempt())
