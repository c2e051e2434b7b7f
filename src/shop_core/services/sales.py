"""Staff's timed sales (`/api/sales/`, `shop sales ...`): create, list, show, change, end, delete.

A sale names products and categories that must exist (400 naming those that do not; nothing is
stored on any error). Every change moves the catalog's version on, as product writes do, so cached
catalog pages show the new prices at once; pages also expire by themselves when a sale starts or
ends (see `catalog_reads`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from shop_core.domain.actors import Actor, require_staff
from shop_core.domain.errors import Conflict, InvalidInput, NotFound
from shop_core.domain.sales import PERCENT_STEP, Sale, check_sale, in_utc
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.services.cache_aside import CacheAside
from shop_core.services.catalog_commands import UNSET, Id, ShortName, Unset
from shop_core.services.commands import Command
from shop_core.services.views import Page

MAX_TARGETS = 10_000
Percentage = Annotated[
    Decimal,
    msgspec.Meta(description='Percent off: more than 0, at most 100, at most two decimals ("20.00").'),
]
Instant = Annotated[
    datetime,
    msgspec.Meta(tz=True, description="ISO 8601 with a time zone, e.g. 2026-11-27T00:00:00Z."),
]
Ids = Annotated[list[Id], msgspec.Meta(max_length=MAX_TARGETS)]
Status = Literal["scheduled", "running", "ended"]


class CreateSale(Command):
    name: ShortName
    percentage: Percentage
    ends_at: Instant
    starts_at: Annotated[Instant | None, msgspec.Meta(description="Left out: now.")] = None
    product_ids: Annotated[Ids, msgspec.Meta(description="Products on sale.")] = []
    category_ids: Annotated[
        Ids, msgspec.Meta(description="Categories on sale, with all their subcategories' products.")
    ] = []


class UpdateSale(Command):
    """PATCH: only the fields sent change (a list sent replaces the list)."""

    name: ShortName | Unset = UNSET
    percentage: Percentage | Unset = UNSET
    starts_at: Instant | Unset = UNSET
    ends_at: Instant | Unset = UNSET
    product_ids: Ids | Unset = UNSET
    category_ids: Ids | Unset = UNSET


class SaleView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    percentage: Annotated[Decimal, msgspec.Meta(description='Percent off, two decimals: "20.00".')]
    starts_at: datetime
    ends_at: Annotated[datetime, msgspec.Meta(description="The first instant it no longer runs.")]
    product_ids: list[int]
    category_ids: list[int]
    status: Annotated[Status, msgspec.Meta(description="scheduled, running or ended, as of now.")]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, sale: Sale, now: datetime) -> SaleView:
        assert sale.id is not None
        status: Status = (
            "running" if sale.is_running(now) else "ended" if sale.has_ended(now) else "scheduled"
        )
        return cls(
            id=sale.id,
            name=sale.name,
            percentage=sale.percentage,
            starts_at=sale.starts_at,
            ends_at=sale.ends_at,
            product_ids=sorted(sale.product_ids),
            category_ids=sorted(sale.category_ids),
            status=status,
            created_at=sale.created_at,
            updated_at=sale.updated_at,
        )


async def _checked(uow: UnitOfWork, sale: Sale, *, targets_changed: bool) -> Sale:
    """The sale as stored (UTC, two decimals), once its rules hold and what it names exists;
    InvalidInput naming every field at fault otherwise."""
    sale.name = sale.name.strip()
    sale.starts_at, sale.ends_at = in_utc(sale.starts_at, "starts_at"), in_utc(sale.ends_at, "ends_at")
    errors: dict[str, list[str]] = {}
    try:
        check_sale(sale)
    except InvalidInput as exc:
        errors = exc.errors
    if targets_changed:
        products, categories = await uow.sales.unknown(sale.product_ids, sale.category_ids)
        if products:
            errors["product_ids"] = [f"There is no product {', '.join(map(str, products))}."]
        if categories:
            errors["category_ids"] = [f"There is no category {', '.join(map(str, categories))}."]
    if errors:
        raise InvalidInput("The sale is not valid.", errors)
    sale.percentage = sale.percentage.quantize(PERCENT_STEP)
    return sale


class Sales:
    """Timed sales, staff only. Each write commits, then invalidates the catalog cache."""

    def __init__(self, *, uow: UnitOfWorkFactory, cache: CacheAside, clock: Clock) -> None:
        self._uow = uow
        self._cache = cache
        self._clock = clock

    async def create_sale(self, cmd: CreateSale, actor: Actor) -> SaleView:
        require_staff(actor)
        now = self._clock.now()
        sale = Sale(
            name=cmd.name,
            percentage=cmd.percentage,
            starts_at=cmd.starts_at or now,
            ends_at=cmd.ends_at,
            product_ids=frozenset(cmd.product_ids),
            category_ids=frozenset(cmd.category_ids),
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            sale = await uow.sales.add(await _checked(uow, sale, targets_changed=True))
            await uow.commit()
        await self._cache.invalidate()
        return SaleView.of(sale, now)

    async def list_sales(self, actor: Actor, *, offset: int = 0, limit: int = 100) -> Page[SaleView]:
        """Newest first."""
        require_staff(actor)
        now = self._clock.now()
        async with self._uow() as uow:
            sales, total = await uow.sales.page(offset=offset, limit=limit)
        return Page(items=[SaleView.of(s, now) for s in sales], total=total)

    async def get_sale(self, sale_id: int, actor: Actor) -> SaleView:
        require_staff(actor)
        async with self._uow() as uow:
            return SaleView.of(await _found(uow, sale_id), self._clock.now())

    async def update_sale(self, sale_id: int, cmd: UpdateSale, actor: Actor) -> SaleView:
        require_staff(actor)
        changes = {k: v for k, v in msgspec.structs.asdict(cmd).items() if v is not UNSET}
        now = self._clock.now()
        async with self._uow() as uow:
            sale = await _found(uow, sale_id)
            for name in ("name", "percentage", "starts_at", "ends_at"):
                if name in changes:
                    setattr(sale, name, changes[name])
            for name in ("product_ids", "category_ids"):
                if name in changes:
                    setattr(sale, name, frozenset(changes[name]))
            targets_changed = bool(changes.keys() & {"product_ids", "category_ids"})
            sale = await _checked(uow, sale, targets_changed=targets_changed)
            sale.updated_at = now
            await uow.sales.save(sale)
            await uow.commit()
        await self._cache.invalidate()
        return SaleView.of(sale, now)

    async def end_sale(self, sale_id: int, actor: Actor) -> SaleView:
        """End a running sale now (`ends_at`); one that has ended already stays as it is. One that
        has not started cannot end (Conflict): delete it, or change its dates."""
        require_staff(actor)
        now = self._clock.now()
        async with self._uow() as uow:
            sale = await _found(uow, sale_id)
            if sale.has_ended(now):
                return SaleView.of(sale, now)
            if sale.starts_at >= now:  # it has not run yet: ending it would end it before it starts
                raise Conflict(
                    f"Sale {sale_id} has not started yet (it starts at {sale.starts_at.isoformat()}): "
                    "delete it, or change its dates."
                )
            sale.ends_at = sale.updated_at = now
            await uow.sales.save(sale)
            await uow.commit()
        await self._cache.invalidate()
        return SaleView.of(sale, now)

    async def delete_sale(self, sale_id: int, actor: Actor) -> None:
        require_staff(actor)
        async with self._uow() as uow:
            await uow.sales.delete(await _found(uow, sale_id))
            await uow.commit()
        await self._cache.invalidate()


async def _found(uow: UnitOfWork, sale_id: int) -> Sale:
    sale = await uow.sales.get(sale_id)
    if sale is None:
        raise NotFound("No such sale.")
    return sale
