"""The embedded default's job queue: jobs run as tasks of this process, right after the commit.

Nothing is shared with other processes; the job ledger is what survives a restart (pending and
unfinished jobs are relayed again at the next start). Retries wait in the task, with the same
doubling delay a SAQ worker uses.
"""

from __future__ import annotations

import asyncio
import logging

from shop_core.domain.jobs import Job, JobSpec, retry_delay
from shop_core.ports.jobs import JobAttemptFailed, JobRunner

log = logging.getLogger("shop.jobs")


class InProcessJobQueue:
    durable = False

    def __init__(self, retry_delay_s: float) -> None:
        self._retry_delay = retry_delay_s
        self._runner: JobRunner | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._waiting: set[str] = set()  # jobs sleeping before their next attempt

    def bind(self, runner: JobRunner) -> None:
        self._runner = runner

    async def enqueue(self, job: Job, spec: JobSpec) -> None:
        assert job.id is not None
        if self._runner is None:
            raise RuntimeError("the in-process job queue has no runner bound")
        key = job.dispatch_key
        if key in self._running:
            return  # handed over twice: it is running already
        task = asyncio.get_running_loop().create_task(self._run(key, job.id, self._runner), name=f"job {key}")
        self._running[key] = task
        task.add_done_callback(lambda _: self._running.pop(key, None))

    async def _run(self, key: str, job_id: int, runner: JobRunner) -> None:
        attempts = 0
        while True:
            attempts += 1
            try:
                await runner(job_id)
                return
            except JobAttemptFailed as exc:
                if exc.final:
                    return
                self._waiting.add(key)
                try:
                    await asyncio.sleep(retry_delay(self._retry_delay, attempts))
                finally:
                    self._waiting.discard(key)
            except Exception:  # the ledger could not be reached: the job stays for the next relay
                log.exception("job %s could not be run", job_id)
                return

    async def drain(self) -> None:
        """Wait until every job handed over so far (and its retries) is done."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def aclose(self, grace_s: float = 10.0) -> None:
        """Let running jobs finish within `grace_s`; cancel the rest, and at once those waiting for
        their next attempt. The ledger still has them unfinished: the next start runs them again
        (see `services.jobs.resume`)."""
        for key in list(self._waiting):
            self._running[key].cancel()
        running = list(self._running.values())
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=grace_s)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
