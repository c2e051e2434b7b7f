"""Staff's shipping zones and their methods (`/api/shipping/zones/`, `shop shipping zones|methods`).

The rules are the domain's (`domain.shipping`); what needs the store currency or the other zones is
checked here, everything before anything is stored: a refusal stores nothing.
- Every change takes the shipping lock first (`uow.shipping.lock()`, an advisory lock on
  PostgreSQL), then checks the zone against every other one as they are under it, so two
  concurrent changes cannot both put a country in two zones, and the 409 names the zone that has it.
- Zone names are unique in any case ("Asia" and "ASIA" are one name); a name is stored trimmed.
- A method belongs to one zone for good: it is found through its zone, and one of another zone is
  404 (saying which zone has it), as if it did not exist there.
- Deleting a zone deletes its methods; orders that used one keep their copy of its name and price
  (their `shipping_method_id` becomes null).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import msgspec

from shop_core.domain.addresses import COUNTRIES
from shop_core.domain.errors import InvalidInput, NotFound
from shop_core.domain.money import minor_units
from shop_core.domain.shipping import Method, Zone, ZoneNameTaken, check_countries, check_method, check_zone
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.services.shipping_commands import CreateZone, MethodInput, UpdateMethod, UpdateZone
from shop_core.services.shipping_views import MethodView, ZoneView
from shop_core.services.views import Page

NO_SUCH_ZONE = "No such shipping zone."
NO_SUCH_METHOD = "No such shipping method."
EVERY_ZONE = len(COUNTRIES)  # a zone holds a country at least, and a country is in one zone at most
_MONEY = ("price", "free_over")
_FIELDS = ("name", *_MONEY, "min_weight_grams", "max_weight_grams", "delivery_days")


@dataclass(frozen=True)
class ShippingContext:
    uow: UnitOfWorkFactory
    currency: str


def changes_of(cmd: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH sends."""
    return {k: v for k, v in msgspec.structs.asdict(cmd).items() if v is not msgspec.UNSET}


def zone_of(name: str, countries: list[str], zone_id: int | None = None) -> Zone:
    """The zone these fields make (its name trimmed); InvalidInput naming every field at fault."""
    errors: dict[str, list[str]] = {}
    try:
        found = check_countries(countries)
    except InvalidInput as exc:
        errors, found = exc.errors, frozenset()
    zone = Zone(name.strip(), found, zone_id)
    try:
        check_zone(zone, ())
    except InvalidInput as exc:
        errors = exc.errors | errors  # the countries' own message rather than "at least one"
    if errors:
        raise InvalidInput("The shipping zone is not valid.", errors)
    return zone


def method_of(base: Method, changes: dict[str, Any], currency: str, *, prefix: str = "") -> Method:
    """A copy of `base` with the changes (fields of a method command, money in the store currency)
    applied and checked; InvalidInput naming every field at fault (`prefix` before each name)."""
    method = replace(base)
    errors: dict[str, list[str]] = {}
    for name, given in changes.items():
        value = given.strip() if name == "name" else given
        if name in _MONEY and given is not None:
            try:
                value = minor_units(given, currency, field=name)
            except InvalidInput as exc:
                errors |= exc.errors
                continue
        setattr(method, name, value)
    try:
        check_method(method)
    except InvalidInput as exc:
        errors = exc.errors | errors  # a price's own message (it kept the base's, checked here)
    if errors:
        named = {f"{prefix}{field}": errors[field] for field in _FIELDS if field in errors}
        raise InvalidInput("The shipping method is not valid.", named)
    return method


def _new_method(cmd: MethodInput, currency: str, prefix: str = "") -> Method:
    return method_of(
        Method(zone_id=0, name="", price=0), msgspec.structs.asdict(cmd), currency, prefix=prefix
    )


def _methods_of(cmd: CreateZone, currency: str) -> tuple[list[Method], dict[str, list[str]]]:
    methods: list[Method] = []
    errors: dict[str, list[str]] = {}
    for n, method in enumerate(cmd.methods):
        try:
            methods.append(_new_method(method, currency, f"methods[{n}]."))
        except InvalidInput as exc:
            errors |= exc.errors
    return methods, errors


def check_name_free(zone: Zone, others: list[Zone]) -> None:
    """ZoneNameTaken when another zone has the name, in any case."""
    wanted = zone.name.casefold()
    for other in others:
        if other.name.casefold() == wanted and other.id != zone.id:
            raise ZoneNameTaken(other.name)


async def _check_against_others(uow: UnitOfWork, zone: Zone) -> None:
    """Under the lock (taken first): no country of the zone in another zone, and its name no
    other's (409s)."""
    others = await uow.shipping.zones()
    check_zone(zone, others)
    check_name_free(zone, others)


async def _zone(uow: UnitOfWork, zone_id: int) -> Zone:
    zone = await uow.shipping.zone(zone_id)
    if zone is None:
        raise NotFound(NO_SUCH_ZONE)
    return zone


