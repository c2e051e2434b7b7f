"""The job queue on SAQ: Redis (`redis://`) or SAQ's PostgreSQL queue (`postgresql://`).

A job goes to SAQ under its ledger id (`ledger_id`) and its dispatch key, so SAQ drops a second
hand-over while it still holds the first. SAQ's own retries carry out the ledger's: as many
attempts as the job's kind allows, a doubling delay with jitter. SAQ's timeout is a backstop a
little longer than the kind's, which `run_job` enforces itself (and records).
"""

from __future__ import annotations

import logging

from saq import Queue

from shop_core.domain.jobs import MAX_RETRY_DELAY, Job, JobSpec

log = logging.getLogger("shop.jobs")

QUEUE_NAME = "shop"
TIMEOUT_MARGIN_S = 30


def saq_queue(url: str, key_prefix: str) -> Queue:
    """The shop's queue at `url`, named after the deployment's key prefix (tests run side by side)."""
    if url.startswith("postgresql+"):  # a SQLAlchemy URL: SAQ speaks psycopg's plain form
        url = "postgresql" + url[url.index(":") :]
    return Queue.from_url(url, name=f"{key_prefix}{QUEUE_NAME}")


class SaqJobQueue:
    durable = True

    def __init__(self, queue: Queue, retry_delay_s: float) -> None:
        self.queue = queue
        self._retry_delay = retry_delay_s
        self._connected = False

    async def enqueue(self, job: Job, spec: JobSpec) -> None:
        if not self._connected:  # on first use: a queue that is down must not stop the shop starting
            await self.queue.connect()
            self._connected = True
        await self.queue.enqueue(
            job.name,
            key=job.dispatch_key,
            ledger_id=job.id,
            timeout=spec.timeout + TIMEOUT_MARGIN_S,
            retries=spec.attempts,
            retry_delay=self._retry_delay,
            retry_backoff=MAX_RETRY_DELAY,
        )

    async def aclose(self) -> None:
        if not self._connected:
            return
        try:
            await self.queue.disconnect()
        except Exception as exc:  # noqa: BLE001 - the queue is gone already: nothing left to close
            log.warning("closing the job queue: %s", exc)
