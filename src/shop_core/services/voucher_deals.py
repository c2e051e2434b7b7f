"""A voucher applied to a cart or an order: the lookups the domain's `deal` needs, in one place for
the cart (which checks it on every read) and the checkout (which counts its use)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shop_core.domain.catalog import descendants
from shop_core.domain.errors import InvalidInput
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
from shop_core.ports.persistence import UnitOfWork


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


async def use_at_checkout(
    uow: UnitOfWork, code: str, lines: Sequence[VoucherLine], *, user_id: int, now: datetime
) -> Deal:
    """Count this customer's use of the voucher in the order's transaction and apply it to the
    order's lines: VoucherExhausted when its uses (everyone's, or this customer's) are gone,
    VoucherInvalid when it does not apply. Either way the caller's transaction is rolled back,
    and the use with it."""
    voucher = await uow.vouchers.use(code, user_id)
    if voucher is None:
        known = await uow.vouchers.by_code(code)
        if known is None or not known.is_active:
            raise VoucherInvalid(Reason.UNKNOWN)
        raise VoucherExhausted()
    return deal(voucher, lines, categories=await categories_of(uow, voucher), now=now, counted=True)
