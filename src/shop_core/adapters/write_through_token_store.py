"""Token revocation in Redis, written through to the database, so sign-in outlives a Redis outage.

The database holds every revocation and every refresh-token family; it is the authority.
Redis holds a copy of the revocations, because every authenticated request asks about one, and
answers only while it is known to hold all of them:

- each revocation goes to the database first, then to Redis; if Redis cannot take it, this
  process keeps it and writes it as soon as Redis answers again (before it trusts Redis itself,
  and from a background retry so other processes are not left trusting a stale copy for long);
- Redis carries a marker written after a full copy; a Redis that restarted empty has none, and
  the first process to notice copies the database's unexpired revocations back in;
- while Redis is unreachable, the database answers.

Each authenticated request also learns, in the same Redis round trip, a stamp of the user's
record (see `check_access`), so the process may reuse the user it read before instead of reading
it again. A user change Redis cannot take is owed like a revocation, and paid by starting a new
epoch, which makes every stamp given out before stale.

Refresh families are rare (one write per login or refresh) and their rotation must be atomic with
a single authority, so they live in the database only.

What it cannot cover: a process that revokes a token during a network partition (Redis up but
unreachable from that process only) and dies before Redis is reachable again; the revocation is
in the database, and reaches Redis at the next full copy.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from shop_core.adapters.redis_token_store import RedisTokenStore
from shop_core.adapters.sql.token_store import SqlTokenStore
from shop_core.domain.errors import ServiceUnavailable
from shop_core.services.circuit_breaker import CircuitBreaker


class WriteThroughTokenStore:
    def __init__(
        self, fast: RedisTokenStore, durable: SqlTokenStore, *, pause: float = 1.0, retry_every: float = 1.0
    ) -> None:
        self._fast = fast
        self._durable = durable
        self._owed: dict[str, datetime] = {}
        self._new_epoch_owed = False
        self._copying = asyncio.Lock()
        self.breaker = CircuitBreaker("Token store (Redis)", pause=pause, retry_every=retry_every)

    async def revoke_token(self, jti: str, expires_at: datetime) -> None:
        await self._durable.revoke_token(jti, expires_at)
        self._owed[jti] = expires_at
        if self.breaker.is_open:
            self.breaker.repair_later(self.repair)
        else:
            await self._pay_debts()

    async def is_token_revoked(self, jti: str) -> bool:
        if not self.breaker.is_open and await self._pay_debts():
            try:
                answer = await self._fast.revoked_if_synced(jti)
            except ServiceUnavailable:
                self.breaker.trip()
            else:
                self.breaker.reset()  # Redis answered (cheap when it was not down)
                if answer is not None:
                    return answer
                await self._copy_all()
        return await self._durable.is_token_revoked(jti)

    async def check_access(self, jti: str, user_id: int) -> tuple[bool, str | None]:
        if not self.breaker.is_open and await self._pay_debts():
            try:
                answer = await self._fast.access_if_synced(jti, user_id)
                if answer is None:
                    await self._copy_all()
                    answer = await self._fast.access_if_synced(jti, user_id)
            except ServiceUnavailable:
                self.breaker.trip()
            else:
                self.breaker.reset()
                if answer is not None:
                    return answer
        return await self._durable.is_token_revoked(jti), None

    async def user_changed(self, user_id: int) -> None:
        if not self.breaker.is_open:
            try:
                await self._fast.user_changed(user_id)
                self.breaker.reset()
                return
            except ServiceUnavailable:
                self.breaker.trip()
        self._new_epoch_owed = True
        self.breaker.repair_later(self.repair)

    async def start_family(self, family: str, jti: str, expires_at: datetime, *, user_id: int) -> None:
        await self._durable.start_family(family, jti, expires_at, user_id=user_id)

    async def rotate_family(self, family: str, old_jti: str, new_jti: str, expires_at: datetime) -> bool:
        return await self._durable.rotate_family(family, old_jti, new_jti, expires_at)

    async def revoke_family(self, family: str) -> None:
        await self._durable.revoke_family(family)

    async def revoke_user_families(self, user_id: int) -> None:
        await self._durable.revoke_user_families(user_id)

    async def repair(self) -> bool:
        """Write what Redis is owed; True when it is up to date (also what the retry loop calls)."""
        return await self._pay_debts()

    async def _pay_debts(self) -> bool:
        """Write what Redis is owed; True when nothing is owed any more. Only a write that reached
        Redis closes the breaker: with nothing owed, nothing was asked, and an outage that goes on
        must not be logged as over (the next call to Redis says whether it is)."""
        if not self._new_epoch_owed and not self._owed:
            return True
        if self._new_epoch_owed:
            try:
                await self._fast.new_epoch()
            except ServiceUnavailable:
                self.breaker.trip()
                self.breaker.repair_later(self.repair)
                return False
            self._new_epoch_owed = False
        while self._owed:
            jti, expires_at = next(iter(self._owed.items()))
            try:
                await self._fast.revoke_token(jti, expires_at)
            except ServiceUnavailable:
                self.breaker.trip()
                self.breaker.repair_later(self.repair)
                return False
            if self._owed.get(jti) == expires_at:
                del self._owed[jti]
        self.breaker.reset()
        return True

    async def _copy_all(self) -> None:
        """Redis lost its copy (or never had one): copy the database's revocations in, once."""
        async with self._copying:
            try:
                if await self._fast.revoked_if_synced("-") is not None:
                    return  # another request copied them while this one waited
                entries = await self._durable.unexpired_revocations(datetime.now(UTC))
                await self._fast.load_revocations(entries)
            except ServiceUnavailable:
                self.breaker.trip()

    async def ping(self) -> None:
        await self._fast.ping()

    async def aclose(self) -> None:
        await self.breaker.aclose()
