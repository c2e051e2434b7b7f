"""A TCP proxy in front of the real Redis that tests can take down and bring back.

Down, it cuts every open connection and refuses new ones, as an unreachable Redis would; the
Redis server behind it keeps its data, so a test sees what a network outage leaves behind.

It runs on an event loop of its own in a thread: Litestar's test client blocks the test's loop
while the app (on the client's own loop) answers, and the app's Redis traffic must still flow.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit


class RedisOutage:
    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self._db = parts.path or "/0"
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._serving: set[asyncio.Task[None]] = set()
        self.is_down = False

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}{self._db}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    def down(self) -> None:
        """Cut every connection and refuse new ones (returns once they are cut)."""
        self.is_down = True
        self._on_loop(self._cut)

    def up(self) -> None:
        self.is_down = False

    def _cut(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def _on_loop(self, call: Callable[[], None]) -> None:
        loop = self.loop
        if loop is None or not loop.is_running():
            call()
            return
        done = threading.Event()

        def run() -> None:
            try:
                call()
            finally:
                done.set()

        loop.call_soon_threadsafe(run)
        done.wait(5)

    loop: asyncio.AbstractEventLoop | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_down:
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()

    async def close(self) -> None:
        self.is_down = True
        self._cut()
        if self._server is not None:
            self._server.close()
            await asyncio.gather(*self._serving, return_exceptions=True)
            await self._server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


@asynccontextmanager
async def redis_outage(target_url: str) -> AsyncIterator[RedisOutage]:
    proxy = RedisOutage(target_url)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="redis-outage", daemon=True)
    thread.start()
    proxy.loop = loop
    try:
        asyncio.run_coroutine_threadsafe(proxy.start(), loop).result(5)
        yield proxy
    finally:
        asyncio.run_coroutine_threadsafe(proxy.close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
