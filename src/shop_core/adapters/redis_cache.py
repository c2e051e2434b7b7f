"""The catalog cache in Redis, shared by every process."""

from __future__ import annotations

from redis.asyncio import Redis

from shop_core.adapters.redis_errors import reachable

_INCR_FROM = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[1]) end
return redis.call('INCR', KEYS[1])
"""
# Compare-and-extend, compare-and-delete: only the lock's owner (who knows its token) may renew it
# or let it go, never a caller whose lease ran out and whose lock another has taken since.
_EXTEND_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_DELETE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# A notification is a one-element list that lives `ttl`: BLMOVE from the list to itself wakes on it
# without taking it away, so every waiter (now or until it expires) sees it.
_NOTIFY = """
redis.call('DEL', KEYS[1])
redis.call('RPUSH', KEYS[1], '1')
return redis.call('PEXPIRE', KEYS[1], ARGV[1])
"""


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class RedisCache:
    def __init__(self, client: Redis, prefix: str = "shop:") -> None:
        self._redis = client
        self._prefix = f"{prefix}cache:"
        self._incr_from = client.register_script(_INCR_FROM)
        self._extend_if = client.register_script(_EXTEND_IF)
        self._delete_if = client.register_script(_DELETE_IF)
        self._notify = client.register_script(_NOTIFY)

    async def get(self, key: str) -> bytes | None:
        async with reachable("The cache is"):
            value = await self._redis.get(self._prefix + key)
        return value if isinstance(value, bytes) or value is None else value.encode()

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        async with reachable("The cache is"):
            await self._redis.set(self._prefix + key, value, ex=ttl)

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        async with reachable("The cache is"):
            return bool(await self._redis.set(self._prefix + key, value, px=_ms(ttl), nx=True))

    async def extend(self, key: str, value: bytes, ttl: float) -> bool:
        async with reachable("The cache is"):
            return bool(await self._extend_if(keys=[self._prefix + key], args=[value, _ms(ttl)]))

    async def delete(self, key: str) -> None:
        async with reachable("The cache is"):
            await self._redis.delete(self._prefix + key)

    async def delete_if(self, key: str, value: bytes) -> bool:
        async with reachable("The cache is"):
            return bool(await self._delete_if(keys=[self._prefix + key], args=[value]))

    async def incr(self, key: str, start: int = 0) -> int:
        async with reachable("The cache is"):
            if start == 0:
                return int(await self._redis.incr(self._prefix + key))
            return int(await self._incr_from(keys=[self._prefix + key], args=[start]))

    async def notify(self, key: str, ttl: float) -> None:
        async with reachable("The cache is"):
            await self._notify(keys=[self._prefix + key], args=[_ms(ttl)])

    async def wait(self, key: str, at_most: float) -> bool:
        name = self._prefix + key
        async with reachable("The cache is"):
            # BLMOVE waits seconds, a fraction too (redis-py's hint says int); 0 would block for ever.
            # Keep it under the client's socket timeout (5 s in bootstrap): callers wait a second.
            waited = max(at_most, 0.01)
            moved = await self._redis.blmove(name, name, waited, "LEFT", "RIGHT")  # type: ignore[arg-type]
        return moved is not None
