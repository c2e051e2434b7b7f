"""Shipping zones and their methods: which zone a country is in, which methods can carry a cart
there, and what each costs. Plain data and rules (issue 18's first step: the stores, the use cases
and checkout come with its wiring).

A zone is a set of countries, and a country is in at most one zone. A method belongs to one zone
and has a price, optionally free from a value of goods (`free_over`, after discounts), optional
weight bounds (inclusive) and an optional delivery estimate. Money is integer minor units.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from shop_core.domain.errors import Conflict, InvalidInput
from shop_core.domain.tax import check_country

MAX_NAME = 100


class ShippingUnavailable(InvalidInput):
    """Nothing ships to the country (no zone holds it), or the method chosen cannot carry the cart
    there (400 `shipping_unavailable`)."""

    code = "shipping_unavailable"

    def __init__(self, country: str, reason: str = "", *, field: str = "country") -> None:
        message = reason or f"We do not ship to {country}."
        super().__init__(message, {field: [message]})
        self.country = country


class CountryInAnotherZone(Conflict):
    """A country can be in one zone only (409, naming the zone that has it)."""

    code = "country_in_another_zone"

    def __init__(self, country: str, zone: str | None) -> None:
        where = "another zone" if zone is None else f"the zone {zone!r}"
        super().__init__(f"{country} is already in {where}; take it out of that zone first.")


class ZoneNameTaken(Conflict):
    code = "zone_name_taken"

    def __init__(self, name: str) -> None:
        super().__init__(f"There is a zone named {name!r} already.")


@dataclass
class Zone:
    name: str
    countries: frozenset[str] = field(default_factory=frozenset)
    id: int | None = None


@dataclass
class Method:
    zone_id: int
    name: str
    price: int
    free_over: int | None = None
    """Free when the goods (after discounts) come to at least this."""
    min_weight_grams: int | None = None
    max_weight_grams: int | None = None
    delivery_days: int | None = None
    id: int | None = None


def check_countries(raw: Iterable[str]) -> frozenset[str]:
    """A zone's countries as sent: each an upper-case ISO 3166-1 alpha-2 code (every bad one
    named), at least one."""
    countries = list(raw)
    bad = []
    for country in countries:
        try:
            check_country(country)
        except InvalidInput:
            bad.append(country)
    if bad:
        named = ", ".join(repr(c) for c in bad)
        raise InvalidInput.field(
            "countries", f"Not an ISO 3166-1 alpha-2 code in capitals: {named} (such as BD, GB, US)."
        )
    if not countries:
        raise InvalidInput.field("countries", "A zone holds at least one country.")
    return frozenset(countries)


def check_zone(zone: Zone, others: Iterable[Zone]) -> None:
    """A zone's name and countries, none of them in another zone (CountryInAnotherZone names the
    first one found, in code order)."""
    if not 0 < len(zone.name.strip()) <= MAX_NAME:
        raise InvalidInput.field("name", f"Name the zone in 1 to {MAX_NAME} characters.")
    check_countries(zone.countries)
    for other in others:
        if other.id == zone.id and zone.id is not None:
            continue
        shared = sorted(zone.countries & other.countries)
        if shared:
            raise CountryInAnotherZone(shared[0], other.name)


def check_method(method: Method) -> None:
    """The invariants a method keeps; InvalidInput lists every broken one."""
    errors: dict[str, list[str]] = {}
    if not 0 < len(method.name.strip()) <= MAX_NAME:
        errors["name"] = [f"Name the method in 1 to {MAX_NAME} characters."]
    if method.price < 0:
        errors["price"] = ["The price cannot be negative."]
    if method.free_over is not None and method.free_over < 0:
        errors["free_over"] = ["The threshold cannot be negative."]
    for name in ("min_weight_grams", "max_weight_grams", "delivery_days"):
        value = getattr(method, name)
        if value is not None and value < 0:
            errors[name] = ["It cannot be negative."]
    low, high = method.min_weight_grams, method.max_weight_grams
    if low is not None and high is not None and low > high and "max_weight_grams" not in errors:
        errors["max_weight_grams"] = ["The maximum weight cannot be below the minimum."]
    if errors:
        raise InvalidInput("The shipping method is not valid.", errors)


def zone_for(zones: Iterable[Zone], country: str) -> Zone:
    """The zone that holds the country; ShippingUnavailable naming it when none does."""
    for zone in zones:
        if country in zone.countries:
            return zone
    raise ShippingUnavailable(country)


def carries(method: Method, weight_grams: int) -> bool:
    """Whether the method takes a parcel of this weight (bounds inclusive)."""
    if method.min_weight_grams is not None and weight_grams < method.min_weight_grams:
        return False
    return method.max_weight_grams is None or weight_grams <= method.max_weight_grams


def cost(method: Method, goods: int, *, free_shipping: bool = False) -> int:
    """What the method charges for goods worth `goods` (after discounts): nothing with a
    free-shipping voucher or from its `free_over`, else its price."""
    if free_shipping or (method.free_over is not None and goods >= method.free_over):
        return 0
    return method.price


def parcel_weight(units: Iterable[tuple[int | None, int]]) -> int:
    """The weight of (weight per unit, quantity) lines in grams; a unit without a weight counts
    as nothing."""
    return sum((weight or 0) * quantity for weight, quantity in units)


def weight_limits(method: Method) -> str:
    """A method's weight bounds in words ("up to 2000 g", "from 500 g to 2000 g")."""
    low, high = method.min_weight_grams, method.max_weight_grams
    if low is not None and high is not None:
        return f"from {low} g to {high} g"
    if high is not None:
        return f"up to {high} g"
    return f"from {low} g" if low is not None else "any weight"


@dataclass(frozen=True)
class MethodShipping:
    """Pricing's shipping policy for an order sent by one method."""

    method: Method

    def cost_for(self, goods: int, lines: Sequence[object]) -> int:
        return cost(self.method, goods)
