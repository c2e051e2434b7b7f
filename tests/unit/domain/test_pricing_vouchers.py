"""An order priced with a voucher: the voucher's discount shared over the lines it applies to
before tax, property-tested in currencies of 0, 2 and 3 decimals (JPY, USD, KWD): the shares add up
to the voucher's discount, no line goes below zero, tax is on each line after its share, and the
totals identity holds."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop_core.domain.money import exponent_of, round_half_up
from shop_core.domain.pricing import FlatShipping, Pricing, TaxTerms
from shop_core.domain.vouchers import (
    Reason,
    Voucher,
    VoucherInvalid,
    VoucherKind,
    VoucherLine,
    deal,
    discount_of,
)
from tests.unit.domain.baskets import Item, discount_vouchers, items

NOW = datetime(2026, 12, 24, 12, tzinfo=UTC)


def lines_of(wanted: list[tuple[Item, int]]) -> list[VoucherLine]:
    return [VoucherLine(item.id, item.category_id, item.final_price * quantity) for item, quantity in wanted]


@pytest.mark.parametrize("currency", ["JPY", "USD", "KWD"])
@given(data=st.data())
def test_the_voucher_shares_add_up_and_the_totals_identity_holds(currency: str, data: st.DataObject) -> None:
    exponent = exponent_of(currency)
    wanted = data.draw(items(exponent))
    voucher = data.draw(discount_vouchers(exponent))
    rate = data.draw(st.decimals(0, Decimal("0.25"), places=4))
    pricing = Pricing(TaxTerms(rate), FlatShipping(flat=5 * 10**exponent))
    lines = lines_of(wanted)
    eligible_total = sum(
        line.amount for line in lines if not voucher.category_ids or line.category_id in voucher.category_ids
    )
    if eligible_total == 0:
        with pytest.raises(VoucherInvalid) as refused:
            deal(voucher, lines, categories=voucher.category_ids, now=NOW)
        assert refused.value.reason is Reason.NOT_APPLICABLE
        return
    applied = deal(voucher, lines, categories=voucher.category_ids, now=NOW)

    priced, totals = pricing.price(wanted, applied)

    expected = discount_of(voucher, eligible_total)
    assert totals.voucher_discount == expected == sum(line.voucher_discount for line in priced)
    assert expected <= eligible_total
    for line, (item, quantity), eligible in zip(priced, wanted, applied.eligible, strict=True):
        own = (item.price - item.final_price) * quantity
        assert line.discount_amount == own + line.voucher_discount
        assert 0 <= line.voucher_discount <= line.line_total - own  # never below zero
        assert eligible or line.voucher_discount == 0
        assert line.tax_amount == round_half_up(Decimal(line.line_total - line.discount_amount) * rate)
        assert line.final_unit_price == item.final_price  # the unit price is before the voucher
    assert totals.discount_amount == sum(line.discount_amount for line in priced)
    assert totals.tax_amount == sum(line.tax_amount for line in priced)
    assert (
        totals.total_price
        == totals.subtotal - totals.discount_amount + totals.tax_amount + totals.shipping_cost
    )
    assert totals.total_price >= 0


@pytest.mark.parametrize("currency", ["JPY", "USD", "KWD"])
@given(data=st.data())
def test_the_remainder_goes_to_the_largest_eligible_line(currency: str, data: st.DataObject) -> None:
    exponent = exponent_of(currency)
    wanted = data.draw(items(exponent))
    percent = data.draw(st.decimals(Decimal("0.01"), 100, places=2))
    voucher = Voucher("P", VoucherKind.PERCENTAGE, percent)
    lines = lines_of(wanted)
    if sum(line.amount for line in lines) == 0:
        return
    shares = deal(voucher, lines, categories=(), now=NOW).shares([line.amount for line in lines])
    floors = [sum(shares) * line.amount // sum(line.amount for line in lines) for line in lines]
    # Each share is its proportional floor plus at most one unit, bar the lines a remainder had to
    # skip because they were full; the lines given an extra unit are the largest.
    extra = [share - floor for share, floor in zip(shares, floors, strict=True)]
    assert all(e >= 0 for e in extra)
    assert sum(shares) == discount_of(voucher, sum(line.amount for line in lines))
    if any(extra):
        smallest_with_extra = min(line.amount for line, e in zip(lines, extra, strict=True) if e)
        assert all(
            line.amount <= smallest_with_extra or share == line.amount
            for line, e, share in zip(lines, extra, shares, strict=True)
            if not e
        )


def test_free_shipping_takes_nothing_off_the_goods_and_the_shipping() -> None:
    pricing = Pricing(TaxTerms(Decimal("0.1")), FlatShipping(flat=500))
    lamp = Item(1, 3000, Decimal(0))
    applied = deal(
        Voucher("SHIP", VoucherKind.FREE_SHIPPING, Decimal(0)), lines_of([(lamp, 1)]), categories=(), now=NOW
    )
    _, totals = pricing.price([(lamp, 1)], applied)
    assert (totals.shipping_cost, totals.discount_amount, totals.voucher_discount) == (0, 0, 0)
    assert totals.total_price == 3300
    plain = pricing.price([(lamp, 1)])[1]
    assert plain.shipping_cost == 500


def test_a_worked_example_in_each_currency() -> None:
    """15% off two eligible lines of 30.00 and 27.03 (57.03): 8.5545 rounds to 8.55, shared 4.50 and
    4.05 (the floors 4.49 and 4.05 leave one unit, which goes to the larger line)."""
    lamp, rug = Item(1, 3000, Decimal(0)), Item(2, 1001, Decimal(10))
    voucher = Voucher("HOME15", VoucherKind.PERCENTAGE, Decimal(15))
    wanted = [(lamp, 1), (rug, 3)]
    applied = deal(voucher, lines_of(wanted), categories=(), now=NOW)
    assert applied.shares([3000, 2703]) == [450, 405]
