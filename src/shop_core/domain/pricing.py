"""Pricing an order: small policies a store can swap, and the one identity every order keeps.

    total_price = subtotal - discount_amount + tax_amount + shipping_cost

All amounts are integer minor units of one currency, every amount is >= 0, and on each line
`0 <= voucher_discount <= discount_amount <= line_total`. A line's discount is the product's own
(or a sale's) plus its share of a voucher's discount (`voucher_discount`; the voucher's shares are
taken from the shelf amounts `final_price * quantity`). Tax is computed per line on what the
customer pays for it, at the order's rate (`TaxTerms`, recorded on each line with its name), rounded
half-up once per amount, and then summed, so each line's tax can be printed on the invoice and the
lines add up to the total.

Two tax modes, named by `TaxTerms.included` (`SHOP_PRICES_INCLUDE_TAX`). For a line of list amount
`L = price * quantity`, shelf amount `F = final_price * quantity` and voucher share `V`, the customer
is asked `G = F - V` for its goods:

- Tax added (prices without tax, the default): `line_total = L`, `discount_amount = L - G`,
  `voucher_discount = V`, and the tax `tax_added(G, rate)` comes on top.
- Tax included (prices with tax, as EU shops show them): the customer pays exactly the shelf prices,
  and the tax `tax_included(G, rate)` is extracted from them. The order stores NET amounts so the
  identity holds unchanged: with `net(x) = x - tax_included(x, rate)`, `line_total = net(L)`,
  `discount_amount = net(L) - net(G)`, `voucher_discount = net(F) - net(G)`, and the line's tax and
  net add up to `G` exactly. `net` is taken of whole-line amounts, never per unit: it never
  decreases (one more minor unit of gross adds 0 or 1 to the net, since `rate / (1 + rate) < 1`)
  and `net(0) == 0`, so `G <= F <= L` keeps the line's bounds. `unit_price` is the net per unit
  rounded half-up, so in this mode `unit_price * quantity` may differ from `line_total` by up to
  half a minor unit per unit (`line_total` is the exact one).

Shipping: the `ShippingPolicy` is asked for the shelf price `S` of shipping on goods of `sum(G)`
(0 when the voucher gives free shipping). Untaxed (`TaxTerms.on_shipping` false,
`SHOP_TAX_SHIPPING`), `shipping_cost = S`. Taxed, its tax (`Totals.shipping_tax`, part of
`tax_amount`) is added to `S`, or extracted from it when prices include tax (`shipping_cost` is
then `S` less that tax). With prices including tax the total is `sum(G) + S` exactly, the shelf
prices the customer saw.

A line's price per unit after the product's discount (`final_unit_price`) is its amount before the
voucher's share over its quantity, rounded half-up like every amount of the shop. With tax added,
a product's own discount is taken per unit, so that division is exact for every line priced here:
`final_unit_price * quantity == line_total - discount_amount + voucher_discount`. (With tax
included, that amount is `net(F)`, and the division may round.) A voucher's share is a whole-line
amount and is not part of the unit price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from shop_core.domain.money import round_half_up
from shop_core.domain.tax import tax_added, tax_included
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
    tax_rate: Decimal = Decimal(0)
    """The rate the line was taxed at (0.15 is 15%)."""
    tax_name: str = "Tax"
    """What the invoice calls that tax: "VAT", "GST"..."""

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
    """The voucher's part of `discount_amount` (the sum of the lines' `voucher_discount`)."""
    shipping_tax: int = 0
    """The shipping's tax, part of `tax_amount` (0 unless shipping is taxed)."""

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


class ShippingPolicy(Protocol):
    def cost_for(self, goods: int, lines: Sequence[PricedLine]) -> int:
        """The shelf price of shipping for an order whose goods come to `goods` at shelf prices,
        after discounts (before tax when prices exclude it, with it when they include it)."""
        ...


