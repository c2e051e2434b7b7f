"""Background jobs end to end through a real SAQ worker: the shop records a job with each change,
relays it to the queue (Redis, or SAQ's PostgreSQL queue), and a burst worker runs it, sending the
email to a real SMTP server (aiosmtpd) and keeping the invoice.

Each test has its own queue (named after its key prefix) and cleans up what SAQ stored for it.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest
from psycopg import sql
from saq import Status
from typer.testing import CliRunner

from shop_cli.main import app
from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.domain.invoices import invoice_number
from shop_core.domain.jobs import FINISHED, JobStatus
from shop_core.services import jobs
from shop_core.services.catalog_commands import CreateProduct
from shop_core.services.commands import (
    ConfirmPasswordReset,
    CreateAdmin,
    Login,
    RegisterUser,
    RequestPasswordReset,
)
from shop_core.services.jobs import SPECS, JobView
from shop_core.services.order_commands import AddressInput, ChangeOrderStatus, OrderItemInput, PlaceOrder
from shop_core.services.order_views import OrderView
from shop_core.settings import Settings
from shop_workers.worker import make_queue, make_worker
from tests.conftest import TEST_SECRET, make_settings, shop_factory
from tests.smtp_server import REFUSED, Inbox, running_inbox

STORE = "Corner Shop"
FRONT_END = "http://front.test"
PASSWORD = "correct horse battery"
STAFF = Actor("staff:boss", None, is_staff=True)
LOW_STOCK = 3  # settings.low_stock_threshold
ADDRESS = AddressInput(
    full_name="Ada Lovelace",
    line1="12 St James's Square",
    city="London",
    postal_code="SW1Y 4JH",
    country="gb",
)
RESET_LINK = re.compile(r"http://front\.test/reset-password\?token=([A-Za-z0-9_%-]+)")

# A burst worker returns once a wait for a job (1 s, `DEQUEUE_TIMEOUT_S`) finds the queue empty; far
# more than a whole test's jobs take. Passing it means the worker hung.
BURST_TIMEOUT_S = 30
# Burst rounds for a job that fails every attempt: SAQ schedules each retry `job_retry_delay` (with
# doubling and jitter) later, and a burst worker may stop while one is scheduled but not yet due;
# the next round's start-up moves it to the queue. At most one round per attempt, and some slack.
MAX_ROUNDS = 2 * max(spec.attempts for spec in SPECS.values())


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with running_inbox() as box:
        yield box


@pytest.fixture
def redis_settings(
    sqlite_url: str, redis_url: str, redis_prefix: str, inbox: Inbox, saq_keys: Callable[[], set[str]]
) -> Settings:
    """The shop on SQLite, its jobs on this test's SAQ queue in Redis, its mail to the inbox."""
    return shop_settings(sqlite_url, inbox, redis_url=redis_url, redis_key_prefix=redis_prefix)


def shop_settings(database_url: str, inbox: Inbox, **changes: Any) -> Settings:
    return make_settings(
        database_url,
        smtp_url=inbox.url,
        store_name=STORE,
        public_base_url=FRONT_END,
        low_stock_threshold=LOW_STOCK,
        **changes,
    )


# --- helpers -------------------------------------------------------------------------------------


async def burst(settings: Settings) -> None:
    """`shop worker --burst`: a real SAQ worker on the settings' queue, until the queue is empty."""
    worker = make_worker(settings, burst=True)
    try:
        await asyncio.wait_for(worker.start(), timeout=BURST_TIMEOUT_S)
    finally:
        await worker.queue.disconnect()
    # It stopped because a wait for a job found none, not because it was cut off.
    assert worker.burst_condition_met


async def relayed(shop: Shop) -> dict[str, list[JobView]]:
    """Wait until the shop handed its recorded jobs to the queue; the ledger by job name."""
    await shop.jobs.drain_jobs()
    return await ledger(shop)


async def ledger(shop: Shop) -> dict[str, list[JobView]]:
    page = await shop.jobs.list_jobs(Actor.operator(), limit=1000)
    assert page.total == len(page.items)
    by_name: dict[str, list[JobView]] = {}
    for job in sorted(page.items, key=lambda j: j.id):
        by_name.setdefault(job.name, []).append(job)
    return by_name


