"""The catalog cache in Redis, shared by every process."""

from __future__ import annotations

from redis.asyncio import Redis

from shop_core.adapters.redis_errors import reachable


class RedisCache:
    def __init__(self, client: Redis, prefix: str = "shop:") -> None:
        self._redis = client
        self._prefix = f"{prefix}cache:"

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

    async def incr(self, key: str) -> int:
        async with reachable("The cache is"):
            return int(await self._redis.incr(self._prefix + key))
