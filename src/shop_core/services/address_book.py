"""The customer's address book (`/api/addresses/`): their saved addresses, one default for shipping
and one for billing, which checkout can use by id instead of an address typed again.

Each customer works on their own book only: someone else's address is NotFound, as if it did not
exist. Every write locks the customer's row first, so two concurrent changes of one book (two
first addresses, two new defaults) happen one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec

from shop_core.domain.actors import Actor, require_staff
from shop_core.domain.address_book import (
    MAX_ADDRESSES,
    AddressBookFull,
    Default,
    SavedAddress,
    first_becomes_default,
)
from shop_core.domain.addresses import Address, address_of
from shop_core.domain.errors import AuthenticationFailed, NotFound
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.services.commands import NO_NUL, Command
from shop_core.services.order_commands import AddressInput, Region, Text
from shop_core.services.order_views import AddressView

UNSET = msgspec.UNSET
Unset = msgspec.UnsetType
NO_SUCH_ADDRESS = "No such address in your address book."


class SaveAddress(AddressInput):
    """A new address; `is_default_*` makes it the default (the one before stops being it). A
    customer's first address is both defaults."""

    is_default_shipping: bool = False
    is_default_billing: bool = False


class UpdateAddress(Command):
    """The fields to change (the rest stay as they are)."""

    full_name: Text | Unset = UNSET
    line1: Text | Unset = UNSET
    line2: Text | Unset = UNSET
    city: Annotated[str, msgspec.Meta(max_length=100, pattern=NO_NUL)] | Unset = UNSET
    postal_code: Annotated[str, msgspec.Meta(max_length=20, pattern=NO_NUL)] | Unset = UNSET
    country: Annotated[str, msgspec.Meta(max_length=2, pattern=NO_NUL)] | Unset = UNSET
    phone: Annotated[str, msgspec.Meta(max_length=32, pattern=r"^[0-9+() .-]*$")] | Unset = UNSET
    region: Region | Unset = UNSET
    is_default_shipping: bool | Unset = UNSET
    is_default_billing: bool | Unset = UNSET


class SavedAddressView(AddressView, kw_only=True):
    id: int
    is_default_shipping: bool
    is_default_billing: bool

    @classmethod
    def of(cls, saved: SavedAddress) -> SavedAddressView:
        assert saved.id is not None
        return cls(
            **saved.address.as_dict() | {"region": saved.address.region},
            id=saved.id,
            is_default_shipping=saved.is_default_shipping,
            is_default_billing=saved.is_default_billing,
        )


@dataclass(frozen=True)
class AddressBookContext:
    uow: UnitOfWorkFactory
    clock: Clock


def _owner(actor: Actor) -> int:
    if actor.user_id is None:
        raise AuthenticationFailed("Log in to use an address book.")
    return actor.user_id


async def _make_default(uow: UnitOfWork, saved: SavedAddress, kind: Default, wanted: bool) -> None:
    if wanted and not saved.is_default(kind):
        await uow.addresses.clear_default(saved.user_id, kind)
    if kind is Default.SHIPPING:
        saved.is_default_shipping = wanted
    else:
        saved.is_default_billing = wanted


async def list_addresses(actor: Actor, ctx: AddressBookContext) -> list[SavedAddressView]:
    user_id = _owner(actor)
    async with ctx.uow() as uow:
        return [SavedAddressView.of(saved) for saved in await uow.addresses.of_user(user_id)]


async def add_address(actor: Actor, cmd: SaveAddress, ctx: AddressBookContext) -> SavedAddressView:
    """400 naming every field at fault; 409 `address_book_full` past MAX_ADDRESSES."""
    user_id = _owner(actor)
    fields = msgspec.structs.asdict(cmd)
    address = address_of(fields, "address")
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        await uow.users.lock(user_id)
        held = await uow.addresses.count(user_id)
        if held >= MAX_ADDRESSES:
            raise AddressBookFull()
        saved = SavedAddress(user_id, address, now, now)
        first_becomes_default(saved, held)
        await _make_default(
            uow, saved, Default.SHIPPING, saved.is_default_shipping or cmd.is_default_shipping
        )
        await _make_default(uow, saved, Default.BILLING, saved.is_default_billing or cmd.is_default_billing)
        await uow.addresses.add(saved)
        await uow.commit()
    return SavedAddressView.of(saved)


