"""Pricing in its two tax modes (prices without tax, tax added; prices with tax, tax extracted), with
shipping taxed or not, property-tested in currencies of 0, 2 and 3 decimals (JPY, USD, KWD): the
totals identity and every line's bounds hold, the customer pays exactly the shelf prices when they
include tax, and prices without tax give what they always gave."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shop_core.bootstrap import pricing_of
from shop_core.domain.money import exponent_of
from shop_core.domain.pricing import FlatShipping, PricedLine, Pricing, TaxTerms, Totals
from shop_core.domain.vouchers import Deal, Voucher, VoucherInvalid, VoucherKind, VoucherLine, deal
from shop_core.settings import Settings
from tests.unit.domain.baskets import Item, items, vouchers

NOW = datetime(2026, 12, 24, 12, tzinfo=UTC)
CURRENCIES = ["JPY", "USD", "KWD"]


def half_up(value: Decimal) -> int:
    """Rounded half-up the plain Decimal way, not through shop_core.domain.money or .tax."""
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def held(gross: int, rate: Decimal) -> int:
    """The tax a gross amount holds, written out: gross * rate / (1 + rate), half-up."""
    return half_up(Decimal(gross) * rate / (1 + rate))


def shippings(exponent: int) -> st.SearchStrategy[FlatShipping]:
    unit = 10**exponent
    return st.builds(
        FlatShipping,
        flat=st.integers(0, 50 * unit),
        free_over=st.none() | st.integers(0, 20_000 * unit),
    )


rates = st.decimals(0, Decimal("0.99"), places=4)


def deal_for(voucher: Voucher | None, wanted: list[tuple[Item, int]]) -> Deal | None:
    """The voucher applied to the lines, or None when it has none or applies to none of them."""
    if voucher is None:
        return None
    lines = [VoucherLine(item.id, item.category_id, item.final_price * q) for item, q in wanted]
    try:
        return deal(voucher, lines, categories=voucher.category_ids, now=NOW)
    except VoucherInvalid:
        return None


def goods_of(wanted: list[tuple[Item, int]], applied: Deal | None) -> list[int]:
    """What each line asks of the customer at shelf prices: G = final_price * quantity - share."""
    shelf = [item.final_price * q for item, q in wanted]
    shares = [0] * len(shelf) if applied is None else applied.shares(shelf)
    return [f - v for f, v in zip(shelf, shares, strict=True)]


def shelf_shipping(policy: FlatShipping, goods: int, applied: Deal | None) -> int:
    if applied is not None and applied.free_shipping:
        return 0
    if policy.free_over is not None and goods >= policy.free_over:
        return 0
    return policy.flat


# --- both modes: the identity, the bounds, and what the customer pays ----------------------------


@settings(max_examples=150)
@pytest.mark.parametrize("currency", CURRENCIES)
@pytest.mark.parametrize("included", [False, True], ids=["tax-added", "tax-included"])
@pytest.mark.parametrize("on_shipping", [False, True], ids=["shipping-untaxed", "shipping-taxed"])
@given(data=st.data())
def test_every_mode_keeps_the_identity_and_the_bounds(
    currency: str, included: bool, on_shipping: bool, data: st.DataObject
) -> None:
    exponent = exponent_of(currency)
    wanted = data.draw(items(exponent))
    applied = deal_for(data.draw(vouchers(exponent)), wanted)
    rate = data.draw(rates)
    policy = data.draw(shippings(exponent))
    terms = TaxTerms(rate, "VAT", included=included, on_shipping=on_shipping)

    lines, totals = Pricing(terms, policy).price(wanted, applied)

    goods = goods_of(wanted, applied)
    shipping = shelf_shipping(policy, sum(goods), applied)
    for amount in (
        totals.subtotal,
        totals.discount_amount,
        totals.tax_amount,
        totals.shipping_cost,
        totals.voucher_discount,
        totals.shipping_tax,
    ):
        assert amount >= 0
    assert totals.total_price == (
        totals.subtotal - totals.discount_amount + totals.tax_amount + totals.shipping_cost
    )
    assert 0 <= totals.voucher_discount <= totals.discount_amount <= totals.subtotal
    for line, g in zip(lines, goods, strict=True):
        assert 0 <= line.voucher_discount <= line.discount_amount <= line.line_total
        assert line.tax_amount >= 0
        assert (line.tax_rate, line.tax_name) == (rate, "VAT")
        if included:
            assert line.tax_amount == held(g, rate)
            assert line.net + line.tax_amount == g
        else:
            assert line.net == g
            assert line.tax_amount == half_up(Decimal(g) * rate)
    assert totals.subtotal == sum(line.line_total for line in lines)
    assert totals.discount_amount == sum(line.discount_amount for line in lines)
    assert totals.voucher_discount == sum(line.voucher_discount for line in lines)
    assert totals.tax_amount == sum(line.tax_amount for line in lines) + totals.shipping_tax
    line_tax = sum(line.tax_amount for line in lines)
    if not on_shipping:
        assert (totals.shipping_cost, totals.shipping_tax) == (shipping, 0)
    elif included:
        assert totals.shipping_tax == held(shipping, rate)
        assert totals.shipping_cost + totals.shipping_tax == shipping
    else:
        assert totals.shipping_cost == shipping
        assert totals.shipping_tax == half_up(Decimal(shipping) * rate)
    if included:
        assert totals.total_price == sum(goods) + shipping  # the shelf prices, exactly
    else:
        assert totals.total_price == sum(goods) + line_tax + shipping + totals.shipping_tax


@settings(max_examples=300)
@given(amount=st.integers(0, 10**12), step=st.integers(0, 10**6), rate=rates)
def test_the_net_of_a_gross_amount_never_decreases(amount: int, step: int, rate: Decimal) -> None:
    """Why the bounds hold with tax included: one more minor unit of gross adds 0 or 1 to its net
    (`rate / (1 + rate)` is below 1), so a larger whole-line amount never has a smaller net."""
    net = TaxTerms(rate, included=True).net

    assert net(0) == 0
    assert net(amount) <= net(amount + 1) <= net(amount) + 1
    assert net(amount) <= net(amount + step)
    assert net(amount) == amount - held(amount, rate)


@pytest.mark.parametrize("rate", ["0.05", "0.1", "0.19", "0.2", "0.25", "0.9999"])
def test_the_net_never_decreases_over_every_small_amount(rate: str) -> None:
    net = TaxTerms(Decimal(rate), included=True).net
    nets = [net(gross) for gross in range(3001)]

    assert nets[0] == 0
    assert all(0 <= after - before <= 1 for before, after in pairwise(nets))


# --- prices without tax and untaxed shipping: what pricing always gave -------------------------


@settings(max_examples=150)
@pytest.mark.parametrize("currency", CURRENCIES)
@given(data=st.data())
def test_tax_added_with_untaxed_shipping_gives_what_it_always_gave(
    currency: str, data: st.DataObject
) -> None:
    exponent = exponent_of(currency)
    wanted = data.draw(items(exponent))
    applied = deal_for(data.draw(vouchers(exponent)), wanted)
    rate = data.draw(rates)
    policy = data.draw(shippings(exponent))
    default = data.draw(st.booleans())
    terms = TaxTerms(rate) if default else TaxTerms(rate, "Tax", included=False, on_shipping=False)

    lines, totals = Pricing(terms, policy).price(wanted, applied)

    # The rules before tax modes, written out: list price per line, the product's discount per unit
    # plus the voucher's share, tax on the rest, shipping on the goods after discounts.
    shares = [0] * len(wanted) if applied is None else applied.shares([i.final_price * q for i, q in wanted])
    expected = [
        PricedLine(
            product_id=item.id,
            product_name=item.name,
            sku=item.sku,
            unit_price=item.price,
            quantity=q,
            line_total=item.price * q,
            discount_amount=(item.price - item.final_price) * q + share,
            tax_amount=half_up(Decimal(item.final_price * q - share) * rate),
            voucher_discount=share,
            tax_rate=rate,
            tax_name="Tax",
        )
        for (item, q), share in zip(wanted, shares, strict=True)
    ]
    subtotal = sum(line.line_total for line in expected)
    discount = sum(line.discount_amount for line in expected)
    assert lines == expected
    assert totals == Totals(
        subtotal=subtotal,
        discount_amount=discount,
        tax_amount=sum(line.tax_amount for line in expected),
        shipping_cost=shelf_shipping(policy, subtotal - discount, applied),
        voucher_discount=sum(shares),
        shipping_tax=0,
    )


# --- worked examples to check by hand -------------------------------------------------------


def priced(
    terms: TaxTerms, wanted: list[tuple[Item, int]], flat: int = 0, applied: Deal | None = None
) -> tuple[list[PricedLine], Totals]:
    return Pricing(terms, FlatShipping(flat=flat)).price(wanted, applied)


def test_twenty_percent_vat_included_in_12_00_is_2_00_of_tax_on_10_00() -> None:
    (line,), totals = priced(TaxTerms(Decimal("0.20"), "VAT", included=True), [(Item(1, 1200), 1)])

    assert (line.unit_price, line.line_total, line.discount_amount, line.tax_amount) == (1000, 1000, 0, 200)
    assert (line.tax_rate, line.tax_name) == (Decimal("0.20"), "VAT")
    assert (totals.subtotal, totals.tax_amount, totals.total_price) == (1000, 200, 1200)


def test_a_discounted_line_with_tax_included() -> None:
    # 11.90 with 19% VAT, 10% off: 10.71 a unit, three of them 32.13 on the shelf (35.70 listed).
    # Listed 35.70 holds 5.70 of tax: net 30.00. 32.13 holds 5.13 (32.13 * 0.19 / 1.19): net 27.00.
    (line,), totals = priced(
        TaxTerms(Decimal("0.19"), "MwSt.", included=True), [(Item(1, 1190, Decimal(10)), 3)]
    )

    assert (line.line_total, line.discount_amount, line.tax_amount, line.unit_price) == (3000, 300, 513, 1000)
    assert line.net + line.tax_amount == 3213
    assert totals.total_price == 3213


def test_kwd_with_tax_included_keeps_three_decimals_and_the_line_total_is_the_exact_one() -> None:
    # 1.250 KWD x 3 = 3.750 with 10% included: 0.340909… → 0.341 of tax, net 3.409. The net per unit
    # 1.13633… rounds to 1.136, and 1.136 x 3 = 3.408: the line total (3.409) is the exact amount.
    (line,), totals = priced(TaxTerms(Decimal("0.10"), included=True), [(Item(1, 1250), 3)])

    assert (line.line_total, line.tax_amount, line.unit_price) == (3409, 341, 1136)
    assert line.unit_price * line.quantity != line.line_total
    assert totals.total_price == 3750


@pytest.mark.parametrize(
    ("price", "quantity", "rate", "tax", "net"),
    [
        (1100, 2, "0.10", 200, 2000),  # ¥1,100 x 2 with 10% consumption tax: ¥200 of it
        (980, 1, "0.10", 89, 891),  # ¥89.09… → ¥89
        (540, 1, "0.08", 40, 500),  # the reduced 8% rate
    ],
)
def test_jpy_with_tax_included_has_no_decimals(
    price: int, quantity: int, rate: str, tax: int, net: int
) -> None:
    (line,), totals = priced(TaxTerms(Decimal(rate), "消費税", included=True), [(Item(1, price), quantity)])

    assert (line.tax_amount, line.line_total) == (tax, net)
    assert totals.total_price == price * quantity


def test_taxed_shipping_with_tax_added() -> None:
    # 10.00 of goods and 4.99 of shipping at 20%: 2.00 and 0.998 → 1.00 of tax.
    _, totals = priced(TaxTerms(Decimal("0.20"), on_shipping=True), [(Item(1, 1000), 1)], flat=499)

    assert (totals.shipping_cost, totals.shipping_tax, totals.tax_amount) == (499, 100, 300)
    assert totals.total_price == 1000 + 200 + 499 + 100 == 1799


def test_taxed_shipping_with_tax_included() -> None:
    # 12.00 of goods and 5.99 of shipping, both with 20% VAT: 5.99 holds 0.998… → 1.00, so 4.99 net.
    terms = TaxTerms(Decimal("0.20"), "VAT", included=True, on_shipping=True)
    _, totals = priced(terms, [(Item(1, 1200), 1)], flat=599)

    assert (totals.subtotal, totals.shipping_cost, totals.shipping_tax, totals.tax_amount) == (
        1000,
        499,
        100,
        300,
    )
    assert totals.total_price == 1200 + 599


def test_untaxed_shipping_with_tax_included_is_its_shelf_price() -> None:
    _, totals = priced(TaxTerms(Decimal("0.20"), included=True), [(Item(1, 1200), 1)], flat=599)

    assert (totals.shipping_cost, totals.shipping_tax, totals.tax_amount) == (599, 0, 200)
    assert totals.total_price == 1799


def test_a_voucher_with_tax_included() -> None:
    # 10% off a 30.00 lamp with 20% VAT: 3.00 off the shelf, so the customer pays 27.00, 4.50 of it tax.
    # Net amounts stored: listed 30.00 → 25.00, paid 27.00 → 22.50; the voucher's net part is 2.50.
    lamp = Item(1, 3000)
    applied = deal_for(Voucher("HOME10", VoucherKind.PERCENTAGE, Decimal(10)), [(lamp, 1)])
    (line,), totals = priced(TaxTerms(Decimal("0.20"), included=True), [(lamp, 1)], applied=applied)

    assert (line.line_total, line.discount_amount, line.voucher_discount, line.tax_amount) == (
        2500,
        250,
        250,
        450,
    )
    assert (totals.voucher_discount, totals.total_price) == (250, 2700)


@pytest.mark.parametrize("included", [False, True])
def test_a_free_shipping_voucher_leaves_no_shipping_tax(included: bool) -> None:
    lamp = Item(1, 3000)
    applied = deal_for(Voucher("SHIP", VoucherKind.FREE_SHIPPING, Decimal(0)), [(lamp, 1)])
    terms = TaxTerms(Decimal("0.20"), included=included, on_shipping=True)

    _, totals = priced(terms, [(lamp, 1)], flat=599, applied=applied)

    assert (totals.shipping_cost, totals.shipping_tax) == (0, 0)
    assert totals.tax_amount == (500 if included else 600)
    assert totals.total_price == (3000 if included else 3600)


def test_an_order_s_tax_and_shipping_replace_the_shop_s_defaults() -> None:
    pricing = Pricing(TaxTerms(), FlatShipping(flat=100))
    vat = TaxTerms(Decimal("0.20"), "VAT", included=True, on_shipping=True)

    (line,), totals = pricing.price([(Item(1, 1200), 1)], tax=vat, shipping=FlatShipping(flat=599))

    assert (line.tax_rate, line.tax_name, line.tax_amount) == (Decimal("0.20"), "VAT", 200)
    assert (totals.shipping_cost, totals.shipping_tax, totals.total_price) == (499, 100, 1799)
    (plain,), defaults = pricing.price([(Item(1, 1200), 1)])
    assert (plain.tax_amount, defaults.shipping_cost, defaults.total_price) == (0, 100, 1300)


@pytest.mark.parametrize("rate", ["-0.01", "1", "1.5"])
def test_terms_refuse_a_rate_outside_0_to_1(rate: str) -> None:
    with pytest.raises(ValueError, match="from 0 up to 1"):
        TaxTerms(Decimal(rate))


def test_the_shop_s_terms_come_from_its_settings() -> None:
    settings = Settings.from_mapping(
        {"SHOP_TAX_RATE": "0.19", "SHOP_PRICES_INCLUDE_TAX": "true", "SHOP_TAX_SHIPPING": "1"}
    )

    assert pricing_of(settings).tax == TaxTerms(Decimal("0.19"), included=True, on_shipping=True)
    assert pricing_of(Settings()).tax == TaxTerms()
