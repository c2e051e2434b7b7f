"""`shop jobs list|retry|relay`: the job ledger as an operator sees it, on SQLite and a real SMTP server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from aiosmtpd.smtp import SMTP, Envelope, Session

from shop_core.adapters.saq_jobs import QUEUE_NAME
from shop_core.bootstrap import bootstrap
from shop_core.domain.actors import Actor
from shop_core.domain.jobs import Job, JobSpec
from shop_core.services.commands import RegisterUser
from shop_core.services.jobs import SPECS, WELCOME_EMAIL, JobView
from shop_workers.worker import make_worker
from tests.cli.conftest import UNREACHABLE_DATABASE, Cli, error_line, ok, table_rows
from tests.conftest import fast_hasher, make_settings
from tests.smtp_server import REFUSED, Inbox, running_inbox, start

PASSWORD = "correct horse battery"
FAST = {"SHOP_JOB_RETRY_DELAY": "0.01"}
COLUMNS = ["id", "job", "key", "status", "attempts", "updated", "error"]


class AcceptingInbox(Inbox):
    """A mail server that takes every recipient, REFUSED too: the refusing server, fixed."""

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        envelope.rcpt_tos.append(address)
        return "250 OK"


@contextmanager
def accepting_inbox() -> Iterator[AcceptingInbox]:
    box = AcceptingInbox()
    controller = start(box)
    try:
        yield box
    finally:
        controller.stop()


def register(database_url: str, *emails: str, **settings: Any) -> list[JobView]:
    """Register a user per email through the core, let the in-process queue run their welcome jobs
    to the end, and return the ledger as the core sees it (newest first)."""

    async def go() -> list[JobView]:
        config = make_settings(database_url, **settings)
        async with bootstrap(config, hasher=fast_hasher()) as shop:
            for email in emails:
                await shop.accounts.register(RegisterUser(email=email, password=PASSWORD))
            await shop.jobs.drain_jobs()
            return (await shop.jobs.list_jobs(Actor.operator(), limit=1000)).items

    return asyncio.run(go())


class DownQueue:
    """A job queue that cannot be reached: the relay leaves every job pending."""

    async def enqueue(self, job: Job, spec: JobSpec) -> None:
        raise ConnectionError("the queue is down")


def register_while_the_queue_is_down(database_url: str, *emails: str) -> list[JobView]:
    async def go() -> list[JobView]:
        config = make_settings(database_url)
        async with bootstrap(config, hasher=fast_hasher(), queue=DownQueue()) as shop:
            for email in emails:
                await shop.accounts.register(RegisterUser(email=email, password=PASSWORD))
            await shop.jobs.drain_jobs()
            return (await shop.jobs.list_jobs(Actor.operator(), limit=1000)).items

    return asyncio.run(go())


def ledger(database_url: str) -> list[JobView]:
    async def go() -> list[JobView]:
        async with bootstrap(make_settings(database_url), hasher=fast_hasher()) as shop:
            return (await shop.jobs.list_jobs(Actor.operator(), limit=1000)).items

    return asyncio.run(go())


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1].strip()


def failed_welcome(cli: Cli) -> JobView:
    """A welcome email the mail server refused on every attempt: the job is `failed`."""
    with running_inbox() as inbox:
        job = register(cli.database_url, REFUSED, smtp_url=inbox.url, job_retry_delay=0.01)[0]  # newest
        assert inbox.envelopes == []
    assert job.status == "failed"
    return job


# --- list ------------------------------------------------------------------------------------------


def test_list_on_an_empty_ledger_says_so(cli: Cli) -> None:
    out = ok(cli("jobs", "list"))

    assert table_rows(out) == []
    assert last_line(out) == "page 1 of 1: 0 of 0 jobs"


def test_list_shows_the_welcome_jobs_complete_newest_first(cli: Cli) -> None:
    jobs = register(cli.database_url, "ann@example.com", "bob@example.com")
    assert [job.status for job in jobs] == ["complete", "complete"]

    out = ok(cli("jobs", "list"))

    rows = table_rows(out)
    assert [list(row) for row in rows] == [COLUMNS, COLUMNS]
    assert [row["id"] for row in rows] == [str(job.id) for job in jobs]  # newest first
    assert int(rows[0]["id"]) > int(rows[1]["id"])
    max_attempts = SPECS[WELCOME_EMAIL].attempts
    for row, job in zip(rows, jobs, strict=True):
        assert row == {
            "id": str(job.id),
            "job": WELCOME_EMAIL,
            "key": job.key,
            "status": "complete",
            "attempts": f"1/{max_attempts}",
            "updated": row["updated"],
            "error": "",
        }
        assert job.updated_at is not None
        assert row["updated"] == job.updated_at.strftime("%Y-%m-%d %H:%M:%S")
    assert last_line(out) == "page 1 of 1: 2 of 2 jobs"


def test_list_filters_by_status_and_limits(cli: Cli) -> None:
    jobs = register(cli.database_url, "ann@example.com", "bob@example.com", "cy@example.com")

    complete = ok(cli("jobs", "list", "--status", "complete"))
    assert [row["id"] for row in table_rows(complete)] == [str(job.id) for job in jobs]
    assert last_line(complete) == "page 1 of 1: 3 of 3 jobs"

    shouting = ok(cli("jobs", "list", "--status", " COMPLETE "))
    assert table_rows(shouting) == table_rows(complete)

    failed = ok(cli("jobs", "list", "--status", "failed"))
    assert table_rows(failed) == []
    assert last_line(failed) == "page 1 of 1: 0 of 0 jobs"

    first = ok(cli("jobs", "list", "--page-size", "1"))
    assert [row["id"] for row in table_rows(first)] == [str(jobs[0].id)]
    assert last_line(first) == "page 1 of 3: 1 of 3 jobs"
    second = ok(cli("jobs", "list", "--page", "2", "--page-size", "1"))
    assert [row["id"] for row in table_rows(second)] == [str(jobs[1].id)]
    assert last_line(second) == "page 2 of 3: 1 of 3 jobs"


def test_list_with_an_unknown_status_names_the_valid_ones(cli: Cli) -> None:
    register(cli.database_url, "ann@example.com")

    line = error_line(cli("jobs", "list", "--status", "bogus"))

    assert "'bogus'" in line
    for status in ("pending", "queued", "active", "retrying", "complete", "failed"):
        assert status in line
    assert "┃" not in line


@pytest.mark.parametrize("size", ["0", "-1", "101", "many"])
def test_list_refuses_a_page_size_out_of_range(cli: Cli, size: str) -> None:
    result = cli("jobs", "list", "--page-size", size)

    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "--page-size" in result.output
    assert "of" not in result.stdout  # nothing was listed


# --- a failed job, retried ---------------------------------------------------------------------------


def test_a_refused_welcome_email_is_listed_as_failed_with_the_smtp_error(cli: Cli) -> None:
    register(cli.database_url, "ann@example.com")  # complete: filtered out below
    job = failed_welcome(cli)

    out = ok(cli("jobs", "list", "--status", "failed"))

    (row,) = table_rows(out)
    max_attempts = SPECS[WELCOME_EMAIL].attempts
    assert row["id"] == str(job.id)
    assert row["job"] == WELCOME_EMAIL
    assert row["status"] == "failed"
    assert row["attempts"] == f"{max_attempts}/{max_attempts}"
    assert job.attempts == job.max_attempts == max_attempts
    assert "MailError" in row["error"]
    assert "550" in row["error"]
    assert "No such user" in row["error"]
    assert last_line(out) == "page 1 of 1: 1 of 1 job"

    everything = ok(cli("jobs", "list"))
    assert last_line(everything) == "page 1 of 1: 2 of 2 jobs"


def test_retry_runs_a_failed_job_again_and_the_email_arrives(cli: Cli) -> None:
    job = failed_welcome(cli)

    with accepting_inbox() as inbox:
        result = cli("jobs", "retry", str(job.id), env={"SHOP_SMTP_URL": inbox.url, **FAST})
        out = ok(result)
        # The CLI ran the job in its own process (no queue configured) before it exited.
        (message,) = inbox.messages

    assert out.splitlines() == [
        f"Job {job.id} ({WELCOME_EMAIL}) is queued again.",
        "It ran here and is complete.",
    ]
    assert message["To"] == REFUSED
    (after,) = ledger(cli.database_url)
    assert (after.id, after.status, after.attempts, after.error) == (job.id, "complete", 1, None)
    assert after.finished_at is not None

    (row,) = table_rows(ok(cli("jobs", "list")))
    assert (row["id"], row["status"], row["attempts"], row["error"]) == (
        str(job.id),
        "complete",
        f"1/{job.max_attempts}",
        "",
    )
    assert table_rows(ok(cli("jobs", "list", "--status", "failed"))) == []


def test_retry_against_a_server_still_refusing_says_it_failed_again(cli: Cli) -> None:
    job = failed_welcome(cli)

    with running_inbox() as inbox:
        result = cli("jobs", "retry", str(job.id), env={"SHOP_SMTP_URL": inbox.url, **FAST})
        assert inbox.envelopes == []

    assert result.stdout.splitlines() == [f"Job {job.id} ({WELCOME_EMAIL}) is queued again."]
    line = error_line(result)
    assert line.startswith(f"error: Job {job.id} failed again after {job.max_attempts} attempts: MailError")
    assert "550 5.1.1 No such user" in line
    (after,) = ledger(cli.database_url)
    # Every attempt was made again (the count started over), and it failed again.
    assert (after.status, after.attempts) == ("failed", after.max_attempts)
    assert after.error is not None
    assert after.error in line
    assert after.updated_at is not None
    assert job.updated_at is not None
    assert after.updated_at >= job.updated_at


@pytest.fixture
def saq_redis(redis_url: str, redis_prefix: str) -> Iterator[redis.Redis]:
    """A client on the real Redis; deletes the keys SAQ made for this test's queue afterwards
    (`saq:…<prefix>shop…`, which `redis_prefix` alone does not clean)."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    if found := set(client.scan_iter(match=f"saq:*{redis_prefix}*")):
        client.delete(*found)
    client.close()


