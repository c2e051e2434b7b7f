"""Redis being unreachable becomes ServiceUnavailable: a clear 503, never a crash."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shop_core.domain.errors import ServiceUnavailable


@asynccontextmanager
async def reachable(what: str) -> AsyncIterator[None]:
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise ServiceUnavailable(f"{what} unavailable right now; try again shortly.", retry_after=5) from exc
