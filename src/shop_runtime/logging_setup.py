"""Logging for every driver (API, worker, CLI): one handler on the root logger, writing to standard
error as JSON lines (production) or readable lines (development), with secrets scrubbed.

    configure_logging(settings)             # the API and the worker: writes off the calling thread
    configure_logging(settings, queue=False, level="WARNING", tracebacks=False)   # the CLI

The formats are in `log_formats`, the scrubbing in `log_redaction`, the request id and user id every
line carries in `log_context`. With `queue=True` the root handler (a QueueHandler) only appends
records to a queue; a writer thread (BatchListener) wakes every 50 ms, scrubs and formats what is
there and writes it in one call, so an event loop never waits on standard error. `flush_logs()`
writes out what is queued (the API calls it at shutdown; an exit does too). Importing this module
registers an exit hook and a fork hook: a process-level concern, so only the drivers import it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
from collections import deque
from logging.handlers import QueueHandler
from typing import TextIO

from shop_core.settings import Settings
from shop_runtime.log_context import ContextFilter
from shop_runtime.log_formats import (
    ConsoleFormatter,
    JsonFormatter,
    LogFormat,
    format_exception,
    message_of,
    resolve_format,
)
from shop_runtime.log_redaction import Redactor, RedactSecrets

# Loggers of the ASGI server, which configures handlers of its own before it loads the app: they
# go through the root handler like every other line (JSON in production). Its access lines are
# replaced by shop.http's, which carry the request id.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
SERVER_ACCESS_LOGGER = "uvicorn.access"
QUEUE_LOGGER = "saq"
QUEUE_PER_JOB = frozenset({"Enqueuing %s", "Processing %s", "Finished %s", "Retrying %s", "Sweeping %s"})
"""The job queue's (SAQ's) lines at INFO about each job it handles: a line per job and per step,
one per order in the API's processes. The shop says what matters of them itself (its job ledger,
`shop jobs`, and the worker's "job N (name) complete"); they are written only at DEBUG."""


class QuietQueueChatter(logging.Filter):
    """Drops the queue's per-job lines (QUEUE_PER_JOB) unless the shop logs at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        return (
            record.levelno != logging.INFO
            or record.msg not in QUEUE_PER_JOB
            or logging.getLogger().isEnabledFor(logging.DEBUG)
        )


_QUIET_QUEUE = QuietQueueChatter()


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
        message = message_of(record)
        queued = logging.LogRecord.__new__(logging.LogRecord)  # a copy, cheaper than copy.copy
        queued.__dict__.update(record.__dict__)
        queued.msg = queued.message = message
        queued.args = None
        if record.exc_info:
            queued.exc_text = record.exc_text or format_exception(record.exc_info)
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
    queue_logger = logging.getLogger(QUEUE_LOGGER)
    if _QUIET_QUEUE not in queue_logger.filters:
        queue_logger.addFilter(_QUIET_QUEUE)
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
