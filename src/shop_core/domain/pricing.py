"""Pricing an order: small policies a store can swap, and the one identity every order keeps.

    total_price = subtotal - discount_amount + tax_amount + shipping_cost

All amounts are integer minor units of one currency. Lines are priced at the product's list price
(`unit_price`, `line_total`) and its discount (`discount_amount`: the product's own, or a sale's,
plus the line's share of a voucher's discount, `voucher_discount`); tax is computed per line on
what the customer pays for it (line total less its discount), rounded half-up to the minor unit,
and then summed, so each line's tax can be printed on the invoice and the lines add up to the total.

A line's price per unit after the product's discount (`final_unit_price`) is its net before the
voucher's share over its quantity, rounded half-up like every amount of the shop. A product's own
discount is taken per unit, so that division is exact for every line priced here:
`final_unit_price * quantity == line_total - discount_amount + voucher_discount`. A voucher's
share is a whole-line amount and is not part of the unit price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from shop_core.domain.money import round_half_up
from shop_core.domain.vouchers import Deal


@dataclass(frozen=True)
class PricedLine:
    product_id: int
    product_name: str
    sku: str
    unit_price: int
    quantity: int
    line_total: int
    discount_amount: int
    tax_amount: int
    voucher_discount: int = 0
    """The line's share of the order's voucher discount (part of `discount_amount`)."""

    @property
    def net(self) -> int:
        """What the customer pays for the line before tax."""
        return self.line_total - self.discount_amount

    @property
    def final_unit_price(self) -> int:
        """The price of one unit after the product's discount, before the voucher's share (see
        `final_unit_price`)."""
        return final_unit_price(self.line_total, self.discount_amount - self.voucher_discount, self.quantity)


def final_unit_price(line_total: int, discount_amount: int, quantity: int) -> int:
    """One unit's price after its line's discount: `(line_total - discount_amount) / quantity`,
    rounded half-up to the minor unit (exact when the discount divides evenly by the quantity, as a
    product's own per-unit discount always does)."""
    if quantity < 1:
        raise ValueError(f"A line holds at least one unit, not {quantity}.")
    return round_half_up(Decimal(line_total - discount_amount) / quantity)


@dataclass(frozen=True)
class Totals:
    subtotal: int
    discount_amount: int
    tax_amount: int
    shipping_cost: int
    voucher_discount: int = 0
    """The voucher's part of `discount_amount`."""

    @property
    def total_price(self) -> int:
        return self.subtotal - self.discount_amount + self.tax_amount + self.shipping_cost


class Sellable(Protocol):
    """What pricing reads of a product (a catalog Product, or the TakenProduct of a checkout)."""

    @property
    def id(self) -> int | None: ...

    @property
    def name(self) -> str: ...

    @property
    def sku(self) -> str: ...

    @property
    def price(self) -> int: ...

    @property
    def final_price(self) -> int: ...


class TaxPolicy(Protocol):
    def tax_on(self, net: int) -> int:
        """The tax on one line's net amount, in minor units."""
        ...


class ShippingPolicy(Protocol):
    def cost_for(self, goods: int, lines: Sequence[PricedLine]) -> int:
        """Shipping for an order whose goods (after discounts, before tax) come to `goods`."""
        ...


@dataclass(frozen=True)
class FlatRateTax:
    rate: Decimal = Decimal(0)

    def tax_on(self, net: int) -> int:
        return round_half_up(Decimal(net) * self.rate)


@dataclass(frozen=True)
class FlatShipping:
    """A flat cost, free from a threshold (inclusive) of goods when one is set."""

    flat: int = 0
    free_over: int | None = None

    def cost_for(self, goods: int, lines: Sequence[PricedLine]) -> int:
        if self.free_over is not None and goods >= self.free_over:
            return 0
        return self.flat


@dataclass(frozen=True)
class Pricing:
    tax: TaxPolicy
    shipping: ShippingPolicy

    def line(self, product: Sellable, quantity: int, voucher_share: int = 0) -> PricedLine:
        """The line of `quantity` units at the product's price and discount, less `voucher_share`
        (the line's share of a voucher's discount), taxed on what is left."""
        assert product.id is not None
        line_total = product.price * quantity
        discount = (product.price - product.final_price) * quantity + voucher_share
        return PricedLine(
            product_id=product.id,
            product_name=product.name,
            sku=product.sku,
            unit_price=product.price,
            quantity=quantity,
            line_total=line_total,
            discount_amount=discount,
            tax_amount=self.tax.tax_on(line_total - discount),
            voucher_discount=voucher_share,
        )

    def price(
        self, wanted: Sequence[tuple[Sellable, int]], deal: Deal | None = None
    ) -> tuple[list[PricedLine], Totals]:
        """Lines (in the order given) and totals for products at their current prices, with the
        voucher `deal` (made for these lines, in this order) applied: its discount shared over the
        lines it applies to before tax, and free shipping if it gives that."""
        shares = [0] * len(wanted)
        if deal is not None:
            shares = deal.shares([p.final_price * quantity for p, quantity in wanted])
        lines = [
            self.line(product, quantity, share)
            for (product, quantity), share in zip(wanted, shares, strict=True)
        ]
        subtotal = sum(line.line_total for line in lines)
        discount = sum(line.discount_amount for line in lines)
        free = deal is not None and deal.free_shipping
        totals = Totals(
            subtotal=subtotal,
            discount_amount=discount,
            tax_amount=sum(line.tax_amount for line in lines),
            shipping_cost=0 if free else self.shipping.cost_for(subtotal - discount, lines),
            voucher_discount=sum(shares),
        )
        return lines, totals
