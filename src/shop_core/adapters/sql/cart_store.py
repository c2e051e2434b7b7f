"""Carts in the database (the embedded default): the same behaviour as Redis, expiry included.

Expired carts are ignored on read, replaced on the next write and removed by `purge_expired`. A
line's key is (product_id, variant_id), `variant_id` 0 for the product's default variant (the
column's default: what lines from before variants hold).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shop_core.adapters.sql.orm import cart_lines, carts
from shop_core.adapters.sql.upsert import dialect_insert
from shop_core.domain.cart import (
    CartLimits,
    CartSnapshot,
    LineKey,
    has_room_for,
    is_expired,
    within_line_maximum,
)
from shop_core.ports.cart import CartLimitReached

_C = cart_lines.c


def _is(line: LineKey) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    product_id, variant_key = line
    return _C.product_id == product_id, _C.variant_id == variant_key


def _lines(rows: Iterable[Any]) -> dict[LineKey, int]:
    return {(int(r.product_id), int(r.variant_id)): int(r.quantity) for r in rows}


class SqlCartStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, owner: str, now: datetime, limits: CartLimits) -> CartSnapshot | None:
        async with self._engine.connect() as conn:
            cart = (
                await conn.execute(
                    sa.select(carts.c.updated_at, carts.c.voucher_code).where(carts.c.owner == owner)
                )
            ).first()
            if cart is None or is_expired(cart.updated_at, now, limits):
                return None
            rows = await conn.execute(
                sa.select(_C.product_id, _C.variant_id, _C.quantity).where(_C.owner == owner)
            )
            return CartSnapshot(
                lines=_lines(rows), updated_at=cart.updated_at, voucher_code=cart.voucher_code
            )

    async def add(self, owner: str, line: LineKey, quantity: int, now: datetime, limits: CartLimits) -> int:
        async with self._engine.begin() as conn:
            await self._touch(conn, owner, now, limits)
            await self._check_room(conn, owner, line, limits)
            # One conditional upsert: concurrent adds all count, and none passes the maximum. The
            # WHERE is the core's `within_line_maximum`, said in SQL so the row lock applies it.
            insert = dialect_insert(self._engine, cart_lines).values(
                owner=owner, product_id=line[0], variant_id=line[1], quantity=quantity
            )
            statement = insert.on_conflict_do_update(
                index_elements=[cart_lines.c.owner, cart_lines.c.product_id, cart_lines.c.variant_id],
                set_={"quantity": cart_lines.c.quantity + insert.excluded.quantity},
                where=cart_lines.c.quantity + insert.excluded.quantity <= limits.max_quantity,
            ).returning(cart_lines.c.quantity)
            new = (await conn.execute(statement)).scalar_one_or_none()
            if new is None or not within_line_maximum(new, limits):
                raise CartLimitReached(lines=False)
            return int(new)

    async def set(self, owner: str, line: LineKey, quantity: int, now: datetime, limits: CartLimits) -> None:
        if not within_line_maximum(quantity, limits):
            raise CartLimitReached(lines=False)
        if quantity <= 0:
            await self.remove(owner, line, now, limits)
            return
        async with self._engine.begin() as conn:
            await self._touch(conn, owner, now, limits)
            await self._check_room(conn, owner, line, limits)
            insert = dialect_insert(self._engine, cart_lines).values(
                owner=owner, product_id=line[0], variant_id=line[1], quantity=quantity
            )
            await conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[cart_lines.c.owner, cart_lines.c.product_id, cart_lines.c.variant_id],
                    set_={"quantity": quantity},
                )
            )

    async def remove(self, owner: str, line: LineKey, now: datetime, limits: CartLimits) -> bool:
        if await self.get(owner, now, limits) is None:
            return False
        async with self._engine.begin() as conn:
            gone = await conn.execute(cart_lines.delete().where(_C.owner == owner, *_is(line)))
            if gone.rowcount:
                await conn.execute(carts.update().where(carts.c.owner == owner).values(updated_at=now))
        return bool(gone.rowcount)

    async def set_voucher(self, owner: str, code: str | None, now: datetime, limits: CartLimits) -> None:
        async with self._engine.begin() as conn:
            await self._touch(conn, owner, now, limits)
            await conn.execute(carts.update().where(carts.c.owner == owner).values(voucher_code=code))

    async def clear(self, owner: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(cart_lines.delete().where(cart_lines.c.owner == owner))
            await conn.execute(carts.delete().where(carts.c.owner == owner))

    async def take(self, owner: str, now: datetime, limits: CartLimits) -> CartSnapshot | None:
        async with self._engine.begin() as conn:
            # Deleting the lines locks them: a concurrent take waits, then finds none.
            rows = await conn.execute(
                cart_lines.delete()
                .where(cart_lines.c.owner == owner)
                .returning(_C.product_id, _C.variant_id, _C.quantity)
            )
            lines = _lines(rows)
            cart = (
                await conn.execute(
                    carts.delete()
                    .where(carts.c.owner == owner)
                    .returning(carts.c.updated_at, carts.c.voucher_code)
                )
            ).first()
        if cart is None or is_expired(cart.updated_at, now, limits) or not lines:
            return None
        return CartSnapshot(lines=lines, updated_at=cart.updated_at, voucher_code=cart.voucher_code)

    async def purge_expired(self, now: datetime, limits: CartLimits) -> int:
        cutoff = now - limits.ttl
        async with self._engine.begin() as conn:
            stale = sa.select(carts.c.owner).where(carts.c.updated_at <= cutoff)
            await conn.execute(cart_lines.delete().where(cart_lines.c.owner.in_(stale)))
            result = await conn.execute(carts.delete().where(carts.c.updated_at <= cutoff))
        return int(result.rowcount)

    async def _touch(self, conn: AsyncConnection, owner: str, now: datetime, limits: CartLimits) -> None:
        """Create the cart, or slide its expiry; an expired cart starts again empty."""
        updated = await conn.scalar(sa.select(carts.c.updated_at).where(carts.c.owner == owner))
        if updated is not None and is_expired(updated, now, limits):
            await conn.execute(cart_lines.delete().where(cart_lines.c.owner == owner))
            await conn.execute(carts.update().where(carts.c.owner == owner).values(voucher_code=None))
        insert = dialect_insert(self._engine, carts).values(owner=owner, updated_at=now)
        await conn.execute(
            insert.on_conflict_do_update(index_elements=[carts.c.owner], set_={"updated_at": now})
        )

    async def _check_room(self, conn: AsyncConnection, owner: str, line: LineKey, limits: CartLimits) -> None:
        """The core's `has_room_for`, inside the write's transaction: `_touch` locked the cart's row,
        so two concurrent new lines are counted one after the other."""
        has_line = await conn.scalar(sa.select(sa.literal(1)).where(_C.owner == owner, *_is(line)))
        if has_line is None:
            count = await conn.scalar(sa.select(sa.func.count()).where(cart_lines.c.owner == owner))
            if not has_room_for(count or 0, has_line=False, limits=limits):
                raise CartLimitReached(lines=True)
