"""Background jobs as the shop records them: what must happen after a change, and how it went.

A job is written in the transaction of the change that causes it (the transactional outbox), so a
committed change always has its job and a rolled-back one never does. The record then tracks the
job through the queue: `pending` (not yet handed to the queue), `queued`, `active`, `retrying`
after a failed attempt, and at last `complete` or `failed` with the last error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    ACTIVE = "active"
    RETRYING = "retrying"
    COMPLETE = "complete"
    FAILED = "failed"


FINISHED = frozenset({JobStatus.COMPLETE, JobStatus.FAILED})


@dataclass(frozen=True)
class JobSpec:
    """How one kind of job runs: each attempt is cut off after `timeout` seconds, and a failed job
    is tried again, `attempts` times in all, after a delay that doubles each time."""

    timeout: int
    attempts: int

    @property
    def stale_after(self) -> timedelta:
        """An `active` claim older than this was left by a worker that died mid-job."""
        return timedelta(seconds=self.timeout + 30)


@dataclass
class Job:
    name: str
    key: str
    """Unique per thing to be done (`email.order_shipped:42`): a second request for it is dropped."""
    payload: dict[str, Any]
    created_at: datetime
    max_attempts: int
    status: JobStatus = JobStatus.PENDING
    attempts: int = 0
    round: int = 0
    """Bumped when an operator retries a failed job, so the queue takes it as a new one."""
    error: str | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    id: int | None = field(default=None)

    @property
    def dispatch_key(self) -> str:
        """The queue's key for this round of the job: the queue drops a second one while it has it."""
        return f"{self.id}.{self.round}"


MAX_RETRY_DELAY = 3600.0


def retry_delay(base: float, attempts_made: int) -> float:
    """Seconds to wait after `attempts_made` failed attempts: `base`, doubling each time, at most an hour."""
    return min(base * 2.0 ** max(attempts_made - 1, 0), MAX_RETRY_DELAY)
