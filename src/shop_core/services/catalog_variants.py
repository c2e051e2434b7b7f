"""Staff use cases on a product's variants (POST/PATCH/DELETE /api/products/{id}/variants/, `shop
products variants ...`), and `write_variant`, the one way a variant is created or changed, which the
catalog imports use too.

A product without options has one variant, its default, which the legacy product fields keep in
step. Once the product has options, the first variant added takes over the default variant's row
(its id, its stock unless a stock is given, and the stock movements and order lines that point to
it) and becomes an option variant; later ones are new rows. From then on the product's stock lives
on its variants alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from shop_core.domain import webhooks
from shop_core.domain.actors import Actor
from shop_core.domain.catalog import Product
from shop_core.domain.errors import Conflict, InvalidInput, NotFound
from shop_core.domain.money import minor_units
from shop_core.domain.stock import StockMovement, StockReason
from shop_core.domain.variants import (
    Variant,
    check_new_combination,
    check_values,
    stored_options,
)
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork
from shop_core.services.cache_aside import CacheAside
from shop_core.services.catalog_commands import UNSET, Amount, Quantity, Sku, Unset
from shop_core.services.catalog_views import VariantView, staff_product_view, variant_view
from shop_core.services.commands import NO_NUL, Command
from shop_core.services.stock_movements import record_movement
from shop_core.services.webhook_events import emit

OptionName = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=NO_NUL)]
OptionValue = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]
Grams = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]
Values = Annotated[
    dict[OptionName, OptionValue],
    msgspec.Meta(
        max_length=3,
        description="One value for each of the product's options, by option name.",
        examples=[{"Size": "M", "Color": "Red"}],
    ),
]


class AddVariant(Command):
    sku: Sku
    options: Values = {}
    price: Amount | None = None
    stock_quantity: Quantity | None = None
    weight_grams: Grams | None = None
    is_active: bool = True


class UpdateVariant(Command):
    """PATCH: only the fields sent change. `price: null` returns to the product's base price."""

    sku: Sku | Unset = UNSET
    options: Values | Unset = UNSET
    price: Amount | Unset | None = UNSET
    stock_quantity: Quantity | Unset = UNSET
    weight_grams: Grams | Unset | None = UNSET
    is_active: bool | Unset = UNSET


@dataclass(frozen=True)
class VariantDraft:
    """A variant as it should be after a write: prices in minor units. `stock_quantity` None keeps
    the stock (a new variant: 0, a take-over of the default variant: the stock it has)."""

    sku: str
    options: dict[str, str]
    price: int | None = None
    stock_quantity: int | None = None
    weight_grams: int | None = None
    is_active: bool = True


async def write_variant(
    uow: UnitOfWork,
    product: Product,
    draft: VariantDraft,
    *,
    current: Variant | None,
    existing: list[Variant],
    actor: Actor,
    now: datetime,
    reason: StockReason,
) -> Variant:
    """Create (`current` None) or change a variant of `product` (locked, with its `existing`
    variants), checking its option values, that no other variant has them, and that its sku is no
    one else's; a stock change is recorded as a movement with `reason`."""
    assert product.id is not None
    options = stored_options(product.options)
    if not options and current is None:
        raise InvalidInput.field(
            "options", "The product has no options yet: give it its options (Size, Color, ...) first."
        )
    keeps_default = current is not None and current.is_default and not draft.options
    values = {} if keeps_default else check_values(options, draft.options)
    if current is None and options:
        current = next((v for v in existing if v.is_default), None)  # the first takes it over
    check_new_combination(options, values, [v for v in existing if v is not current])
    await _check_sku(uow, product, draft.sku, [v for v in existing if v is not current])
    if draft.price is not None and draft.price < 0:
        raise InvalidInput.field("price", "The price cannot be negative.")
    if current is None:
        variant = Variant(
            product.id,
            draft.sku,
            values,
            draft.price,
            draft.stock_quantity or 0,
            draft.weight_grams,
            draft.is_active,
            created_at=now,
            updated_at=now,
        )
        variant = await uow.variants.add(variant)
        if variant.stock_quantity:
            await _record(uow, variant, variant.stock_quantity, StockReason.INITIAL, actor=actor, now=now)
        return variant
    assert current.id is not None
    wanted = current.stock_quantity if draft.stock_quantity is None else draft.stock_quantity
    delta = wanted - current.stock_quantity
    if delta:
        balance = await uow.products.change_stock(product.id, delta, current.id)
        assert balance == wanted  # the variant's row is locked: nothing else moved it
        current.stock_quantity = wanted
        await _record(uow, current, delta, reason, actor=actor, now=now)
    if current.is_default and not values:  # still the default: the product's own sku follows it
        product.sku = draft.sku
        product.updated_at = now
        await uow.products.save(product)
    current.sku, current.options, current.price = draft.sku, values, draft.price
    current.weight_grams, current.is_active, current.updated_at = draft.weight_grams, draft.is_active, now
    current.is_default = current.is_default and not values
    await uow.variants.save(current)
    return current


async def _check_sku(uow: UnitOfWork, product: Product, sku: str, others: list[Variant]) -> None:
    """A sku names one thing: no other product (nor its variants) may have it, nor another variant
    of this product. This product's own code may be one of its variants' skus."""
    owner = await uow.variants.sku_owner(sku)
    if (owner is not None and owner != product.id) or any(v.sku == sku for v in others):
        raise Conflict(f"The sku {sku!r} is already in use.")


