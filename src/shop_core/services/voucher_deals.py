"""A voucher applied to a cart or an order: the lookups the domain's `deal` needs, in one place for
the cart (which checks it on every read) and the checkout (whose order placement counts its use)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shop_core.domain.catalog import descendants
from shop_core.domain.errors import DomainError, InvalidInput
from shop_core.domain.vouchers import (
    Deal,
    Reason,
    Voucher,
    VoucherExhausted,
    VoucherInvalid,
    VoucherLine,
    deal,
    normalize_code,
)
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory


def code_of(raw: str) -> str:
    """A code as sent by a customer, normalized; one that cannot be a code is simply unknown (the
    customer learns nothing from the difference)."""
    try:
        return normalize_code(raw)
    except InvalidInput:
        raise VoucherInvalid(Reason.UNKNOWN) from None


async def categories_of(uow: UnitOfWork, voucher: Voucher) -> set[int]:
    """The voucher's categories with all their descendants (one query, only for a voucher
    restricted to categories)."""
    if not voucher.category_ids:
        return set()
    parents = await uow.categories.parents()
    found: set[int] = set()
    for category_id in voucher.category_ids:
        found |= descendants(category_id, parents)
    return found


async def check_for_cart(
    uow: UnitOfWork, code: str, lines: Sequence[VoucherLine], *, user_id: int | None, now: datetime
) -> Deal:
    """The voucher with this (normalized) code applied to a cart's lines, or VoucherInvalid saying
    why it does not apply, this customer's own uses included (a guest's are counted at checkout,
    once logged in)."""
    voucher = await uow.vouchers.by_code(code)
    if (
        voucher is not None
        and voucher.id is not None
        and voucher.per_customer_limit is not None
        and user_id is not None
        and await uow.vouchers.uses_by(voucher.id, user_id) >= voucher.per_customer_limit
    ):
        raise VoucherInvalid(Reason.USED_UP)
    categories = await categories_of(uow, voucher) if voucher is not None else set()
    return deal(voucher, lines, categories=categories, now=now)


async def for_checkout(uow: UnitOfWork, code: str, lines: Sequence[VoucherLine], *, now: datetime) -> Deal:
    """The voucher applied to an order's lines: VoucherInvalid when it does not apply,
    VoucherExhausted when its uses are gone. Read without a lock: its use is counted, under its
    limits, when the order is stored (`OrderRepository.add_placed`), which refuses it
    (VoucherUseRefused, see `refused_use`) if the last use went meanwhile."""
    voucher = await uow.vouchers.by_code(code)
    if voucher is not None and voucher.is_active and voucher.uses_left == 0:
        raise VoucherExhausted()
    return deal(voucher, lines, categories=await categories_of(uow, voucher) if voucher else set(), now=now)


async def refused_use(uow_factory: UnitOfWorkFactory, voucher_id: int) -> DomainError:
    """Why storing an order could not count its voucher's use: it was deactivated (or deleted)
    meanwhile, or its uses (everyone's, or the customer's) are gone."""
    async with uow_factory() as uow:
        voucher = await uow.vouchers.get(voucher_id)
    if voucher is None or not voucher.is_active:
        return VoucherInvalid(Reason.UNKNOWN)
    return VoucherExhausted()
