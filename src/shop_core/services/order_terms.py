"""The shipping and tax an order is placed on: the zone that holds its shipping address's country,
the method chosen there, and the most specific tax rate for the address.

A shop without zones ships everywhere at its flat rate (`SHOP_SHIPPING_FLAT`, free from
`SHOP_FREE_SHIPPING_OVER`) and an order names no method, as before zones existed. Once any zone
exists, an order must name a method of the zone holding its country (400 `shipping_unavailable`
otherwise, naming the country or the method). A country without a rate of its own is taxed at
`SHOP_TAX_RATE`.
"""

from __future__ import annotations

from dataclasses import dataclass

from shop_core.domain.addresses import Address
from shop_core.domain.errors import InvalidInput
from shop_core.domain.orders import ShippingChoice
from shop_core.domain.pricing import ShippingPolicy, TaxTerms
from shop_core.domain.shipping import Method, MethodShipping, ShippingUnavailable, carries, weight_limits
from shop_core.domain.tax import TaxRate, rate_for
from shop_core.ports.persistence import UnitOfWork

METHOD_FIELD = "shipping_method_id"


@dataclass(frozen=True)
class OrderTerms:
    tax: TaxTerms
    method: Method | None = None
    """None: the shop's flat shipping (it has no zones)."""

    def shipping(self, flat: ShippingPolicy) -> ShippingPolicy:
        return flat if self.method is None else MethodShipping(self.method)

    @property
    def choice(self) -> ShippingChoice | None:
        if self.method is None:
            return None
        return ShippingChoice(self.method.id, self.method.name, self.method.price)


def tax_terms(rate: TaxRate | None, default: TaxTerms) -> TaxTerms:
    """The shop's terms at the rate found for an address (its default rate when none was)."""
    if rate is None:
        return default
    return TaxTerms(rate.rate, rate.name, included=default.included, on_shipping=default.on_shipping)


async def order_terms(
    uow: UnitOfWork, address: Address, method_id: int | None, default_tax: TaxTerms
) -> OrderTerms:
    """The terms for an order shipped to `address` by the method `method_id` (see the module)."""
    country = address.country
    destination = await uow.shipping.destination(country)
    tax = tax_terms(rate_for(destination.tax_rates, country, address.region or None), default_tax)
    if not destination.zones_exist:
        if method_id is not None:
            raise ShippingUnavailable(
                country,
                "This shop has no shipping methods to choose from: leave shipping_method_id out.",
                field=METHOD_FIELD,
            )
        return OrderTerms(tax)
    if destination.zone_id is None:
        raise ShippingUnavailable(country)
    if method_id is None:
        raise InvalidInput.field(
            METHOD_FIELD,
            "Choose a shipping method: GET /api/cart/shipping-methods/?country=XX lists those that "
            "ship there.",
        )
    method = next((m for m in destination.methods if m.id == method_id), None)
    if method is None:
        raise ShippingUnavailable(
            country, f"Shipping method {method_id} does not ship to {country}.", field=METHOD_FIELD
        )
    return OrderTerms(tax, method)


def check_weight(terms: OrderTerms, weight_grams: int, country: str) -> None:
    """ShippingUnavailable when the method chosen cannot carry a parcel of this weight."""
    method = terms.method
    if method is not None and not carries(method, weight_grams):
        raise ShippingUnavailable(
            country,
            f"{method.name} carries parcels {weight_limits(method)}; this order weighs {weight_grams} g.",
            field=METHOD_FIELD,
        )
