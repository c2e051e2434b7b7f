"""Logging for every driver (API, worker, CLI): one handler on the root logger, writing to standard
error as JSON lines (production) or readable lines (development), with secrets scrubbed.

    configure_logging(settings)             # the API and the worker: writes off the calling thread
    configure_logging(settings, queue=False, level="WARNING", tracebacks=False)   # the CLI

A JSON line: `{"time": "2026-11-27T03:00:00.123Z", "level": "INFO", "logger": "shop.orders",
"message": "...", "request_id": "...", "user_id": 12, "exc": "Traceback ...", ...extra fields}`
(`request_id`, `user_id` and `exc` only when there is one). A console line:
`2026-11-27T03:00:00Z INFO shop.orders [req=abcd user=12] message`.

The HTTP layer sets `request_id` and `user_id` (context variables, so they follow a request's
awaits and the tasks it starts); a filter on the root handler copies them onto every record, in
the thread that logs. With `queue=True` the root handler (a QueueHandler) only appends records to
a queue; a writer thread (BatchListener) wakes every 50 ms, scrubs and formats what is there and
writes it in one call, so an event loop never waits on standard error. `flush_logs()` writes out
what is queued (the API calls it at shutdown; an exit does too).

Only the standard library: the core may import this module, and so may every driver.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from logging.handlers import QueueHandler
from typing import Any, Literal, TextIO

from shop_core.settings import SECRETS, Environment, Settings

LogFormat = Literal["json", "console"]

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The id of the HTTP request being served (see shop_http.observability), else None."""
user_id: ContextVar[int | None] = ContextVar("user_id", default=None)
"""The authenticated user of that request, once its bearer token is verified, else None."""

REDACTED = "***"
MIN_SECRET_LENGTH = 6  # shorter configured values are not masked: they would shred every line
# Loggers of the ASGI server, which configures handlers of its own before it loads the app: they
# go through the root handler like every other line (JSON in production). Its access lines are
# replaced by shop.http's, which carry the request id.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
SERVER_ACCESS_LOGGER = "uvicorn.access"

_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_NOT_EXTRA = _RECORD_FIELDS | {
    "request_id",
    "user_id",
    "color_message",  # uvicorn's copy of the message, with terminal colours
}
_TRACEBACKS = logging.Formatter()


def resolve_format(settings: Settings) -> LogFormat:
    """`SHOP_LOG_FORMAT`, or JSON in production and readable lines elsewhere."""
    if settings.log_format is not None:
        return settings.log_format
    return "json" if settings.env is Environment.PRODUCTION else "console"


# --- redaction -----------------------------------------------------------------------------------

_SENSITIVE_NAME = r"[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|credentials?)[\w.-]*"
_PATTERNS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # `Authorization: Bearer x`, `'authorization': 'Basic x'`, `authorization=x`: the whole value.
    (
        re.compile(r"""(?i)(\bauthorization["']?\s*[:=]\s*["']?)[^"'\r\n,;}]+"""),
        rf"\g<1>{REDACTED}",
    ),
    # A bearer credential wherever it appears.
    (re.compile(r"(?i)\b(bearer\s+)(?!\*\*\*)[A-Za-z0-9._~+/=-]+"), rf"\g<1>{REDACTED}"),
    # JWTs (ours and anyone's): a base64url JSON header and payload, and a signature.
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"), REDACTED),
    # The password of a URL: `scheme://user:pass@host` → `scheme://user:***@host`.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]*):[^\s@/]+@"), rf"\g<1>:{REDACTED}@"),
    # `password=x`, `"password": "x"`, `'new_password': 'x'`, `?token=x&`, `secret_key: x`, ...
    (
        re.compile(rf"""(?i)(\b{_SENSITIVE_NAME}["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s&,;)}}\]"']+)"""),
        lambda m: m[1] + (m[2][0] + REDACTED + m[2][0] if m[2][0] in "\"'" else REDACTED),
    ),
    # Password hashes.
    (re.compile(r"\$argon2(?:id|i|d)\$(?:[^\s$\"']+\$)*[A-Za-z0-9+/=]+"), f"$argon2{REDACTED}"),
)