async def _record(
    uow: UnitOfWork, variant: Variant, delta: int, reason: StockReason, *, actor: Actor, now: datetime
) -> None:
    await record_movement(
        uow,
        StockMovement(
            product_id=variant.product_id,
            delta=delta,
            reason=reason.value,
            balance_after=variant.stock_quantity,
            created_at=now,
            actor=actor.label,
            variant_id=variant.id,
        ),
    )


async def _locked(uow: UnitOfWork, product_id: int) -> tuple[Product, list[Variant]]:
    """The product and its variants, locked (variants first: the order every stock change takes)."""
    product = await uow.products.get(product_id, for_update=True)
    if product is None:
        raise NotFound("No such product.")
    return product, await uow.variants.for_product(product_id)


def _own(variant_id: int, existing: list[Variant]) -> Variant:
    found = next((v for v in existing if v.id == variant_id), None)
    if found is None:
        raise NotFound("No such variant of this product.")
    return found


async def add_variant(
    product_id: int,
    cmd: AddVariant,
    actor: Actor,
    *,
    uow: UnitOfWork,
    cache: CacheAside,
    clock: Clock,
    currency: str,
) -> VariantView:
    def draft(_: Variant | None) -> VariantDraft:
        return VariantDraft(
            sku=cmd.sku.strip(),
            options=dict(cmd.options),
            price=None if cmd.price is None else minor_units(cmd.price, currency, field="price"),
            stock_quantity=cmd.stock_quantity,
            weight_grams=cmd.weight_grams,
            is_active=cmd.is_active,
        )

    return await _written(
        product_id, None, draft, actor, uow=uow, cache=cache, clock=clock, currency=currency
    )


async def update_variant(
    product_id: int,
    variant_id: int,
    cmd: UpdateVariant,
    actor: Actor,
    *,
    uow: UnitOfWork,
    cache: CacheAside,
    clock: Clock,
    currency: str,
) -> VariantView:
    def draft(current: Variant | None) -> VariantDraft:
        assert current is not None
        price: int | None = current.price
        if cmd.price is not UNSET:
            price = None if cmd.price is None else minor_units(cmd.price, currency, field="price")
        return VariantDraft(
            sku=current.sku if cmd.sku is UNSET else cmd.sku.strip(),
            options=dict(current.options if cmd.options is UNSET else cmd.options),
            price=price,
            stock_quantity=None if cmd.stock_quantity is UNSET else cmd.stock_quantity,
            weight_grams=current.weight_grams if cmd.weight_grams is UNSET else cmd.weight_grams,
            is_active=current.is_active if cmd.is_active is UNSET else cmd.is_active,
        )

    return await _written(
        product_id, variant_id, draft, actor, uow=uow, cache=cache, clock=clock, currency=currency
    )


async def _written(
    product_id: int,
    variant_id: int | None,
    draft_of: Callable[[Variant | None], VariantDraft],
    actor: Actor,
    *,
    uow: UnitOfWork,
    cache: CacheAside,
    clock: Clock,
    currency: str,
) -> VariantView:
    """Write the variant `draft_of` drafts (from the stored one, for a change): a new one of the
    product (`variant_id` None) or that variant of it; commit, then invalidate the catalog."""
    now = clock.now()
    async with uow:
        product, existing = await _locked(uow, product_id)
        current = None if variant_id is None else _own(variant_id, existing)
        variant = await write_variant(
            uow,
            product,
            draft_of(current),
            current=current,
            existing=existing,
            actor=actor,
            now=now,
            reason=StockReason.ADJUSTMENT,
        )
        view = variant_view(product, variant, currency, await _sale_of(uow, product, now))
        await emit(uow, webhooks.PRODUCT_UPDATED, lambda: staff_product_view(product, currency), now)
        await uow.commit()
    await cache.invalidate()
    return view


async def delete_variant(product_id: int, variant_id: int, *, uow: UnitOfWork, cache: CacheAside) -> None:
    """Erase a variant, or deactivate it when orders reference it; a product keeps at least one."""
    async with uow:
        _product, existing = await _locked(uow, product_id)
        variant = _own(variant_id, existing)
        if len(existing) == 1:
            raise Conflict("A product keeps at least one variant: delete the product instead.")
        if variant.id is not None and await uow.variants.is_ordered(variant.id):
            variant.is_active = False  # orders keep pointing at it: deactivated, never erased
            await uow.variants.save(variant)
        else:
            await uow.variants.delete(variant)
        await uow.commit()
    await cache.invalidate()


async def list_variants(
    product_id: int, *, uow: UnitOfWork, clock: Clock, currency: str
) -> list[VariantView]:
    """Every variant of the product, inactive ones too (staff)."""
    async with uow:
        product = await uow.products.get(product_id)
        if product is None:
            raise NotFound("No such product.")
        sale = await _sale_of(uow, product, clock.now())
        return [variant_view(product, v, currency, sale) for v in await uow.variants.for_product(product_id)]


async def _sale_of(uow: UnitOfWork, product: Product, now: datetime) -> Decimal | None:
    """The percentage of the best sale running on the product, if any (its variants' final prices
    follow it, as in the catalog)."""
    assert product.id is not None
    return (await uow.sales.running_percentages({product.id: product.category_id}, now)).get(product.id)
