"""The SAQ worker against the real Redis: a burst run of the heartbeat, and `shop worker --burst`."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from saq import Status
from typer.testing import CliRunner

from shop_cli.main import app
from shop_core.adapters.saq_jobs import QUEUE_NAME
from shop_core.settings import Settings
from shop_workers.worker import make_worker
from tests.conftest import TEST_SECRET, make_settings
from tests.smtp_server import free_port

HEALTHY = {"ok": True, "dependencies": {"database": True, "redis": True}}


@pytest.fixture
def settings(sqlite_url: str, redis_url: str, redis_prefix: str) -> Settings:
    return make_settings(sqlite_url, redis_url=redis_url, redis_key_prefix=redis_prefix)


async def test_a_burst_worker_runs_the_heartbeat_and_returns(
    settings: Settings, saq_keys: Callable[[], set[str]]
) -> None:
    worker = make_worker(settings, burst=True)
    queue = worker.queue
    name = f"{settings.redis_key_prefix}{QUEUE_NAME}"
    assert queue.name == name
    try:
        job = await queue.enqueue("heartbeat")
        assert job is not None
        assert await queue.count("queued") == 1

        await asyncio.wait_for(worker.start(), timeout=15)  # burst: returns once the queue is empty

        await job.refresh()
        assert await queue.count("queued") == 0
        assert await queue.count("active") == 0
    finally:
        await queue.disconnect()
    assert (job.status, job.error) == (Status.COMPLETE, None)
    assert job.attempts == 1
    assert job.result == HEALTHY
    assert f"saq:job:{name}:{job.key}" in saq_keys()
    assert f"saq:job:{name}:cron:heartbeat" in saq_keys()  # the cron job was scheduled


async def test_a_worker_stops_promptly_when_asked(
    settings: Settings, saq_keys: Callable[[], set[str]]
) -> None:
    worker = make_worker(settings, concurrency=2)
    queue = worker.queue
    running = asyncio.create_task(worker.start())
    try:
        assert await queue.apply("heartbeat", timeout=10, poll_interval=0.05) == HEALTHY

        # Not after SAQ's 30 s grace period: an idle worker has nothing to wait for.
        await asyncio.wait_for(worker.stop(), timeout=5)
        await asyncio.wait_for(running, timeout=5)
    finally:
        running.cancel()
        await queue.disconnect()
    assert saq_keys()


def test_shop_worker_burst_exits_0_on_an_empty_queue(
    settings: Settings, saq_keys: Callable[[], set[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SHOP_")}
    env.update(
        SHOP_ENV="test",
        SHOP_DATABASE_URL=settings.database_url,
        SHOP_SECRET_KEY=TEST_SECRET,
        SHOP_REDIS_URL=settings.redis_url,
        SHOP_REDIS_KEY_PREFIX=settings.redis_key_prefix,
    )

    result = CliRunner().invoke(app, ["worker", "--burst", "--concurrency", "2"], env=env)

    assert result.exit_code == 0, f"{result.exception!r}\n{result.output}"
    # It worked on this test's queue: it scheduled the cron heartbeat there.
    assert f"saq:job:{settings.redis_key_prefix}{QUEUE_NAME}:cron:heartbeat" in saq_keys()


async def test_shop_worker_stops_cleanly_on_sigterm(
    settings: Settings, saq_keys: Callable[[], set[str]], tmp_path: Path
) -> None:
    """What a container's stop sends to `shop worker` (its PID 1) reaches the worker itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")} | {
        "SHOP_ENV": "test",
        "SHOP_DATABASE_URL": settings.database_url,
        "SHOP_SECRET_KEY": TEST_SECRET,
        "SHOP_REDIS_URL": settings.redis_url or "",
        "SHOP_REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "SHOP_LOG_LEVEL": "info",
        "SHOP_LOG_FORMAT": "console",
    }
    shop = Path(sys.executable).with_name("shop")
    process = await asyncio.create_subprocess_exec(
        str(shop), "worker", "--concurrency", "2", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    try:
        async with asyncio.timeout(30):
            while b"Worker starting" not in (line := await process.stderr.readline()):
                assert line, "the worker exited before it started"
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):  # not SAQ's 30 s grace: an idle worker has nothing to finish
            rest = await process.stderr.read()
            code = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert code == 0, rest.decode()
    assert b"shutting down" in rest


async def test_a_worker_serves_its_metrics_while_it_runs(
    settings: Settings, saq_keys: Callable[[], set[str]]
) -> None:
    port = free_port()
    worker = make_worker(settings, concurrency=2, metrics_port=port)
    queue = worker.queue
    running = asyncio.create_task(worker.start())
    try:
        assert await queue.apply("heartbeat", timeout=10, poll_interval=0.05) == HEALTHY  # it has started
        async with httpx.AsyncClient() as client:
            scraped = await client.get(f"http://127.0.0.1:{port}/metrics")
        assert scraped.status_code == 200
        assert "shop_db_pool_size" in scraped.text
        await asyncio.wait_for(worker.stop(), timeout=5)
        await asyncio.wait_for(running, timeout=5)
    finally:
        running.cancel()
        await queue.disconnect()
    async with httpx.AsyncClient() as client:  # and stops serving them when it stops
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/metrics")


async def test_a_worker_with_a_metrics_token_serves_its_metrics_only_to_who_sends_it(
    sqlite_url: str, redis_url: str, redis_prefix: str
) -> None:
    settings = make_settings(
        sqlite_url, redis_url=redis_url, redis_key_prefix=redis_prefix, metrics_token="scrape-me-please"
    )
    port = free_port()
    worker = make_worker(settings, concurrency=2, metrics_port=port)
    queue = worker.queue
    running = asyncio.create_task(worker.start())
    try:
        assert await queue.apply("heartbeat", timeout=10, poll_interval=0.05) == HEALTHY  # it has started
        url = f"http://127.0.0.1:{port}/metrics"
        async with httpx.AsyncClient() as client:
            bare = await client.get(url)
            wrong = await client.get(url, headers={"Authorization": "Bearer not-the-token"})
            basic = await client.get(url, headers={"Authorization": "Basic scrape-me-please"})
            right = await client.get(url, headers={"Authorization": "bearer scrape-me-please"})
        for refused in (bare, wrong, basic):
            assert refused.status_code == 401
            assert refused.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
            assert "shop_db_pool_size" not in refused.text
        assert right.status_code == 200
        assert "shop_db_pool_size" in right.text
        await asyncio.wait_for(worker.stop(), timeout=5)
        await asyncio.wait_for(running, timeout=5)
    finally:
        running.cancel()
        await queue.disconnect()