# Something each pattern above needs: most lines have none of it, and one search of a character
# class tells (well under a microsecond on an access line, instead of a pass of every pattern).
_CLUES = re.compile(r"[:=@$]|eyJ|(?i:bearer)")


class Redactor:
    """Masks secrets in text: credentials of the known shapes, and the given values (the settings'
    secrets) wherever they appear. The patterns are compiled once."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = tuple(
            sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        )
        self._values = re.compile("|".join(map(re.escape, self._secrets))) if self._secrets else None

    def __call__(self, text: str) -> str:
        if _CLUES.search(text) is None and not any(secret in text for secret in self._secrets):
            return text
        if self._values is not None:
            text = self._values.sub(REDACTED, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    @classmethod
    def of(cls, settings: Settings) -> Redactor:
        """The settings' secret values (SECRETS: the signing key, gateway keys, ...) masked too."""
        values = (getattr(settings, name, None) for name in SECRETS)
        return cls(v for v in values if isinstance(v, str))


def _message_of(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # noqa: BLE001 - a broken log call must not break the code that made it
        return f"{record.msg!s} (unformattable arguments: {len(record.args or ())})"


class RedactSecrets(logging.Filter):
    """Merges a record's arguments into its message and scrubs it, its traceback and its string
    extra fields, the request id included (in place: a handler after this one sees the scrubbed
    record too)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(_message_of(record))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and isinstance(value, str):
                record.__dict__[key] = self.redact(value)
        return True


class ContextFilter(logging.Filter):
    """Adds `request_id` and `user_id` (None when unset) to every record, unless given as extras.
    It must run in the thread that logs: it sits on the root handler, before any queue."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.__dict__
        if "request_id" not in fields:
            fields["request_id"] = request_id.get()
        if "user_id" not in fields:
            fields["user_id"] = user_id.get()
        return True


# --- formats -------------------------------------------------------------------------------------


class _UtcSeconds:
    """`2026-11-27T03:00:00`, computed once per second."""

    def __init__(self) -> None:
        self._cached: tuple[int, str] = (-1, "")

    def __call__(self, created: float) -> str:
        second = int(created)
        cached = self._cached
        if cached[0] != second:
            cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
            self._cached = cached
        return cached[1]


def _traceback_of(record: logging.LogRecord) -> str | None:
    if record.exc_info and not record.exc_text:
        record.exc_text = _TRACEBACKS.formatException(record.exc_info)
    return record.exc_text or None


def _exception_of(traceback: str) -> str:
    """The last exception of a formatted traceback, on one line: `ConnectionError: smtp down`."""
    lines = traceback.rstrip().splitlines()
    start = 0
    for number, line in enumerate(lines):
        if line.startswith("  File "):
            start = number + 1
    while start < len(lines) and lines[start].startswith("    "):  # the frame's source, its ^^^ marks
        start += 1
    return " ".join(" ".join(lines[start:]).split())


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601 UTC, milliseconds), level, logger, message,
    request_id and user_id when set, exc (the traceback) when any, then any extra fields."""

    def __init__(self) -> None:
        super().__init__()
        self._seconds = _UtcSeconds()

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": f"{self._seconds(record.created)}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = record.__dict__
        if (rid := fields.get("request_id")) is not None:
            line["request_id"] = rid
        if (uid := fields.get("user_id")) is not None:
            line["user_id"] = uid
        if (exc := _traceback_of(record)) is not None:
            line["exc"] = exc
        if record.stack_info:
            line["stack"] = record.stack_info
        for key, value in fields.items():
            if key not in _NOT_EXTRA:
                line.setdefault(key, value)
        return json.dumps(line, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    """`2026-11-27T03:00:00Z INFO shop.orders [req=abcd user=12] message`, then the traceback.

    With `tracebacks=False` (the CLI) a record is always one line: the message's whitespace is
    collapsed and an exception adds only itself, not its traceback (`... (RuntimeError: boom)`)."""

    def __init__(self, *, tracebacks: bool = True) -> None:
        super().__init__()
        self.tracebacks = tracebacks
        self._seconds = _UtcSeconds()

    def format(self, record: logging.LogRecord) -> str:
        fields = record.__dict__
        rid, uid = fields.get("request_id"), fields.get("user_id")
        context = ""
        if rid is not None or uid is not None:
            parts = ([f"req={rid}"] if rid is not None else []) + ([f"user={uid}"] if uid is not None else [])
            context = f"[{' '.join(parts)}] "
        message = record.getMessage()
        exc = _traceback_of(record)
        if not self.tracebacks:
            message = " ".join(message.split())
            if exc is not None:
                message = f"{message} ({_exception_of(exc)})"
        elif exc is not None:
            message = f"{message}\n{exc}"
        if self.tracebacks and record.stack_info:
            message = f"{message}\n{record.stack_info}"
        return f"{self._seconds(record.created)}Z {record.levelname} {record.name} {context}{message}"


# --- handlers ------------------------------------------------------------------------------------


class _StreamHandler(logging.StreamHandler[TextIO]):
    """A stream handler that falls back to the current `sys.stderr` once its stream is closed (a
    test runner's or CLI runner's capture of standard error, gone before a late line). It also
    writes batches: `render` one record, `write` many lines at once."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream or sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self._reopen()
        super().emit(record)

    def flush(self) -> None:
        self._reopen()
        with contextlib.suppress(OSError, ValueError):  # closed as well (at exit): nothing to do
            super().flush()

    def render(self, record: logging.LogRecord) -> str | None:
        """The record's line, or None when this handler's level or filters leave it out."""
        if record.levelno < self.level or not self.filter(record):
            return None
        try:
            return self.format(record)
        except Exception:  # noqa: BLE001 - as emit() does: say so on stderr, carry on
            self.handleError(record)
            return None

    def write(self, lines: list[str]) -> None:
        with self.lock or contextlib.nullcontext():
            self._reopen()
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # stderr closed or broken: nowhere left to say so
                pass

    def _reopen(self) -> None:
        if getattr(self.stream, "closed", False):
            self.stream = sys.stderr


