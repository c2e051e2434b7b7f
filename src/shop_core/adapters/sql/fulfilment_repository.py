"""Fulfilments and their lines, with SQLAlchemy Core in the unit of work's transaction."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import fulfillment_lines, fulfillments
from shop_core.domain.fulfilment import Fulfilment, FulfilmentLine


class SqlFulfilmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, fulfilment: Fulfilment) -> Fulfilment:
        row = {
            "order_id": fulfilment.order_id,
            "carrier": fulfilment.carrier,
            "tracking_number": fulfilment.tracking_number,
            "created_at": fulfilment.created_at,
            "actor": fulfilment.actor[:320],
        }
        fulfilment.id = (
            await self._session.execute(fulfillments.insert().values(row).returning(fulfillments.c.id))
        ).scalar_one()
        await self._session.execute(
            fulfillment_lines.insert(),
            [
                {
                    "fulfillment_id": fulfilment.id,
                    "order_line_id": line.order_line_id,
                    "quantity": line.quantity,
                }
                for line in fulfilment.lines
            ],
        )
        return fulfilment

    async def get(self, fulfilment_id: int) -> Fulfilment | None:
        found = await self._where(fulfillments.c.id == fulfilment_id)
        return found[0] if found else None

    async def of_order(self, order_id: int) -> list[Fulfilment]:
        return await self._where(fulfillments.c.order_id == order_id)

    async def shipped(self, order_id: int) -> dict[int, int]:
        rows = await self._session.execute(
            sa.select(fulfillment_lines.c.order_line_id, sa.func.sum(fulfillment_lines.c.quantity))
            .join(fulfillments, fulfillments.c.id == fulfillment_lines.c.fulfillment_id)
            .where(fulfillments.c.order_id == order_id)
            .group_by(fulfillment_lines.c.order_line_id)
        )
        return {line_id: int(total) for line_id, total in rows}

    async def _where(self, condition: sa.ColumnElement[bool]) -> list[Fulfilment]:
        rows = (
            await self._session.execute(sa.select(fulfillments).where(condition).order_by(fulfillments.c.id))
        ).all()
        if not rows:
            return []
        lines: dict[int, list[FulfilmentLine]] = {row.id: [] for row in rows}
        for line in await self._session.execute(
            sa.select(fulfillment_lines)
            .where(fulfillment_lines.c.fulfillment_id.in_(list(lines)))
            .order_by(fulfillment_lines.c.fulfillment_id, fulfillment_lines.c.order_line_id)
        ):
            lines[line.fulfillment_id].append(FulfilmentLine(line.order_line_id, line.quantity))
        return [
            Fulfilment(
                id=row.id,
                order_id=row.order_id,
                lines=lines[row.id],
                created_at=row.created_at,
                actor=row.actor,
                carrier=row.carrier,
                tracking_number=row.tracking_number,
            )
            for row in rows
        ]
