"""Staff's vouchers, one at a time: create, list, show, change, deactivate, delete (GET/POST/PATCH/
DELETE /api/vouchers/, `shop vouchers ...`). The rules are the domain's (`domain.vouchers`); what
needs the store currency or the database (codes taken, products and categories that exist, uses
already counted) is checked here, everything before anything is stored: a refusal stores nothing.

Two decisions of the staff API:
- `usage_limit` cannot go below `used_count` (400): the uses counted are orders placed; a limit
  equal to it leaves no uses. The voucher's row is locked while it changes, so a checkout counting
  a use at the same moment waits, then sees the new limit.
- DELETE erases a voucher no order used; one that orders used is deactivated instead (they keep
  its code anyway), as products are.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from shop_core.domain.errors import InvalidInput, NotFound
from shop_core.domain.money import minor_units
from shop_core.domain.voucher_codes import VoucherCodeTaken
from shop_core.domain.vouchers import Voucher, VoucherKind, check_voucher, normalize_code
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork
from shop_core.ports.vouchers import VoucherFilter
from shop_core.services.views import Page
from shop_core.services.voucher_commands import CreateVoucher, UpdateVoucher
from shop_core.services.voucher_views import VoucherView

_MISSING: Any = object()
_SEARCHABLE = re.compile(r"^[A-Z0-9_-]*$")
_AN_ID = re.compile(r"^[0-9]{1,10}$")


def changes_of(cmd: msgspec.Struct, *leave_out: str) -> dict[str, Any]:
    """The fields a command sets (a PATCH's sent ones), but those left out."""
    fields = msgspec.structs.asdict(cmd)
    return {k: v for k, v in fields.items() if v is not msgspec.UNSET and k not in leave_out}


def _value(kind: VoucherKind, raw: Decimal | None, currency: str) -> Decimal:
    """The value as a Voucher keeps it: a percentage as given, a fixed amount in minor units."""
    if raw is _MISSING and kind is VoucherKind.FREE_SHIPPING:
        return Decimal(0)
    if raw is _MISSING or (raw is None and kind is not VoucherKind.FREE_SHIPPING):
        raise InvalidInput.field("value", f"A {kind.value} voucher needs its value.")
    if raw is None:
        return Decimal(0)
    if not raw.is_finite():
        raise InvalidInput.field("value", "Use a number.")
    return Decimal(minor_units(raw, currency, field="value")) if kind is VoucherKind.FIXED else raw


def _utc(moment: datetime | None, field: str) -> datetime | None:
    try:
        return None if moment is None else moment.astimezone(UTC)
    except OverflowError:
        raise InvalidInput.field(field, "Use a moment between the years 1 and 9999 (in UTC).") from None


def apply_changes(voucher: Voucher, changes: dict[str, Any], currency: str) -> Voucher:
    """A copy of `voucher` with the changes (fields of a voucher command) applied, checked against
    the voucher's invariants. A new kind needs its value too (free shipping has none)."""
    changed = replace(voucher)
    if "code" in changes:
        changed.code = normalize_code(changes["code"])
    if "kind" in changes:
        changed.kind = VoucherKind(changes["kind"])
    if "value" in changes or changed.kind is not voucher.kind:
        changed.value = _value(changed.kind, changes.get("value", _MISSING), currency)
    if "min_subtotal" in changes:
        least = changes["min_subtotal"]
        changed.min_subtotal = None if least is None else minor_units(least, currency, field="min_subtotal")
    for name in ("starts_at", "ends_at"):
        if name in changes:
            setattr(changed, name, _utc(changes[name], name))
    for name in ("usage_limit", "per_customer_limit", "is_active"):
        if name in changes:
            setattr(changed, name, changes[name])
    for name in ("product_ids", "category_ids"):
        if name in changes:
            setattr(changed, name, frozenset(changes[name]))
    check_voucher(changed)
    return changed


async def check_targets(uow: UnitOfWork, voucher: Voucher, changes: dict[str, Any]) -> None:
    """The products and categories a voucher is restricted to exist; InvalidInput names those that
    do not."""
    products: frozenset[int] = frozenset()
    categories: frozenset[int] = frozenset()
    if "product_ids" in changes and voucher.product_ids:
        products = voucher.product_ids - (await uow.products.by_ids(sorted(voucher.product_ids))).keys()
    if "category_ids" in changes and voucher.category_ids:
        categories = voucher.category_ids - (await uow.categories.parents()).keys()
    if products or categories:
        raise unknown_targets(products, categories)


def unknown_targets(products: AbstractSet[int], categories: AbstractSet[int]) -> InvalidInput:
    """The refusal of a voucher restricted to products or categories that do not exist."""
    errors: dict[str, list[str]] = {}
    if products:
        errors["product_ids"] = [f"No such products: {', '.join(map(str, sorted(products)))}."]
    if categories:
        errors["category_ids"] = [f"No such categories: {', '.join(map(str, sorted(categories)))}."]
    return InvalidInput("The voucher names products or categories that do not exist.", errors)


def below_uses(used_count: int) -> InvalidInput:
    """The refusal of a `usage_limit` below the uses already counted."""
    return InvalidInput.field(
        "usage_limit", f"This voucher has been used {used_count} times: the limit cannot be below that."
    )


async def create_voucher(cmd: CreateVoucher, *, uow: UnitOfWork, clock: Clock, currency: str) -> VoucherView:
    changes = changes_of(cmd)
    voucher = apply_changes(Voucher(code="", kind=cmd.kind, value=Decimal(0)), changes, currency)
    async with uow:
        await check_targets(uow, voucher, changes)
        if await uow.vouchers.codes_taken([voucher.code]):
            raise VoucherCodeTaken(voucher.code)
        await uow.vouchers.add(voucher, clock.now())
        await uow.commit()
    return VoucherView.of(voucher, currency)


async def list_vouchers(
    *, uow: UnitOfWork, currency: str, search: str | None, active: bool | None, offset: int, limit: int
) -> Page[VoucherView]:
    """Newest first; `search` finds codes containing it (in any case)."""
    wanted = (search or "").strip().upper() or None
    if wanted is not None and not _SEARCHABLE.match(wanted):
        return Page(items=[], total=0)  # no code has such characters
    async with uow:
        found, total = await uow.vouchers.page(VoucherFilter(wanted, active), offset=offset, limit=limit)
    return Page(items=[VoucherView.of(v, currency) for v in found], total=total)


async def get_voucher(voucher_id: int, *, uow: UnitOfWork, currency: str) -> VoucherView:
    async with uow:
        voucher = await uow.vouchers.get(voucher_id)
    if voucher is None:
        raise NotFound("No such voucher.")
    return VoucherView.of(voucher, currency)


async def _find(uow: UnitOfWork, key: str, *, for_update: bool = False) -> Voucher:
    """The voucher with this code (in any case), else with this id (its uses counted, and its row
    locked `for_update`)."""
    key = key.strip()
    voucher_id = None
    with suppress(InvalidInput):  # not a code: perhaps an id
        named = await uow.vouchers.by_code(normalize_code(key))
        voucher_id = None if named is None else named.id
    if voucher_id is None and _AN_ID.match(key):
        voucher_id = int(key)
    found = None if voucher_id is None else await uow.vouchers.get(voucher_id, for_update=for_update)
    if found is None:
        raise NotFound(f"No voucher with the code or id {key!r}.")
    return found


async def find_voucher(key: str, *, uow: UnitOfWork, currency: str) -> VoucherView:
    async with uow:
        voucher = await _find(uow, key)
    return VoucherView.of(voucher, currency)


async def update_voucher(
    voucher_id: int, cmd: UpdateVoucher, *, uow: UnitOfWork, clock: Clock, currency: str
) -> VoucherView:
    changes = changes_of(cmd)
    async with uow:
        current = await uow.vouchers.get(voucher_id, for_update=True)
        if current is None:
            raise NotFound("No such voucher.")
        voucher = apply_changes(current, changes, currency)
        limit = voucher.usage_limit
        if "usage_limit" in changes and limit is not None and limit < voucher.used_count:
            raise below_uses(voucher.used_count)
        await check_targets(uow, voucher, changes)
        if voucher.code != current.code and await uow.vouchers.codes_taken([voucher.code]):
            raise VoucherCodeTaken(voucher.code)
        await uow.vouchers.save(voucher, clock.now())
        await uow.commit()
    return VoucherView.of(voucher, currency)


async def deactivate_voucher(key: str, *, uow: UnitOfWork, clock: Clock, currency: str) -> VoucherView:
    """Stop a voucher (by code or id) from applying; carts that hold it say so on their next read."""
    async with uow:
        voucher = await _find(uow, key, for_update=True)
        if voucher.is_active:
            voucher.is_active = False
            await uow.vouchers.save(voucher, clock.now())
            await uow.commit()
    return VoucherView.of(voucher, currency)


async def delete_voucher(voucher_id: int, *, uow: UnitOfWork, clock: Clock) -> None:
    """Erase a voucher, or deactivate it when orders used it."""
    async with uow:
        voucher = await uow.vouchers.get(voucher_id, for_update=True)
        if voucher is None:
            raise NotFound("No such voucher.")
        assert voucher.id is not None
        if await uow.vouchers.is_ordered(voucher.id):
            voucher.is_active = False  # orders keep its code: deactivated, never erased
            await uow.vouchers.save(voucher, clock.now())
        else:
            await uow.vouchers.delete(voucher.id)
        await uow.commit()