class _Records(deque[logging.LogRecord]):
    """The queue between the root handler and the writer thread. Appending to a deque takes no lock
    another thread waits on, so logging never wakes a thread: no system call, no handing over of
    the GIL, on the thread that logs (a `queue.Queue` wakes its consumer on every record)."""

    def put_nowait(self, record: logging.LogRecord) -> None:  # what QueueHandler calls
        self.append(record)


class _Enqueue(QueueHandler):
    """The root handler in queue mode: renders a record's message and traceback in the thread that
    logs (arguments may change later; tracebacks hold frames) and hands a copy to the writer."""

    def __init__(self, listener: BatchListener) -> None:
        super().__init__(listener.records)  # type: ignore[arg-type]  # a queue as far as it is concerned
        self.listener = listener

    def enqueue(self, record: logging.LogRecord) -> None:
        super().enqueue(record)
        if self.listener.direct:
            self.listener.drain()

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        message = _message_of(record)
        queued = logging.LogRecord.__new__(logging.LogRecord)  # a copy, cheaper than copy.copy
        queued.__dict__.update(record.__dict__)
        queued.msg = queued.message = message
        queued.args = None
        if record.exc_info:
            queued.exc_text = record.exc_text or _TRACEBACKS.formatException(record.exc_info)
            queued.exc_info = None
        return queued


class BatchListener:
    """The QueueListener of `_Records`: a thread that wakes every `interval` seconds, takes every
    record queued, scrubs and formats them and writes them, `CHUNK` lines per call. Its work on a
    busy API is a few milliseconds per wake; it lets other threads run after each chunk."""

    CHUNK = 128

    def __init__(self, records: _Records, handler: _StreamHandler, interval: float = 0.05) -> None:
        self.records = records
        self.handler = handler
        self.interval = interval
        self.direct = False  # write in the thread that logs (see LogOutput.write_directly)
        self._drain_lock = threading.RLock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="shop-log-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued and stop the thread."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.drain()

    def drain(self) -> None:
        """Write every record queued so far (in the calling thread, one drain at a time)."""
        with self._drain_lock:
            while self.records:
                lines: list[str] = []
                for _ in range(min(self.CHUNK, len(self.records))):
                    line = self.handler.render(self.records.popleft())
                    if line is not None:
                        lines.append(line)
                if lines:
                    self.handler.write(lines)
                if self.records:
                    time.sleep(0)  # let the event loop's thread have the GIL

    def after_fork(self) -> None:
        """In a forked child: new locks, and a thread again if the parent had one. What the parent
        had queued is the parent's to write."""
        self.records.clear()
        self._drain_lock = threading.RLock()
        self._stopping = threading.Event()
        if self._thread is not None:
            self.start()

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            self.drain()


