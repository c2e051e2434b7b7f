"""Vouchers in bulk (`shop vouchers generate --count 500 --prefix XMAS-`): many vouchers on the same
terms, each with an unguessable code of its own (`domain.voucher_codes`), in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from shop_core.domain.voucher_codes import Draw, check_count, check_prefix, draw_codes, random_part
from shop_core.domain.vouchers import Voucher
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork
from shop_core.services.voucher_admin import apply_changes, changes_of, check_targets
from shop_core.services.voucher_commands import GenerateVouchers
from shop_core.services.voucher_views import VoucherView

BATCH = 500
"""Generated vouchers are stored (and reported to `progress`) this many at a time."""


async def generate_vouchers(
    cmd: GenerateVouchers,
    *,
    uow: UnitOfWork,
    clock: Clock,
    currency: str,
    draw: Draw = random_part,
    progress: Callable[[int], None] = lambda _: None,
) -> list[VoucherView]:
    """`count` new vouchers on the same terms, each with a code of its own (`prefix` + a random
    part; a code that exists already is drawn again), all stored in one transaction."""
    prefix = check_prefix(cmd.prefix)
    check_count(cmd.count)
    changes = changes_of(cmd, "count", "prefix")
    template = apply_changes(Voucher(code="", kind=cmd.kind, value=Decimal(0)), changes, currency)
    async with uow:
        await check_targets(uow, template, changes)
        made = [replace(template, code=code) for code in await _free_codes(uow, prefix, cmd.count, draw)]
        now = clock.now()
        for start in range(0, len(made), BATCH):
            batch = made[start : start + BATCH]
            await uow.vouchers.add_many(batch, now)
            progress(len(batch))
        await uow.commit()
    return [VoucherView.of(v, currency) for v in made]


async def _free_codes(uow: UnitOfWork, prefix: str, count: int, draw: Draw) -> list[str]:
    """`count` distinct codes that no voucher has; those found taken are drawn again."""
    codes = draw_codes(prefix, count, draw)
    seen = set(codes)
    taken = await uow.vouchers.codes_taken(codes)
    while taken:
        fresh = draw_codes(prefix, len(taken), draw, avoid=frozenset(seen))
        seen.update(fresh)
        codes = [c for c in codes if c not in taken] + fresh
        taken = await uow.vouchers.codes_taken(fresh)
    return codes