@dataclass(frozen=True)
class TaxTerms:
    """How an order is taxed: at which rate, under which name, and in which mode (see the module)."""

    rate: Decimal = Decimal(0)
    name: str = "Tax"
    included: bool = False
    """Prices are gross, tax included (SHOP_PRICES_INCLUDE_TAX); else tax is added to them."""
    on_shipping: bool = False
    """Shipping is taxed, at the same rate (SHOP_TAX_SHIPPING)."""

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.rate < Decimal(1):
            raise ValueError(f"A tax rate is a fraction from 0 up to 1 (0.15 is 15%), not {self.rate}.")

    def tax_on(self, shelf: int) -> int:
        """The tax on an amount at shelf price: added to it, or the part of it that is tax."""
        return tax_included(shelf, self.rate) if self.included else tax_added(shelf, self.rate)

    def net(self, shelf: int) -> int:
        """An amount at shelf price without its tax: itself when tax is added, else less the tax it
        holds. Never decreasing in `shelf`, and 0 for 0."""
        return shelf - tax_included(shelf, self.rate) if self.included else shelf

    def shipping(self, shelf: int) -> tuple[int, int]:
        """Shipping at shelf price `shelf` as (its cost without tax, its tax)."""
        if not self.on_shipping:
            return shelf, 0
        return self.net(shelf), self.tax_on(shelf)


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
    """The shop's default tax terms and shipping policy; an order may be priced with others."""

    tax: TaxTerms
    shipping: ShippingPolicy

    def line(
        self, product: Sellable, quantity: int, voucher_share: int = 0, *, tax: TaxTerms | None = None
    ) -> PricedLine:
        """The line of `quantity` units at the product's price and discount, less `voucher_share`
        (the line's share of a voucher's discount), taxed on what is left (see the module for the
        amounts stored in each mode)."""
        assert product.id is not None
        terms = self.tax if tax is None else tax
        listed, shelf = product.price * quantity, product.final_price * quantity
        goods = shelf - voucher_share
        line_total = terms.net(listed)
        return PricedLine(
            product_id=product.id,
            product_name=product.name,
            sku=product.sku,
            unit_price=final_unit_price(line_total, 0, quantity) if terms.included else product.price,
            quantity=quantity,
            line_total=line_total,
            discount_amount=line_total - terms.net(goods),
            tax_amount=terms.tax_on(goods),
            voucher_discount=terms.net(shelf) - terms.net(goods),
            tax_rate=terms.rate,
            tax_name=terms.name,
        )

    def price(
        self,
        wanted: Sequence[tuple[Sellable, int]],
        deal: Deal | None = None,
        *,
        tax: TaxTerms | None = None,
        shipping: ShippingPolicy | None = None,
    ) -> tuple[list[PricedLine], Totals]:
        """Lines (in the order given) and totals for products at their current prices, with the
        voucher `deal` (made for these lines, in this order) applied: its discount shared over the
        lines it applies to before tax, and free shipping if it gives that. `tax` and `shipping`,
        when given, replace the shop's defaults for this order (the rate of the shipping address,
        the chosen shipping method)."""
        terms = self.tax if tax is None else tax
        policy = self.shipping if shipping is None else shipping
        shares = [0] * len(wanted)
        if deal is not None:
            shares = deal.shares([p.final_price * quantity for p, quantity in wanted])
        lines = [
            self.line(product, quantity, share, tax=terms)
            for (product, quantity), share in zip(wanted, shares, strict=True)
        ]
        goods = sum(p.final_price * quantity for p, quantity in wanted) - sum(shares)
        free = deal is not None and deal.free_shipping
        shipping_cost, shipping_tax = terms.shipping(0 if free else policy.cost_for(goods, lines))
        totals = Totals(
            subtotal=sum(line.line_total for line in lines),
            discount_amount=sum(line.discount_amount for line in lines),
            tax_amount=sum(line.tax_amount for line in lines) + shipping_tax,
            shipping_cost=shipping_cost,
            voucher_discount=sum(line.voucher_discount for line in lines),
            shipping_tax=shipping_tax,
        )
        return lines, totals