async def customer(shop: Shop, email: str, first_name: str = "") -> Actor:
    user = await shop.accounts.register(RegisterUser(email=email, password=PASSWORD, first_name=first_name))
    return Actor(f"user:{user.id}", user.id)


async def product(shop: Shop, sku: str, stock: int, price: str = "25.00") -> int:
    cmd = CreateProduct(name=sku.title(), sku=sku, price=Decimal(price), stock_quantity=stock)
    return (await shop.catalog.create_product(cmd, Actor("staff:boss", is_staff=True))).id


async def order(shop: Shop, who: Actor, product_id: int, quantity: int = 1) -> OrderView:
    assert who.user_id is not None
    cmd = PlaceOrder(
        items=[OrderItemInput(product_id=product_id, quantity=quantity)],
        shipping_address=ADDRESS,
        payment_method="cod",
    )
    return (await shop.orders.place_order(who.user_id, who, cmd)).order


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None, message
    text: str = body.get_content()
    return text


def pdf_attachments(message: EmailMessage) -> list[tuple[str | None, str, bytes]]:
    """(filename, content type, content) of each attachment."""
    return [(a.get_filename(), a.get_content_type(), a.get_content()) for a in message.iter_attachments()]


def by_subject(inbox: Inbox) -> dict[str, EmailMessage]:
    """The inbox by subject; every subject arrived once."""
    messages = inbox.messages
    found = {str(m["Subject"]): m for m in messages}
    assert len(found) == len(messages), sorted(str(m["Subject"]) for m in messages)
    return found


def subjects(inbox: Inbox) -> list[str]:
    return sorted(str(m["Subject"]) for m in inbox.messages)


def this_years_invoice(sequence: int) -> str:
    return invoice_number(datetime.now(UTC).year, sequence)


# --- every kind of job, run by the worker -------------------------------------------------------------


