"""A voucher applied to a cart or an order: the lookups the domain's `deal` needs, in one place for
the cart (which checks it on every read) and the checkout (whose order placement counts its use)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
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

log = logging.getLogger(__name__)


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


@dataclass
class HeldUse:
    """A checkout's voucher use for everyone, counted before its order's transaction began
    (`VoucherRepository.hold_use`); `voucher_id` None: nothing held (or given back)."""

    voucher_id: int | None = None

    def covers(self, voucher_id: int | None) -> bool:
        """Whether the use of this voucher (an order's) is the one held."""
        return voucher_id is not None and voucher_id == self.voucher_id

    def stored_with(self, voucher_id: int | None) -> None:
        """Its order was stored, with this voucher's use: a hold of that use is the order's now."""
        if self.covers(voucher_id):
            self.voucher_id = None

    async def give_back(self, uow_factory: UnitOfWorkFactory) -> None:
        """Give the held use back (its order was not stored, or without the voucher); once. A
        failure is logged, not raised: the voucher then counts one use too many, never too few."""
        voucher_id, self.voucher_id = self.voucher_id, None
        if voucher_id is None:
            return
        try:
            async with uow_factory() as uow:
                await uow.vouchers.release_hold(voucher_id)
                await uow.commit()
        except Exception:
            log.exception("a held use of voucher %s could not be given back", voucher_id)


async def checkout_voucher(uow: UnitOfWork, code: str | None) -> tuple[Voucher | None, HeldUse]:
    """The voucher with this code, read for a checkout before its order's transaction begins, and,
    for one with a `usage_limit` and a use left, that use held for everyone: the caller must
    `give_back` the hold unless it stores the order with the voucher (`add_placed(...,
    voucher_held=True)`). Nothing is refused here: an unknown, inactive or used-up voucher is the
    order's to refuse, after its stock was checked (`for_checkout`, `add_placed`). No code: none."""
    voucher = None if code is None else await uow.vouchers.by_code(code)
    if voucher is None or voucher.id is None or not voucher.is_active or not voucher.uses_left:
        return voucher, HeldUse()  # nothing to hold: no limit, or nothing the order could count
    return voucher, HeldUse(voucher.id if await uow.vouchers.hold_use(voucher.id) else None)


async def for_checkout(
    uow: UnitOfWork, voucher: Voucher | None, lines: Sequence[VoucherLine], *, now: datetime
) -> Deal:
    """The voucher (`checkout_voucher`'s) applied to an order's lines: VoucherInvalid when it does
    not apply, VoucherExhausted when its uses are gone. Read without a lock: its use is counted,
    under its limits, when it is held or when the order is stored (`OrderRepository.add_placed`),
    which refuses it (VoucherUseRefused, see `refused_use`) if the last use went meanwhile."""
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
