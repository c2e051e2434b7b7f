"""The job ledger (jobs recorded in the use case's transaction) and the queue that runs them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from shop_core.domain.jobs import Job, JobSpec, JobStatus


class JobAttemptFailed(Exception):
    """An attempt at a job failed (and was recorded); `final` when no attempt is left."""

    def __init__(self, message: str, *, final: bool) -> None:
        super().__init__(message)
        self.final = final


class JobBusy(JobAttemptFailed):
    """Another runner holds the job's claim: try again later (by then it is finished, or the claim
    has gone stale because that runner died)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, final=False)


class JobLedger(Protocol):
    """The `jobs` table, through the unit of work: writes belong to its transaction."""

    async def add(self, job: Job) -> bool:
        """Record a new job; False (and nothing written) when a job with its key exists."""
        ...

    async def get(self, job_id: int) -> Job | None: ...

    async def pending(self, limit: int) -> list[Job]:
        """Jobs not yet handed to the queue, oldest first."""
        ...

    async def mark_queued(self, job_ids: list[int], now: datetime) -> None:
        """Pending jobs among these are now in the queue (others are left as they are)."""
        ...

    async def claim(self, job_id: int, now: datetime, stale_before: datetime) -> Job | None:
        """Make the job `active` and count the attempt, with one conditional write, when it is
        waiting to run (queued, pending or retrying) or its last claim went stale before
        `stale_before`; None when it is finished or another runner holds it."""
        ...

    async def finish(self, job_id: int, status: JobStatus, now: datetime, error: str | None = None) -> None:
        """Record how an attempt ended: complete, retrying or failed (with the error)."""
        ...

    async def retry(self, job_id: int, now: datetime) -> Job | None:
        """A failed job back to pending, its attempts reset and its round bumped; None when the
        job is not failed."""
        ...

    async def list(
        self, status: JobStatus | None, *, offset: int = 0, limit: int = 50
    ) -> tuple[list[Job], int]:
        """Newest first, and the total count."""
        ...

    async def reset_unfinished(self, now: datetime, stale_before: datetime) -> int:
        """Jobs handed to a queue that did not outlive its process (queued or retrying, or active
        and claimed before `stale_before`) back to pending; how many."""
        ...

    async def purge(self, finished_before: datetime) -> int:
        """Forget complete jobs finished before the cutoff (failed ones stay for an operator)."""
        ...


class JobQueue(Protocol):
    """Runs recorded jobs: SAQ (Redis or PostgreSQL) across workers, or this process."""

    durable: bool
    """Whether jobs handed over outlive this process (SAQ: yes; the in-process queue: no)."""

    async def enqueue(self, job: Job, spec: JobSpec) -> None:
        """Hand the job to the queue (idempotent per `job.dispatch_key`); the runner calls
        `run_job(job.id)` for each attempt. Raises when the queue cannot take it."""
        ...


class JobRunner(Protocol):
    async def __call__(self, job_id: int) -> Any:
        """Run one attempt of the recorded job (see `services.jobs.run_job`); raises when the
        attempt failed and another is due."""
        ...
