"""shop_runtime's logging: the redaction, the two line formats and the root handler, on formatted text."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import logging.handlers
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shop_core.settings import Environment, Settings
from shop_runtime.log_context import ContextFilter, request_id, user_id
from shop_runtime.log_formats import ConsoleFormatter, JsonFormatter, resolve_format
from shop_runtime.log_redaction import Redactor, RedactSecrets
from shop_runtime.logging_setup import configure_logging

AT = datetime(2026, 11, 27, 3, 0, 0, 250_000, tzinfo=UTC).timestamp()
KEY = "k3y-0f-the-signing-0123456789abcdef0123"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMiJ9.Qm9ndXMtc2lnbmF0dXJlLXZhbHVl_-x"
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"


def record(
    msg: str = "message",
    *args: Any,
    name: str = "shop.orders",
    level: int = logging.INFO,
    exc: bool = False,
    **extra: Any,
) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            exc_info = sys.exc_info()
    made = logging.LogRecord(name, level, __file__, 1, msg, args or None, exc_info)
    made.created, made.msecs = AT, 250.0
    made.__dict__.update(extra)
    return made


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    """Each test configures the root logger its own way; put it back as it was."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


# --- redaction -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-ghi", "Authorization: ***"),
        ("{'authorization': 'Bearer abc'}", "{'authorization': '***'}"),
        ('headers={"Authorization": "Basic YWRhOnB3"}', 'headers={"Authorization": "***"}'),
        ("retried with Bearer abc123_-/+= upstream", "retried with Bearer *** upstream"),
        (f"refresh {JWT} rejected", "refresh *** rejected"),
        ("login password=hunter22&next=/", "login password=***&next=/"),
        (
            '{"password": "hunter 22", "email": "ada@example.com"}',
            '{"password": "***", "email": "ada@example.com"}',
        ),
        ("{'new_password': 'hunter22', 'x': 1}", "{'new_password': '***', 'x': 1}"),
        (
            "GET /validator?store_id=s1&store_passwd=pw1&val_id=9",
            "GET /validator?store_id=s1&store_passwd=***&val_id=9",
        ),
        ("http://front.test/reset-password?token=AbC_-123", "http://front.test/reset-password?token=***"),
        ("refresh_token: abc123", "refresh_token: ***"),
        ("postgresql+asyncpg://shop:s3cr3t@db:5432/shop", "postgresql+asyncpg://shop:***@db:5432/shop"),
        ("redis://:s3cr3t@redis:6379/0 is down", "redis://:***@redis:6379/0 is down"),
        (f"hash {HASH}, done", "hash $argon2***, done"),
    ],
)
def test_the_redactor_masks_credentials_of_the_known_shapes(text: str, expected: str) -> None:
    assert Redactor()(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "GET /api/products 200 1.20 ms",
        "job 3 (email.password_reset) attempt 1 of 3 failed: recipient refused",
        "http://127.0.0.1:8000/api/docs",
        "mail from Shop <shop@localhost> to ada@example.com: Reset your password",
        "sign in with your email and password, or ask for a reset token",
        "5 order(s) expired",
    ],
)
def test_the_redactor_leaves_ordinary_lines_alone(text: str) -> None:
    assert Redactor()(text) == text


def test_the_redactor_masks_the_settings_secrets_wherever_they_appear() -> None:
    settings = Settings(
        secret_key=KEY,
        stripe_secret_key="sk_test_51abcdef",
        stripe_webhook_secret="whsec_0123456789",
        metrics_token="abc",  # too short to mask without shredding every line
    )
    redact = Redactor.of(settings)

    assert redact(f"signed with {KEY}") == "signed with ***"
    assert redact(f"x{KEY}y") == "x***y"
    assert redact("stripe said sk_test_51abcdef / whsec_0123456789") == "stripe said *** / ***"
    assert redact("abc stays") == "abc stays"


def test_the_filter_scrubs_arguments_traceback_and_extra_fields() -> None:
    made = record(
        "login %s with password=%s",
        "ada@example.com",
        "hunter22",
        exc=True,
        header=f"Bearer {JWT}",
        attempts=3,
    )
    made.exc_info = (RuntimeError, RuntimeError(f"token={JWT}"), None)

    assert RedactSecrets(Redactor()).filter(made)

    assert made.getMessage() == "login ada@example.com with password=***"
    assert made.args is None
    assert made.exc_text == "RuntimeError: token=***"
    assert made.__dict__["header"] == "Bearer ***"
    assert made.__dict__["attempts"] == 3


def test_the_filter_survives_a_broken_log_call() -> None:
    made = record("%d items", "not a number")

    assert RedactSecrets(Redactor()).filter(made)

    assert "%d items" in made.getMessage()


# --- the formats ---------------------------------------------------------------------------------


def test_a_json_line_has_the_documented_fields() -> None:
    made = record(
        "placed order %s", "ORD-1", request_id="abcd", user_id=12, order=7, when=datetime(2026, 1, 1)
    )

    line = json.loads(JsonFormatter().format(made))

    assert line == {
        "time": "2026-11-27T03:00:00.250Z",
        "level": "INFO",
        "logger": "shop.orders",
        "message": "placed order ORD-1",
        "request_id": "abcd",
        "user_id": 12,
        "order": 7,
        "when": "2026-01-01 00:00:00",  # what JSON cannot hold, as text
    }


