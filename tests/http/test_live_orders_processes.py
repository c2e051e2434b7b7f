"""Live order status across two real server processes on one PostgreSQL and Redis: a stream opened
on process A hears a change made through process B; and a stream does not hold A's shutdown open."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from shop_core.bootstrap import bootstrap
from tests.conftest import TEST_SECRET, fast_hasher, make_settings
from tests.http.live_support import TIMEOUT, World, account, product, stream

SRC = Path(__file__).resolve().parents[2] / "src"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "shop_http.app:create_app",
        "--factory",
        "--port",
        str(port),
        "--timeout-graceful-shutdown",
        "30",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, f"http://127.0.0.1:{port}"


async def ready(base_url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http, asyncio.timeout(60):
        while True:
            assert process.poll() is None, "the server process died"
            try:
                if (await http.get("/health/live")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)  # polling readiness, not timing an outcome


@pytest.fixture
def environment(pg_url: str, redis_url: str, redis_prefix: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("SHOP_")},
        "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "SHOP_ENV": "test",
        "SHOP_DATABASE_URL": pg_url,
        "SHOP_REDIS_URL": redis_url,
        "SHOP_REDIS_KEY_PREFIX": redis_prefix,
        "SHOP_SECRET_KEY": TEST_SECRET,
        "SHOP_RATE_LIMIT_ENABLED": "false",
        "SHOP_SSE_HEARTBEAT_SECONDS": "120",  # longer than any wait here: news must come over Redis
        "SHOP_LOG_LEVEL": "warning",
    }


@pytest.fixture
def processes(environment: dict[str, str]) -> Iterator[list[tuple[subprocess.Popen[bytes], str]]]:
    started = [start(environment), start(environment)]
    try:
        yield started
    finally:
        for process, _ in started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


@pytest.fixture
async def world(
    processes: list[tuple[subprocess.Popen[bytes], str]], environment: dict[str, str]
) -> AsyncIterator[tuple[World, httpx.AsyncClient]]:
    for process, url in processes:
        await ready(url, process)
    settings = make_settings(
        environment["SHOP_DATABASE_URL"],
        redis_url=environment["SHOP_REDIS_URL"],
        redis_key_prefix=environment["SHOP_REDIS_KEY_PREFIX"],
    )
    async with (
        bootstrap(settings, hasher=fast_hasher()) as shop,
        httpx.AsyncClient(base_url=processes[0][1], timeout=TIMEOUT) as a,
        httpx.AsyncClient(base_url=processes[1][1], timeout=TIMEOUT) as b,
    ):
        staff = await account(b, shop)
        yield World(None, a, staff, await account(a), await product(shop)), b  # type: ignore[arg-type]


async def test_a_stream_on_one_process_hears_a_change_made_on_another(
    world: tuple[World, httpx.AsyncClient], processes: list[tuple[subprocess.Popen[bytes], str]]
) -> None:
    on_a, b = world
    order = await on_a.order()
    async with stream(on_a.http, order["id"], on_a.customer.headers) as events:
        assert (await events.event()).json["status"] == "pending"
        confirmed = await b.post(f"/api/orders/{order['id']}/confirm-cash/", headers=on_a.staff.headers)
        assert confirmed.status_code == 200, confirmed.text
        paid = await events.event()
        assert (paid.event, paid.json["status"], paid.json["payment_status"]) == (
            "order.updated",
            "paid",
            "paid",
        )
        moved = await b.patch(
            f"/api/orders/{order['id']}/", json={"status": "processing"}, headers=on_a.staff.headers
        )
        assert moved.status_code == 200, moved.text
        while (await events.event()).json["status"] != "processing":
            pass

        # SIGTERM to A: the open stream ends and A exits well before its 30 s graceful timeout.
        process_a = processes[0][0]
        process_a.send_signal(signal.SIGTERM)
        while (await events.next()) is not None:
            pass
    # Exits within 15 s (raises otherwise), where a stream holding it open would take the full 30 s.
    await asyncio.to_thread(process_a.wait, 15)
