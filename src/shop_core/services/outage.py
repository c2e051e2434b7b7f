"""Riding out an outage of a shared store (Redis): after a failure, stop asking it for a moment,
and keep retrying in the background whatever it is owed until it answers again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("shop.outage")


class Outage:
    def __init__(self, what: str, *, pause: float = 1.0, retry_every: float = 1.0) -> None:
        self._what = what
        self._pause = pause
        self._retry_every = retry_every
        self._until = 0.0
        self._repairing: asyncio.Task[None] | None = None

    @property
    def ongoing(self) -> bool:
        """True for a moment after a failure: callers go straight to their fallback."""
        return time.monotonic() < self._until

    def began(self) -> None:
        if not self.ongoing:
            log.warning("%s unreachable: falling back to the database", self._what)
        self._until = time.monotonic() + self._pause

    def ended(self) -> None:
        self._until = 0.0

    def repair_later(self, repair: Callable[[], Awaitable[bool]]) -> None:
        """Call `repair` every `retry_every` seconds in the background until it returns True."""
        if self._repairing is None or self._repairing.done():
            self._repairing = asyncio.get_running_loop().create_task(self._repair(repair))

    async def _repair(self, repair: Callable[[], Awaitable[bool]]) -> None:
        while True:
            await asyncio.sleep(self._retry_every)
            try:
                if await repair():
                    log.info("%s reachable again: brought up to date", self._what)
                    return
            except Exception:
                log.exception("%s repair failed; retrying", self._what)

    async def repaired(self) -> None:
        """Wait until the background retry (if one runs) has brought the store up to date."""
        if self._repairing is not None:
            await asyncio.shield(self._repairing)

    async def aclose(self) -> None:
        if self._repairing is not None:
            self._repairing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._repairing
