"""Returns and their lines, with SQLAlchemy Core in the unit of work's transaction."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import orders, return_lines, returns
from shop_core.domain.returns import Return, ReturnLine, ReturnStatus


class SqlReturnRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, item: Return) -> Return:
        row = {"order_id": item.order_id, **self._fields(item), "created_at": item.created_at, "version": 1}
        item.id = (
            await self._session.execute(returns.insert().values(row).returning(returns.c.id))
        ).scalar_one()
        item.version = 1
        await self._session.execute(
            return_lines.insert(),
            [
                {"return_id": item.id, "order_line_id": line.item_id, "quantity": line.quantity}
                for line in item.lines
            ],
        )
        return item

    async def get(self, return_id: int, *, for_update: bool = False) -> Return | None:
        found = await self._where(returns.c.id == return_id, for_update=for_update)
        return found[0] if found else None

    async def by_refund(self, refund_id: int) -> Return | None:
        found = await self._where(returns.c.refund_id == refund_id)
        return found[0] if found else None

    async def save(self, item: Return) -> bool:
        assert item.id is not None
        result = await self._session.execute(
            returns.update()
            .where(returns.c.id == item.id, returns.c.version == item.version)
            .values(**self._fields(item), version=item.version + 1)
        )
        if getattr(result, "rowcount", 0) != 1:
            return False
        item.version += 1
        return True

    async def of_order(self, order_id: int) -> list[Return]:
        return await self._where(returns.c.order_id == order_id)

    async def page(self, *, user_id: int | None, offset: int, limit: int) -> tuple[list[Return], int]:
        condition: sa.ColumnElement[bool] = sa.true()
        if user_id is not None:
            condition = returns.c.order_id.in_(sa.select(orders.c.id).where(orders.c.user_id == user_id))
        total = (
            await self._session.execute(sa.select(sa.func.count()).select_from(returns).where(condition))
        ).scalar_one()
        found = await self._where(condition, newest_first=True, offset=offset, limit=limit)
        return found, int(total)

    @staticmethod
    def _fields(item: Return) -> dict[str, Any]:
        return {
            "status": item.status.value,
            "reason": item.reason,
            "note": item.note,
            "refund_amount": item.refund_amount,
            "restock": item.restock,
            "refund_id": item.refund_id,
            "updated_at": item.updated_at,
            "received_at": item.received_at,
            "refunded_at": item.refunded_at,
        }

    async def _where(
        self,
        condition: sa.ColumnElement[bool],
        *,
        for_update: bool = False,
        newest_first: bool = False,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[Return]:
        query = sa.select(returns).where(condition)
        query = query.order_by(returns.c.id.desc() if newest_first else returns.c.id)
        if limit is not None:
            query = query.offset(offset).limit(limit)
        if for_update:
            query = query.with_for_update()
        rows = (await self._session.execute(query)).all()
        if not rows:
            return []
        lines: dict[int, list[ReturnLine]] = {row.id: [] for row in rows}
        for line in await self._session.execute(
            sa.select(return_lines)
            .where(return_lines.c.return_id.in_(list(lines)))
            .order_by(return_lines.c.return_id, return_lines.c.order_line_id)
        ):
            lines[line.return_id].append(ReturnLine(line.order_line_id, line.quantity))
        return [
            Return(
                id=row.id,
                order_id=row.order_id,
                lines=tuple(lines[row.id]),
                reason=row.reason,
                status=ReturnStatus(row.status),
                created_at=row.created_at,
                updated_at=row.updated_at,
                refund_amount=row.refund_amount,
                restock=row.restock,
                note=row.note,
                received_at=row.received_at,
                refunded_at=row.refunded_at,
                refund_id=row.refund_id,
                version=row.version,
            )
            for row in rows
        ]
