"""The job ledger on the `jobs` table, in the unit of work's session (see `ports.jobs.JobLedger`)."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import jobs
from shop_core.adapters.sql.pg_fast_path import pg_fast_path
from shop_core.adapters.sql.upsert import session_insert
from shop_core.domain.jobs import Job, JobStatus

_WAITING = (JobStatus.PENDING.value, JobStatus.QUEUED.value, JobStatus.RETRYING.value)


def _job(row: sa.RowMapping) -> Job:
    return Job(
        id=row["id"],
        name=row["name"],
        key=row["key"],
        payload=json.loads(row["payload"]),
        status=JobStatus(row["status"]),
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        round=row["round"],
        error=row["error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


class SqlJobLedger:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.recorded: list[Job] = []
        """The jobs this transaction recorded: the unit of work hands them to the relay after commit."""
        self.rescan = False
        """Whether this transaction made jobs pending again (a retry): the relay scans the ledger."""

    async def add(self, job: Job) -> bool:
        payload = json.dumps(job.payload, separators=(",", ":"))
        fast = await pg_fast_path(self._session)
        if fast is not None:  # every order records one: straight through asyncpg (see pg_fast_path)
            job_id = await fast.add_job(job, payload)
        else:
            job_id = await self._session.scalar(self._insert(job, payload))
        if job_id is None:
            return False
        job.id = int(job_id)
        self.recorded.append(job)
        return True

    def recorded_with(self, job: Job, job_id: int) -> None:
        """A job another repository's statement inserted in this transaction (an order's, with it):
        handed to the queue after the commit, as `add`'s are."""
        job.id = job_id
        self.recorded.append(job)

    def _insert(self, job: Job, payload: str) -> sa.Executable:
        return (
            session_insert(self._session, jobs)
            .values(
                name=job.name,
                key=job.key,
                payload=payload,
                status=job.status.value,
                attempts=job.attempts,
                max_attempts=job.max_attempts,
                round=job.round,
                created_at=job.created_at,
                updated_at=job.updated_at or job.created_at,
            )
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(jobs.c.id)
        )

    async def get(self, job_id: int) -> Job | None:
        row = (await self._session.execute(sa.select(jobs).where(jobs.c.id == job_id))).mappings().first()
        return None if row is None else _job(row)

    async def pending(self, limit: int) -> list[Job]:
        rows = await self._session.execute(
            sa.select(jobs).where(jobs.c.status == JobStatus.PENDING.value).order_by(jobs.c.id).limit(limit)
        )
        return [_job(row) for row in rows.mappings()]

    async def mark_queued(self, job_ids: list[int], now: datetime) -> None:
        if not job_ids:
            return
        fast = await pg_fast_path(self._session)
        if fast is not None:  # after every order's commit: one statement, no transaction round trips
            await fast.mark_queued(job_ids, JobStatus.QUEUED.value, now, JobStatus.PENDING.value)
        else:
            await self._session.execute(
                jobs.update()
                .where(jobs.c.id.in_(job_ids), jobs.c.status == JobStatus.PENDING.value)
                .values(status=JobStatus.QUEUED.value, updated_at=now)
            )

    async def claim(self, job_id: int, now: datetime, stale_before: datetime) -> Job | None:
        waiting = jobs.c.status.in_(_WAITING)
        stale = sa.and_(jobs.c.status == JobStatus.ACTIVE.value, jobs.c.started_at < stale_before)
        claimed = await self._session.execute(
            jobs.update()
            .where(jobs.c.id == job_id, sa.or_(waiting, stale))
            .values(
                status=JobStatus.ACTIVE.value,
                attempts=jobs.c.attempts + 1,
                started_at=now,
                updated_at=now,
            )
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return await self.get(job_id)

    async def finish(self, job_id: int, status: JobStatus, now: datetime, error: str | None = None) -> None:
        done = status in (JobStatus.COMPLETE, JobStatus.FAILED)
        await self._session.execute(
            jobs.update()
            .where(jobs.c.id == job_id)
            .values(status=status.value, error=error, updated_at=now, finished_at=now if done else None)
        )

    async def retry(self, job_id: int, now: datetime) -> Job | None:
        retried = await self._session.execute(
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.status == JobStatus.FAILED.value)
            .values(
                status=JobStatus.PENDING.value,
                error=None,
                attempts=0,
                round=jobs.c.round + 1,
                updated_at=now,
                started_at=None,
                finished_at=None,
            )
        )
        if retried.rowcount != 1:  # type: ignore[attr-defined]
            return None
        self.rescan = True
        return await self.get(job_id)

    async def list(
        self, status: JobStatus | None, *, offset: int = 0, limit: int = 50
    ) -> tuple[list[Job], int]:
        where = [] if status is None else [jobs.c.status == status.value]
        total = await self._session.scalar(sa.select(sa.func.count()).select_from(jobs).where(*where))
        rows = await self._session.execute(
            sa.select(jobs).where(*where).order_by(jobs.c.id.desc()).offset(offset).limit(limit)
        )
        return [_job(row) for row in rows.mappings()], int(total or 0)

    async def reset_unfinished(self, now: datetime, stale_before: datetime) -> int:
        handed_over = jobs.c.status.in_((JobStatus.QUEUED.value, JobStatus.RETRYING.value))
        stale = sa.and_(jobs.c.status == JobStatus.ACTIVE.value, jobs.c.started_at < stale_before)
        reset = await self._session.execute(
            jobs.update()
            .where(sa.or_(handed_over, stale))
            .values(status=JobStatus.PENDING.value, updated_at=now)
        )
        if reset.rowcount:  # type: ignore[attr-defined]
            self.rescan = True
        return int(reset.rowcount)  # type: ignore[attr-defined]

    async def purge(self, finished_before: datetime) -> int:
        gone = await self._session.execute(
            jobs.delete().where(
                jobs.c.status == JobStatus.COMPLETE.value, jobs.c.finished_at < finished_before
            )
        )
        return int(gone.rowcount)  # type: ignore[attr-defined]