def test_retry_with_a_queue_hands_the_job_to_it_for_the_worker(
    cli: Cli, redis_url: str, redis_prefix: str, saq_redis: redis.Redis
) -> None:
    job = failed_welcome(cli)
    queue = {"SHOP_QUEUE_URL": redis_url, "SHOP_REDIS_KEY_PREFIX": redis_prefix}

    out = ok(cli("jobs", "retry", str(job.id), env={**queue, **FAST}))

    assert out.strip() == f"Job {job.id} ({WELCOME_EMAIL}) is queued again."
    (queued,) = ledger(cli.database_url)
    assert (queued.status, queued.attempts) == ("queued", 0)  # in the queue, not run by the CLI
    assert saq_redis.exists(f"saq:job:{redis_prefix}{QUEUE_NAME}:{job.id}.1")  # round 1: a new job

    with accepting_inbox() as inbox:
        settings = make_settings(
            cli.database_url,
            queue_url=redis_url,
            redis_key_prefix=redis_prefix,
            smtp_url=inbox.url,
            job_retry_delay=0.01,
        )
        worker = make_worker(settings, burst=True)
        asyncio.run(asyncio.wait_for(worker.start(), timeout=30))  # burst: returns once the queue is empty
        (message,) = inbox.messages
    assert message["To"] == REFUSED
    (row,) = table_rows(ok(cli("jobs", "list")))
    assert (row["id"], row["status"], row["attempts"], row["error"]) == (
        str(job.id),
        "complete",
        f"1/{job.max_attempts}",
        "",
    )


