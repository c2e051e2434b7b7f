"""What shipping would cost: the methods that can carry a cart to a country, each priced for it
(`GET /api/cart/shipping-methods/?country=XX`), and an operator's quote for a list of products
(`shop shipping quote`).

A method is priced as checkout will charge it: free from its `free_over` (goods after discounts,
at the prices the customer sees) or with a free-shipping voucher, else its price (before any tax
added on shipping). Only the methods whose weight bounds take the parcel are offered; a unit
without a weight counts as nothing. A shop without zones offers one entry, its flat shipping,
with no id (an order then names no method).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import msgspec

from shop_core.domain.cart import DEFAULT_VARIANT, CartSnapshot, LineKey
from shop_core.domain.money import exponent_of, format_minor
from shop_core.domain.pricing import ShippingPolicy
from shop_core.domain.shipping import Method, ShippingUnavailable, carries, cost, weight_limits
from shop_core.domain.tax import check_country
from shop_core.services.cart import CartContext, Goods, goods_of
from shop_core.services.order_commands import OrderItemInput

FLAT_SHIPPING = "Standard shipping"


class ShippingOfferView(msgspec.Struct, kw_only=True):
    id: Annotated[
        int | None,
        msgspec.Meta(
            description="The method's id, for checkout's `shipping_method_id`; null for the shop's flat "
            "shipping when it has no zones (checkout then takes no method)."
        ),
    ]
    name: str
    price: Annotated[
        str,
        msgspec.Meta(
            description="What it costs for this cart: 0 from the method's `free_over` or with a "
            "free-shipping voucher (before tax on shipping, if the shop adds any)."
        ),
    ]
    delivery_days: int | None = None


@dataclass(frozen=True)
class QuoteLine:
    """One method of the zone and what it would cost; `cost` None when it cannot carry the parcel
    (`why` says so)."""

    method: Method | None
    name: str
    cost: int | None
    why: str = ""


@dataclass(frozen=True)
class Quote:
    country: str
    zone: str | None
    goods: Goods
    lines: list[QuoteLine]
    currency: str


def _flat(goods: Goods, flat: ShippingPolicy) -> int:
    return 0 if goods.free_shipping else flat.cost_for(goods.amount, [])


async def quote_for(goods: Goods, country: str, ctx: CartContext, flat: ShippingPolicy) -> Quote:
    """Every method of the zone holding `country`, priced for `goods` or saying why it cannot carry
    them; ShippingUnavailable when no zone holds it."""
    async with ctx.uow() as uow:
        destination = await uow.shipping.destination(country)
    if not destination.zones_exist:
        return Quote(country, None, goods, [QuoteLine(None, FLAT_SHIPPING, _flat(goods, flat))], ctx.currency)
    if destination.zone_id is None:
        raise ShippingUnavailable(country)
    lines = [
        QuoteLine(method, method.name, cost(method, goods.amount, free_shipping=goods.free_shipping))
        if carries(method, goods.weight_grams)
        else QuoteLine(method, method.name, None, f"carries {weight_limits(method)}")
        for method in destination.methods
    ]
    return Quote(country, destination.zone_name, goods, lines, ctx.currency)


async def cart_shipping_methods(
    owner: str, country: str, ctx: CartContext, flat: ShippingPolicy
) -> list[ShippingOfferView]:
    """The methods that can carry the cart's in-stock lines to `country`, cheapest first (see the
    module); 400 for a country code that is not one, `shipping_unavailable` for a country no
    zone holds."""
    check_country(country)
    snapshot = await ctx.store.get(owner, ctx.clock.now(), ctx.limits)
    found = await quote_for(await goods_of(snapshot, owner, ctx), country, ctx, flat)
    exponent = exponent_of(ctx.currency)
    carried = sorted(
        (line for line in found.lines if line.cost is not None),
        key=lambda line: (line.cost or 0, 0 if line.method is None else line.method.id or 0),
    )
    return [
        ShippingOfferView(
            id=None if line.method is None else line.method.id,
            name=line.name,
            price=format_minor(line.cost or 0, exponent),
            delivery_days=None if line.method is None else line.method.delivery_days,
        )
        for line in carried
    ]


async def quote_items(
    items: Sequence[OrderItemInput], country: str, ctx: CartContext, flat: ShippingPolicy
) -> Quote:
    """What each method of the country's zone would charge for these products (at their prices
    now, sales included, whatever their stock; lines of products not sold count for nothing)."""
    check_country(country)
    lines: dict[LineKey, int] = {}
    for item in items:
        key = (item.product_id, item.variant_id or DEFAULT_VARIANT)
        lines[key] = lines.get(key, 0) + item.quantity
    goods = await goods_of(CartSnapshot(lines, ctx.clock.now()), None, ctx, in_stock_only=False)
    return await quote_for(goods, country, ctx, flat)


class ShippingOffers:
    """What shipping would cost, for customers' carts and for operators' quotes."""

    def __init__(self, cart: CartContext, flat: ShippingPolicy) -> None:
        self._cart = cart
        self._flat = flat

    async def cart_shipping_methods(self, owner: str, country: str) -> list[ShippingOfferView]:
        return await cart_shipping_methods(owner, country, self._cart, self._flat)

    async def quote(self, items: Sequence[OrderItemInput], country: str) -> Quote:
        return await quote_items(items, country, self._cart, self._flat)