async def test_every_kind_of_job_runs_through_the_worker(
    database_url: str, redis_url: str, redis_prefix: str, inbox: Inbox, saq_keys: Callable[[], set[str]]
) -> None:
    """On SQLite and PostgreSQL. The invoice job and the payment email (which issues the invoice if it
    has not been yet) may run side by side in the worker: still one invoice, the one attached."""
    settings = shop_settings(database_url, inbox, redis_url=redis_url, redis_key_prefix=redis_prefix)
    async with shop_factory(settings) as shop:
        boss = await shop.accounts.create_admin(
            CreateAdmin(email="boss@example.com", password=PASSWORD), Actor.operator()
        )
        ada = await customer(shop, "ada@example.com", "Ada")
        lamp = await product(shop, "LAMP", stock=50)
        widget = await product(shop, "WIDGET", stock=LOW_STOCK + 2)

        paid = await order(shop, ada, lamp)
        low = await order(shop, ada, widget, quantity=3)  # 5 -> 2: below the threshold of 3
        cancelled = await order(shop, ada, lamp)
        await shop.payments.confirm_cash(paid.order_number, STAFF)  # cash collected: the order is paid
        for status in ("processing", "shipped"):
            await shop.orders.change_order_status(paid.id, ChangeOrderStatus(status=status), STAFF)
        await shop.orders.cancel_order(cancelled.id, ada)
        await shop.accounts.request_password_reset(RequestPasswordReset(email="ada@example.com"))

        # Every job is recorded and handed to the queue, where it waits for a worker.
        before = await relayed(shop)
        assert {name: len(found) for name, found in before.items()} == {
            jobs.WELCOME_EMAIL: 1,
            jobs.ORDER_CONFIRMATION_EMAIL: 3,
            jobs.LOW_STOCK_ALERT: 1,
            jobs.ISSUE_INVOICE: 1,
            jobs.PAYMENT_RECEIVED_EMAIL: 1,
            jobs.ORDER_SHIPPED_EMAIL: 1,
            jobs.ORDER_CANCELLED_EMAIL: 1,
            jobs.PASSWORD_RESET_EMAIL: 1,
        }
        assert {job.status for found in before.values() for job in found} == {JobStatus.QUEUED.value}
        assert inbox.envelopes == []

        await burst(settings)

        after = await ledger(shop)
        assert {
            (job.name, job.status, job.attempts, job.error) for found in after.values() for job in found
        } == {(name, JobStatus.COMPLETE.value, 1, None) for name in before}
        assert sum(map(len, after.values())) == sum(map(len, before.values()))

        mail = by_subject(inbox)
        assert sorted(mail) == sorted(
            [
                f"Welcome to {STORE}",
                *(f"Your order {o.order_number} is confirmed — {STORE}" for o in (paid, low, cancelled)),
                f"Low stock: WIDGET has 2 left — {STORE}",
                f"Payment received for order {paid.order_number} — {STORE}",
                f"Your order {paid.order_number} is on its way — {STORE}",
                f"Your order {cancelled.order_number} has been cancelled — {STORE}",
                f"Reset your password — {STORE}",
            ]
        )
        for subject, message in mail.items():
            to = boss.email if subject.startswith("Low stock") else "ada@example.com"
            assert message["To"] == to, subject

        welcome = text_of(mail[f"Welcome to {STORE}"])
        assert "Hello Ada," in welcome
        assert "ada@example.com" in welcome
        for placed in (paid, low, cancelled):
            confirmation = mail[f"Your order {placed.order_number} is confirmed — {STORE}"]
            assert placed.order_number in text_of(confirmation)
        alert = text_of(mail[f"Low stock: WIDGET has 2 left — {STORE}"])
        assert "(WIDGET) is running low: 2 left in stock, below the alert threshold of 3" in alert
        shipped = text_of(mail[f"Your order {paid.order_number} is on its way — {STORE}"])
        assert f"order {paid.order_number} has shipped" in shipped
        cancel = text_of(mail[f"Your order {cancelled.order_number} has been cancelled — {STORE}"])
        assert f"Order {cancelled.order_number} has been cancelled." in cancel
        assert "refunded" not in cancel  # nothing was paid

        # The payment email carries the invoice the shop keeps: one number, the same PDF.
        invoice = await shop.invoices.order_invoice(paid.id, STAFF)
        assert invoice.number == this_years_invoice(1)
        payment = mail[f"Payment received for order {paid.order_number} — {STORE}"]
        assert f"for order {paid.order_number}" in text_of(payment)
        assert f"Your invoice {invoice.number} is attached." in text_of(payment)
        assert pdf_attachments(payment) == [(f"invoice-{invoice.number}.pdf", "application/pdf", invoice.pdf)]
        assert invoice.pdf.startswith(b"%PDF")

        # The emailed link resets the password: the worker stored the token's digest.
        link = RESET_LINK.search(text_of(mail[f"Reset your password — {STORE}"]))
        assert link is not None
        await shop.accounts.confirm_password_reset(
            ConfirmPasswordReset(token=link.group(1), password="a-brand-new-passphrase")
        )
        assert await shop.sessions.login(Login(email="ada@example.com", password="a-brand-new-passphrase"))


# --- a job handed over twice runs once ----------------------------------------------------------------


