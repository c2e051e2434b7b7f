"""Developer and CI entry points: `nox -s serve`, `nox -s tests`, `nox -s lint`."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]


@nox.session
def serve(session: nox.Session) -> None:
    """Run the shop on its embedded default: SQLite, no Redis, migrated, demo data, port 8000."""
    session.install("-e", ".[all]")
    session.run("shop", "demo")
    session.run("shop", "serve", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite. PostgreSQL/Redis suites that cannot run are listed at the end
    (SHOP_TEST_REQUIRE_SERVICES=1 makes them fail instead, as .ci/run does)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format), mypy --strict on src/, and the import-linter architecture contracts."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", "src", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "noxfile.py")
    session.run("mypy")
    session.run("lint-imports")