async def _view(uow: UnitOfWork, zone: Zone, currency: str) -> ZoneView:
    assert zone.id is not None
    return ZoneView.of(zone, await uow.shipping.methods([zone.id]), currency)


async def list_zones(ctx: ShippingContext, *, offset: int, limit: int) -> Page[ZoneView]:
    """By name, each with its methods."""
    async with ctx.uow() as uow:
        zones = await uow.shipping.zones()
        shown = zones[offset : offset + limit]
        methods = await uow.shipping.methods([z.id for z in shown if z.id is not None]) if shown else []
    return Page(items=[ZoneView.of(z, methods, ctx.currency) for z in shown], total=len(zones))


async def get_zone(zone_id: int, ctx: ShippingContext) -> ZoneView:
    async with ctx.uow() as uow:
        return await _view(uow, await _zone(uow, zone_id), ctx.currency)


async def find_zone(key: str, ctx: ShippingContext) -> ZoneView:
    """The zone with this name (in any case), else with this id."""
    wanted = key.strip().casefold()
    async with ctx.uow() as uow:
        found = next((z for z in await uow.shipping.zones() if z.name.casefold() == wanted), None)
        if found is None and wanted.isdecimal() and wanted.isascii():
            found = await uow.shipping.zone(int(wanted))
        if found is None:
            raise NotFound(f"No shipping zone with the name or id {key!r}.")
        return await _view(uow, found, ctx.currency)


async def create_zone(cmd: CreateZone, ctx: ShippingContext) -> ZoneView:
    """The zone and its methods, in one transaction."""
    methods, errors = _methods_of(cmd, ctx.currency)
    try:
        zone = zone_of(cmd.name, cmd.countries)
    except InvalidInput as exc:
        errors = exc.errors | errors
    if errors:
        raise InvalidInput("The shipping zone is not valid.", errors)
    async with ctx.uow() as uow:
        await uow.shipping.lock()
        await _check_against_others(uow, zone)
        await uow.shipping.add_zone(zone)
        assert zone.id is not None
        for method in methods:
            method.zone_id = zone.id
            await uow.shipping.add_method(method)
        await uow.commit()
    in_order = sorted(methods, key=lambda m: (m.price, m.id or 0))
    return ZoneView.of(zone, in_order, ctx.currency)


async def update_zone(zone_id: int, cmd: UpdateZone, ctx: ShippingContext) -> ZoneView:
    """Its name and/or countries (the set sent replaces the set)."""
    changes = changes_of(cmd)
    async with ctx.uow() as uow:
        await uow.shipping.lock()
        current = await _zone(uow, zone_id)
        countries = changes.get("countries", sorted(current.countries))
        zone = zone_of(changes.get("name", current.name), countries, zone_id)
        await _check_against_others(uow, zone)
        await uow.shipping.save_zone(zone)
        view = await _view(uow, zone, ctx.currency)
        await uow.commit()
    return view


async def delete_zone(zone_id: int, ctx: ShippingContext) -> None:
    """The zone and its methods; orders keep their copy of the method they used."""
    async with ctx.uow() as uow:
        await uow.shipping.lock()
        await uow.shipping.delete_zone(await _zone(uow, zone_id))
        await uow.commit()


async def _method_in(uow: UnitOfWork, zone_id: int | None, method_id: int) -> Method:
    """The method, of the zone `zone_id` when given (NotFound for a method of another zone)."""
    zone = None if zone_id is None else await _zone(uow, zone_id)
    method = await uow.shipping.method(method_id)
    if method is None:
        raise NotFound(NO_SUCH_METHOD)
    if zone is not None and method.zone_id != zone.id:
        raise not_in_zone(method, zone)
    return method


def not_in_zone(method: Method, zone: Zone) -> NotFound:
    """The refusal of a method asked for through a zone it is not in."""
    return NotFound(
        f"Shipping method {method.id} is not in the zone {zone.name!r}: it belongs to zone {method.zone_id}."
    )


async def add_method(zone_id: int, cmd: MethodInput, ctx: ShippingContext) -> MethodView:
    method = _new_method(cmd, ctx.currency)
    async with ctx.uow() as uow:
        await uow.shipping.lock()
        zone = await _zone(uow, zone_id)
        assert zone.id is not None
        method.zone_id = zone.id
        await uow.shipping.add_method(method)
        await uow.commit()
    return MethodView.of(method, ctx.currency)


async def update_method(
    zone_id: int | None, method_id: int, cmd: UpdateMethod, ctx: ShippingContext
) -> MethodView:
    changes = changes_of(cmd)
    async with ctx.uow() as uow:
        await uow.shipping.lock()
        method = method_of(await _method_in(uow, zone_id, method_id), changes, ctx.currency)
        await uow.shipping.save_method(method)
        await uow.commit()
    return MethodView.of(method, ctx.currency)


async def delete_method(zone_id: int | None, method_id: int, ctx: ShippingContext) -> None:
    """Orders that used it keep their copy of its name and price."""
    async with ctx.uow() as uow:
        await uow.shipping.lock()
        await uow.shipping.delete_method(await _method_in(uow, zone_id, method_id))
        await uow.commit()
