"""The vouchers area: staff's discount codes (`voucher_admin`, one at a time; `voucher_generation`,
in bulk), bound to their ports, each use case checking that staff asks. Customers apply a voucher
to their cart (`shop.cart`) and checkout counts its use (`shop.orders`)."""

from __future__ import annotations

from collections.abc import Callable

from shop_core.domain.actors import Actor, require_staff
from shop_core.domain.voucher_codes import Draw, random_part
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWorkFactory
from shop_core.services import voucher_admin, voucher_generation
from shop_core.services.views import Page
from shop_core.services.voucher_commands import CreateVoucher, GenerateVouchers, UpdateVoucher
from shop_core.services.voucher_views import VoucherView


class Vouchers:
    """Staff's discount codes. (Customers apply one to their cart: `shop.cart`; checkout counts
    its use: `shop.orders`.)"""

    def __init__(
        self, *, uow: UnitOfWorkFactory, clock: Clock, currency: str, draw: Draw = random_part
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._currency = currency
        self._draw = draw

    async def create_voucher(self, cmd: CreateVoucher, actor: Actor) -> VoucherView:
        require_staff(actor)
        return await voucher_admin.create_voucher(
            cmd, uow=self._uow(), clock=self._clock, currency=self._currency
        )

    async def list_vouchers(
        self,
        actor: Actor,
        *,
        search: str | None = None,
        active: bool | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> Page[VoucherView]:
        require_staff(actor)
        return await voucher_admin.list_vouchers(
            uow=self._uow(), currency=self._currency, search=search, active=active, offset=offset, limit=limit
        )

    async def get_voucher(self, voucher_id: int, actor: Actor) -> VoucherView:
        require_staff(actor)
        return await voucher_admin.get_voucher(voucher_id, uow=self._uow(), currency=self._currency)

    async def find_voucher(self, key: str, actor: Actor) -> VoucherView:
        """By code (in any case), else by id (`shop vouchers show CODE_OR_ID`)."""
        require_staff(actor)
        return await voucher_admin.find_voucher(key, uow=self._uow(), currency=self._currency)

    async def update_voucher(self, voucher_id: int, cmd: UpdateVoucher, actor: Actor) -> VoucherView:
        require_staff(actor)
        return await voucher_admin.update_voucher(
            voucher_id, cmd, uow=self._uow(), clock=self._clock, currency=self._currency
        )

    async def deactivate_voucher(self, key: str, actor: Actor) -> VoucherView:
        require_staff(actor)
        return await voucher_admin.deactivate_voucher(
            key, uow=self._uow(), clock=self._clock, currency=self._currency
        )

    async def delete_voucher(self, voucher_id: int, actor: Actor) -> None:
        require_staff(actor)
        await voucher_admin.delete_voucher(voucher_id, uow=self._uow(), clock=self._clock)

    async def generate_vouchers(
        self, cmd: GenerateVouchers, actor: Actor, progress: Callable[[int], None] = lambda _: None
    ) -> list[VoucherView]:
        require_staff(actor)
        return await voucher_generation.generate_vouchers(
            cmd,
            uow=self._uow(),
            clock=self._clock,
            currency=self._currency,
            draw=self._draw,
            progress=progress,
        )
