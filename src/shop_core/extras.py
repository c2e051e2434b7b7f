"""The optional parts of the shop and the extra that installs each.

Only the domain and the use cases come with a plain `pip install headless-shop`; every adapter and
driver needs an extra (`pyproject.toml`). When one is missing, the import error becomes a
`MissingExtra` that says which extra to install, instead of a bare `ModuleNotFoundError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, TypeVar, cast

from shop_core.domain.errors import ServiceUnavailable

DISTRIBUTION = "headless-shop"
"""The name on PyPI (`pip install headless-shop`, `importlib.metadata.version(DISTRIBUTION)`)."""

EXTRA_OF_MODULE: dict[str, str] = {
    "sqlalchemy": "sql",
    "advanced_alchemy": "sql",
    "alembic": "sql",
    "aiosqlite": "sql",
    "asyncpg": "postgres",
    "redis": "redis",
    "hiredis": "redis",
    "argon2": "auth",
    "jwt": "auth",
    "litestar": "http",
    "uvicorn": "http",
    "prometheus_client": "http",
    "typer": "cli",
    "rich": "cli",
    "yaml": "cli",
    "saq": "workers",
    "fpdf": "invoices",
    "stripe": "payments",
    "httpx": "payments",
    "aiosmtplib": "mail",
    "jinja2": "mail",
    "psycopg": "pgqueue",
    "psycopg_pool": "pgqueue",
}
"""Top-level module → the extra that installs it."""

T = TypeVar("T")


def install_command(extra: str) -> str:
    return f"pip install '{DISTRIBUTION}[{extra}]'"


class MissingExtra(ServiceUnavailable, ModuleNotFoundError):
    """An optional library is not installed; `detail` names the extra that installs it.

    A `ServiceUnavailable` (a 503 `service_unavailable` from the API, one `error:` line from the
    CLI) and still a `ModuleNotFoundError` for code that catches import errors.
    """

    def __init__(self, extra: str, module: str, needed_for: str = "This") -> None:
        ServiceUnavailable.__init__(
            self,
            f"{needed_for} needs the `{extra}` extra ({module} is not installed): {install_command(extra)}",
        )
        self.name = module
        self.extra = extra


def extra_for(module: str | None) -> str | None:
    """The extra that installs `module` (a dotted name is fine), None for anything else."""
    if not module:
        return None
    return EXTRA_OF_MODULE.get(module.partition(".")[0])


def missing_extra(exc: ModuleNotFoundError, needed_for: str = "This") -> MissingExtra | None:
    """`exc` as a `MissingExtra` when the module it could not find comes with an extra, else None."""
    if isinstance(exc, MissingExtra):
        return exc
    extra = extra_for(exc.name)
    if extra is None or exc.name is None:
        return None
    return MissingExtra(extra, exc.name.partition(".")[0], needed_for)


@contextmanager
def naming_the_extra(needed_for: str = "This") -> Iterator[None]:
    """Turn a `ModuleNotFoundError` of an optional library raised inside into a `MissingExtra`."""
    try:
        yield
    except ModuleNotFoundError as exc:
        missing = missing_extra(exc, needed_for)
        if missing is None or missing is exc:
            raise
        raise missing from exc


class Unavailable:
    """Stands in for an adapter whose extra is not installed: using it raises the `MissingExtra`.

    So the rest of the shop works without, say, the `invoices` extra, and only asking for an
    invoice says what to install.
    """

    def __init__(self, error: MissingExtra) -> None:
        self._error = error

    def __getattr__(self, name: str) -> NoReturn:
        raise self._error.with_traceback(None)


def or_unavailable(build: Callable[[], T], needed_for: str) -> T:
    """`build()` (which imports an adapter), or an `Unavailable` when its extra is missing."""
    try:
        return build()
    except ModuleNotFoundError as exc:
        missing = missing_extra(exc, needed_for)
        if missing is None:
            raise
        return cast(T, Unavailable(missing))
