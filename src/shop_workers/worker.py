"""The SAQ worker: its queue, tasks, cron jobs, and the hooks that own the Shop."""

from __future__ import annotations

import asyncio
import threading
from contextlib import AsyncExitStack
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from saq import CronJob, Queue, Worker

from shop_core.bootstrap import bootstrap, saq_queue
from shop_core.services.jobs import SPECS
from shop_core.settings import Settings
from shop_runtime.metrics_access import CHALLENGE, REFUSAL, MetricsAccess
from shop_workers import tasks

# How long one wait for a job blocks. SAQ refuses burst mode without a positive value, and it bounds
# how long an idle worker (or a burst worker facing an empty queue) takes to notice it should stop.
DEQUEUE_TIMEOUT_S = 1


class WorkerConfigError(RuntimeError):
    """The settings cannot run a worker; the message says which one to change."""


class ShopWorker(Worker[Any]):
    """SAQ's worker, except that stopping cancels the upkeep loops instead of waiting out their sleep.

    SAQ's `stop()` waits (up to the grace period) for every task, upkeep loops included; the sweep loop
    sleeps 60 s between rounds, so every stop took the whole 30 s grace period, even a finished burst.
    """

    _upkeep_tasks: list[asyncio.Task[None]]

    async def upkeep(self) -> list[asyncio.Task[None]]:
        self._upkeep_tasks = await super().upkeep()
        return self._upkeep_tasks

    async def stop(self) -> None:
        self.event.set()
        for task in getattr(self, "_upkeep_tasks", []):
            task.cancel()
        await super().stop()


def make_queue(settings: Settings) -> Queue:
    queue: Queue | None = saq_queue(settings)
    if queue is None:
        raise WorkerConfigError(
            "The worker needs a queue: set SHOP_REDIS_URL (e.g. redis://127.0.0.1:6379/0) "
            "or SHOP_QUEUE_URL (redis://… or postgresql://…)."
        )
    return queue


# The cron jobs: (task, schedule, timeout in seconds). `unique`: one run at a time across workers.
CRON = (
    (tasks.relay_jobs, "* * * * *", 60),
    (tasks.heartbeat, "* * * * *", 30),
    (tasks.expire_unpaid_orders, "*/5 * * * *", 240),
    (tasks.reconcile_payments, "*/10 * * * *", 540),
    (tasks.purge, "17 * * * *", 600),
)


def serve_metrics(registry: Any, port: int, stack: AsyncExitStack, token: str | None = None) -> None:
    """Prometheus' exposition on `port` (all interfaces), in a thread of its own, until `stack`
    closes. With `token` (SHOP_METRICS_TOKEN), a scrape must send it as a bearer token, as for the
    API's /metrics; without one, anyone who reaches the port may scrape."""
    if registry is None:
        raise WorkerConfigError("--metrics-port needs SHOP_METRICS_ENABLED=true (and prometheus-client).")
    server = metrics_server(registry, port, MetricsAccess(token))
    thread = threading.Thread(target=server.serve_forever, name="shop-worker-metrics", daemon=True)
    thread.start()
    stack.callback(thread.join, 5)
    stack.callback(server.server_close)
    stack.callback(server.shutdown)


def make_worker(
    settings: Settings, *, concurrency: int = 10, burst: bool = False, metrics_port: int | None = None
) -> Worker[Any]:
    """A worker whose `startup` enters `bootstrap()` and puts the Shop in `ctx`; with
    `metrics_port`, it serves its Prometheus metrics (jobs, database pool) on that port."""
    queue = make_queue(settings)

    async def startup(ctx: dict[str, Any]) -> None:
        # SAQ's own runner connects the queue around `start()`; ours is started directly, so connect
        # here. Redis connects lazily anyway, but SAQ's PostgreSQL queue opens its pool (and creates
        # its tables) only in `connect()`: without it the first sweep fails with "pool not open".
        await queue.connect()
        stack = AsyncExitStack()
        shop = ctx["shop"] = await stack.enter_async_context(bootstrap(settings))
        ctx["exit_stack"] = stack
        if metrics_port is not None:
            serve_metrics(shop.operations.metrics_registry, metrics_port, stack, settings.metrics_token)
        await shop.jobs.resume_jobs()
        # Sweep (and take the sweep lock) before the first dequeue: SAQ's own first sweep runs alongside
        # it and can abort a job just moved to "active" whose status still says "queued" (saq#277).
        await queue.sweep(lock=ctx["worker"].timers["sweep"])

    async def shutdown(ctx: dict[str, Any]) -> None:
        stack: AsyncExitStack | None = ctx.get("exit_stack")
        try:
            if stack is not None:
                await stack.aclose()
        finally:
            await queue.disconnect()

    return ShopWorker(
        queue,
        functions=[*((name, tasks.run_job) for name in SPECS), *(task for task, _, _ in CRON)],
        cron_jobs=[
            CronJob(task, cron=schedule, timeout=timeout, retries=1, unique=True)
            for task, schedule, timeout in CRON
        ],
        startup=startup,
        shutdown=shutdown,
        concurrency=concurrency,
        burst=burst,
        dequeue_timeout=DEQUEUE_TIMEOUT_S,
        shutdown_grace_period_s=30,
    )


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes come every few seconds: no line per request on standard error."""


class _MetricsServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def metrics_server(registry: Any, port: int, access: MetricsAccess) -> WSGIServer:
    """A WSGI server for prometheus_client's exposition of `registry`, behind the token check."""
    from prometheus_client import make_wsgi_app

    exposition = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if not access.allows(environ.get("HTTP_AUTHORIZATION")):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain; charset=utf-8"), ("WWW-Authenticate", CHALLENGE)],
            )
            return [REFUSAL.encode()]
        return exposition(environ, start_response)

    return make_server("", port, app, server_class=_MetricsServer, handler_class=_QuietHandler)
