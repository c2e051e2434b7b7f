"""Background jobs: what each kind is, recording one with a change, relaying, running, and operating.

The flow (a transactional outbox):
1. A use case calls `record(uow, …)` inside its transaction. The job row commits with the change,
   or not at all.
2. After the commit, `relay` hands pending jobs to the `JobQueue` and marks them queued. A crash
   before that leaves them pending, and the next relay (after the next commit, at start-up, or the
   worker's every-minute cron) delivers them. A crash after enqueueing but before marking them
   enqueues them again: harmless, see 3.
3. The queue calls `run_job(id)` for each attempt. It claims the job with one conditional write,
   so a job that is complete, or that another runner is working on, is skipped: a job handed over
   twice runs once. Each attempt is cut off after the kind's timeout; a failed attempt is recorded
   (`retrying`, with the error) and raised for the queue to try again after a doubling delay,
   until the kind's attempts are used up and the job is `failed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import msgspec

from shop_core.domain import webhook_deliveries
from shop_core.domain.actors import Actor, require_staff
from shop_core.domain.errors import Conflict, InvalidInput, NotFound, ServiceUnavailable
from shop_core.domain.jobs import FINISHED, Job, JobSpec, JobStatus
from shop_core.ports.clock import Clock
from shop_core.ports.jobs import JobAttemptFailed, JobBusy, JobQueue
from shop_core.ports.metrics import NULL_METRICS, Metrics
from shop_core.ports.orders import OrderJob
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.services.views import Page

log = logging.getLogger("shop.jobs")

# The kinds of job, by the name the queue knows them by.
WELCOME_EMAIL = "email.welcome"
ORDER_CONFIRMATION_EMAIL = "email.order_confirmation"
PAYMENT_RECEIVED_EMAIL = "email.payment_received"
ORDER_SHIPPED_EMAIL = "email.order_shipped"
ORDER_PARTLY_SHIPPED_EMAIL = "email.order_partly_shipped"
RETURN_RECEIVED_EMAIL = "email.return_received"
RETURN_REFUNDED_EMAIL = "email.return_refunded"
ORDER_CANCELLED_EMAIL = "email.order_cancelled"
PASSWORD_RESET_EMAIL = "email.password_reset"  # noqa: S105 - a job's name
ISSUE_INVOICE = "invoice.issue"
LOW_STOCK_ALERT = "stock.low_alert"
BACK_IN_STOCK_EMAIL = "email.back_in_stock"
WEBHOOK_EVENT = "webhook.event"  # fans an event out to the subscriptions listening to it
WEBHOOK_DELIVER = "webhook.deliver"  # one delivery's attempts (see services/webhook_events.py)
REVIEW_WAITING_ALERT = "email.review_waiting"

_EMAIL = JobSpec(timeout=60, attempts=5)
SPECS: Mapping[str, JobSpec] = {
    WELCOME_EMAIL: _EMAIL,
    ORDER_CONFIRMATION_EMAIL: _EMAIL,
    PAYMENT_RECEIVED_EMAIL: JobSpec(timeout=120, attempts=5),  # renders the invoice if need be
    ORDER_SHIPPED_EMAIL: _EMAIL,
    ORDER_PARTLY_SHIPPED_EMAIL: _EMAIL,
    RETURN_RECEIVED_EMAIL: _EMAIL,
    RETURN_REFUNDED_EMAIL: _EMAIL,
    ORDER_CANCELLED_EMAIL: _EMAIL,
    PASSWORD_RESET_EMAIL: JobSpec(timeout=60, attempts=3),  # a link that arrives an hour late is no use
    ISSUE_INVOICE: JobSpec(timeout=120, attempts=5),
    LOW_STOCK_ALERT: JobSpec(timeout=60, attempts=3),
    BACK_IN_STOCK_EMAIL: _EMAIL,
    WEBHOOK_EVENT: JobSpec(timeout=60, attempts=5),
    # Each attempt is cut off by the sender after SHOP_WEBHOOKS_TIMEOUT (at most 30 s); the
    # delivery counts its own attempts (webhook_deliveries.ATTEMPTS), two more runs leave room for a crash.
    WEBHOOK_DELIVER: JobSpec(timeout=60, attempts=webhook_deliveries.ATTEMPTS + 2),
    REVIEW_WAITING_ALERT: JobSpec(timeout=60, attempts=3),
}

RELAY_BATCH = 100
MAX_ERROR_LENGTH = 2000

Handler = Callable[[dict[str, Any]], Awaitable[object]]


class JobView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    key: str
    status: str
    attempts: int
    max_attempts: int
    error: str | None
    created_at: datetime
    updated_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobView:
        assert job.id is not None
        return cls(
            id=job.id,
            name=job.name,
            key=job.key,
            status=job.status.value,
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            error=job.error,
            created_at=job.created_at,
            updated_at=job.updated_at,
            finished_at=job.finished_at,
        )


async def record(uow: UnitOfWork, name: str, key: str, payload: dict[str, Any], now: datetime) -> bool:
    """Record a job in the caller's transaction; False when a job with this key exists already.

    `key` names the thing to be done once (`email.order_shipped:<order id>`)."""
    spec = SPECS[name]
    job = Job(name=name, key=key, payload=payload, created_at=now, max_attempts=spec.attempts)
    return await uow.jobs.add(job)


def with_order(name: str) -> OrderJob:
    """A job of this kind to record with a new order (see `OrderRepository.add_placed`): keyed
    `<name>:<order id>`, its payload `{"order_id": <order id>}`."""
    return OrderJob(name, SPECS[name].attempts)


async def relay_recorded(
    recorded: list[Job], *, uow: UnitOfWorkFactory, queue: JobQueue, clock: Clock
) -> int:
    """Hand jobs a commit just recorded to the queue as they are (without reading them back);
    how many went."""
    return await _hand_over(recorded, uow=uow, queue=queue, clock=clock)


async def relay(*, uow: UnitOfWorkFactory, queue: JobQueue, clock: Clock) -> int:
    """Hand every pending job to the queue, oldest first; how many went."""
    relayed = 0
    while True:
        async with uow() as u:
            batch = await u.jobs.pending(RELAY_BATCH)
        relayed += await _hand_over(batch, uow=uow, queue=queue, clock=clock)
        if len(batch) < RELAY_BATCH:
            return relayed


async def _hand_over(batch: list[Job], *, uow: UnitOfWorkFactory, queue: JobQueue, clock: Clock) -> int:
    """Enqueue each job, then mark those the queue took as queued, in one write; what it did not
    take stays pending for the next relay."""
    sent: list[int] = []
    try:
        for job in batch:
            assert job.id is not None
            spec = SPECS.get(job.name)
            if spec is None:
                await _give_up(job.id, f"no job is called {job.name!r}", uow=uow, clock=clock)
                continue
            await queue.enqueue(job, spec)
            sent.append(job.id)
    finally:
        # Even when the queue failed halfway: what it took is marked, the rest waits.
        if sent:
            async with uow() as u:
                await u.jobs.mark_queued(sent, clock.now())
                await u.commit()
    return len(sent)


async def resume(*, uow: UnitOfWorkFactory, queue: JobQueue, clock: Clock, relay_loop: RelayLoop) -> None:
    """At a process's start: relay what earlier processes left pending. With a queue that does
    not outlive its process, the jobs it held when its process stopped go back to pending first."""
    if not queue.durable:
        now = clock.now()
        stale_before = now - max(spec.stale_after for spec in SPECS.values())
        async with uow() as u:
            reset = await u.jobs.reset_unfinished(now, stale_before)
            await u.commit()
        if reset:
            log.info("%d job(s) an earlier process did not finish go round again", reset)
    relay_loop.wake()


async def _give_up(job_id: int, error: str, *, uow: UnitOfWorkFactory, clock: Clock) -> None:
    async with uow() as u:
        await u.jobs.finish(job_id, JobStatus.FAILED, clock.now(), error)
        await u.commit()
    log.error("job %s failed: %s", job_id, error)


async def run_job(
    job_id: int,
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    handlers: Mapping[str, Handler],
    metrics: Metrics = NULL_METRICS,
) -> JobStatus | None:
    """One attempt at a recorded job; how it ended, or None when there was nothing to do (the job
    is finished). Raises JobAttemptFailed when it failed, JobBusy when another runner holds it
    (the queue tries again later: if that runner died, its claim goes stale and this one runs it).
    An attempt cut off by a stopping worker is recorded as `retrying` before it is cancelled.

    Each attempt that ends (complete, retrying or failed) is reported to `metrics` with how long
    its handler ran; one with nothing to do is not an attempt."""
    now = clock.now()
    async with uow() as u:
        job = await u.jobs.get(job_id)
        if job is None:
            log.warning("job %s is not in the ledger (purged?): nothing to do", job_id)
            return None
        spec, handler = SPECS.get(job.name), handlers.get(job.name)
        claimed = None
        if spec is not None and handler is not None:
            claimed = await u.jobs.claim(job_id, now, now - spec.stale_after)
            await u.commit()
    if spec is None or handler is None:
        await _give_up(job_id, f"no job is called {job.name!r}", uow=uow, clock=clock)
        metrics.job_attempt(job.name, JobStatus.FAILED.value, 0.0)
        return JobStatus.FAILED
    if claimed is None:
        if job.status in FINISHED:
            return None
        raise JobBusy(f"job {job_id} ({job.name}) is being run elsewhere")
    started = time.perf_counter()
    try:
        async with asyncio.timeout(spec.timeout):
            await handler(claimed.payload)
    except asyncio.CancelledError:
        # The worker is stopping: give the claim back so that the queue's retry runs it at once.
        with contextlib.suppress(Exception):
            async with uow() as u:
                await u.jobs.finish(
                    job_id, JobStatus.RETRYING, clock.now(), "interrupted: the worker stopped"
                )
                await u.commit()
        raise
    except Exception as exc:
        ran = time.perf_counter() - started
        final = claimed.attempts >= claimed.max_attempts
        error = _describe(exc, spec)
        status = JobStatus.FAILED if final else JobStatus.RETRYING
        async with uow() as u:
            await u.jobs.finish(job_id, status, clock.now(), error)
            await u.commit()
        metrics.job_attempt(job.name, status.value, ran)
        log.log(
            logging.ERROR if final else logging.WARNING,
            "job %s (%s) attempt %d of %d failed: %s",
            job_id,
            job.name,
            claimed.attempts,
            claimed.max_attempts,
            error,
        )
        raise JobAttemptFailed(error, final=final) from exc
    ran = time.perf_counter() - started
    async with uow() as u:
        await u.jobs.finish(job_id, JobStatus.COMPLETE, clock.now())
        await u.commit()
    metrics.job_attempt(job.name, JobStatus.COMPLETE.value, ran)
    log.info("job %s (%s) complete", job_id, job.name)
    return JobStatus.COMPLETE


def _describe(exc: Exception, spec: JobSpec) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return f"timed out after {spec.timeout} s"
    text = f"{type(exc).__name__}: {exc}".strip()
    return text[:MAX_ERROR_LENGTH]


# --- operating --------------------------------------------------------------------------------------


def parse_job_status(raw: str | None) -> JobStatus | None:
    if raw is None or raw == "":
        return None
    try:
        return JobStatus(raw.strip().lower())
    except ValueError:
        choices = ", ".join(s.value for s in JobStatus)
        message = f"Unknown job status {raw!r}; choose one of {choices}."
        raise InvalidInput(message, {"status": [message]}) from None


async def list_jobs(
    status: str | None, *, uow: UnitOfWork, offset: int = 0, limit: int = 50
) -> Page[JobView]:
    wanted = parse_job_status(status)
    if offset < 0 or not 1 <= limit <= 1000:
        raise InvalidInput("offset must be at least 0 and limit between 1 and 1000.")
    async with uow:
        found, total = await uow.jobs.list(wanted, offset=offset, limit=limit)
    return Page(items=[JobView.of(job) for job in found], total=total)


async def get_job(job_id: int, *, uow: UnitOfWork) -> JobView:
    async with uow:
        job = await uow.jobs.get(job_id)
    if job is None:
        raise NotFound(f"No job {job_id}.")
    return JobView.of(job)


async def retry_job(job_id: int, *, uow: UnitOfWork, clock: Clock) -> JobView:
    """Send a failed job round again (its attempts start over); the relay picks it up."""
    async with uow:
        job = await uow.jobs.retry(job_id, clock.now())
        if job is None:
            found = await uow.jobs.get(job_id)
            if found is None:
                raise NotFound(f"No job {job_id}.")
            raise Conflict(f"Job {job_id} is {found.status.value}; only failed jobs can be retried.")
        await uow.commit()
    return JobView.of(job)


async def purge_jobs(older_than: timedelta, *, uow: UnitOfWork, clock: Clock) -> int:
    """Forget complete jobs finished longer ago than `older_than`; failed ones stay."""
    async with uow:
        gone = await uow.jobs.purge(clock.now() - older_than)
        await uow.commit()
    return gone


class RelayLoop:
    """Runs the relay in the background of a process: woken after each commit that recorded jobs
    (and once at start). One relay runs at a time; a wake during a relay makes one more follow, so
    no job recorded meanwhile waits for the next commit. A relay that fails (the queue is down)
    leaves the jobs pending for the next one, or for the worker's every-minute relay."""

    def __init__(self) -> None:
        self._relay: Callable[[list[Job] | None], Awaitable[int]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._fresh: list[Job] = []
        self._rescan = False

    def bind(self, relay: Callable[[list[Job] | None], Awaitable[int]]) -> None:
        """`relay(jobs)` hands these committed jobs to the queue; `relay(None)` every pending one."""
        self._relay = relay

    def wake(self, recorded: list[Job] | None = None) -> None:
        """After a commit: `recorded` are the jobs it wrote (relayed as they are, without reading
        them back); None asks for a scan of the ledger (at start, after a retry...)."""
        if self._relay is None:
            return
        if recorded is None:
            self._rescan = True
        else:
            self._fresh += recorded
        if self._task is not None and not self._task.done():
            return  # the running relay takes these on its next round
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): the next relay delivers
            return
        self._task = loop.create_task(self._run(self._relay), name="job relay")

    async def _run(self, relay: Callable[[list[Job] | None], Awaitable[int]]) -> None:
        while self._rescan or self._fresh:
            fresh, rescan = self._fresh, self._rescan
            self._fresh, self._rescan = [], False
            try:
                await relay(None if rescan else fresh)  # a scan finds the fresh ones too
            except Exception as exc:  # noqa: BLE001 - logged; the jobs stay pending, relayed later
                log.error("could not hand the recorded jobs to the queue (they stay pending): %s", exc)

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    async def drain(self) -> None:
        """Wait for the relay running now, and any it triggers."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def aclose(self, grace_s: float = 10.0) -> None:
        """Stop: let a running relay finish within `grace_s`, else cancel it (what it had not
        marked stays pending: the next process relays it). No relay starts after this."""
        self._relay = None
        task = self._task
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), grace_s)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


class Jobs:
    """The background jobs: running one, relaying recorded ones to the queue, and staff's views.

    Jobs are recorded in the transaction of the use case that wants them (`record`); the relay hands
    them to the queue after the commit, and the queue calls `run_job`."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        queue: JobQueue | None,
        relay_loop: RelayLoop,
        handlers: Mapping[str, Handler],
        metrics: Metrics,
        retention: timedelta,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._queue = queue
        self._relay_loop = relay_loop
        self._handlers = handlers
        self._metrics = metrics
        self._retention = retention

    def start(self) -> None:
        """Bind the relay loop to this shop's relay, and the queue (in-process or SAQ) to `run_job`."""
        self._relay_loop.bind(self._relay)
        bind = getattr(self._queue, "bind", None)
        if bind is not None:
            bind(self.run_job)

    async def run_job(self, job_id: int) -> JobStatus | None:
        """One attempt at a recorded job (what the queue calls); see `run_job` above."""
        return await run_job(
            job_id, uow=self._uow, clock=self._clock, handlers=self._handlers, metrics=self._metrics
        )

    async def relay_jobs(self) -> int:
        """Hand the pending jobs to the queue now; how many went."""
        if self._queue is None:
            raise ServiceUnavailable("No job queue is configured.")
        return await relay(uow=self._uow, queue=self._queue, clock=self._clock)

    async def _relay(self, recorded: list[Job] | None) -> int:
        """What the relay loop runs: these committed jobs, or (None) every pending one."""
        if recorded is None or self._queue is None:
            return await self.relay_jobs()
        return await relay_recorded(recorded, uow=self._uow, queue=self._queue, clock=self._clock)

    async def resume_jobs(self) -> None:
        """At start-up: relay, in the background, whatever an earlier process recorded and did not
        hand over (or, with the in-process queue, did not finish)."""
        if self._queue is not None:
            await resume(uow=self._uow, queue=self._queue, clock=self._clock, relay_loop=self._relay_loop)

    async def drain_jobs(self) -> None:
        """Wait until the relay is idle and, with the in-process queue, every job it started is done
        (for a process about to exit, and for tests)."""
        drain = getattr(self._queue, "drain", None)
        while True:
            await self._relay_loop.drain()
            if drain is not None:
                await drain()
            if not self._relay_loop.busy:
                return

    async def list_jobs(
        self, actor: Actor, status: str | None = None, *, offset: int = 0, limit: int = 50
    ) -> Page[JobView]:
        require_staff(actor)
        return await list_jobs(status, uow=self._uow(), offset=offset, limit=limit)

    async def get_job(self, job_id: int, actor: Actor) -> JobView:
        require_staff(actor)
        return await get_job(job_id, uow=self._uow())

    async def retry_job(self, job_id: int, actor: Actor) -> JobView:
        require_staff(actor)
        return await retry_job(job_id, uow=self._uow(), clock=self._clock)

    async def purge_jobs(self) -> int:
        """Maintenance (the shop's schedule, or an operator): forget complete jobs past retention."""
        return await purge_jobs(self._retention, uow=self._uow(), clock=self._clock)
