"""The live streams' end at shutdown: set when the server is told to stop (SIGTERM, SIGINT), so
open Server-Sent Event streams finish and do not hold the server's graceful shutdown open, and at
the latest when the app's lifespan ends."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

from litestar import Litestar

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def streams_stop(app: Litestar) -> asyncio.Event:
    """The event every live stream of `app` watches."""
    stop: asyncio.Event = app.state.streams_stop
    return stop


@asynccontextmanager
async def stopping_streams(app: Litestar) -> AsyncIterator[None]:
    """A lifespan: the stop event, set by the server's stop signals (the handler the server
    installed, uvicorn's, still runs) and when the app shuts down."""
    stop = app.state.streams_stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in SIGNALS:
            before = signal.getsignal(sig)

            def chained(signum: int, frame: FrameType | None, before: Any = before) -> None:
                loop.call_soon_threadsafe(stop.set)
                if callable(before):
                    before(signum, frame)

            previous[sig] = before
            signal.signal(sig, chained)
    try:
        yield
    finally:
        stop.set()
        for sig, before in previous.items():
            if before is not None:  # None: installed from outside Python, cannot be put back
                signal.signal(sig, before)
