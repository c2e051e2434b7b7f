"""Rate limits through Litestar's limiter: a general one per client, a stricter one on the
endpoints that take passwords or mint tokens. Redis-backed when Redis is configured."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore

from shop_core.settings import Settings

GENERAL_STORE = "rate_limit"
AUTH_STORE = "auth_rate_limit"
UNLIMITED = ["^/health", "^/api/docs", "^/api/schema"]


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

    root = RedisStore.with_client(url=settings.redis_url, namespace=f"{settings.redis_key_prefix}ratelimit")
    return {GENERAL_STORE: root.with_namespace("general"), AUTH_STORE: root.with_namespace("auth")}
