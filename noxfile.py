"""Developer and CI entry points: `nox -s serve`, `nox -s tests`, `nox -s lint`, `nox -s docs`,
`nox -s bench`."""

from __future__ import annotations

import shutil

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "docs", "tests"]


OPENAPI_CONTRACT = "tests/http/test_openapi_contract.py"


def install_project(session: nox.Session, extras: str) -> None:
    """Install the project (editable) with `extras`. Before it was `headless-shop` the distribution
    was called `shop`: a reused virtualenv drops that one first (it owns the same `shop` command)."""
    if session.venv_backend == "uv":
        session.run("uv", "pip", "uninstall", "shop", silent=True, external=True, success_codes=[0, 1, 2])
    else:
        session.run("python", "-m", "pip", "uninstall", "--yes", "shop", silent=True)
    session.install("-e", f".[{extras}]")


@nox.session
def serve(session: nox.Session) -> None:
    """Run the shop on its embedded default: SQLite, no Redis, migrated, demo data, port 8000."""
    install_project(session, "all")
    session.run("shop", "demo")
    session.run("shop", "serve", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite. PostgreSQL/Redis suites that cannot run are listed at the end
    (SHOP_TEST_REQUIRE_SERVICES=1 makes them fail instead, as .ci/run does)."""
    install_project(session, "test")
    if session.posargs:  # `nox -s tests -- -k login`: pytest with these arguments, in one process
        session.run("pytest", *session.posargs)
        return
    # The whole suite in two processes, each test file in one of them (its module fixtures shared,
    # its order kept). Every test has its own database or a PostgreSQL database of its process, and
    # its own Redis prefix, so the two do not meet; more would exceed PostgreSQL's 100 connections.
    # The OpenAPI contract test is one function that schemathesis makes a test per operation of,
    # all under one node id, which xdist would run once: it runs on its own, in one process.
    session.run("pytest", "-n", "2", "--dist", "loadfile", "--ignore", OPENAPI_CONTRACT)
    session.run("pytest", OPENAPI_CONTRACT)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format), mypy --strict on src/ and examples/, the import-linter contracts."""
    install_project(session, "lint")
    session.run("ruff", "check", "src", "tests", "examples", "bench", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "examples", "bench", "noxfile.py")
    session.run("mypy")
    session.run("mypy", "examples")  # with the same strict settings as src/
    session.run("lint-imports")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs.yml, docs/) built with --strict into build/docs, offline: a
    broken link, a page missing from the nav or a missing snippet fails. `mkdocs serve` previews it."""
    install_project(session, "docs")
    session.run(
        "mkdocs", "build", "--strict", "--clean", "--site-dir", "build/docs", env={"NO_MKDOCS_2_WARNING": "1"}
    )


@nox.session
def bench(session: nox.Session) -> None:
    """The catalog benchmark against a minimal reference app (needs wrk, PostgreSQL and Redis; see the
    README). Not a default session. `nox -s bench -- --duration 3` for a quick run."""
    if shutil.which("wrk") is None:
        session.error(
            "wrk is not installed (it drives the benchmark): `sudo apt-get install wrk` on Debian/Ubuntu, "
            "`brew install wrk` on macOS"
        )
    install_project(session, "all")
    session.run("python", "bench/run.py", *session.posargs)


@nox.session
def bench_scale(session: nox.Session) -> None:
    """The catalog at 10,000 and at 1,000,000 products, uncached (needs PostgreSQL and Redis; see
    docs/scale.md). Not a default session; it takes about ten minutes."""
    install_project(session, "all")
    session.run("python", "bench/scale.py", *session.posargs)