# --- retry refused ------------------------------------------------------------------------------


def test_retry_of_a_complete_job_is_refused(cli: Cli) -> None:
    (job,) = register(cli.database_url, "ann@example.com")
    before = ok(cli("jobs", "list"))

    line = error_line(cli("jobs", "retry", str(job.id)))

    assert line == f"error: Job {job.id} is complete; only failed jobs can be retried."
    assert ok(cli("jobs", "list")) == before


def test_retry_of_a_missing_job(cli: Cli) -> None:
    (job,) = register(cli.database_url, "ann@example.com")
    before = ok(cli("jobs", "list"))
    missing = job.id + 1

    assert error_line(cli("jobs", "retry", str(missing))) == f"error: No job {missing}."
    assert error_line(cli("jobs", "retry", str(2**31 - 1))) == f"error: No job {2**31 - 1}."
    assert ok(cli("jobs", "list")) == before


@pytest.mark.parametrize("job_id", ["0", "-1", "abc", "1.5", str(2**31)])
def test_retry_of_a_malformed_id_is_a_usage_error(cli: Cli, job_id: str) -> None:
    job = failed_welcome(cli)
    before = ok(cli("jobs", "list"))

    result = cli("jobs", "retry", "--", job_id)

    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "ID" in result.output
    assert "queued again" not in result.output
    assert ok(cli("jobs", "list")) == before
    (after,) = ledger(cli.database_url)
    assert (after.status, after.attempts) == ("failed", job.attempts)


