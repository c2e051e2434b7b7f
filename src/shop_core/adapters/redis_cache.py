"""The catalog cache in Redis, shared by every process."""

from __future__ import annotations

from redis.asyncio import Redis

from shop_core.adapters.redis_errors import reachable

_INCR_FROM = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[1]) end
return redis.call('INCR', KEYS[1])
"""


class RedisCache:
    def __init__(self, client: Redis, prefix: str = "shop:") -> None:
        self._redis = client
        self._prefix = f"{prefix}cache:"
        self._incr_from = client.register_script(_INCR_FROM)

    async def get(self, key: str) -> bytes | None:
        async with reachable("The cache is"):
            value = await self._redis.get(self._prefix + key)
        return value if isinstance(value, bytes) or value is None else value.encode()

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        async with reachable("The cache is"):
            await self._redis.set(self._prefix + key, value, ex=ttl)

    async def add(self, key: str, value: bytes, ttl: int) -> bool:
        async with reachable("The cache is"):
            return bool(await self._redis.set(self._prefix + key, value, ex=ttl, nx=True))

    async def delete(self, key: str) -> None:
        async with reachable("The cache is"):
            await self._redis.delete(self._prefix + key)

    async def incr(self, key: str, start: int = 0) -> int:
        async with reachable("The cache is"):
            if start == 0:
                return int(await self._redis.incr(self._prefix + key))
            return int(await self._incr_from(keys=[self._prefix + key], args=[start]))