_OURS = (_Enqueue, _StreamHandler)


class LogOutput:
    """What `configure_logging` installed: the root handler and, in queue mode, its listener."""

    def __init__(self, handler: logging.Handler, listener: BatchListener | None) -> None:
        self.handler = handler
        self.listener = listener

    def flush(self) -> None:
        """Wait until every record logged so far is written."""
        if self.listener is not None:
            self.listener.drain()
        else:
            self.handler.flush()

    def write_directly(self) -> None:
        """Write what is queued, then each line as it is logged, in the thread that logs: for the
        end of a process, which a signal may end (uvicorn re-raises SIGTERM once it has shut down)
        before the writer's next round, and where no event loop waits any more."""
        if self.listener is not None:
            self.listener.direct = True
            self.listener.drain()

    def close(self) -> None:
        """Write what is queued, stop the listener and take the handler off the root logger."""
        logging.getLogger().removeHandler(self.handler)
        if self.listener is not None:
            self.listener.stop()
        else:
            self.handler.flush()
        with _installed.lock:
            if _installed.output is self:
                _installed.output = None


class _Installed:
    """The LogOutput of the last `configure_logging` call, closed by the next one and at exit."""

    def __init__(self) -> None:
        self.output: LogOutput | None = None
        self.lock = threading.Lock()


_installed = _Installed()


def configure_logging(
    settings: Settings,
    *,
    stream: TextIO | None = None,
    level: int | str | None = None,
    log_format: LogFormat | None = None,
    queue: bool = True,
    tracebacks: bool = True,
) -> LogOutput:
    """Install the one root handler (replacing the one an earlier call installed; handlers others
    added, such as a test runner's, stay). `stream` defaults to standard error, `level` to
    `settings.log_level`, `log_format` to `resolve_format(settings)`."""
    formatter: logging.Formatter = (
        JsonFormatter()
        if (log_format or resolve_format(settings)) == "json"
        else ConsoleFormatter(tracebacks=tracebacks)
    )
    writer = _StreamHandler(stream)
    writer.setFormatter(formatter)
    writer.addFilter(RedactSecrets(Redactor.of(settings)))
    listener: BatchListener | None = None
    handler: logging.Handler = writer
    if queue:
        listener = BatchListener(_Records(), writer)
        handler = _Enqueue(listener)
    handler.addFilter(ContextFilter())
    output = LogOutput(handler, listener)

    root = logging.getLogger()
    with _installed.lock:
        previous, _installed.output = _installed.output, None
    if previous is not None:
        previous.close()
    for old in [h for h in root.handlers if isinstance(h, _OURS)]:
        root.removeHandler(old)
    root.setLevel(level.upper() if isinstance(level, str) else level or settings.log_level.upper())
    for name in SERVER_LOGGERS:
        server = logging.getLogger(name)
        for own in list(server.handlers):
            server.removeHandler(own)
        server.propagate = True
    logging.getLogger(SERVER_ACCESS_LOGGER).setLevel(logging.WARNING)
    if listener is not None:
        listener.start()
    root.addHandler(handler)
    with _installed.lock:
        _installed.output = output
    return output


def flush_logs() -> None:
    """Wait until every line logged so far (through `configure_logging`'s handler) is written."""
    output = _installed.output
    if output is not None:
        output.flush()


def write_logs_directly() -> None:
    """Write what is queued, then every line as it is logged (see LogOutput.write_directly)."""
    output = _installed.output
    if output is not None:
        output.write_directly()


def _close_at_exit() -> None:
    output = _installed.output
    if output is not None:
        output.close()


def _after_fork_in_child() -> None:
    output = _installed.output
    if output is not None and output.listener is not None:
        output.listener.after_fork()


atexit.register(_close_at_exit)
os.register_at_fork(after_in_child=_after_fork_in_child)
