"""Sign-in attempt counters in Redis: one counter per identifier that expires with its window."""

from __future__ import annotations

from redis.asyncio import Redis

from shop_core.adapters.redis_errors import reachable


class RedisLoginThrottle:
    def __init__(self, client: Redis, prefix: str = "shop:") -> None:
        self._redis = client
        self._prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self._prefix}login-failures:{key}"

    async def attempts(self, key: str) -> tuple[int, int]:
        async with reachable("Sign-in is"):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.get(self._key(key))
                pipe.ttl(self._key(key))
                count, ttl = await pipe.execute()
            return (int(count), max(int(ttl), 1)) if count is not None else (0, 0)

    async def count_attempt(self, key: str, window_seconds: int) -> tuple[int, int]:
        # One MULTI/EXEC: INCR answers this attempt's own place in the window, whoever else counts
        # at the same moment; the first attempt's EXPIRE (NX) opens the window.
        async with reachable("Sign-in is"), self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._key(key))
            pipe.expire(self._key(key), window_seconds, nx=True)
            pipe.ttl(self._key(key))
            count, _, ttl = await pipe.execute()
        return int(count), max(int(ttl), 1)

    async def reset(self, key: str) -> None:
        async with reachable("Sign-in is"):
            await self._redis.delete(self._key(key))
