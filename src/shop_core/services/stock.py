"""Stock changes by operators, each recorded as a movement."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, overload

import msgspec

from shop_core.domain import webhooks
from shop_core.domain.actors import Actor, require_staff
from shop_core.domain.catalog import Product
from shop_core.domain.errors import Conflict, InvalidInput, NotFound
from shop_core.domain.stock import StockMovement, check_change, fell_below
from shop_core.domain.variants import Variant
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.services import jobs
from shop_core.services.cache_aside import CacheAside
from shop_core.services.catalog_commands import ChangeStock
from shop_core.services.catalog_views import StockMovementView
from shop_core.services.stock_movements import record_movement
from shop_core.services.webhook_events import emit


async def change_stock(
    cmd: ChangeStock,
    actor: Actor,
    *,
    uow: UnitOfWork,
    cache: CacheAside,
    clock: Clock,
    low_stock_threshold: int = 0,
) -> StockMovementView:
    """Set the stock (`quantity`) or move it by a non-zero `delta`, with a reason that is not blank,
    in one conditional statement; never below zero."""
    check_change(quantity=cmd.quantity, delta=cmd.delta, reason=cmd.reason)
    async with uow:
        product, variant = await _by_sku(uow, cmd.sku, for_update=True)
        assert product.id is not None
        delta = cmd.delta if cmd.delta is not None else (cmd.quantity or 0) - variant.stock_quantity
        balance = await uow.products.change_stock(product.id, delta, variant.id)
        if balance is None:
            raise Conflict(f"Only {variant.stock_quantity} of {cmd.sku} in stock; cannot remove {-delta}.")
        movement = StockMovement(
            product_id=product.id,
            delta=delta,
            reason=cmd.reason.strip(),
            balance_after=balance,
            created_at=clock.now(),
            actor=actor.label,
            note=cmd.note.strip(),
            variant_id=variant.id,
        )
        await record_movement(uow, movement)
        if fell_below(low_stock_threshold, balance, delta):
            await record_low_stock(uow, product.id, balance, movement.created_at)
        await uow.commit()
    await cache.invalidate()
    return _view(movement)


async def stock_history(sku: str, *, uow: UnitOfWork, limit: int = 100) -> list[StockMovementView]:
    async with uow:
        product, variant = await _by_sku(uow, sku, for_update=False, whole_product=True)
        assert product.id is not None
        which = None if variant is None else variant.id  # a product's own code: all its variants
        movements = await uow.stock.for_product(product.id, limit=limit, variant_id=which)
    return [_view(m) for m in movements]


@overload
async def _by_sku(
    uow: UnitOfWork, sku: str, *, for_update: bool, whole_product: Literal[False] = False
) -> tuple[Product, Variant]: ...
@overload
async def _by_sku(
    uow: UnitOfWork, sku: str, *, for_update: bool, whole_product: Literal[True]
) -> tuple[Product, Variant | None]: ...
async def _by_sku(
    uow: UnitOfWork, sku: str, *, for_update: bool, whole_product: bool = False
) -> tuple[Product, Variant | None]:
    """The product and the variant a sku names: a variant's own sku, or the sku of a product without
    options (its default variant). A product with option variants has a stock per variant only: its
    own code names no variant (None when `whole_product` may be meant, else InvalidInput)."""
    owner = await uow.variants.sku_owner(sku)
    product = None if owner is None else await uow.products.get(owner, for_update=for_update)
    if product is None:
        raise NotFound(f"No product with the sku {sku!r}.")
    variants = await uow.variants.for_product(owner or 0)
    found = next((v for v in variants if v.sku == sku), None) or next(
        (v for v in variants if v.is_default), None
    )
    if found is None and whole_product:
        return product, None
    if found is None:
        skus = ", ".join(v.sku for v in variants)
        raise InvalidInput.field("sku", f"{sku} has variants, each with its own stock: name one of {skus}.")
    return product, found


async def record_low_stock(uow: UnitOfWork, product_id: int, balance: int, now: datetime) -> None:
    """Alert staff (a job, after the commit) that the product just fell below the threshold."""
    key = f"{jobs.LOW_STOCK_ALERT}:{product_id}:{now.isoformat()}"
    await jobs.record(uow, jobs.LOW_STOCK_ALERT, key, {"product_id": product_id, "stock": balance}, now)
    await emit(uow, webhooks.STOCK_LOW, lambda: {"product_id": product_id, "stock": balance}, now)


def _view(movement: StockMovement) -> StockMovementView:
    assert movement.id is not None
    return msgspec.convert(
        {f: getattr(movement, f) for f in StockMovementView.__struct_fields__},
        StockMovementView,
        from_attributes=False,
    )


class Stock:
    """Staff's stock changes, each one a recorded movement, and the movement history."""

    def __init__(
        self, *, uow: UnitOfWorkFactory, cache: CacheAside, clock: Clock, low_stock_threshold: int
    ) -> None:
        self._uow = uow
        self._cache = cache
        self._clock = clock
        self._low_stock_threshold = low_stock_threshold

    async def change_stock(self, cmd: ChangeStock, actor: Actor) -> StockMovementView:
        require_staff(actor)
        return await change_stock(
            cmd,
            actor,
            uow=self._uow(),
            cache=self._cache,
            clock=self._clock,
            low_stock_threshold=self._low_stock_threshold,
        )

    async def stock_history(self, sku: str, actor: Actor, *, limit: int = 100) -> list[StockMovementView]:
        require_staff(actor)
        return await stock_history(sku, uow=self._uow(), limit=limit)
