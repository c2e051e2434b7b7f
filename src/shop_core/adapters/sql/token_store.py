"""Token revocation and refresh families in the database (the embedded default)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shop_core.adapters.sql.orm import refresh_families, revoked_tokens
from shop_core.adapters.sql.upsert import insert_ignoring_duplicates


class SqlTokenStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def revoke_token(self, jti: str, expires_at: datetime) -> None:
        stmt = insert_ignoring_duplicates(
            self._engine, revoked_tokens, {"jti": jti, "expires_at": expires_at}
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def is_token_revoked(self, jti: str) -> bool:
        async with self._engine.connect() as conn:
            found = await conn.scalar(sa.select(sa.literal(1)).where(revoked_tokens.c.jti == jti))
        return found is not None

    async def check_access(self, jti: str, user_id: int) -> tuple[bool, str | None]:
        """No stamps: the database is read for the user anyway, as cheaply as for a stamp."""
        return await self.is_token_revoked(jti), None

    async def user_changed(self, user_id: int) -> None:
        """Nothing to do: without stamps every request reads the user."""

    async def start_family(self, family: str, jti: str, expires_at: datetime, *, user_id: int) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                refresh_families.insert().values(
                    family=family, current_jti=jti, expires_at=expires_at, user_id=user_id
                )
            )

    async def rotate_family(self, family: str, old_jti: str, new_jti: str, expires_at: datetime) -> bool:
        stmt = (
            refresh_families.update()
            .where(
                refresh_families.c.family == family,
                refresh_families.c.current_jti == old_jti,
                refresh_families.c.revoked.is_(False),
                refresh_families.c.expires_at > datetime.now(UTC),
            )
            .values(current_jti=new_jti, expires_at=expires_at)
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(stmt)
        return result.rowcount == 1

    async def revoke_family(self, family: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                refresh_families.update().where(refresh_families.c.family == family).values(revoked=True)
            )

    async def revoke_user_families(self, user_id: int) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                refresh_families.update().where(refresh_families.c.user_id == user_id).values(revoked=True)
            )

    async def unexpired_revocations(self, now: datetime) -> list[tuple[str, datetime]]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(revoked_tokens.c.jti, revoked_tokens.c.expires_at).where(
                    revoked_tokens.c.expires_at > now
                )
            )
            return [(jti, expires_at) for jti, expires_at in rows]

    async def purge_expired(self, now: datetime) -> int:
        """Drop entries whose tokens have expired anyway; returns how many went."""
        async with self._engine.begin() as conn:
            a = await conn.execute(revoked_tokens.delete().where(revoked_tokens.c.expires_at <= now))
            b = await conn.execute(refresh_families.delete().where(refresh_families.c.expires_at <= now))
        return a.rowcount + b.rowcount

    async def ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