def test_a_json_line_leaves_out_unset_ids_and_carries_the_traceback() -> None:
    made = record("failed\nbadly", level=logging.ERROR, exc=True, request_id=None, user_id=None)

    text = JsonFormatter().format(made)

    assert "\n" not in text  # one line, whatever the message
    line = json.loads(text)
    assert set(line) == {"time", "level", "logger", "message", "exc"}
    assert line["message"] == "failed\nbadly"
    assert line["exc"].startswith("Traceback (most recent call last):")
    assert line["exc"].endswith("RuntimeError: boom")


def test_a_console_line_reads_like_the_readme_says() -> None:
    formatter = ConsoleFormatter()

    assert formatter.format(record(request_id="abcd", user_id=12)) == (
        "2026-11-27T03:00:00Z INFO shop.orders [req=abcd user=12] message"
    )
    assert formatter.format(record(request_id="abcd", user_id=None)) == (
        "2026-11-27T03:00:00Z INFO shop.orders [req=abcd] message"
    )
    assert formatter.format(record(name="shop.jobs", level=logging.WARNING)) == (
        "2026-11-27T03:00:00Z WARNING shop.jobs message"
    )


def test_a_console_line_shows_the_traceback_unless_asked_for_one_line() -> None:
    made = record("job 4 failed:\n  the gateway said\n  no", level=logging.WARNING, exc=True)

    full = ConsoleFormatter().format(made).splitlines()
    made.exc_text = None
    short = ConsoleFormatter(tracebacks=False).format(made)

    assert full[0] == "2026-11-27T03:00:00Z WARNING shop.orders job 4 failed:"
    assert "Traceback (most recent call last):" in full
    assert full[-1] == "RuntimeError: boom"
    assert (
        short
        == "2026-11-27T03:00:00Z WARNING shop.orders job 4 failed: the gateway said no (RuntimeError: boom)"
    )


@pytest.mark.parametrize(
    ("env", "chosen", "expected"),
    [
        (Environment.PRODUCTION, None, "json"),
        (Environment.DEVELOPMENT, None, "console"),
        (Environment.TEST, None, "console"),
        (Environment.PRODUCTION, "console", "console"),
        (Environment.DEVELOPMENT, "json", "json"),
    ],
)
def test_the_format_is_json_in_production_unless_chosen(env: Environment, chosen: Any, expected: str) -> None:
    values: dict[str, Any] = {"env": env, "log_format": chosen}
    if env is Environment.PRODUCTION:
        values["secret_key"] = KEY
    assert resolve_format(Settings(**values)) == expected


# --- the root handler ----------------------------------------------------------------------------


def test_configure_logging_writes_scrubbed_json_lines_with_the_context() -> None:
    stream = io.StringIO()
    output = configure_logging(Settings(secret_key=KEY, log_format="json"), stream=stream, queue=False)
    log = logging.getLogger("shop.test")
    rid, uid = request_id.set("req-1"), user_id.set(12)
    try:
        log.info("key %s for %s", KEY, "Authorization: Bearer abc", extra={"status": 200})
        log.debug("below the level")
    finally:
        request_id.reset(rid)
        user_id.reset(uid)
    log.warning("outside a request")
    output.close()

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(x["message"], x.get("request_id"), x.get("user_id")) for x in lines] == [
        ("key *** for Authorization: ***", "req-1", 12),
        ("outside a request", None, None),
    ]
    assert lines[0]["status"] == 200
    assert KEY not in stream.getvalue()


def test_the_queue_writes_off_the_logging_thread_with_each_tasks_own_request_id() -> None:
    writers: set[str] = set()
    written = threading.Event()

    class Recording(io.StringIO):
        def write(self, text: str) -> int:
            writers.add(threading.current_thread().name)
            written.set()
            return super().write(text)

    stream = Recording()
    output = configure_logging(Settings(log_format="json"), stream=stream)

    async def serve(rid: str) -> None:
        request_id.set(rid)
        await asyncio.sleep(0)
        logging.getLogger("shop.test").info("serving")

    async def main() -> None:
        await asyncio.gather(serve("a"), serve("b"), serve("c"))

    asyncio.run(main())

    assert isinstance(logging.getLogger().handlers[-1], logging.handlers.QueueHandler)
    assert written.wait(timeout=10)  # the writer thread's next round
    assert writers == {"shop-log-writer"}
    output.flush()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert sorted(line["request_id"] for line in lines) == ["a", "b", "c"]
    output.close()


def test_after_a_shutdown_lines_are_written_as_they_come() -> None:
    """What the API switches to once it has shut down: the server may end the process with a
    signal (uvicorn re-raises SIGTERM) before the writer's next round."""
    stream = io.StringIO()
    output = configure_logging(Settings(log_format="json"), stream=stream)
    output.listener.stop()  # type: ignore[union-attr]  # no writer round can help from here on
    logging.getLogger("shop.test").info("queued")

    output.write_directly()
    logging.getLogger("shop.test").info("written at once")

    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == [
        "queued",
        "written at once",
    ]
    output.close()


