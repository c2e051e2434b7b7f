"""Token revocation and refresh families in Redis: keys that expire with the tokens they guard."""

from __future__ import annotations

import secrets
from datetime import datetime

from redis.asyncio import Redis

from shop_core.adapters.redis_errors import reachable

_REVOKED = "!revoked"
_SYNCED = "token:synced"
_USER_STAMP_TTL = 86_400
# Swap the family's current token only if the caller holds it: atomic, so two concurrent
# refreshes with one token cannot both win.
_ROTATE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EXAT', ARGV[3])
  return 1
end
return 0
"""


class RedisTokenStore:
    def __init__(self, client: Redis, prefix: str = "shop:") -> None:
        self._redis = client
        self._prefix = prefix
        self._rotate = client.register_script(_ROTATE)

    def _revoked_key(self, jti: str) -> str:
        return f"{self._prefix}token:revoked:{jti}"

    def _family_key(self, family: str) -> str:
        return f"{self._prefix}token:family:{family}"

    def _user_families_key(self, user_id: int) -> str:
        return f"{self._prefix}token:user-families:{user_id}"

    def _user_key(self, user_id: int) -> str:
        return f"{self._prefix}token:user:{user_id}"

    async def revoke_token(self, jti: str, expires_at: datetime) -> None:
        async with reachable("Sign-in is"):
            await self._redis.set(self._revoked_key(jti), 1, exat=_exat(expires_at))

    async def is_token_revoked(self, jti: str) -> bool:
        async with reachable("Sign-in is"):
            return bool(await self._redis.exists(self._revoked_key(jti)))

    async def start_family(self, family: str, jti: str, expires_at: datetime, *, user_id: int) -> None:
        # The user's set of families has no expiry of its own (a family may be refreshed for ever);
        # each new login drops the members whose family key has expired, so it stays small.
        families = self._user_families_key(user_id)
        async with reachable("Sign-in is"):
            members = [_text(m) for m in await self._redis.smembers(families)]
            async with self._redis.pipeline(transaction=False) as pipe:
                for member in members:
                    pipe.exists(self._family_key(member))
                alive = await pipe.execute()
            async with self._redis.pipeline(transaction=True) as pipe:
                if dead := [m for m, there in zip(members, alive, strict=True) if not there]:
                    pipe.srem(families, *dead)
                pipe.set(self._family_key(family), jti, exat=_exat(expires_at))
                pipe.sadd(families, family)
                await pipe.execute()

    async def rotate_family(self, family: str, old_jti: str, new_jti: str, expires_at: datetime) -> bool:
        async with reachable("Sign-in is"):
            swapped = await self._rotate(
                keys=[self._family_key(family)], args=[old_jti, new_jti, _exat(expires_at)]
            )
            return bool(swapped)

    async def revoke_family(self, family: str) -> None:
        async with reachable("Sign-in is"):
            await self._redis.set(self._family_key(family), _REVOKED, xx=True, keepttl=True)

    async def revoke_user_families(self, user_id: int) -> None:
        async with reachable("Sign-in is"):
            families = await self._redis.smembers(self._user_families_key(user_id))
            async with self._redis.pipeline(transaction=False) as pipe:
                for family in families:
                    pipe.set(self._family_key(_text(family)), _REVOKED, xx=True, keepttl=True)
                await pipe.execute()

    async def revoked_if_synced(self, jti: str) -> bool | None:
        """Whether `jti` is revoked, or None when Redis does not hold a full copy of the revocations
        (it restarted empty, or was never loaded): then only the database can answer."""
        async with reachable("Sign-in is"):
            revoked, synced = await self._redis.mget(self._revoked_key(jti), self._prefix + _SYNCED)
        return None if synced is None else revoked is not None

    async def access_if_synced(self, jti: str, user_id: int) -> tuple[bool, str] | None:
        """Whether `jti` is revoked and the user's stamp, or None without a full copy (as above).

        The stamp joins the copy's epoch (new at every full copy) and the user's change counter, so
        it changes when the user changes and whenever Redis was refilled or told to forget.
        """
        async with reachable("Sign-in is"):
            revoked, epoch, count = await self._redis.mget(
                self._revoked_key(jti), self._prefix + _SYNCED, self._user_key(user_id)
            )
        if epoch is None:
            return None
        return revoked is not None, f"{_text(epoch)}.{_text(count or b'0')}"

    async def check_access(self, jti: str, user_id: int) -> tuple[bool, str | None]:
        answer = await self.access_if_synced(jti, user_id)
        return (await self.is_token_revoked(jti), None) if answer is None else answer

    async def user_changed(self, user_id: int) -> None:
        # The counter outlives by far any stamp a process keeps (KnownUsers.MAX_AGE), so it
        # cannot vanish and count back to a value a kept stamp still holds.
        async with reachable("Sign-in is"), self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._user_key(user_id))
            pipe.expire(self._user_key(user_id), _USER_STAMP_TTL)
            await pipe.execute()

    async def new_epoch(self) -> None:
        """Make every stamp given out so far stale (a user change Redis missed while down)."""
        async with reachable("Sign-in is"):
            await self._redis.set(self._prefix + _SYNCED, secrets.token_hex(8), xx=True)

    async def load_revocations(self, entries: list[tuple[str, datetime]]) -> None:
        """Copy revocations in (each expiring with its token), then mark the copy complete."""
        async with reachable("Sign-in is"):
            for start in range(0, len(entries), 1000):
                async with self._redis.pipeline(transaction=False) as pipe:
                    for jti, expires_at in entries[start : start + 1000]:
                        pipe.set(self._revoked_key(jti), 1, exat=_exat(expires_at))
                    await pipe.execute()
            await self._redis.set(self._prefix + _SYNCED, secrets.token_hex(8))

    async def ping(self) -> None:
        await self._redis.ping()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _exat(moment: datetime) -> int:
    return int(moment.timestamp()) + 1
