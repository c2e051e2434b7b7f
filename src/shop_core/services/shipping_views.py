"""Shipping zones and methods as staff see them (API.md Part 2, "Shipping, tax, addresses"), money
as decimal strings in the store currency."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

import msgspec

from shop_core.domain.money import exponent_of, format_minor
from shop_core.domain.shipping import Method, Zone


class MethodView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    price: Annotated[str, msgspec.Meta(examples=["4.99"], description="In the store currency.")]
    free_over: Annotated[
        str | None,
        msgspec.Meta(
            examples=["50.00"],
            description="Free when the goods (after discounts) come to at least this; null: never free.",
        ),
    ]
    min_weight_grams: Annotated[int | None, msgspec.Meta(description="Inclusive; null: no lower bound.")]
    max_weight_grams: Annotated[int | None, msgspec.Meta(description="Inclusive; null: no upper bound.")]
    delivery_days: Annotated[int | None, msgspec.Meta(description="The delivery estimate; null: none given.")]

    @classmethod
    def of(cls, method: Method, currency: str) -> MethodView:
        assert method.id is not None
        exponent = exponent_of(currency)
        return cls(
            id=method.id,
            name=method.name,
            price=format_minor(method.price, exponent),
            free_over=None if method.free_over is None else format_minor(method.free_over, exponent),
            min_weight_grams=method.min_weight_grams,
            max_weight_grams=method.max_weight_grams,
            delivery_days=method.delivery_days,
        )


class ZoneView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    countries: Annotated[
        list[str], msgspec.Meta(examples=[["BD", "IN"]], description="ISO 3166-1 alpha-2 codes, sorted.")
    ]
    methods: Annotated[list[MethodView], msgspec.Meta(description="By price, then id.")]

    @classmethod
    def of(cls, zone: Zone, methods: Iterable[Method], currency: str) -> ZoneView:
        """The zone with its methods (those of `methods` that are the zone's, in their order)."""
        assert zone.id is not None
        return cls(
            id=zone.id,
            name=zone.name,
            countries=sorted(zone.countries),
            methods=[MethodView.of(m, currency) for m in methods if m.zone_id == zone.id],
        )