def test_retry_without_an_id_is_a_usage_error(cli: Cli) -> None:
    result = cli("jobs", "retry")

    assert result.exit_code == 2, result.output
    assert "Missing argument 'ID'" in result.output


# --- relay --------------------------------------------------------------------------------------


def test_relay_with_nothing_pending(cli: Cli) -> None:
    register(cli.database_url, "ann@example.com")
    before = ok(cli("jobs", "list"))

    assert ok(cli("jobs", "relay")).strip() == "Relayed 0 pending jobs."
    assert ok(cli("jobs", "list")) == before


@pytest.mark.parametrize("count", [1, 2])
def test_relay_hands_the_pending_jobs_over_and_they_run(cli: Cli, count: int) -> None:
    emails = [f"user{n}@example.com" for n in range(count)]
    jobs = register_while_the_queue_is_down(cli.database_url, *emails)
    assert [job.status for job in jobs] == ["pending"] * count
    pending = ok(cli("jobs", "list", "--status", "pending"))
    assert last_line(pending) == f"page 1 of 1: {count} of {count} job{'s' if count > 1 else ''}"

    with accepting_inbox() as inbox:
        out = ok(cli("jobs", "relay", env={"SHOP_SMTP_URL": inbox.url, **FAST}))
        received = sorted(str(message["To"]) for message in inbox.messages)

    assert out.strip() == f"Relayed {count} pending job{'s' if count > 1 else ''}."
    assert received == sorted(emails)
    assert [job.status for job in ledger(cli.database_url)] == ["complete"] * count
    assert ok(cli("jobs", "relay")).strip() == "Relayed 0 pending jobs."


def test_relay_on_an_empty_ledger(cli: Cli) -> None:
    assert ok(cli("jobs", "relay")).strip() == "Relayed 0 pending jobs."


# --- the database is down -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [("jobs", "list"), ("jobs", "list", "--status", "failed"), ("jobs", "retry", "1"), ("jobs", "relay")],
)
def test_an_unreachable_database_is_one_red_line(command: tuple[str, ...]) -> None:
    line = error_line(Cli(UNREACHABLE_DATABASE)(*command))

    assert "Connect" in line or "connect" in line


# --- PostgreSQL -----------------------------------------------------------------------------------


def test_fail_list_retry_and_refusals_on_postgres(pg_url: str) -> None:
    cli = Cli(pg_url)
    assert last_line(ok(cli("jobs", "list"))) == "page 1 of 1: 0 of 0 jobs"
    (done,) = register(pg_url, "ann@example.com")
    job = failed_welcome(cli)

    (row,) = table_rows(ok(cli("jobs", "list", "--status", "failed")))
    assert (row["id"], row["status"], row["attempts"]) == (str(job.id), "failed", "5/5")
    assert "550 5.1.1 No such user" in row["error"]
    before = ok(cli("jobs", "list"))
    assert last_line(before) == "page 1 of 1: 2 of 2 jobs"
    assert error_line(cli("jobs", "retry", str(done.id))).endswith("only failed jobs can be retried.")
    assert error_line(cli("jobs", "retry", str(job.id + 1))) == f"error: No job {job.id + 1}."
    assert ok(cli("jobs", "list")) == before

    with accepting_inbox() as inbox:
        out = ok(cli("jobs", "retry", str(job.id), env={"SHOP_SMTP_URL": inbox.url, **FAST}))
        assert [str(message["To"]) for message in inbox.messages] == [REFUSED]

    assert "It ran here and is complete." in out
    assert [(view.id, view.status) for view in ledger(pg_url)] == [
        (job.id, "complete"),
        (done.id, "complete"),
    ]
    assert ok(cli("jobs", "relay")).strip() == "Relayed 0 pending jobs."