async def get_address(actor: Actor, address_id: int, ctx: AddressBookContext) -> SavedAddressView:
    user_id = _owner(actor)
    async with ctx.uow() as uow:
        saved = await uow.addresses.get(user_id, address_id)
    if saved is None:
        raise NotFound(NO_SUCH_ADDRESS)
    return SavedAddressView.of(saved)


async def update_address(
    actor: Actor, address_id: int, cmd: UpdateAddress, ctx: AddressBookContext
) -> SavedAddressView:
    """Change some fields; `is_default_*: true` makes it the default, `false` leaves the customer
    without one of that kind."""
    user_id = _owner(actor)
    async with ctx.uow() as uow:
        await uow.users.lock(user_id)
        saved = await uow.addresses.get(user_id, address_id, for_update=True)
        if saved is None:
            raise NotFound(NO_SUCH_ADDRESS)
        changes = {k: v for k, v in msgspec.structs.asdict(cmd).items() if v is not UNSET}
        merged = saved.address.as_dict() | {k: v for k, v in changes.items() if k in Address.__annotations__}
        saved.address = address_of(merged, "address")
        if "is_default_shipping" in changes:
            await _make_default(uow, saved, Default.SHIPPING, bool(changes["is_default_shipping"]))
        if "is_default_billing" in changes:
            await _make_default(uow, saved, Default.BILLING, bool(changes["is_default_billing"]))
        saved.updated_at = ctx.clock.now()
        await uow.addresses.save(saved)
        await uow.commit()
    return SavedAddressView.of(saved)


async def delete_address(actor: Actor, address_id: int, ctx: AddressBookContext) -> None:
    """Orders placed with it keep their copy; a default deleted leaves no default of its kind."""
    user_id = _owner(actor)
    async with ctx.uow() as uow:
        await uow.users.lock(user_id)
        saved = await uow.addresses.get(user_id, address_id, for_update=True)
        if saved is None:
            raise NotFound(NO_SUCH_ADDRESS)
        await uow.addresses.delete(saved)
        await uow.commit()


async def addresses_of(user_id: int, actor: Actor, ctx: AddressBookContext) -> list[SavedAddressView]:
    """Staff: a customer's address book (the CLI's `shop users addresses`)."""
    require_staff(actor)
    async with ctx.uow() as uow:
        return [SavedAddressView.of(saved) for saved in await uow.addresses.of_user(user_id)]


async def address_for_order(uow: UnitOfWork, user_id: int, address_id: int, field: str) -> Address:
    """A saved address an order is placed with (copied into the order); someone else's or an
    unknown id is NotFound, naming the field."""
    saved = await uow.addresses.get(user_id, address_id)
    if saved is None:
        raise NotFound(f"{NO_SUCH_ADDRESS} ({field})")
    return saved.address


class AddressBook:
    """Customers' address books; each customer works on their own (`actor`)."""

    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self.context = AddressBookContext(uow, clock)

    async def list_addresses(self, actor: Actor) -> list[SavedAddressView]:
        return await list_addresses(actor, self.context)

    async def add_address(self, actor: Actor, cmd: SaveAddress) -> SavedAddressView:
        return await add_address(actor, cmd, self.context)

    async def get_address(self, actor: Actor, address_id: int) -> SavedAddressView:
        return await get_address(actor, address_id, self.context)

    async def update_address(self, actor: Actor, address_id: int, cmd: UpdateAddress) -> SavedAddressView:
        return await update_address(actor, address_id, cmd, self.context)

    async def delete_address(self, actor: Actor, address_id: int) -> None:
        await delete_address(actor, address_id, self.context)

    async def addresses_of(self, user_id: int, actor: Actor) -> list[SavedAddressView]:
        return await addresses_of(user_id, actor, self.context)
