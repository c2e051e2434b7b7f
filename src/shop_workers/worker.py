"""The SAQ worker: its queue, tasks, cron jobs, and the hooks that own the Shop."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from saq import CronJob, Queue, Worker

from shop_core.bootstrap import bootstrap
from shop_core.settings import Settings
from shop_workers.tasks import heartbeat

QUEUE_NAME = "shop"


class WorkerConfigError(RuntimeError):
    """The settings cannot run a worker; the message says which one to change."""


def make_queue(settings: Settings) -> Queue:
    if not settings.redis_url:
        raise WorkerConfigError(
            "The worker needs a queue: set SHOP_REDIS_URL (e.g. redis://127.0.0.1:6379/0)."
        )
    return Queue.from_url(settings.redis_url, name=f"{settings.redis_key_prefix}{QUEUE_NAME}")


def make_worker(settings: Settings, *, concurrency: int = 10, burst: bool = False) -> Worker[Any]:
    """A worker whose `startup` enters `bootstrap()` and puts the Shop in `ctx`."""

    async def startup(ctx: dict[str, Any]) -> None:
        stack = AsyncExitStack()
        ctx["shop"] = await stack.enter_async_context(bootstrap(settings))
        ctx["exit_stack"] = stack

    async def shutdown(ctx: dict[str, Any]) -> None:
        stack: AsyncExitStack | None = ctx.get("exit_stack")
        if stack is not None:
            await stack.aclose()

    return Worker(
        make_queue(settings),
        functions=[heartbeat],
        cron_jobs=[CronJob(heartbeat, cron="* * * * *", timeout=30, retries=1, unique=True)],
        startup=startup,
        shutdown=shutdown,
        concurrency=concurrency,
        burst=burst,
        shutdown_grace_period_s=30,
    )
