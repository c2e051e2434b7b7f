"""Request ids and the access log: a pure ASGI middleware around the whole app.

It wraps the app's ASGI handler (see `with_request_context`), outside Litestar's own exception
handling, so it also sees the answers built outside the route middleware (router 404/405, the
auth middleware's 401, the rate limiter's 429) and every 500. For the same reason it is where
every response gets the security headers and where the request metrics are taken: one wrapper
(one `send` closure, one pair of clock reads) instead of three, ~10 us of CPU less per request
on the cached catalog reads.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from os import urandom
from time import perf_counter

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from shop_runtime.log_context import request_id, user_id
from shop_runtime.logging_setup import write_logs_directly

REQUEST_ID_HEADER = "X-Request-ID"
_HEADER = REQUEST_ID_HEADER.lower().encode()
_SANE = re.compile(rb"[A-Za-z0-9._:-]{1,128}")

READS = frozenset({"GET", "HEAD", "OPTIONS"})
SLOW_MS = 1000.0  # a read this slow gets its access line at INFO too

log = logging.getLogger("shop.http")

RawHeaders = list[tuple[bytes, bytes]]
# The headers of a response start made final (the security headers): a new list.
ResponseHeaders = Callable[[RawHeaders, Scope], RawHeaders]
# Told of each HTTP request answered: its scope, status and seconds taken (the request metrics).
Observe = Callable[[Scope, int, float], None]


def _request_id_of(scope: Scope) -> bytes:
    """The client's (or proxy's) X-Request-ID when it is 1-128 of `[A-Za-z0-9._:-]`; else a new one."""
    for name, value in scope["headers"]:
        if name == _HEADER:
            if _SANE.fullmatch(value):
                return bytes(value)
            break
    return urandom(16).hex().encode()  # 32 hex digits like uuid4().hex, without building a UUID


class RequestContext:
    """Gives every HTTP request an id: set as `shop_runtime.log_context.request_id` while the request is
    served (the user id is set by the bearer middleware once it verified the token), added to
    the response as X-Request-ID, and written in one access line when the request is done.

    The access line (logger `shop.http`: method, route template, status, milliseconds, and the
    ids) is at INFO for what an operator looks for: writes (POST, PUT, PATCH, DELETE), every
    error answer (4xx, 5xx) and any request slower than SLOW_MS. A successful read (GET, HEAD,
    OPTIONS) is at DEBUG. Measured on the cached catalog list (the benchmarked hot path, ~90 us of
    CPU per request in-process): a line per request at INFO cost ~45 us more CPU per request
    (~30 us of it on the event loop to build and enqueue the record, the rest to scrub, format and
    write it in the writer thread), a third of the throughput, though the loop never waits on
    standard error (QueueHandler; see logging_setup). A read's line tells little the request metrics
    (GET /metrics, per route and status) do not; at DEBUG it costs one level check.
    SHOP_LOG_LEVEL=debug shows every request.
    """

    __slots__ = ("app", "observe", "response_headers")

    def __init__(
        self,
        app: ASGIApp,
        *,
        observe: Observe | None = None,
        response_headers: ResponseHeaders | None = None,
    ) -> None:
        self.app = app
        self.observe = observe
        self.response_headers = response_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        rid = _request_id_of(scope)
        rid_token = request_id.set(rid.decode())
        user_token = user_id.set(None)
        status = 500  # unless a response starts (what the client sees when the connection drops)
        finish = self.response_headers
        started = perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: RawHeaders = list(message.get("headers", ()))
                if finish is not None:
                    headers = finish(headers, scope)
                headers.append((_HEADER, rid))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            try:
                elapsed = perf_counter() - started
                if self.observe is not None:
                    self.observe(scope, status, elapsed)
                self._access_line(scope, status, elapsed * 1000)
            finally:
                user_id.reset(user_token)
                request_id.reset(rid_token)

    @staticmethod
    def _access_line(scope: HTTPScope, status: int, elapsed: float) -> None:
        method: str = scope["method"]
        quiet = method in READS and status < 400 and elapsed < SLOW_MS
        level = logging.DEBUG if quiet else logging.INFO
        if log.isEnabledFor(level):
            elapsed = round(elapsed, 2)
            route: str = scope.get("path_template") or scope["path"]  # the template once routed
            log.log(
                level,
                "%s %s %d %.2f ms",
                method,
                route,
                status,
                elapsed,
                extra={"method": method, "route": route, "status": status, "duration_ms": elapsed},
            )


def with_request_context(
    app: Litestar, *, observe: Observe | None = None, response_headers: ResponseHeaders | None = None
) -> Litestar:
    """Wrap `app`'s whole ASGI handler (its router, exception handling and CORS) in RequestContext,
    which also tells `observe` of every request and finishes every response's headers with
    `response_headers`; once the app has shut down (its lifespans closed), log lines are written
    as they come: the server may end the process (uvicorn re-raises SIGTERM) before the log
    writer's next round."""
    app.asgi_handler = RequestContext(app.asgi_handler, observe=observe, response_headers=response_headers)
    app.on_shutdown.append(_write_out_logs)
    return app


async def _write_out_logs() -> None:
    await asyncio.to_thread(write_logs_directly)
