"""Payments, refunds and handled provider events in SQL (SQLAlchemy Core; rows become domain objects)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import payment_events, payments, refunds
from shop_core.domain.errors import Conflict
from shop_core.domain.orders import PaymentMethod
from shop_core.domain.payments import LIVE, Payment, PaymentState, Refund, RefundState

_PAYMENT_FIELDS = [c.name for c in payments.c if c.name != "id"]
_REFUND_FIELDS = [c.name for c in refunds.c if c.name != "id"]


def _payment_of(row: Any) -> Payment:
    values = dict(row._mapping)
    values["gateway"] = PaymentMethod(values["gateway"])
    values["status"] = PaymentState(values["status"])
    return Payment(**values)


def _refund_of(row: Any) -> Refund:
    values = dict(row._mapping)
    values["status"] = RefundState(values["status"])
    return Refund(**values)


def _values(obj: Payment | Refund, fields: list[str]) -> dict[str, Any]:
    values = {f: getattr(obj, f) for f in fields}
    return {k: (v.value if hasattr(v, "value") else v) for k, v in values.items()}


class SqlPaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _dialect(self) -> str:
        connection = await self._session.connection()
        return connection.dialect.name

    async def _one(self, where: sa.ColumnElement[bool], for_update: bool) -> Payment | None:
        query = sa.select(payments).where(where)
        if for_update:
            query = query.with_for_update()  # PostgreSQL: one handler per payment at a time
        row = (await self._session.execute(query)).first()
        return None if row is None else _payment_of(row)

    async def add(self, payment: Payment) -> Payment | None:
        dialect = await self._dialect()
        insert = postgresql.insert(payments) if dialect == "postgresql" else sqlite.insert(payments)
        statement = (
            insert.values(**_values(payment, _PAYMENT_FIELDS))
            .on_conflict_do_nothing(index_elements=[payments.c.order_id, payments.c.attempt])
            .returning(payments.c.id)
        )
        new_id = (await self._session.execute(statement)).scalar_one_or_none()
        if new_id is None:
            return None
        payment.id = new_id
        return payment

    async def get(self, payment_id: int, *, for_update: bool = False) -> Payment | None:
        return await self._one(payments.c.id == payment_id, for_update)

    async def by_reference(
        self, gateway: PaymentMethod, reference: str, *, for_update: bool = False
    ) -> Payment | None:
        if not reference:
            return None
        return await self._one(
            sa.and_(payments.c.gateway == gateway.value, payments.c.reference == reference), for_update
        )

    async def of_order(self, order_id: int) -> list[Payment]:
        query = sa.select(payments).where(payments.c.order_id == order_id).order_by(payments.c.attempt)
        return [_payment_of(r) for r in await self._session.execute(query)]

    async def save(self, payment: Payment) -> None:
        assert payment.id is not None
        values = _values(payment, _PAYMENT_FIELDS) | {"version": payment.version + 1}
        done = await self._session.execute(
            sa.update(payments)
            .where(payments.c.id == payment.id, payments.c.version == payment.version)
            .values(**values)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(f"Payment {payment.id} was changed meanwhile; try again.")
        payment.version += 1

    async def record_refunded(self, payment_id: int, amount: int, at: datetime) -> Payment | None:
        # One conditional statement: the amount is added only while the payment has it left, so
        # two refunds racing (on any database, with or without row locks) cannot exceed it.
        after = payments.c.refunded_amount + amount
        statement = (
            sa.update(payments)
            .where(
                payments.c.id == payment_id,
                payments.c.status == PaymentState.SUCCEEDED.value,
                after <= payments.c.amount,
            )
            .values(
                refunded_amount=after,
                status=sa.case(
                    (after >= payments.c.amount, PaymentState.REFUNDED.value), else_=payments.c.status
                ),
                updated_at=at,
                version=payments.c.version + 1,
            )
            .returning(*payments.c)
        )
        row = (await self._session.execute(statement)).first()
        return None if row is None else _payment_of(row)

    async def pending(self, *, older_than: datetime, limit: int) -> list[Payment]:
        query = (
            sa.select(payments)
            .where(
                payments.c.status.in_([s.value for s in LIVE]),
                payments.c.hold_reason == "",
                payments.c.updated_at < older_than,
            )
            .order_by(payments.c.updated_at, payments.c.id)
            .limit(limit)
        )
        return [_payment_of(r) for r in await self._session.execute(query)]

    async def with_pending_refunds(self, *, older_than: datetime, limit: int) -> list[Payment]:
        waiting = (
            sa.select(refunds.c.payment_id)
            .where(refunds.c.status == RefundState.PENDING.value, refunds.c.updated_at < older_than)
            .distinct()
        )
        query = sa.select(payments).where(payments.c.id.in_(waiting)).order_by(payments.c.id).limit(limit)
        return [_payment_of(r) for r in await self._session.execute(query)]

    async def page(
        self, *, status: str | None, held: bool | None, offset: int, limit: int
    ) -> tuple[list[Payment], int]:
        conditions: list[sa.ColumnElement[bool]] = []
        if status is not None:
            conditions.append(payments.c.status == status)
        if held is not None:
            conditions.append(payments.c.hold_reason != "" if held else payments.c.hold_reason == "")
        where = sa.and_(sa.true(), *conditions)
        total = (
            await self._session.execute(sa.select(sa.func.count()).select_from(payments).where(where))
        ).scalar_one()
        query = sa.select(payments).where(where).order_by(payments.c.id.desc()).offset(offset).limit(limit)
        return [_payment_of(r) for r in await self._session.execute(query)], int(total)

    async def record_event(self, gateway: PaymentMethod, event_id: str, type_: str, at: datetime) -> bool:
        dialect = await self._dialect()
        insert = (
            postgresql.insert(payment_events) if dialect == "postgresql" else sqlite.insert(payment_events)
        )
        statement = (
            insert.values(gateway=gateway.value, event_id=event_id[:255], type=type_[:100], received_at=at)
            .on_conflict_do_nothing(index_elements=[payment_events.c.gateway, payment_events.c.event_id])
            .returning(payment_events.c.event_id)
        )
        return (await self._session.execute(statement)).scalar_one_or_none() is not None

    async def add_refund(self, refund: Refund) -> Refund:
        new_id = (
            await self._session.execute(
                sa.insert(refunds).values(**_values(refund, _REFUND_FIELDS)).returning(refunds.c.id)
            )
        ).scalar_one()
        refund.id = new_id
        return refund

    async def get_refund(self, refund_id: int, *, for_update: bool = False) -> Refund | None:
        query = sa.select(refunds).where(refunds.c.id == refund_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return None if row is None else _refund_of(row)

    async def refund_by_reference(self, reference: str, *, for_update: bool = False) -> Refund | None:
        if not reference:
            return None
        query = sa.select(refunds).where(refunds.c.reference == reference)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return None if row is None else _refund_of(row)

    async def refunds_of(self, payment_id: int) -> list[Refund]:
        query = sa.select(refunds).where(refunds.c.payment_id == payment_id).order_by(refunds.c.id)
        return [_refund_of(r) for r in await self._session.execute(query)]

    async def save_refund(self, refund: Refund) -> None:
        assert refund.id is not None
        await self._session.execute(
            sa.update(refunds).where(refunds.c.id == refund.id).values(**_values(refund, _REFUND_FIELDS))
        )
