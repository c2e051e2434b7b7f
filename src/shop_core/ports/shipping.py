"""Where shipping zones, their methods and tax rates live."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol

from shop_core.domain.shipping import Method, Zone
from shop_core.domain.tax import TaxRate


@dataclass(frozen=True)
class Destination:
    """What checkout needs to know about shipping to a country and taxing there, read in one go."""

    zones_exist: bool
    """Whether the shop has any zone (without, the flat shipping settings apply)."""
    zone_id: int | None = None
    """The zone holding the country, if any."""
    zone_name: str | None = None
    methods: list[Method] = field(default_factory=list)
    """That zone's methods, by price and id."""
    tax_rates: list[TaxRate] = field(default_factory=list)
    """The country's tax rates (for the whole country, and by region)."""


class ShippingRepository(Protocol):
    async def lock(self) -> None:
        """Serialize changes of zones' countries until the transaction ends (so a check that a
        country is in no other zone stays true until the change is stored)."""
        ...

    async def zones(self) -> list[Zone]:
        """Every zone with its countries, by name."""
        ...

    async def zone(self, zone_id: int) -> Zone | None: ...

    async def add_zone(self, zone: Zone) -> Zone:
        """Store a new zone and its countries (`id` set on it); CountryInAnotherZone or ZoneNameTaken
        when the database refuses it."""
        ...

    async def save_zone(self, zone: Zone) -> None:
        """Its name and countries as they are now."""
        ...

    async def delete_zone(self, zone: Zone) -> None:
        """The zone and its methods (orders keep their copy)."""
        ...

    async def methods(self, zone_ids: Collection[int] | None = None) -> list[Method]:
        """The methods of these zones (of all, given None), by zone, price and id."""
        ...

    async def method(self, method_id: int) -> Method | None: ...

    async def add_method(self, method: Method) -> Method: ...

    async def save_method(self, method: Method) -> None: ...

    async def delete_method(self, method: Method) -> None: ...

    async def destination(self, country: str) -> Destination:
        """Whether any zone exists, the zone holding `country`, its methods, and the country's
        tax rates: one round trip (checkout's hot path)."""
        ...


class TaxRateRepository(Protocol):
    async def all(self) -> list[TaxRate]:
        """Every rate, by country, the whole country's first, then by region."""
        ...

    async def page(self, *, offset: int, limit: int) -> tuple[list[TaxRate], int]:
        """A page of rates in the order of `all`, and how many there are."""
        ...

    async def get(self, rate_id: int) -> TaxRate | None: ...

    async def of_country(self, country: str) -> list[TaxRate]: ...

    async def add(self, rate: TaxRate) -> TaxRate:
        """Store a new rate (`id` set on it); TaxRateTaken when the country (and region) has one."""
        ...

    async def save(self, rate: TaxRate) -> None:
        """TaxRateTaken when the country (and region) it moved to has one."""
        ...

    async def delete(self, rate: TaxRate) -> None: ...
