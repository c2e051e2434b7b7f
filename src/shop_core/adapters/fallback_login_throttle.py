"""Sign-in attempt counters in Redis, kept in the database while Redis is unreachable.

Counting goes on during an outage (so guessing passwords does not become free) and sign-in keeps
working; the two sets of counters are not merged afterwards, so a lock-out can be up to one window
shorter than usual for an identifier whose failures straddle the outage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from shop_core.adapters.redis_login_throttle import RedisLoginThrottle
from shop_core.adapters.sql.login_throttle import SqlLoginThrottle
from shop_core.domain.errors import ServiceUnavailable
from shop_core.services.circuit_breaker import CircuitBreaker

T = TypeVar("T")


class FallbackLoginThrottle:
    def __init__(self, fast: RedisLoginThrottle, durable: SqlLoginThrottle, *, pause: float = 1.0) -> None:
        self._fast = fast
        self._durable = durable
        self.breaker = CircuitBreaker("Login throttle (Redis)", pause=pause)

    async def _either(self, fast: Callable[[], Awaitable[T]], durable: Callable[[], Awaitable[T]]) -> T:
        if not self.breaker.is_open:
            try:
                answer = await fast()
            except ServiceUnavailable:
                self.breaker.trip()
            else:
                self.breaker.reset()
                return answer
        return await durable()

    async def attempts(self, key: str) -> tuple[int, int]:
        return await self._either(lambda: self._fast.attempts(key), lambda: self._durable.attempts(key))

    async def count_attempt(self, key: str, window_seconds: int) -> tuple[int, int]:
        return await self._either(
            lambda: self._fast.count_attempt(key, window_seconds),
            lambda: self._durable.count_attempt(key, window_seconds),
        )

    async def reset(self, key: str) -> None:
        await self._either(lambda: self._fast.reset(key), lambda: self._durable.reset(key))
