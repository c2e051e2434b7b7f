"""Delivering webhooks with httpx: one POST of the exact body, no redirect followed, a total
timeout, at most a few KB of the answer read.

No SSRF through DNS: the connection is opened by a network backend that resolves the host itself,
refuses it when ANY of its addresses is not public (unless private targets are allowed), and
connects to the address it checked, so there is no second lookup an attacker's DNS could answer
differently. TLS still checks the certificate against the host name (httpcore sends the URL's host
as SNI and verifies it). No connection is kept alive: every delivery resolves and checks again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

from shop_core.domain.webhook_deliveries import Outcome, excerpt
from shop_core.domain.webhooks import non_public

READ_MAX = 4096
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives for the host (IPv4 and IPv6)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class TargetRefused(Exception):
    """The host resolves to an address webhooks may not go to."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, then connects to the checked address."""

    def __init__(self, resolver: Resolver, *, allow_private: bool) -> None:
        self._resolver = resolver
        self._allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolver(host, port)
        if not addresses:
            raise TargetRefused(f"{host} resolves to no address")
        if not self._allow_private:
            for address in addresses:
                if non_public(ipaddress.ip_address(address.split("%", 1)[0])):
                    raise TargetRefused(f"{host} resolves to a non-public address ({address})")
        return await self._inner.connect_tcp(addresses[0], port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("webhooks do not go to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, backend: GuardedBackend) -> None:
        super().__init__(trust_env=False)
        # httpx builds its pool without a way to pass a network backend: replace it (same options).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,
            max_keepalive_connections=0,
            network_backend=backend,
        )


class HttpxWebhookSender:
    """Sends through the guarded transport itself, not an `AsyncClient`: nothing follows redirects,
    reads proxies from the environment, or logs the URL (which may hold a receiver's token)."""

    def __init__(self, *, timeout: float, allow_private: bool, resolver: Resolver | None = None) -> None:
        self._timeout = timeout
        backend = GuardedBackend(resolver or system_resolver, allow_private=allow_private)
        self._transport = _GuardedTransport(backend)

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        started = time.perf_counter()

        def took() -> int:
            return round((time.perf_counter() - started) * 1000)

        request = httpx.Request(
            "POST",
            url,
            content=body,
            headers={"user-agent": "shop-webhooks", **headers},
            extensions={"timeout": httpx.Timeout(self._timeout).as_dict()},
        )
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._transport.handle_async_request(request)
                try:
                    text = await _start_of(response)
                finally:
                    await response.aclose()
        except TargetRefused as exc:
            return Outcome(None, took(), error=f"refused: {exc}", final=True)
        except (TimeoutError, httpx.TimeoutException):
            return Outcome(None, took(), error=f"timed out after {self._timeout:g} s")
        except httpx.HTTPError as exc:
            return Outcome(None, took(), error=f"{type(exc).__name__}: {exc}".rstrip(": "))
        status = response.status_code
        return Outcome(status, took(), excerpt(text), _error_of(response))

    async def aclose(self) -> None:
        await self._transport.aclose()


def _error_of(response: httpx.Response) -> str | None:
    status = response.status_code
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        where = response.headers.get("location", "")[:200]
        return f"HTTP {status}: redirects are not followed (to {where!r})"
    return f"HTTP {status}"


async def _start_of(response: httpx.Response) -> str:
    """At most READ_MAX bytes of the answer, as text; the rest is never read."""
    seen = bytearray()
    async for chunk in response.aiter_raw():
        seen += chunk
        if len(seen) >= READ_MAX:
            break
    return bytes(seen[:READ_MAX]).decode("utf-8", errors="replace")
