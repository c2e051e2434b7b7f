"""Vouchers over SQLAlchemy Core: the staff's use cases, and the conditional updates that count a
use in the order's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import orders, voucher_categories, voucher_products, voucher_uses, vouchers
from shop_core.adapters.sql.pg_fast_path import pg_fast_path
from shop_core.adapters.sql.upsert import session_insert
from shop_core.domain.ids import MAX_ID
from shop_core.domain.voucher_codes import VoucherCodeTaken
from shop_core.domain.vouchers import Voucher, VoucherKind
from shop_core.ports.vouchers import VoucherFilter

_V = vouchers.c
_U = voucher_uses.c


def _taken() -> VoucherCodeTaken:
    return VoucherCodeTaken()


def _row_of(voucher: Voucher) -> dict[str, Any]:
    percentage = voucher.value if voucher.kind is VoucherKind.PERCENTAGE else None
    amount = int(voucher.value) if voucher.kind is VoucherKind.FIXED else None
    return {
        "code": voucher.code,
        "kind": voucher.kind.value,
        "percentage": percentage,
        "amount": amount,
        "min_subtotal": voucher.min_subtotal,
        "starts_at": voucher.starts_at,
        "ends_at": voucher.ends_at,
        "usage_limit": voucher.usage_limit,
        "per_customer_limit": voucher.per_customer_limit,
        "is_active": voucher.is_active,
    }


def _voucher_of(row: Any, products: frozenset[int], categories: frozenset[int]) -> Voucher:
    kind = VoucherKind(row.kind)
    if kind is VoucherKind.PERCENTAGE:
        value = Decimal(row.percentage)
    elif kind is VoucherKind.FIXED:
        value = Decimal(int(row.amount))
    else:
        value = Decimal(0)
    return Voucher(
        code=row.code,
        kind=kind,
        value=value,
        min_subtotal=row.min_subtotal,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        usage_limit=row.usage_limit,
        per_customer_limit=row.per_customer_limit,
        used_count=int(row.used_count),
        product_ids=products,
        category_ids=categories,
        is_active=bool(row.is_active),
        id=int(row.id),
    )


def _give_back_for_everyone(voucher_id: int) -> sa.Update:
    """One use of a voucher with a `usage_limit` given back on its row."""
    return (
        vouchers.update()
        .where(_V.id == voucher_id, _V.usage_limit.is_not(None), _V.used_count > 0)
        .values(used_count=_V.used_count - 1)
    )


class SqlVoucherRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, voucher: Voucher, now: datetime) -> Voucher:
        try:
            voucher.id = await self._session.scalar(
                vouchers.insert()
                .values(**_row_of(voucher), used_count=0, created_at=now, updated_at=now)
                .returning(_V.id)
            )
        except IntegrityError as exc:
            raise _taken() from exc
        await self._link(voucher)
        return voucher

    async def add_many(self, batch: Sequence[Voucher], now: datetime) -> None:
        if not batch:
            return
        rows = [_row_of(v) | {"used_count": 0, "created_at": now, "updated_at": now} for v in batch]
        try:
            ids = (
                await self._session.scalars(
                    vouchers.insert().returning(_V.id, sort_by_parameter_order=True), rows
                )
            ).all()
        except IntegrityError as exc:
            raise _taken() from exc
        for voucher, voucher_id in zip(batch, ids, strict=True):
            voucher.id = int(voucher_id)
            await self._link(voucher)

    async def get(self, voucher_id: int, *, for_update: bool = False) -> Voucher | None:
        if not 0 < voucher_id <= MAX_ID:
            return None
        return await self._one(_V.id == voucher_id, for_update=for_update)

    async def by_code(self, code: str) -> Voucher | None:
        fast = await pg_fast_path(self._session)
        if fast is not None:  # PostgreSQL: the voucher and its restrictions in one round trip
            found = await fast.voucher_by_code(code)
            if found is None:
                return None
            columns = dict(found.items())
            if columns["percentage"] is not None:
                columns["percentage"] = (Decimal(columns["percentage"]) / 100).quantize(Decimal("0.01"))
            return _voucher_of(
                SimpleNamespace(**columns), frozenset(found["product_ids"]), frozenset(found["category_ids"])
            )
        return await self._one(_V.code == code, count_uses=False)

    async def codes_taken(self, codes: Sequence[str]) -> set[str]:
        wanted = sorted(set(codes))
        taken: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            taken.update(await self._session.scalars(sa.select(_V.code).where(_V.code.in_(chunk))))
        return taken

    async def page(self, where: VoucherFilter, *, offset: int, limit: int) -> tuple[list[Voucher], int]:
        conditions: list[sa.ColumnElement[bool]] = []
        if where.search:
            escaped = where.search.upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(_V.code.like(f"%{escaped}%", escape="\\"))
        if where.active is not None:
            conditions.append(_V.is_active.is_(where.active))
        total = await self._session.scalar(
            sa.select(sa.func.count()).select_from(vouchers).where(*conditions)
        )
        rows = (
            await self._session.execute(
                sa.select(vouchers).where(*conditions).order_by(_V.id.desc()).offset(offset).limit(limit)
            )
        ).all()
        return await self._with_restrictions(rows), int(total or 0)

    async def save(self, voucher: Voucher, now: datetime) -> None:
        assert voucher.id is not None
        # With a limit, the row counts the uses: from the customers' counts, which every use moves
        # (a voucher that had no limit did not count them on its row).
        counted = sa.select(sa.func.coalesce(sa.func.sum(_U.count), 0)).where(_U.voucher_id == voucher.id)
        used = {"used_count": counted.scalar_subquery()} if voucher.usage_limit is not None else {}
        try:
            await self._session.execute(
                vouchers.update()
                .where(_V.id == voucher.id)
                .values(**_row_of(voucher), **used, updated_at=now)
            )
        except IntegrityError as exc:
            raise _taken() from exc
        await self._session.execute(
            voucher_products.delete().where(voucher_products.c.voucher_id == voucher.id)
        )
        await self._session.execute(
            voucher_categories.delete().where(voucher_categories.c.voucher_id == voucher.id)
        )
        await self._link(voucher)

    async def delete(self, voucher_id: int) -> bool:
        if not 0 < voucher_id <= MAX_ID:
            return False
        gone = await self._session.scalar(vouchers.delete().where(_V.id == voucher_id).returning(_V.id))
        return gone is not None

    async def naming_product(self, product_id: int) -> list[str]:
        query = (
            sa.select(_V.code)
            .join(voucher_products, voucher_products.c.voucher_id == _V.id)
            .where(voucher_products.c.product_id == product_id)
            .order_by(_V.code)
        )
        return list(await self._session.scalars(query))

    async def naming_category(self, category_id: int) -> list[str]:
        query = (
            sa.select(_V.code)
            .join(voucher_categories, voucher_categories.c.voucher_id == _V.id)
            .where(voucher_categories.c.category_id == category_id)
            .order_by(_V.code)
        )
        return list(await self._session.scalars(query))

    async def is_ordered(self, voucher_id: int) -> bool:
        found = await self._session.scalar(
            sa.select(orders.c.id).where(orders.c.voucher_id == voucher_id).limit(1)
        )
        return found is not None

    async def count_use(self, voucher_id: int, user_id: int, *, held: bool = False) -> bool:
        # (PostgreSQL counts it in the order placement's statement: `pg_fast_path._PLACE_ORDER`.)
        found = _V.id == voucher_id if held else sa.and_(_V.id == voucher_id, _V.is_active.is_(True))
        limits = sa.select(_V.usage_limit, _V.per_customer_limit).where(found)
        voucher = (await self._session.execute(limits)).first()
        if voucher is None:
            return False
        if voucher.usage_limit is not None and not held:  # counts on the voucher's row, conditionally
            counted = await self._session.scalar(
                vouchers.update()
                .where(_V.id == voucher_id, _V.used_count < _V.usage_limit)
                .values(used_count=_V.used_count + 1)
                .returning(_V.id)
            )
            if counted is None:
                return False
        limit = voucher.per_customer_limit
        insert = session_insert(self._session, voucher_uses).values(
            voucher_id=voucher_id, user_id=user_id, count=1
        )
        upsert = insert.on_conflict_do_update(
            index_elements=[_U.voucher_id, _U.user_id],
            set_={"count": _U.count + 1},
            where=sa.true() if limit is None else _U.count < limit,
        ).returning(_U.count)
        return (await self._session.execute(upsert)).first() is not None

    async def hold_use(self, voucher_id: int) -> bool:
        fast = await pg_fast_path(self._session)
        # Elsewhere (SQLite, whose writers take turns anyway) the placement counts the use itself.
        return fast is not None and await fast.hold_voucher_use(voucher_id)

    async def release_hold(self, voucher_id: int) -> None:
        await self._session.execute(_give_back_for_everyone(voucher_id))

    async def give_back(self, voucher_id: int, user_id: int) -> None:
        await self._session.execute(_give_back_for_everyone(voucher_id))
        await self._session.execute(
            voucher_uses.update()
            .where(_U.voucher_id == voucher_id, _U.user_id == user_id, _U.count > 0)
            .values(count=_U.count - 1)
        )

    async def uses_by(self, voucher_id: int, user_id: int) -> int:
        found = await self._session.scalar(
            sa.select(_U.count).where(_U.voucher_id == voucher_id, _U.user_id == user_id)
        )
        return int(found or 0)

    async def _one(
        self, condition: sa.ColumnElement[bool], *, for_update: bool = False, count_uses: bool = True
    ) -> Voucher | None:
        query = sa.select(vouchers).where(condition)
        rows = (await self._session.execute(query.with_for_update() if for_update else query)).all()
        found = await self._with_restrictions(rows, count_uses=count_uses)
        return found[0] if found else None

    async def _with_restrictions(self, rows: Sequence[Any], *, count_uses: bool = True) -> list[Voucher]:
        """The vouchers of these rows with their products and categories, and (`count_uses`) the
        uses of those without a usage_limit, whose rows do not count them (one query for all)."""
        ids = [int(r.id) for r in rows]
        products: dict[int, set[int]] = {}
        categories: dict[int, set[int]] = {}
        uses: dict[int, int] = {}
        unlimited = [int(r.id) for r in rows if r.usage_limit is None] if count_uses else []
        if ids:
            query = sa.union_all(
                sa.select(
                    voucher_products.c.voucher_id,
                    sa.literal("p").label("kind"),
                    voucher_products.c.product_id,
                ).where(voucher_products.c.voucher_id.in_(ids)),
                sa.select(
                    voucher_categories.c.voucher_id,
                    sa.literal("c").label("kind"),
                    voucher_categories.c.category_id,
                ).where(voucher_categories.c.voucher_id.in_(ids)),
                sa.select(_U.voucher_id, sa.literal("u").label("kind"), sa.func.sum(_U.count))
                .where(_U.voucher_id.in_(unlimited))
                .group_by(_U.voucher_id),
            )
            for voucher_id, kind, target in (await self._session.execute(query)).all():
                if kind == "u":
                    uses[int(voucher_id)] = int(target)
                else:
                    (products if kind == "p" else categories).setdefault(int(voucher_id), set()).add(
                        int(target)
                    )
        found = []
        for r in rows:
            voucher = _voucher_of(
                r, frozenset(products.get(int(r.id), ())), frozenset(categories.get(int(r.id), ()))
            )
            if int(r.id) in unlimited:
                voucher.used_count = uses.get(int(r.id), 0)
            found.append(voucher)
        return found

    async def _link(self, voucher: Voucher) -> None:
        if voucher.product_ids:
            await self._session.execute(
                voucher_products.insert(),
                [{"voucher_id": voucher.id, "product_id": p} for p in sorted(voucher.product_ids)],
            )
        if voucher.category_ids:
            await self._session.execute(
                voucher_categories.insert(),
                [{"voucher_id": voucher.id, "category_id": c} for c in sorted(voucher.category_ids)],
            )
