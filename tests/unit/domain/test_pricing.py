"""Pricing: the identity every order keeps, per-line half-up tax, and the free-shipping threshold."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shop_core.domain.catalog import Product
from shop_core.domain.money import format_minor
from shop_core.domain.pricing import FlatShipping, Pricing, TaxTerms, final_unit_price

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def product(n: int, price: int, discount: Decimal = Decimal(0)) -> Product:
    return Product(
        name=f"Product {n}",
        slug=f"product-{n}",
        sku=f"SKU-{n}",
        price=price,
        created_at=NOW,
        updated_at=NOW,
        discount_percentage=discount,
        stock_quantity=10_000,
        id=n,
    )


def independent_half_up(value: Decimal) -> int:
    """Rounded half-up the plain Decimal way, not through shop_core.domain.money."""
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


prices = st.integers(min_value=0, max_value=10**9)
discounts = st.integers(min_value=0, max_value=10_000).map(lambda n: Decimal(n) / 100)
quantities = st.integers(min_value=1, max_value=1000)
rates = st.integers(min_value=0, max_value=9900).map(lambda n: Decimal(n) / 10_000)
flats = st.integers(min_value=0, max_value=10**6)
thresholds = st.none() | st.integers(min_value=0, max_value=10**9)


@st.composite
def baskets(draw: st.DrawFn) -> list[tuple[Product, int]]:
    items = draw(st.lists(st.tuples(prices, discounts, quantities), min_size=1, max_size=12))
    return [(product(n, price, discount), qty) for n, (price, discount, qty) in enumerate(items, start=1)]


@settings(max_examples=300)
@given(basket=baskets(), rate=rates, flat=flats, free_over=thresholds)
def test_the_totals_identity_and_per_line_rules_hold(
    basket: list[tuple[Product, int]], rate: Decimal, flat: int, free_over: int | None
) -> None:
    pricing = Pricing(tax=TaxTerms(rate), shipping=FlatShipping(flat=flat, free_over=free_over))

    lines, totals = pricing.price(basket)

    assert totals.total_price == (
        totals.subtotal - totals.discount_amount + totals.tax_amount + totals.shipping_cost
    )
    for amount in (totals.subtotal, totals.discount_amount, totals.tax_amount, totals.shipping_cost):
        assert amount >= 0
    assert totals.total_price >= 0
    assert [line.product_id for line in lines] == [p.id for p, _ in basket]
    for line, (item, quantity) in zip(lines, basket, strict=True):
        assert line.quantity == quantity
        assert line.unit_price == item.price
        assert line.line_total == item.price * quantity
        assert 0 <= line.discount_amount <= line.line_total
        assert line.net == line.line_total - line.discount_amount >= 0
        assert line.tax_amount == independent_half_up(Decimal(line.net) * rate)
        assert line.tax_amount >= 0
    assert totals.subtotal == sum(line.line_total for line in lines)
    assert totals.discount_amount == sum(line.discount_amount for line in lines)
    assert totals.tax_amount == sum(line.tax_amount for line in lines)
    goods = totals.subtotal - totals.discount_amount
    free = free_over is not None and goods >= free_over
    assert totals.shipping_cost == (0 if free else flat)


@given(price=prices, discount=discounts, quantity=quantities)
def test_the_discount_is_the_list_price_less_the_final_price_per_unit(
    price: int, discount: Decimal, quantity: int
) -> None:
    item = product(1, price, discount)
    line = Pricing(TaxTerms(), FlatShipping()).line(item, quantity)

    expected_final = independent_half_up(Decimal(price) * (100 - discount) / 100)
    assert line.discount_amount == (price - expected_final) * quantity


@pytest.mark.parametrize(
    ("price", "discount", "quantity", "rate", "expected"),
    [
        # 9.99 less 10% is 8.991 → 8.99 a unit: 1.00 off a unit x 3 = 3.00;
        # net 29.97 - 3.00 = 26.97, tax 15% = 4.0455 → 4.05.
        (999, "10", 3, "0.15", (2997, 300, 405)),
        # No discount, 20% of 0.05 is exactly 0.01.
        (5, "0", 1, "0.20", (5, 0, 1)),
        # 10% of 0.05 is 0.005: the half goes up to 0.01.
        (5, "0", 1, "0.10", (5, 0, 1)),
        # 10% of 0.04 is 0.004: rounds down to nothing.
        (4, "0", 1, "0.10", (4, 0, 0)),
        # 100% off: nothing to pay, nothing to tax.
        (1999, "100", 2, "0.25", (3998, 3998, 0)),
        # 12.5% off 1.00 is 0.875 → 0.88 a unit, 0.12 off x 4 = 0.48; net 3.52 at 7.25% = 0.2552 → 0.26.
        (100, "12.5", 4, "0.0725", (400, 48, 26)),
        # 33.33% off 10.00 → 6.667 → 6.67 a unit, 3.33 off x 3 = 9.99; net 20.01 at 5% = 1.0005 → 1.00.
        (1000, "33.33", 3, "0.05", (3000, 999, 100)),
    ],
)
def test_worked_lines(
    price: int, discount: str, quantity: int, rate: str, expected: tuple[int, int, int]
) -> None:
    pricing = Pricing(TaxTerms(Decimal(rate)), FlatShipping())

    (line,), totals = pricing.price([(product(1, price, Decimal(discount)), quantity)])

    assert (line.line_total, line.discount_amount, line.tax_amount) == expected
    assert (totals.subtotal, totals.discount_amount, totals.tax_amount) == expected
    assert totals.total_price == expected[0] - expected[1] + expected[2]


def test_tax_is_rounded_per_line_then_summed() -> None:
    # Two lines of 0.05 at 10%: each 0.005 → 0.01, so 0.02 in all (taxing the 0.10 total would give 0.01).
    pricing = Pricing(TaxTerms(Decimal("0.10")), FlatShipping())

    lines, totals = pricing.price([(product(1, 5), 1), (product(2, 5), 1)])

    assert [line.tax_amount for line in lines] == [1, 1]
    assert totals.tax_amount == 2
    assert totals.total_price == 12


@pytest.mark.parametrize(
    ("goods_price", "discount", "free_over", "shipping"),
    [
        (5000, "0", None, 499),  # no threshold: always the flat cost
        (4999, "0", 5000, 499),  # one cent under
        (5000, "0", 5000, 0),  # the threshold is inclusive
        (5001, "0", 5000, 0),
        (5500, "10", 5000, 499),  # 55.00 less 10% is 49.50: the threshold counts goods after discount
        (0, "0", 0, 0),  # a threshold of 0 makes everything ship free
    ],
)
def test_free_shipping_threshold(
    goods_price: int, discount: str, free_over: int | None, shipping: int
) -> None:
    pricing = Pricing(TaxTerms(Decimal("0.10")), FlatShipping(flat=499, free_over=free_over))

    _, totals = pricing.price([(product(1, goods_price, Decimal(discount)), 1)])

    assert totals.shipping_cost == shipping
    assert totals.total_price == (
        totals.subtotal - totals.discount_amount + totals.tax_amount + totals.shipping_cost
    )


def test_a_full_worked_order() -> None:
    # 9.99 -10% x 3 (3.00 off, tax 4.05) + 20.00 x 1 (tax 3.00) at 15%, shipping 4.99 free from 100.00.
    pricing = Pricing(TaxTerms(Decimal("0.15")), FlatShipping(flat=499, free_over=10_000))

    lines, totals = pricing.price([(product(1, 999, Decimal(10)), 3), (product(2, 2000), 1)])

    assert [(line.discount_amount, line.tax_amount) for line in lines] == [(300, 405), (0, 300)]
    assert (totals.subtotal, totals.discount_amount, totals.tax_amount, totals.shipping_cost) == (
        4997,
        300,
        705,
        499,
    )
    assert totals.total_price == 4997 - 300 + 705 + 499 == 5901


# --- one unit's price after its line's discount ---------------------------------------------------


@settings(max_examples=300)
@given(price=prices, discount=discounts, quantity=quantities, exponent=st.sampled_from([0, 2, 3]))
def test_a_priced_line_s_final_unit_price_is_exactly_the_product_s_final_price(
    price: int, discount: Decimal, quantity: int, exponent: int
) -> None:
    """In any currency (0, 2 or 3 decimals): the final unit price times the quantity is the line's
    net, to the minor unit, as the API writes the amounts."""
    mug = product(1, price, discount)
    line = Pricing(TaxTerms(), FlatShipping()).line(mug, quantity)

    assert line.final_unit_price == mug.final_price
    assert line.final_unit_price * quantity == line.line_total - line.discount_amount
    final, net = format_minor(line.final_unit_price, exponent), format_minor(line.net, exponent)
    assert Decimal(final) * quantity == Decimal(net)
    assert Decimal(final).as_tuple().exponent == -exponent


@settings(max_examples=300)
@given(
    unit=prices,
    quantity=quantities,
    data=st.data(),
    exponent=st.sampled_from([0, 2, 3]),
)
def test_an_uneven_line_discount_rounds_the_unit_price_half_up(
    unit: int, quantity: int, data: st.DataObject, exponent: int
) -> None:
    """A line discount that does not divide by the quantity: the unit price is the net per unit,
    rounded half-up, so the line differs from `final_unit_price * quantity` by at most half a minor
    unit per unit."""
    line_total = unit * quantity
    discount = data.draw(st.integers(min_value=0, max_value=line_total))
    final = final_unit_price(line_total, discount, quantity)
    net = line_total - discount

    assert final == independent_half_up(Decimal(net) / quantity)
    assert abs(final * quantity - net) * 2 <= quantity
    assert 0 <= final <= unit
    if net % quantity == 0:
        assert final * quantity == net
    scale = Decimal(10) ** exponent
    assert abs(Decimal(format_minor(final, exponent)) * quantity - Decimal(format_minor(net, exponent))) <= (
        Decimal(quantity) / 2 / scale
    )


@pytest.mark.parametrize(
    ("line_total", "discount", "quantity", "final"),
    [
        (36138, 9033, 3, 9035),  # 120.46 at 25% off, three of them: exact
        (1000, 1, 3, 333),  # 9.99 over 3 = 3.33
        (1000, 500, 3, 167),  # 5.00 over 3 = 1.666… → 1.67
        (5, 0, 2, 3),  # 2.5 minor units → 3 (half up)
        (0, 0, 1, 0),
    ],
)
def test_worked_final_unit_prices(line_total: int, discount: int, quantity: int, final: int) -> None:
    assert final_unit_price(line_total, discount, quantity) == final


def test_a_line_of_no_units_has_no_unit_price() -> None:
    with pytest.raises(ValueError, match="at least one unit"):
        final_unit_price(100, 0, 0)
