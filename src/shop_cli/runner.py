"""Run one use case inside `bootstrap()`, turning every failure into one red line and exit 1."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import msgspec
import typer
from rich.console import Console
from rich.markup import escape

from shop_core.bootstrap import Shop, bootstrap, missing_database_file, schema_missing
from shop_core.domain.actors import Actor
from shop_core.domain.errors import DomainError, InvalidInput
from shop_core.settings import Settings, SettingsError
from shop_runtime.logging_setup import configure_logging

T = TypeVar("T")
YES = typer.Option(False, "--yes", "-y", help="Do it without asking for confirmation.")
NOT_MIGRATED = "the database is not migrated: run `shop db upgrade`"
OPERATOR = Actor.operator(os.environ.get("SHOP_OPERATOR") or None)
"""Who the audit trail and stock movements name for what a `shop` command does: `cli`, or
`cli:<name>` when `SHOP_OPERATOR` names the person running it."""
SIGPIPE_EXIT = 141  # what a shell reports for a command ended by SIGPIPE (128 + 13)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader went away (`shop … | head -1`): stop quietly, as Unix tools do."""
        stdout_closed()


def stdout_closed() -> NoReturn:
    """Standard output's reader is gone: point it at /dev/null (so the interpreter's last flush
    cannot complain either) and end with SIGPIPE's exit status, saying nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (a test's capture): nothing left to flush
        pass
    raise typer.Exit(code=SIGPIPE_EXIT)


console = _Console()
errors = Console(stderr=True)


def fail(message: str) -> NoReturn:
    # soft_wrap: one line however long, also when piped (rich wraps at 80 columns off a terminal).
    # The message is plain text: install hints like `pip install 'headless-shop[sql]'` must not be
    # read as markup.
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code=1)


def load_settings() -> Settings:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        fail(str(exc))
    log_to_console(settings)
    if (command := _current_command()) is not None:
        command.with_resource(_lines.held())  # until the command ends
    return settings


def _current_command() -> Any:
    """The running command's click context, if any (Typer has its own copy of click since 0.2x)."""
    try:
        from typer._click.globals import get_current_context
    except ImportError:  # an older Typer, on click itself
        from click import get_current_context  # type: ignore[no-redef]
    return get_current_context(silent=True)


def log_to_console(settings: Settings) -> None:
    """What the core logs while a command runs: warnings and worse, one line each (never a
    traceback) on standard error, so the command's own output stays clean. SHOP_LOG_LEVEL=debug
    shows everything, error or critical less; SHOP_LOG_FORMAT=json makes the lines JSON."""
    level = settings.log_level.upper()
    output = configure_logging(
        settings,
        level="WARNING" if level == "INFO" else level,
        log_format=settings.log_format or "console",
        queue=False,  # a command is short and writes to stderr itself: keep the lines in order
        tracebacks=False,
    )
    _lines.handler = output.handler
    output.handler.addFilter(_lines)


class _ConsoleLines(logging.Filter):
    """The CLI's filter on the root handler.

    - It leaves out what a command collects itself to show its own way (a handler of its own on
      the logger, as `shop payments reconcile` has for its warnings): not written twice.
    - While a command runs it holds the lines back: they are written when the command succeeds
      (after its output, not across a progress bar), and dropped when it fails, since a failure
      is one `error:` line (`jobs retry` says the job failed again; its attempts' warnings would
      only repeat it).
    """

    def __init__(self) -> None:
        super().__init__()
        self.handler: logging.Handler | None = None
        self._held: list[logging.LogRecord] | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None and logger.parent is not None:  # up to, not including, the root
            if any(not isinstance(h, logging.NullHandler) for h in logger.handlers):
                return False
            logger = logger.parent if logger.propagate else None
        if self._held is not None:
            self._held.append(record)
            return False
        return True

    @contextmanager
    def held(self) -> Iterator[None]:
        outer, self._held = self._held, []
        succeeded = False
        try:
            yield
            succeeded = True
        except BaseException as exc:  # typer's, click's and sys.exit's ways to end a command
            code = exc.code if isinstance(exc, SystemExit) else getattr(exc, "exit_code", 1)
            succeeded = code in (0, None)
            raise
        finally:
            held, self._held = self._held, outer
            if succeeded and self.handler is not None:
                for record in held:
                    self.handler.handle(record)


_lines = _ConsoleLines()


def run(use_case: Callable[[Shop], Awaitable[T]], settings: Settings | None = None) -> T:
    """Bootstrap a Shop, run `use_case` on it, close everything; exit 1 with a message on failure.

    A database never migrated is one clear error, and reading never creates a SQLite file."""
    settings = settings or load_settings()
    if (path := missing_database_file(settings)) is not None:
        fail(f"{NOT_MIGRATED} (there is no database file at {path})")

    async def main() -> T:
        async with bootstrap(settings) as shop:
            return await use_case(shop)

    return guarded(lambda: asyncio.run(main()))


def guarded(action: Callable[[], T]) -> T:
    try:
        return action()
    except typer.Exit:
        raise
    except BrokenPipeError:
        stdout_closed()
    except InvalidInput as exc:
        details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.errors.items())
        fail(details or exc.detail)
    except DomainError as exc:
        fail(" ".join(exc.detail.split()))  # one line, even for a gateway's multi-line message
    except (SettingsError, msgspec.ValidationError) as exc:
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - an operator gets one line, never a traceback
        if schema_missing(exc):
            fail(NOT_MIGRATED)
        fail(f"{type(exc).__name__}: {exc}".splitlines()[0])


def confirm(question: str, *, yes: bool) -> None:
    """Ask before a change that is hard to undo; `--yes` (`yes`) answers for the operator.

    Anything but yes, and no answer at all (no terminal, end of input), changes nothing: the
    command ends with "Aborted" and exit status 1."""
    if yes:
        return
    try:
        agreed = typer.confirm(question, default=False, err=True)
    except (typer.Abort, EOFError):  # no answer: end the prompt's line first
        errors.print()
        agreed = False
    else:
        if not sys.stdin.isatty():  # an answer piped in is not echoed: end the prompt's line
            errors.print()
    if not agreed:
        errors.print("Aborted: nothing was changed (add --yes to skip this question).", highlight=False)
        raise typer.Exit(code=1)


def print_json(value: Any) -> None:
    """`value` (msgspec Structs, lists, dicts) as indented JSON on standard output."""
    write_json(msgspec.json.encode(value))


def write_json(encoded: bytes) -> None:
    try:
        sys.stdout.write(msgspec.json.format(encoded, indent=2).decode() + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        stdout_closed()


def as_options(
    use_case: Callable[[Shop], Awaitable[T]], option_of: Mapping[str, str]
) -> Callable[[Shop], Awaitable[T]]:
    """The use case, its refusals naming a command's options rather than the API's fields
    (`option_of`: field → option; `methods[1].price` is named by the option of `methods`)."""

    async def named(shop: Shop) -> T:
        try:
            return await use_case(shop)
        except InvalidInput as exc:
            errors = {option_of.get(f.split("[", maxsplit=1)[0], f): m for f, m in exc.errors.items()}
            raise InvalidInput(exc.detail, errors) from None

    return named


def when(at: datetime, *, seconds: bool = False) -> str:
    """A time as the commands print it: UTC (a naive time is taken as UTC), to the minute or second."""
    utc = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
