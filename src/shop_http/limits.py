"""Rate limits through Litestar's limiter: a general one per client, a stricter one on the
endpoints that take passwords or mint tokens. Redis-backed when Redis is configured."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore

from shop_core.settings import Settings

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
            rate_limit=("minute", settings.rate_limit_per_minute), store=GENERAL_STORE, exclude=UNLIMITED
        ),
        RateLimitConfig(
            rate_limit=("minute", settings.auth_rate_limit_per_minute),
            store=AUTH_STORE,
            check_throttle_handler=_is_auth_endpoint,
        ),
    ]


def rate_limit_stores(settings: Settings) -> dict[str, Store]:
    if not settings.redis_url:
        return {GENERAL_STORE: MemoryStore(), AUTH_STORE: MemoryStore()}
    from litestar.stores.redis import RedisStore
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    unreachable = (RedisConnectionError, RedisTimeoutError, OSError)

    root = RedisStore.with_client(url=settings.redis_url, namespace=f"{settings.redis_key_prefix}ratelimit")
    return {
        GENERAL_STORE: FailOpenStore(root.with_namespace("general"), unreachable),
        AUTH_STORE: FailOpenStore(root.with_namespace("auth"), unreachable),
    }


class FailOpenStore(Store):
    """A rate-limit store that lets requests through while Redis is unreachable.

    Counting requests is not worth refusing every request: without Redis the limiter stands
    aside (and says so in the log) instead of turning the whole API into 500s.
    """

    def __init__(self, inner: Store, unreachable: tuple[type[BaseException], ...]) -> None:
        self._inner = inner
        self._unreachable = unreachable

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        try:
            await self._inner.set(key, value, expires_in)
        except self._unreachable:
            log.warning("rate-limit store unreachable: not counting")

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        try:
            return await self._inner.get(key, renew_for)
        except self._unreachable:
            log.warning("rate-limit store unreachable: not limiting")
            return None

    async def delete(self, key: str) -> None:
        await self._inner.delete(key)

    async def delete_all(self) -> None:
        await self._inner.delete_all()

    async def exists(self, key: str) -> bool:
        return await self._inner.exists(key)

    async def expires_in(self, key: str) -> int | None:
        return await self._inner.expires_in(key)