async def test_a_job_run_twice_sends_one_email_and_makes_one_invoice(
    redis_settings: Settings, inbox: Inbox
) -> None:
    async with shop_factory(redis_settings) as shop:
        ada = await customer(shop, "ada@example.com")
        lamp = await product(shop, "LAMP", stock=50)
        first = await order(shop, ada, lamp)
        second = await order(shop, ada, lamp)
        await shop.payments.confirm_cash(first.order_number, STAFF)
        recorded = await relayed(shop)
        await burst(redis_settings)

        payment_subject = f"Payment received for order {first.order_number} — {STORE}"
        assert payment_subject in by_subject(inbox)
        issued = await shop.invoices.order_invoice(first.id, STAFF)
        assert issued.number == this_years_invoice(1)
        delivered = len(inbox.envelopes)

        # The queue hands the same ledger jobs over again (a relay that crashed before marking them
        # queued, or a queue that lost track): under new SAQ keys, so SAQ takes them as new jobs.
        twice = [recorded[jobs.PAYMENT_RECEIVED_EMAIL][0], recorded[jobs.ISSUE_INVOICE][0]]
        queue = make_queue(redis_settings)
        await queue.connect()
        try:
            again = [await queue.enqueue(job.name, key=f"again-{job.id}", ledger_id=job.id) for job in twice]
            assert None not in again  # SAQ took them as jobs of their own
            # ... and an operator's script runs them by hand as well.
            assert [await shop.jobs.run_job(job.id) for job in twice] == [None, None]

            await burst(redis_settings)

            for saq_job in again:
                assert saq_job is not None
                await saq_job.refresh()
                # The worker did take them, and found nothing to do: the ledger says they are complete.
                assert (saq_job.status, saq_job.attempts, saq_job.result) == (Status.COMPLETE, 1, None)
        finally:
            await queue.disconnect()

        assert len(inbox.envelopes) == delivered
        assert subjects(inbox).count(payment_subject) == 1
        after = await ledger(shop)
        for job in twice:
            (found,) = after[job.name]
            assert (found.status, found.attempts) == (JobStatus.COMPLETE.value, 1)
        again_issued = await shop.invoices.order_invoice(first.id, STAFF)
        assert (again_issued.number, again_issued.pdf) == (issued.number, issued.pdf)
        # No number was used up: the next paid order gets the very next one.
        await shop.payments.confirm_cash(second.order_number, STAFF)
        assert (await shop.invoices.order_invoice(second.id, STAFF)).number == this_years_invoice(2)


# --- a job that keeps failing -------------------------------------------------------------------------


