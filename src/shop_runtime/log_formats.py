"""The two line formats of the logs, and how a record's text is read.

A JSON line: `{"time": "2026-11-27T03:00:00.123Z", "level": "INFO", "logger": "shop.orders",
"message": "...", "request_id": "...", "user_id": 12, "exc": "Traceback ...", ...extra fields}`
(`request_id`, `user_id` and `exc` only when there is one). A console line:
`2026-11-27T03:00:00Z INFO shop.orders [req=abcd user=12] message`.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Literal

from shop_core.settings import Environment, Settings

LogFormat = Literal["json", "console"]

RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
"""The attributes every LogRecord has: anything else on a record is an extra field."""
_NOT_EXTRA = RECORD_FIELDS | {
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


def message_of(record: logging.LogRecord) -> str:
    """The record's message with its arguments merged in (a broken log call says so instead)."""
    try:
        return record.getMessage()
    except Exception:  # noqa: BLE001 - a broken log call must not break the code that made it
        return f"{record.msg!s} (unformattable arguments: {len(record.args or ())})"


def format_exception(exc_info: Any) -> str:
    """The traceback of a record's `exc_info`, as the standard formatter writes it."""
    return _TRACEBACKS.formatException(exc_info)


def traceback_of(record: logging.LogRecord) -> str | None:
    """The record's traceback (formatted once, kept in `exc_text`), or None when it has none."""
    if record.exc_info and not record.exc_text:
        record.exc_text = format_exception(record.exc_info)
    return record.exc_text or None


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
        if (exc := traceback_of(record)) is not None:
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
        exc = traceback_of(record)
        if not self.tracebacks:
            message = " ".join(message.split())
            if exc is not None:
                message = f"{message} ({_exception_of(exc)})"
        elif exc is not None:
            message = f"{message}\n{exc}"
        if self.tracebacks and record.stack_info:
            message = f"{message}\n{record.stack_info}"
        return f"{self._seconds(record.created)}Z {record.levelname} {record.name} {context}{message}"
