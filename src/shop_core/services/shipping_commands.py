"""What staff ask of shipping zones and methods (POST and PATCH /api/shipping/zones/..., `shop
shipping ...`), validated by msgspec when decoded or converted; the rules are the domain's
(`domain.shipping`), checked by the use cases (`services.shipping_admin`)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from shop_core.domain.addresses import COUNTRIES
from shop_core.domain.ids import MAX_ID
from shop_core.domain.shipping import MAX_NAME
from shop_core.services.catalog_commands import UNSET, Amount, Unset
from shop_core.services.commands import NO_NUL, Command

MAX_METHODS = 100
"""Methods a zone may be created with at once (more can be added one by one)."""

Name = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_NAME,
        pattern=NO_NUL,
        examples=["Asia"],
        description=f"1 to {MAX_NAME} characters; zone names are unique, in any case.",
    ),
]
Country = Annotated[
    str,
    msgspec.Meta(
        max_length=2, pattern=NO_NUL, examples=["BD"], description="ISO 3166-1 alpha-2, in capitals."
    ),
]
Countries = Annotated[
    list[Country],
    msgspec.Meta(
        max_length=2 * len(COUNTRIES),
        examples=[["BD", "IN", "NP"]],
        description="At least one; a country is in one zone at most (409 `country_in_another_zone`).",
    ),
]
MethodName = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_NAME, pattern=NO_NUL, examples=["Standard"], description=f"1 to {MAX_NAME} characters."
    ),
]
Price = Annotated[Amount, msgspec.Meta(description='In the store currency, zero or more: "4.99".')]
FreeOver = Annotated[
    Amount,
    msgspec.Meta(
        description="Free when the goods (after discounts) come to at least this, in the store currency."
    ),
]
Grams = Annotated[int, msgspec.Meta(le=MAX_ID, description="Grams, zero or more; the bounds are inclusive.")]
Days = Annotated[int, msgspec.Meta(le=MAX_ID, description="The delivery estimate in days, zero or more.")]


class MethodInput(Command):
    """A shipping method: its name and price, optionally free from a value of goods, bounded by the
    parcel's weight, with a delivery estimate."""

    name: MethodName
    price: Price
    free_over: FreeOver | None = None
    min_weight_grams: Grams | None = None
    max_weight_grams: Grams | None = None
    delivery_days: Days | None = None


class CreateZone(Command):
    """A zone, and the methods it ships with (created in the same transaction: all or nothing)."""

    name: Name
    countries: Countries
    methods: Annotated[list[MethodInput], msgspec.Meta(max_length=MAX_METHODS)] = []


class UpdateZone(Command):
    """PATCH: only the fields sent change; `countries` replaces the set."""

    name: Name | Unset = UNSET
    countries: Countries | Unset = UNSET


class UpdateMethod(Command):
    """PATCH: only the fields sent change; null clears an optional one. A method stays in its zone."""

    name: MethodName | Unset = UNSET
    price: Price | Unset = UNSET
    free_over: FreeOver | Unset | None = UNSET
    min_weight_grams: Grams | Unset | None = UNSET
    max_weight_grams: Grams | Unset | None = UNSET
    delivery_days: Days | Unset | None = UNSET
