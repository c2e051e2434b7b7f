"""Rate limits through Litestar's limiter: a general one per client, a stricter one on the
endpoints that take passwords or mint tokens.

Without Redis, each process counts in memory (Litestar's own store and middleware). With Redis,
every process shares one counter per client and window, bumped atomically (INCR, and EXPIRE NX for
the window, in one MULTI/EXEC): however many processes serve one client at once, no more than the
limit get through. Litestar's own middleware reads the history and writes it back, so two
processes could both read the same count. While Redis is unreachable the limiter stands aside
(fail open) and says so in the log once, then in a summary every few seconds.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import DURATION_VALUES, RateLimitConfig, RateLimitMiddleware
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore

from shop_core.services.circuit_breaker import OutageLog
from shop_core.settings import Settings

if TYPE_CHECKING:
    from litestar.stores.redis import RedisStore
    from litestar.types import Message, Receive, Scope, Send
    from redis.asyncio import Redis

log = logging.getLogger("shop.http")
GENERAL_STORE = "rate_limit"
AUTH_STORE = "auth_rate_limit"
UNLIMITED = ["^/health", "^/metrics", "^/api/docs", "^/api/schema"]


async def _is_auth_endpoint(request: Request[Any, Any, Any]) -> bool:
    return bool(request.route_handler.opt.get("auth_rate_limit"))


def rate_limits(settings: Settings) -> list[RateLimitConfig]:
    if not settings.rate_limit_enabled:
        return []
    return [
        RateLimitConfig(
            rate_limit=("minute", settings.rate_limit_per_minute),
            store=GENERAL_STORE,
            exclude=UNLIMITED,
            middleware_class=CountingRateLimitMiddleware,
        ),
        RateLimitConfig(
            rate_limit=("minute", settings.auth_rate_limit_per_minute),
            store=AUTH_STORE,
            check_throttle_handler=_is_auth_endpoint,
            middleware_class=CountingRateLimitMiddleware,
        ),
    ]


def rate_limit_stores(settings: Settings) -> dict[str, Store]:
    if not settings.redis_url:
        return {GENERAL_STORE: MemoryStore(), AUTH_STORE: MemoryStore()}
    from litestar.stores.redis import RedisStore
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    unreachable = (RedisConnectionError, RedisTimeoutError, OSError)
    outage = OutageLog("Rate limiter (Redis)", "not limited", logger=log)
    root = RedisStore.with_client(url=settings.redis_url, namespace=f"{settings.redis_key_prefix}ratelimit")
    return {
        GENERAL_STORE: RedisCounterStore(root.with_namespace("general"), unreachable, outage),
        AUTH_STORE: RedisCounterStore(root.with_namespace("auth"), unreachable, outage),
    }


class RedisCounterStore(Store):
    """Rate-limit counters in Redis, bumped atomically; open (not counting) while Redis is unreachable.

    `hit` is what the limiter uses. The rest of the Store interface goes to Litestar's RedisStore
    under the same namespace, so the keys are the ones it would use.
    """

    def __init__(
        self, inner: RedisStore, unreachable: tuple[type[BaseException], ...], outage: OutageLog
    ) -> None:
        self._inner = inner
        self._redis: Redis = inner._redis
        self._unreachable = unreachable
        self.outage = outage

    async def hit(self, key: str, window_seconds: int) -> tuple[int, int] | None:
        """Count one request: (requests in the window including this one, seconds until it ends),
        or None when Redis cannot be reached (the request is then not limited)."""
        name = self._inner._make_key(key)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, window_seconds, nx=True)
                pipe.ttl(name)
                count, _, ttl = await pipe.execute()
        except self._unreachable:
            self.outage.failed()
            return None
        self.outage.succeeded()
        return int(count), max(int(ttl), 1)

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        await self._inner.set(key, value, expires_in)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        result: bytes | None = await self._inner.get(key, renew_for)
        return result

    async def delete(self, key: str) -> None:
        await self._inner.delete(key)

    async def delete_all(self) -> None:
        await self._inner.delete_all()

    async def exists(self, key: str) -> bool:
        return bool(await self._inner.exists(key))

    async def expires_in(self, key: str) -> int | None:
        result: int | None = await self._inner.expires_in(key)
        return result


class CountingRateLimitMiddleware(RateLimitMiddleware):
    """Litestar's limiter, counting with one atomic `hit` when the store offers one (Redis);
    Litestar's own read-then-write (atomic within one process) otherwise."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        store = self.config.get_store_from_app(app)
        if not isinstance(store, RedisCounterStore):
            await super().__call__(scope, receive, send)
            return
        request: Request[Any, Any, Any] = app.request_class(scope)
        if await self.should_check_request(request=request):
            counted = await store.hit(self.cache_key_from_request(request), DURATION_VALUES[self.unit])
            if counted is not None:
                count, reset_in = counted
                headers = self._headers(count, reset_in) if self.config.set_rate_limit_headers else None
                if count > self.max_requests:
                    raise TooManyRequestsException(headers=headers)
                if headers is not None:
                    send = _with_headers(send, headers)
        await self.app(scope, receive, send)

    def _headers(self, count: int, reset_in: int) -> dict[str, str]:
        config = self.config
        return {
            config.rate_limit_policy_header_key: f"{self.max_requests}; w={DURATION_VALUES[self.unit]}",
            config.rate_limit_limit_header_key: str(self.max_requests),
            config.rate_limit_remaining_header_key: str(max(self.max_requests - count, 0)),
            config.rate_limit_reset_header_key: str(reset_in),
        }


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            response_headers = MutableScopeHeaders(message)
            for key, value in headers.items():
                response_headers[key] = value
        await send(message)

    return send_with_headers