async def test_a_job_that_keeps_failing_ends_failed_with_its_error(
    redis_settings: Settings, inbox: Inbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = msgspec.structs.replace(redis_settings, job_retry_delay=0.01)  # SAQ retries come fast
    async with shop_factory(settings) as shop:
        await customer(shop, REFUSED)  # the mail server refuses this address, every time
        (welcome,) = (await relayed(shop))[jobs.WELCOME_EMAIL]

        # Burst until the ledger says the job is done for, in a bounded number of rounds: a round may
        # end while SAQ holds the next retry scheduled for a moment later (see MAX_ROUNDS).
        for _ in range(MAX_ROUNDS):
            await burst(settings)
            (job,) = (await ledger(shop))[jobs.WELCOME_EMAIL]
            if job.status in FINISHED:
                break

        spec = SPECS[jobs.WELCOME_EMAIL]
        assert job.id == welcome.id
        assert (job.status, job.attempts, job.max_attempts) == (JobStatus.FAILED.value, spec.attempts, 5)
        assert job.error is not None
        assert "recipient refused: 550" in job.error
        assert job.finished_at is not None
        assert inbox.envelopes == []  # nothing half-sent

        # SAQ agrees: it gave up after the same attempts (a failed SAQ job has no retry scheduled).
        queue = make_queue(settings)
        try:
            saq_job = await queue.job(f"{job.id}.0")
            assert saq_job is not None
            assert (saq_job.status, saq_job.attempts) == (Status.FAILED, spec.attempts)
        finally:
            await queue.disconnect()

    # What an operator sees.
    monkeypatch.chdir(tmp_path)  # no stray .env
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SHOP_")}
    env.update(
        SHOP_ENV="test", SHOP_DATABASE_URL=settings.database_url, SHOP_SECRET_KEY=TEST_SECRET, COLUMNS="250"
    )
    result = await asyncio.to_thread(CliRunner().invoke, app, ["jobs", "list", "--status", "failed"], env=env)
    assert result.exit_code == 0, f"{result.exception!r}\n{result.output}"
    rows = [line for line in result.stdout.splitlines() if jobs.WELCOME_EMAIL in line]
    assert len(rows) == 1, result.stdout
    cells = [cell.strip() for cell in rows[0].split("│")[1:-1]]
    assert cells[0] == str(job.id)
    assert cells[3:5] == ["failed", f"{spec.attempts}/{spec.attempts}"]
    assert "recipient refused: 550 5.1.1 No such user" in cells[6]
    assert "1 of 1 job" in result.stdout


# --- SAQ's PostgreSQL queue ---------------------------------------------------------------------------


@pytest.fixture
async def pg_queue(pg_url: str) -> AsyncIterator[tuple[str, str]]:
    """A plain `postgresql://` queue URL on the test database and a key prefix naming this test's
    queue; afterwards SAQ's rows for that queue are deleted (its tables are shared)."""
    url = "postgresql://" + pg_url.split("://", 1)[1]
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    yield url, prefix
    name = f"{prefix}shop"
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for table, column in (("saq_jobs", "queue"), ("saq_stats", "queue_key")):
            exists = await (await conn.execute("SELECT to_regclass(%s) IS NOT NULL", [table])).fetchone()
            if exists == (True,):
                query = sql.SQL("DELETE FROM {} WHERE {} = %s").format(
                    sql.Identifier(table), sql.Identifier(column)
                )
                await conn.execute(query, [name])


async def test_the_postgresql_queue_runs_a_job(pg_url: str, pg_queue: tuple[str, str], inbox: Inbox) -> None:
    queue_url, prefix = pg_queue
    settings = shop_settings(pg_url, inbox, queue_url=queue_url, redis_key_prefix=prefix)
    assert settings.redis_url is None  # no Redis at all: the queue is in PostgreSQL
    worker_queue = make_queue(settings)
    assert type(worker_queue).__name__ == "PostgresQueue"
    assert worker_queue.name == f"{prefix}shop"

    async with shop_factory(settings) as shop:
        await customer(shop, "ada@example.com", "Ada")
        (welcome,) = (await relayed(shop))[jobs.WELCOME_EMAIL]
        assert welcome.status == JobStatus.QUEUED.value
        assert inbox.envelopes == []

        await burst(settings)

        (job,) = (await ledger(shop))[jobs.WELCOME_EMAIL]
        assert (job.status, job.attempts, job.error) == (JobStatus.COMPLETE.value, 1, None)

    (message,) = inbox.messages
    assert (message["Subject"], message["To"]) == (f"Welcome to {STORE}", "ada@example.com")
    assert "Hello Ada," in text_of(message)

    # The job went through SAQ's table in PostgreSQL, under its dispatch key.
    await worker_queue.connect()
    try:
        saq_job = await worker_queue.job(f"{job.id}.0")
        assert saq_job is not None
        assert (saq_job.status, saq_job.result) == (Status.COMPLETE, JobStatus.COMPLETE.value)
    finally:
        await worker_queue.disconnect()


# --- webhooks, through the worker ---------------------------------------------------------------


async def test_a_webhook_is_fanned_out_and_delivered_by_the_worker(
    redis_settings: Settings, redis_url: str
) -> None:
    """The webhook jobs run in a real SAQ worker: the event is fanned out there, its delivery job
    relayed by the worker's own process and run; the receiver (a real local server) gets it once."""
    from shop_core.services.webhooks import CreateSubscription
    from tests.http.webhooks_support import verified
    from tests.webhook_receiver import running_receiver

    settings = redis_settings.replace(webhooks_allow_private=True)
    with running_receiver() as receiver:
        async with shop_factory(settings) as shop:
            made = await shop.webhooks.create(
                CreateSubscription(url=receiver.url(), events=["order.created"]), Actor.operator()
            )
            ada = await customer(shop, "ada@example.com")
            placed = await order(shop, ada, await product(shop, "LAMP", stock=5))
            assert [j.status for j in (await relayed(shop))[jobs.WEBHOOK_EVENT]] == [JobStatus.QUEUED.value]
            assert receiver.received == []

            for _ in range(MAX_ROUNDS):  # the delivery job is relayed while (or after) the first round runs
                await burst(settings)
                if receiver.received:
                    break
            [got] = receiver.received
            body = verified(made.secret, got)
            assert (body["type"], body["data"]["id"]) == ("order.created", placed.id)
            after = await ledger(shop)
            assert [j.status for j in after[jobs.WEBHOOK_DELIVER]] == [JobStatus.COMPLETE.value]
            [attempt] = (await shop.webhooks.deliveries(made.id, Actor.operator())).items
            assert (attempt.status, attempt.response_status) == ("succeeded", 200)
