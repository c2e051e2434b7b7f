"""The job ledger (transactional outbox) on SQLite and PostgreSQL: what is recorded, relayed, run.

The queue here is a recording stand-in for the JobQueue port (the SAQ and in-process queues have
tests of their own): it lets a test kill the relay halfway, and run each job when it says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from shop_core.bootstrap import Shop, bootstrap
from shop_core.domain.actors import Actor
from shop_core.domain.errors import Conflict, NotFound
from shop_core.domain.jobs import Job, JobSpec, JobStatus
from shop_core.ports.jobs import JobAttemptFailed, JobBusy
from shop_core.ports.mail import Email, MailError
from shop_core.services import jobs
from shop_core.services.commands import RegisterUser
from shop_core.settings import Settings
from tests.conftest import fast_hasher, make_settings
from tests.fakes import FakeClock

PASSWORD = "a-long-enough-passphrase"


@dataclass
class RecordingMailer:
    sent: list[Email] = field(default_factory=list)
    refuse: bool = False
    gate: asyncio.Event | None = None
    sending: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, email: Email) -> None:
        self.sending.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.refuse:
            raise MailError(f"550 mailbox unavailable: {email.to}")
        self.sent.append(email)


@dataclass
class RecordingQueue:
    """Takes jobs like a queue; `dies_after` makes it fail after that many (the relay's process
    dying mid-way, as far as the ledger can tell)."""

    taken: list[Job] = field(default_factory=list)
    durable: bool = True
    dies_after: int | None = None
    hang: asyncio.Event | None = None

    async def enqueue(self, job: Job, spec: JobSpec) -> None:
        if self.hang is not None:
            await self.hang.wait()
        if self.dies_after is not None and len(self.taken) >= self.dies_after:
            raise ConnectionError("the queue went away")
        self.taken.append(job)


@dataclass
class World:
    shop: Shop
    mailer: RecordingMailer
    queue: RecordingQueue
    clock: FakeClock

    async def register(self, n: int) -> list[int]:
        ids = []
        for i in range(n):
            user = await self.shop.accounts.register(
                RegisterUser(email=f"user{i}@example.com", password=PASSWORD)
            )
            ids.append(user.id)
        return ids

    async def ledger(self, status: str | None = None) -> list[jobs.JobView]:
        return (await self.shop.jobs.list_jobs(Actor.operator(), status, limit=1000)).items


def settings_of(database_url: str, **changes: Any) -> Settings:
    return make_settings(database_url, job_retry_delay=0.01, **changes)


async def open_world(settings: Settings, queue: RecordingQueue | None = None) -> AsyncIterator[World]:
    mailer, clock = RecordingMailer(), FakeClock()
    queue = queue or RecordingQueue()
    async with bootstrap(settings, hasher=fast_hasher(), mailer=mailer, queue=queue, clock=clock) as shop:
        yield World(shop, mailer, queue, clock)


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async for opened in open_world(settings_of(database_url)):
        yield opened


async def test_a_committed_change_records_its_job_and_the_relay_hands_it_over(world: World) -> None:
    [user_id] = await world.register(1)
    await world.shop.jobs.drain_jobs()

    [job] = await world.ledger()
    assert (job.name, job.key, job.status) == (jobs.WELCOME_EMAIL, f"email.welcome:{user_id}", "queued")
    assert [j.id for j in world.queue.taken] == [job.id]
    assert world.mailer.sent == []  # handed over, not run: the queue runs it


async def test_a_change_that_fails_records_no_job(world: World) -> None:
    await world.register(1)
    with pytest.raises(Conflict):
        await world.shop.accounts.register(RegisterUser(email="user0@example.com", password=PASSWORD))
    await world.shop.jobs.drain_jobs()
    assert len(await world.ledger()) == 1


async def test_a_second_job_with_the_same_key_is_dropped(world: World) -> None:
    async with world.shop.ports.uow() as uow:
        first = await jobs.record(
            uow, jobs.WELCOME_EMAIL, "email.welcome:x", {"user_id": 1}, world.clock.now()
        )
        second = await jobs.record(
            uow, jobs.WELCOME_EMAIL, "email.welcome:x", {"user_id": 2}, world.clock.now()
        )
        await uow.commit()
    assert (first, second) == (True, False)
    [job] = await world.ledger()
    assert job.key == "email.welcome:x"


async def test_a_relay_that_dies_halfway_loses_nothing(database_url: str) -> None:
    settings = settings_of(database_url)
    async for world in open_world(settings, RecordingQueue(dies_after=2)):
        await world.register(5)
        await world.shop.jobs.drain_jobs()
        statuses = sorted(j.status for j in await world.ledger())
        assert statuses == ["pending"] * 3 + ["queued"] * 2
    # The next process: its start-up relay delivers the rest, and nothing twice.
    async for world in open_world(settings):
        await world.shop.jobs.resume_jobs()
        await world.shop.jobs.drain_jobs()
        assert len(world.queue.taken) == 3
        assert {j.status for j in await world.ledger()} == {"queued"}


async def test_a_relay_killed_before_it_enqueues_leaves_the_jobs_pending(database_url: str) -> None:
    settings = settings_of(database_url)
    hang = asyncio.Event()
    async for world in open_world(settings, RecordingQueue(hang=hang)):
        await world.register(2)  # the commit wakes the relay, which blocks in the queue
        await world.shop.ports.relay.aclose(grace_s=0)  # and is killed there
        assert {j.status for j in await world.ledger()} == {"pending"}
        assert world.queue.taken == []
    async for world in open_world(settings):
        assert await world.shop.jobs.relay_jobs() == 2
        assert {j.status for j in await world.ledger()} == {"queued"}


async def test_a_job_run_twice_sends_one_email(world: World) -> None:
    await world.register(1)
    await world.shop.jobs.drain_jobs()
    [job] = world.queue.taken
    assert job.id is not None

    assert await world.shop.jobs.run_job(job.id) is JobStatus.COMPLETE
    assert await world.shop.jobs.run_job(job.id) is None  # handed over twice: done already

    assert [m.to for m in world.mailer.sent] == ["user0@example.com"]
    [view] = await world.ledger()
    assert (view.status, view.attempts, view.error) == ("complete", 1, None)


async def test_concurrent_runs_of_one_job_send_one_email(pg_url: str) -> None:
    async for world in open_world(settings_of(pg_url)):
        await world.register(1)
        await world.shop.jobs.drain_jobs()
        [job] = world.queue.taken
        assert job.id is not None
        world.mailer.gate = asyncio.Event()
        runs = [asyncio.create_task(world.shop.jobs.run_job(job.id)) for _ in range(8)]
        # All but the one that claimed it return at once; then the claimed one may send.
        await asyncio.wait(runs, return_when=asyncio.FIRST_COMPLETED)
        world.mailer.gate.set()
        results = await asyncio.gather(*runs, return_exceptions=True)
        assert results.count(JobStatus.COMPLETE) == 1
        # The others found it held (the queue tries them again later) or, when late, done.
        assert all(isinstance(r, JobBusy) or r is None for r in results if r is not JobStatus.COMPLETE)
        assert any(isinstance(r, JobBusy) for r in results)
        assert len(world.mailer.sent) == 1


async def test_a_job_that_keeps_failing_ends_failed_with_its_error(world: World) -> None:
    await world.register(1)
    await world.shop.jobs.drain_jobs()
    [job] = world.queue.taken
    assert job.id is not None
    world.mailer.refuse = True
    spec = jobs.SPECS[jobs.WELCOME_EMAIL]

    for attempt in range(1, spec.attempts + 1):
        with pytest.raises(JobAttemptFailed) as failed:
            await world.shop.jobs.run_job(job.id)
        assert failed.value.final is (attempt == spec.attempts)
        [view] = await world.ledger()
        assert view.attempts == attempt
        assert view.status == ("failed" if attempt == spec.attempts else "retrying")
        assert "550 mailbox unavailable" in (view.error or "")

    assert (
        await world.shop.jobs.run_job(job.id) is None
    )  # failed is final: the queue's extra copy does nothing
    assert world.mailer.sent == []
    [failed_view] = await world.ledger("failed")
    assert failed_view.id == job.id


async def test_an_operator_retries_a_failed_job(world: World) -> None:
    await world.register(1)
    await world.shop.jobs.drain_jobs()
    [job] = world.queue.taken
    assert job.id is not None
    world.mailer.refuse = True
    for _ in range(jobs.SPECS[jobs.WELCOME_EMAIL].attempts):
        with pytest.raises(JobAttemptFailed):
            await world.shop.jobs.run_job(job.id)
    world.mailer.refuse = False

    retried = await world.shop.jobs.retry_job(job.id, Actor.operator())
    assert (retried.status, retried.attempts) == ("pending", 0)
    await world.shop.jobs.drain_jobs()
    again = world.queue.taken[-1]
    assert again.id == job.id
    assert again.dispatch_key != job.dispatch_key  # a new round: the queue takes it as a new job
    assert await world.shop.jobs.run_job(job.id) is JobStatus.COMPLETE
    assert [m.to for m in world.mailer.sent] == ["user0@example.com"]

    with pytest.raises(Conflict, match="only failed jobs"):
        await world.shop.jobs.retry_job(job.id, Actor.operator())
    with pytest.raises(NotFound):
        await world.shop.jobs.retry_job(job.id + 1000, Actor.operator())


async def test_a_claim_left_by_a_dead_worker_is_taken_over(world: World) -> None:
    await world.register(1)
    await world.shop.jobs.drain_jobs()
    [job] = world.queue.taken
    assert job.id is not None
    async with world.shop.ports.uow() as uow:  # a worker claims it, then dies
        now = world.clock.now()
        assert await uow.jobs.claim(job.id, now, now) is not None
        await uow.commit()
    with pytest.raises(JobBusy):  # still within its timeout: someone holds it, try again later
        await world.shop.jobs.run_job(job.id)

    world.clock.advance(jobs.SPECS[jobs.WELCOME_EMAIL].stale_after.total_seconds() + 1)
    assert await world.shop.jobs.run_job(job.id) is JobStatus.COMPLETE
    assert len(world.mailer.sent) == 1
    [view] = await world.ledger()
    assert view.attempts == 2


async def test_purge_forgets_old_complete_jobs_and_keeps_failed_ones(world: World) -> None:
    await world.register(2)
    await world.shop.jobs.drain_jobs()
    done, failing = world.queue.taken
    assert done.id is not None
    assert failing.id is not None
    await world.shop.jobs.run_job(done.id)
    world.mailer.refuse = True
    for _ in range(jobs.SPECS[jobs.WELCOME_EMAIL].attempts):
        with pytest.raises(JobAttemptFailed):
            await world.shop.jobs.run_job(failing.id)

    assert await world.shop.jobs.purge_jobs() == 0  # finished just now
    world.clock.advance(timedelta(days=world.shop.settings.job_retention_days, seconds=1).total_seconds())
    assert await world.shop.jobs.purge_jobs() == 1
    assert [(j.id, j.status) for j in await world.ledger()] == [(failing.id, "failed")]


async def test_an_unknown_job_fails_instead_of_waiting_forever(world: World) -> None:
    async with world.shop.ports.uow() as uow:
        now = world.clock.now()
        await uow.jobs.add(Job(name="email.gone", key="gone:1", payload={}, created_at=now, max_attempts=1))
        await uow.commit()
    await world.shop.jobs.drain_jobs()
    [view] = await world.ledger()
    assert view.status == "failed"
    assert "email.gone" in (view.error or "")
    assert world.queue.taken == []


@pytest.mark.parametrize("status", ["bogus", "FAILED ", "complete"])
async def test_list_filters_by_a_known_status(world: World, status: str) -> None:
    if status == "bogus":
        with pytest.raises(Exception, match="Unknown job status"):
            await world.shop.jobs.list_jobs(Actor.operator(), status)
    else:
        assert (await world.shop.jobs.list_jobs(Actor.operator(), status)).total == 0


async def test_jobs_an_in_process_queue_held_when_it_stopped_run_at_the_next_start(database_url: str) -> None:
    settings = settings_of(database_url)
    async for world in open_world(settings, RecordingQueue(durable=False)):
        await world.register(3)
        await world.shop.jobs.drain_jobs()
        first, second, third = world.queue.taken
        assert first.id is not None
        assert second.id is not None
        await world.shop.jobs.run_job(first.id)  # done before the stop
        async with world.shop.ports.uow() as uow:  # the second was running when the process stopped
            assert await uow.jobs.claim(second.id, world.clock.now(), world.clock.now()) is not None
            await uow.commit()
    # The process stopped: the third was only in its memory, the second's claim is left behind.
    async for world in open_world(settings, RecordingQueue(durable=False)):
        world.clock.advance(max(s.stale_after for s in jobs.SPECS.values()).total_seconds() + 1)
        await world.shop.jobs.resume_jobs()
        await world.shop.jobs.drain_jobs()
        assert sorted(j.id for j in world.queue.taken) == sorted([second.id, third.id])
        assert {j.id: j.status for j in await world.ledger()}[first.id] == "complete"


async def test_a_durable_queue_keeps_its_jobs_across_a_restart(database_url: str) -> None:
    settings = settings_of(database_url)
    async for world in open_world(settings):
        await world.register(2)
        await world.shop.jobs.drain_jobs()
    async for world in open_world(settings):
        await world.shop.jobs.resume_jobs()
        await world.shop.jobs.drain_jobs()
        assert world.queue.taken == []  # SAQ still has them: nothing is handed over twice


async def test_a_job_cut_off_by_a_stopping_worker_goes_round_again(world: World) -> None:
    await world.register(1)
    await world.shop.jobs.drain_jobs()
    [job] = world.queue.taken
    assert job.id is not None
    world.mailer.gate = asyncio.Event()  # the email hangs until the worker stops
    running = asyncio.create_task(world.shop.jobs.run_job(job.id))
    await world.mailer.sending.wait()  # claimed, and in the middle of sending
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    [view] = await world.ledger()
    assert (view.status, view.error) == ("retrying", "interrupted: the worker stopped")

    world.mailer.gate.set()
    assert await world.shop.jobs.run_job(job.id) is JobStatus.COMPLETE  # the queue's retry, at once
    assert len(world.mailer.sent) == 1