def test_configuring_again_replaces_only_its_own_handler() -> None:
    root = logging.getLogger()
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    first, second = io.StringIO(), io.StringIO()

    configure_logging(Settings(), stream=first)
    output = configure_logging(Settings(log_level="warning"), stream=second, queue=False)
    logging.getLogger("shop.test").warning("to the second")
    logging.getLogger("shop.test").info("filtered out")
    output.close()

    assert foreign in root.handlers
    assert output.handler not in root.handlers
    assert root.level == logging.WARNING
    assert first.getvalue() == ""
    assert second.getvalue().splitlines()[0].endswith("WARNING shop.test to the second")
    assert len(second.getvalue().splitlines()) == 1
    root.removeHandler(foreign)


def test_the_servers_own_loggers_go_through_the_root_handler() -> None:
    uvicorn = logging.getLogger("uvicorn.error")
    uvicorn.addHandler(logging.StreamHandler(io.StringIO()))
    uvicorn.propagate = False
    stream = io.StringIO()

    output = configure_logging(Settings(log_format="json"), stream=stream, queue=False)
    uvicorn.info("Started server process [1]")
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET / HTTP/1.1" 200')  # shop.http's instead
    output.close()

    assert uvicorn.handlers == []
    assert [json.loads(line)["logger"] for line in stream.getvalue().splitlines()] == ["uvicorn.error"]


def test_the_context_filter_keeps_ids_given_as_extra_fields() -> None:
    made = record(request_id="from-the-job")
    token = request_id.set("from-the-request")
    try:
        ContextFilter().filter(made)
    finally:
        request_id.reset(token)
    assert made.__dict__["request_id"] == "from-the-job"


def test_the_cli_writes_warnings_as_single_lines_and_leaves_collected_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from shop_cli.runner import log_to_console

    log_to_console(Settings())  # SHOP_LOG_LEVEL=info by default: the CLI shows warnings and worse
    collected: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            collected.append(record.getMessage())

    log = logging.getLogger("shop.jobs")
    log.info("job 1 complete")
    try:
        raise ConnectionError("smtp down\nfor now")
    except ConnectionError:
        log.exception("job 2 (email.welcome) attempt 1 of 3 failed:\n  smtp down")
    own = logging.getLogger("shop.payments")
    own.addHandler(handler := Collect())
    try:
        own.warning("payment 3 could not be reconciled")
    finally:
        own.removeHandler(handler)

    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert err[0].endswith(
        "ERROR shop.jobs job 2 (email.welcome) attempt 1 of 3 failed: smtp down "
        "(ConnectionError: smtp down for now)"
    ), err
    assert collected == ["payment 3 could not be reconciled"]


def test_a_command_writes_the_core_s_lines_after_it_succeeds_and_none_when_it_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer
    from typer.testing import CliRunner

    from shop_cli.runner import fail, load_settings

    monkeypatch.chdir(tmp_path)  # no stray .env
    app = typer.Typer()
    log = logging.getLogger("shop.jobs")

    @app.command()
    def job(fails: bool = False) -> None:
        load_settings()
        log.warning("job 1 (email.welcome) attempt 3 of 3 failed:\n  smtp down")
        typer.echo("done")
        if fails:
            fail("Job 1 failed again after 3 attempts: smtp down")

    env = {"SHOP_ENV": "test", "SHOP_LOG_LEVEL": "info"}
    ok = CliRunner().invoke(app, [], env=env)
    failed = CliRunner().invoke(app, ["--fails"], env=env)

    assert ok.exit_code == 0, ok.output
    assert ok.stdout == "done\n"
    [line] = ok.stderr.splitlines()  # one line, written when the command was done
    assert line.endswith("WARNING shop.jobs job 1 (email.welcome) attempt 3 of 3 failed: smtp down")
    assert failed.exit_code == 1
    assert failed.stderr.splitlines() == ["error: Job 1 failed again after 3 attempts: smtp down"]


@pytest.mark.parametrize("level", ["info", "debug"])
def test_the_job_queues_line_per_job_is_written_only_at_debug(level: str) -> None:
    stream = io.StringIO()
    output = configure_logging(Settings(log_format="json", log_level=level), stream=stream, queue=False)
    queue_log = logging.getLogger("saq")  # SAQ's own logger, as its queue and worker log
    queue_log.info("Enqueuing %s", "Job<function: email.order_confirmation, key: 7>")
    queue_log.info("Finished %s", "Job<function: email.order_confirmation, key: 7>")
    queue_log.info("Worker starting: %s", "Queue<shop>")
    queue_log.warning("No task data found for job %s", "7")
    output.close()

    messages = [json.loads(line)["message"] for line in stream.getvalue().splitlines()]
    per_job = [
        "Enqueuing Job<function: email.order_confirmation, key: 7>",
        "Finished Job<function: email.order_confirmation, key: 7>",
    ]
    assert messages == (per_job if level == "debug" else []) + [
        "Worker starting: Queue<shop>",
        "No task data found for job 7",
    ]
