"""Orders, their audit trail, idempotency keys and invoices, with SQLAlchemy Core in the unit of
work's transaction (an order is a row plus its lines: plain statements are simpler and faster than
mapping the aggregate)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.job_ledger import SqlJobLedger
from shop_core.adapters.sql.orm import (
    idempotency_keys,
    invoice_counters,
    invoices,
    order_events,
    order_lines,
    orders,
    payments,
    stock_movements,
    users,
)
from shop_core.adapters.sql.pg_fast_path import pg_fast_path
from shop_core.adapters.sql.upsert import session_insert
from shop_core.adapters.sql.voucher_repository import SqlVoucherRepository
from shop_core.domain.addresses import Address
from shop_core.domain.catalog import TakenProduct
from shop_core.domain.invoices import Invoice
from shop_core.domain.jobs import JobStatus
from shop_core.domain.orders import (
    FulfillmentStatus,
    Order,
    OrderEvent,
    OrderLine,
    OrderPaymentStatus,
    OrderStatus,
    PaymentMethod,
    ShippingChoice,
    new_order_number,
)
from shop_core.domain.stock import OrderStockMovement
from shop_core.domain.tax import rate_bp, rate_of_bp
from shop_core.ports.orders import (
    CustomerGone,
    OrderFilter,
    OrderJob,
    PlacementKey,
    StoredKey,
    VoucherUseRefused,
)

_LINE_FIELDS = (
    "product_id",
    "variant_id",
    "variant_name",
    "product_name",
    "sku",
    "unit_price",
    "quantity",
    "line_total",
    "discount_amount",
    "tax_amount",
    "voucher_discount",
    "tax_name",
)


# The checkout hot path's statements, built once (per dialect where it matters).
_INSERT_LINES = order_lines.insert().returning(order_lines.c.id, sort_by_parameter_order=True)
_INSERT_EVENTS = order_events.insert()
_COMPLETE_KEY = (
    idempotency_keys.update()
    .where(idempotency_keys.c.user_id == sa.bindparam("uid"), idempotency_keys.c.key == sa.bindparam("k"))
    .values(order_id=sa.bindparam("oid"))
)


def _movement_row(m: OrderStockMovement) -> dict[str, Any]:
    return {
        "product_id": m.product_id,
        "variant_id": m.variant_id,
        "delta": m.delta,
        "reason": m.reason,
        "balance_after": m.balance_after,
        "actor": m.actor,
        "note": m.note,
        "created_at": m.created_at,
    }


@functools.cache
def _insert_order(dialect: str) -> sa.Executable:
    insert = postgresql.insert(orders) if dialect == "postgresql" else sqlite.insert(orders)
    return insert.on_conflict_do_nothing(index_elements=[orders.c.number]).returning(orders.c.id)


@functools.cache
def _claim_key(dialect: str) -> sa.Executable:
    insert = (
        postgresql.insert(idempotency_keys) if dialect == "postgresql" else sqlite.insert(idempotency_keys)
    )
    return insert.on_conflict_do_nothing(
        index_elements=[idempotency_keys.c.user_id, idempotency_keys.c.key]
    ).returning(idempotency_keys.c.user_id)


class SqlOrderRepository:
    def __init__(self, session: AsyncSession, ledger: SqlJobLedger) -> None:
        self._session = session
        self._ledger = ledger  # the unit of work's: where `add_placed` records the order's job
        self.changed: set[int] = set()
        """The orders this transaction wrote audit events for: announced once it commits (see
        `SqlUnitOfWork.commit`). Every change of an order's status, payment or fulfilment writes one."""

    async def _add(self, order: Order) -> Order:
        connection = await self._session.connection()
        insert = _insert_order(connection.dialect.name)
        for _ in range(10):  # a clash of random order numbers is rare; draw again
            order_id = (await connection.execute(insert, _row_of(order))).scalar_one_or_none()
            if order_id is not None:
                break
            order.number = new_order_number(order.created_at)
        else:
            raise RuntimeError("could not draw a free order number")
        order.id = order_id
        ids = await connection.execute(
            _INSERT_LINES, [{"order_id": order.id, **line_row(line)} for line in order.lines]
        )
        order.lines = _with_ids(order.lines, list(ids.scalars()))
        return order

    async def add_placed(
        self,
        order: Order,
        movements: Sequence[OrderStockMovement],
        events: Sequence[OrderEvent],
        key: PlacementKey | None,
        *,
        confirm_user: bool = False,
        job: OrderJob | None = None,
        voucher_held: bool = False,
    ) -> bool:
        fast = await pg_fast_path(self._session)
        if fast is None:
            placed = await self._add_placed_here(
                order, movements, events, key, confirm_user=confirm_user, voucher_held=voucher_held
            )
            if placed and job is not None:
                assert order.id is not None
                await self._ledger.add(job.job(order.id, order.created_at))
            return placed
        # PostgreSQL: the order, its lines, movements, events and key in one statement.
        fresh = key is not None and not key.claimed
        for _ in range(10):  # a clash of random order numbers is rare; draw again
            order_id, key_taken, voucher_counted, line_ids, user_ok, job_id = await fast.place_order(
                _row_of(order),
                order.lines,
                movements,
                events,
                **_key_and_job(key, job),
                confirm_user=confirm_user,
                voucher_held=voucher_held,
            )
            if not user_ok:
                raise CustomerGone
            if order_id is not None:
                order.id = order_id
                order.lines = _with_ids(order.lines, line_ids)
                if job is not None and job_id is not None:
                    self._ledger.recorded_with(job.job(order_id, order.created_at), job_id)
                if events:
                    self.changed.add(order_id)
                if fresh and key_taken:
                    return False
                if not voucher_counted:
                    raise VoucherUseRefused
                return True
            order.number = new_order_number(order.created_at)
        raise RuntimeError("could not draw a free order number")

    async def place_at_once(
        self,
        order: Order,
        quoted: Sequence[tuple[TakenProduct, int]],
        movements: Sequence[OrderStockMovement],
        events: Sequence[OrderEvent],
        key: PlacementKey | None,
        *,
        confirm_user: bool = False,
        job: OrderJob | None = None,
        voucher_held: bool = False,
        low_stock: int = 0,
    ) -> bool:
        fast = await pg_fast_path(self._session)
        if fast is None:
            return False
        placed = await fast.place_at_once(
            _row_of(order),
            quoted,
            order.lines,
            movements,
            events,
            **_key_and_job(key, job),
            confirm_user=confirm_user,
            voucher_held=voucher_held,
            low_stock=low_stock,
        )
        if placed is None:
            return False
        order.id, line_ids, job_id = placed
        order.lines = _with_ids(order.lines, line_ids)
        if job is not None and job_id is not None:
            self._ledger.recorded_with(job.job(order.id, order.created_at), job_id)
        if events:
            self.changed.add(order.id)
        return True

    async def _add_placed_here(
        self,
        order: Order,
        movements: Sequence[OrderStockMovement],
        events: Sequence[OrderEvent],
        key: PlacementKey | None,
        *,
        confirm_user: bool,
        voucher_held: bool,
    ) -> bool:
        """`add_placed` through SQLAlchemy, a statement at a time (SQLite)."""
        if confirm_user:
            user = await self._session.scalar(sa.select(users.c.is_active).where(users.c.id == order.user_id))
            if not user:
                raise CustomerGone
        if key is not None and not key.claimed:
            claims = SqlIdempotencyRepository(self._session)
            if not await claims.claim(key.user_id, key.key, key.fingerprint, key.created_at):
                return False
        await self._add(order)
        assert order.id is not None
        connection = await self._session.connection()
        if movements:
            await connection.execute(stock_movements.insert(), [_movement_row(m) for m in movements])
        await self.add_events(order.id, events)
        if key is not None:
            await connection.execute(_COMPLETE_KEY, {"uid": key.user_id, "k": key.key, "oid": order.id})
        if order.voucher_id is not None:  # last: the voucher's row is held until the commit
            vouchers = SqlVoucherRepository(self._session)
            if not await vouchers.count_use(order.voucher_id, order.user_id, held=voucher_held):
                raise VoucherUseRefused
        return True

    async def get(self, order_id: int, *, for_update: bool = False) -> Order | None:
        return await self._one(orders.c.id == order_id, for_update=for_update)

    async def get_by_number(self, number: str) -> Order | None:
        return await self._one(orders.c.number == number)

    async def save(self, order: Order) -> bool:
        assert order.id is not None
        result = await self._session.execute(
            orders.update()
            .where(orders.c.id == order.id, orders.c.version == order.version)
            .values(
                status=order.status.value,
                payment_status=order.payment_status.value,
                updated_at=order.updated_at,
                paid_at=order.paid_at,
                delivered_at=order.delivered_at,
                fulfillment_status=order.fulfillment_status.value,
                version=order.version + 1,
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        order.version += 1
        return True

    async def page(self, where: OrderFilter, *, offset: int, limit: int) -> tuple[list[Order], int]:
        conditions = _conditions(where)
        count = await self._session.scalar(sa.select(sa.func.count()).select_from(orders).where(*conditions))
        rows = (
            await self._session.execute(
                sa.select(orders)
                .where(*conditions)
                .order_by(orders.c.created_at.desc(), orders.c.id.desc())
                .offset(offset)
                .limit(limit)
            )
        ).all()
        return await self._with_lines(rows), int(count or 0)

    async def ids(self, where: OrderFilter, *, limit: int) -> list[int]:
        query = sa.select(orders.c.id).where(*_conditions(where)).order_by(orders.c.id).limit(limit)
        return list((await self._session.scalars(query)).all())

    async def add_events(self, order_id: int, events: Sequence[OrderEvent]) -> None:
        if events:
            self.changed.add(order_id)
            connection = await self._session.connection()
            await connection.execute(
                _INSERT_EVENTS,
                [
                    {
                        "order_id": order_id,
                        "at": e.at,
                        "actor": e.actor[:320],
                        "action": e.action,
                        "from_status": e.from_status,
                        "to_status": e.to_status,
                        "note": e.note[:500],
                    }
                    for e in events
                ],
            )

    async def events(self, order_id: int) -> list[OrderEvent]:
        rows = await self._session.execute(
            sa.select(order_events).where(order_events.c.order_id == order_id).order_by(order_events.c.id)
        )
        return [OrderEvent(**row._asdict()) for row in rows]

    async def events_after(self, order_id: int, after_id: int, *, limit: int) -> list[OrderEvent]:
        rows = await self._session.execute(
            sa.select(order_events)
            .where(order_events.c.order_id == order_id, order_events.c.id > after_id)
            .order_by(order_events.c.id)
            .limit(limit)
        )
        return [OrderEvent(**row._asdict()) for row in rows]

    async def last_event_id(self, order_id: int) -> int:
        found = await self._session.scalar(
            sa.select(sa.func.max(order_events.c.id)).where(order_events.c.order_id == order_id)
        )
        return int(found or 0)

    async def product_is_ordered(self, product_id: int) -> bool:
        found = await self._session.scalar(
            sa.select(sa.literal(1)).where(order_lines.c.product_id == product_id).limit(1)
        )
        return found is not None

    async def _one(self, condition: sa.ColumnElement[bool], *, for_update: bool = False) -> Order | None:
        query = sa.select(orders).where(condition)
        rows = (await self._session.execute(query.with_for_update() if for_update else query)).all()
        found = await self._with_lines(rows)
        return found[0] if found else None

    async def _with_lines(self, rows: Sequence[sa.Row[Any]]) -> list[Order]:
        if not rows:
            return []
        ids = [row.id for row in rows]
        lines: dict[int, list[OrderLine]] = {i: [] for i in ids}
        for line in await self._session.execute(
            sa.select(order_lines).where(order_lines.c.order_id.in_(ids)).order_by(order_lines.c.id)
        ):
            lines[line.order_id].append(
                OrderLine(
                    **{f: getattr(line, f) for f in _LINE_FIELDS},
                    tax_rate=bp_rate(line.tax_rate_bp),
                    id=line.id,
                )
            )
        refunded: dict[int, int] = {}
        for order_id, total in await self._session.execute(
            sa.select(payments.c.order_id, sa.func.sum(payments.c.refunded_amount))
            .where(payments.c.order_id.in_(ids))
            .group_by(payments.c.order_id)
        ):
            refunded[order_id] = int(total or 0)
        found = [_order_of(row, lines[row.id]) for row in rows]
        for order in found:
            order.refunded_amount = refunded.get(order.id or 0, 0)
        return found


def _conditions(where: OrderFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if where.user_id is not None:
        conditions.append(orders.c.user_id == where.user_id)
    if where.status is not None:
        conditions.append(orders.c.status == where.status.value)
    if where.since is not None:
        conditions.append(orders.c.created_at >= where.since)
    if where.unpaid_before is not None:
        conditions += [
            orders.c.status == OrderStatus.PENDING.value,
            orders.c.payment_status != OrderPaymentStatus.PAID.value,
            orders.c.created_at < where.unpaid_before,
        ]
    if where.voucher_code is not None:
        conditions.append(orders.c.voucher_code == where.voucher_code)
    if where.payment_methods is not None:
        conditions.append(orders.c.payment_method.in_(sorted(m.value for m in where.payment_methods)))
    return conditions


def _row_of(order: Order) -> dict[str, Any]:
    return {
        "number": order.number,
        "user_id": order.user_id,
        "status": order.status.value,
        "payment_status": order.payment_status.value,
        "payment_method": order.payment_method.value,
        "currency": order.currency,
        "subtotal": order.subtotal,
        "discount_amount": order.discount_amount,
        "tax_amount": order.tax_amount,
        "shipping_cost": order.shipping_cost,
        "total_price": order.total_price,
        "shipping_address": order.shipping_address.as_dict(),
        "billing_address": order.billing_address.as_dict(),
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "paid_at": order.paid_at,
        "delivered_at": order.delivered_at,
        "version": order.version,
        "voucher_id": order.voucher_id,
        "voucher_code": order.voucher_code,
        "voucher_discount": order.voucher_discount,
        "shipping_method_id": None if order.shipping_method is None else order.shipping_method.method_id,
        "shipping_method_name": None if order.shipping_method is None else order.shipping_method.name,
        "shipping_method_price": None if order.shipping_method is None else order.shipping_method.price,
        "shipping_tax": order.shipping_tax,
        "tax_rate_bp": None if order.tax_rate is None else rate_bp(order.tax_rate),
        "tax_name": order.tax_name,
        "prices_include_tax": order.prices_include_tax,
    }


def line_row(line: OrderLine) -> dict[str, Any]:
    """An order line's columns."""
    return {
        **{f: getattr(line, f) for f in _LINE_FIELDS},
        "tax_rate_bp": None if line.tax_rate is None else rate_bp(line.tax_rate),
    }


def _shipping_of(row: sa.Row[Any]) -> ShippingChoice | None:
    if row.shipping_method_name is None:
        return None
    # The method's id is NULL once the method is deleted: the order keeps its name and price.
    return ShippingChoice(row.shipping_method_id, row.shipping_method_name, row.shipping_method_price or 0)


def bp_rate(bp: int | None) -> Decimal | None:
    return None if bp is None else rate_of_bp(bp)


def _order_of(row: sa.Row[Any], lines: list[OrderLine]) -> Order:
    return Order(
        id=row.id,
        number=row.number,
        user_id=row.user_id,
        status=OrderStatus(row.status),
        payment_status=OrderPaymentStatus(row.payment_status),
        payment_method=PaymentMethod(row.payment_method),
        currency=row.currency,
        subtotal=row.subtotal,
        discount_amount=row.discount_amount,
        tax_amount=row.tax_amount,
        shipping_cost=row.shipping_cost,
        total_price=row.total_price,
        shipping_address=Address(**row.shipping_address),
        billing_address=Address(**row.billing_address),
        created_at=row.created_at,
        updated_at=row.updated_at,
        paid_at=row.paid_at,
        delivered_at=row.delivered_at,
        version=row.version,
        lines=lines,
        voucher_id=row.voucher_id,
        voucher_code=row.voucher_code,
        voucher_discount=row.voucher_discount,
        shipping_method=_shipping_of(row),
        shipping_tax=row.shipping_tax,
        tax_rate=bp_rate(row.tax_rate_bp),
        tax_name=row.tax_name,
        prices_include_tax=bool(row.prices_include_tax),
        fulfillment_status=FulfillmentStatus(row.fulfillment_status),
    )


def _key_and_job(key: PlacementKey | None, job: OrderJob | None) -> dict[str, Any]:
    """The placement statements' arguments for the order's Idempotency-Key (claimed before, or
    claimed by the statement) and its job."""
    claimed = key is not None and key.claimed
    return {
        "claimed_key": key.key if key is not None and claimed else None,
        "fresh_key": key.key if key is not None and not claimed else None,
        "fingerprint": key.fingerprint if key is not None else None,
        "job": None if job is None else (job.name, JobStatus.PENDING.value, job.max_attempts),
    }


def _with_ids(lines: list[OrderLine], ids: Sequence[int]) -> list[OrderLine]:
    """The lines as stored: each with the id its row got (in the order they were inserted)."""
    return [replace(line, id=line_id) for line, line_id in zip(lines, ids, strict=True)]


class SqlIdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim(self, user_id: int, key: str, fingerprint: str, now: datetime) -> bool:
        # ON CONFLICT DO NOTHING waits for a concurrent claim of the same key to commit or roll back.
        fast = await pg_fast_path(self._session)
        if fast is not None:
            return await fast.claim_key(user_id, key, fingerprint, now)
        connection = await self._session.connection()
        values = {"user_id": user_id, "key": key, "fingerprint": fingerprint, "created_at": now}
        return (await connection.execute(_claim_key(connection.dialect.name), values)).first() is not None

    async def get(self, user_id: int, key: str) -> StoredKey | None:
        row = (
            await self._session.execute(
                sa.select(
                    idempotency_keys.c.fingerprint, idempotency_keys.c.order_id, idempotency_keys.c.created_at
                ).where(idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key)
            )
        ).first()
        return StoredKey(row.fingerprint, row.order_id, row.created_at) if row else None

    async def release(self, user_id: int, key: str) -> None:
        await self._session.execute(
            idempotency_keys.delete().where(
                idempotency_keys.c.user_id == user_id,
                idempotency_keys.c.key == key,
                idempotency_keys.c.order_id.is_(None),
            )
        )

    async def purge(self, before: datetime) -> int:
        result = await self._session.execute(
            idempotency_keys.delete().where(idempotency_keys.c.created_at < before)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


class SqlInvoiceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, order_id: int) -> Invoice | None:
        row = (
            await self._session.execute(sa.select(invoices).where(invoices.c.order_id == order_id))
        ).first()
        return Invoice(**row._asdict()) if row else None

    async def next_number(self, year: int) -> int:
        # The counter row stays locked until the transaction ends, so numbers are handed out one
        # at a time and a rollback gives the number back: no gaps.
        insert = session_insert(self._session, invoice_counters).values(year=year, last=1)
        statement = insert.on_conflict_do_update(
            index_elements=[invoice_counters.c.year], set_={"last": invoice_counters.c.last + 1}
        ).returning(invoice_counters.c.last)
        return int((await self._session.execute(statement)).scalar_one())

    async def add(self, invoice: Invoice) -> bool:
        insert = session_insert(self._session, invoices).values(
            order_id=invoice.order_id,
            year=invoice.year,
            sequence=invoice.sequence,
            issued_at=invoice.issued_at,
            pdf=invoice.pdf,
        )
        statement = insert.on_conflict_do_nothing(index_elements=[invoices.c.order_id]).returning(
            invoices.c.order_id
        )
        return (await self._session.execute(statement)).first() is not None

    async def store_pdf(self, order_id: int, pdf: bytes, payment_status: OrderPaymentStatus) -> bytes:
        still = sa.exists().where(orders.c.id == order_id, orders.c.payment_status == payment_status.value)
        await self._session.execute(
            invoices.update()
            .where(invoices.c.order_id == order_id, invoices.c.pdf.is_(None), still)
            .values(pdf=pdf)
        )
        kept = await self._session.scalar(sa.select(invoices.c.pdf).where(invoices.c.order_id == order_id))
        return kept if isinstance(kept, bytes) else pdf

    async def discard_pdf(self, order_id: int) -> None:
        await self._session.execute(invoices.update().where(invoices.c.order_id == order_id).values(pdf=None))
