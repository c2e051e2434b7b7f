"""Riding out an outage of a shared store (Redis): a circuit breaker (after a failure, stop asking
the store for a moment, and keep retrying in the background whatever it is owed until it answers
again) and the log lines an outage writes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("shop.outage")

SUMMARY_EVERY = 5.0


class OutageLog:
    """What an outage of a shared store puts in the log: one line when it becomes unreachable,
    then at most one summary every `summary_every` seconds while it stays so (how many calls did
    without it), and one line when it answers again. Never a line per request.
    """

    def __init__(
        self,
        what: str,
        without_it: str,
        *,
        logger: logging.Logger = log,
        summary_every: float = SUMMARY_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.without_it = without_it
        self.logger = logger
        self.summary_every = summary_every
        self.clock = clock
        self.down = False
        self._missed = 0
        self._since = 0.0

    def failed(self) -> None:
        """A call found the store unreachable."""
        now = self.clock()
        if not self.down:
            self.down, self._missed, self._since = True, 0, now
            self.logger.warning("%s unreachable: %s", self.what, self.without_it)
            return
        self._missed += 1
        if now - self._since >= self.summary_every:
            self.logger.warning(
                "%s still unreachable: %d more calls %s in the last %.0f s",
                self.what,
                self._missed,
                self.without_it,
                now - self._since,
            )
            self._missed, self._since = 0, now

    def succeeded(self) -> None:
        """A call reached the store (cheap when it was not down)."""
        if self.down:
            self.down = False
            self.logger.info("%s reachable again", self.what)


class CircuitBreaker:
    """Open for `pause` seconds after a failure (callers go straight to their fallback), closed again
    once a call or the background repair gets through."""

    def __init__(
        self,
        what: str,
        *,
        pause: float = 1.0,
        retry_every: float = 1.0,
        summary_every: float = SUMMARY_EVERY,
    ) -> None:
        self._what = what
        self._pause = pause
        self._retry_every = retry_every
        self._until = 0.0
        self._repairing: asyncio.Task[None] | None = None
        self.log = OutageLog(what, "falling back to the database", summary_every=summary_every)

    @property
    def is_open(self) -> bool:
        """True for a moment after a failure: callers go straight to their fallback."""
        return time.monotonic() < self._until

    def trip(self) -> None:
        self.log.failed()
        self._until = time.monotonic() + self._pause

    def reset(self) -> None:
        self._until = 0.0
        self.log.succeeded()

    def repair_later(self, repair: Callable[[], Awaitable[bool]]) -> None:
        """Call `repair` every `retry_every` seconds in the background until it returns True."""
        if self._repairing is None or self._repairing.done():
            self._repairing = asyncio.get_running_loop().create_task(self._repair(repair))

    async def _repair(self, repair: Callable[[], Awaitable[bool]]) -> None:
        while True:
            await asyncio.sleep(self._retry_every)
            try:
                if await repair():
                    self.reset()
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
