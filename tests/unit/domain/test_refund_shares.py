"""Refund shares, property-tested on orders priced by the shop (vouchers, both tax modes, shipping
taxed or not) in currencies of 0, 2 and 3 decimals (JPY, USD, KWD): any sequence of partial returns
refunds amounts of 0 or more whose running total never passes what was paid and reaches it exactly
when everything has come back; how a line's units are grouped into returns changes nothing; and
shipping comes back once, with the last return."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shop_core.domain.addresses import Address
from shop_core.domain.money import exponent_of
from shop_core.domain.orders import Order, OrderLine, PaymentMethod
from shop_core.domain.pricing import FlatShipping, Pricing, TaxTerms
from shop_core.domain.returns import RefundExceedsPaid, RefundShare, refund_for
from shop_core.domain.vouchers import VoucherInvalid, VoucherLine, deal
from tests.unit.domain.baskets import items, vouchers

NOW = datetime(2026, 12, 24, 12, tzinfo=UTC)
CURRENCIES = ["JPY", "USD", "KWD"]
ADDRESS = Address(full_name="Ada Lovelace", line1="1 Main St", city="London", postal_code="N1", country="GB")


@st.composite
def orders(draw: st.DrawFn, currency: str) -> Order:
    """An order priced as checkout prices it, then stored (its lines given ids 1, 2, ...)."""
    exponent = exponent_of(currency)
    wanted = draw(items(exponent, max_quantity=12, max_lines=5))
    voucher = draw(vouchers(exponent))
    terms = TaxTerms(
        draw(st.decimals(0, Decimal("0.27"), places=4)),
        included=draw(st.booleans()),
        on_shipping=draw(st.booleans()),
    )
    flat = draw(st.integers(0, 50 * 10**exponent))
    lines = [VoucherLine(item.id, item.category_id, item.final_price * n) for item, n in wanted]
    try:
        applied = None if voucher is None else deal(voucher, lines, categories=voucher.category_ids, now=NOW)
    except VoucherInvalid:
        applied = None
    priced, totals = Pricing(terms, FlatShipping(flat=flat)).price(wanted, applied)
    order = Order.place(
        user_id=1,
        lines=priced,
        totals=totals,
        currency=currency,
        payment_method=PaymentMethod.STRIPE,
        shipping_address=ADDRESS,
        billing_address=ADDRESS,
        now=NOW,
        tax=terms,
    )
    order.lines = [replace(line, id=i) for i, line in enumerate(order.lines, start=1)]
    return order


@st.composite
def return_sequences(draw: st.DrawFn, order: Order) -> list[dict[int, int]]:
    """Every unit of the order sent back in some order, cut into returns of one or more units."""
    units = [line.id for line in order.lines for _ in range(line.quantity)]
    shuffled = draw(st.permutations(units))
    cuts = (
        sorted(draw(st.sets(st.integers(1, len(units) - 1), max_size=len(units) - 1)))
        if len(units) > 1
        else []
    )
    returns = []
    for start, end in zip([0, *cuts], [*cuts, len(units)], strict=True):
        counted: dict[int, int] = {}
        for item_id in shuffled[start:end]:
            counted[item_id] = counted.get(item_id, 0) + 1
        returns.append(counted)
    return returns


def paid(line: OrderLine) -> int:
    return line.line_total - line.discount_amount + line.tax_amount


@pytest.mark.parametrize("currency", CURRENCIES)
@settings(max_examples=200)
@given(data=st.data())
def test_any_sequence_of_returns_refunds_exactly_what_was_paid(currency: str, data: st.DataObject) -> None:
    order = data.draw(orders(currency))
    before: dict[int, int] = {}
    refunds: list[RefundShare] = []
    for returning in data.draw(return_sequences(order)):
        refund = refund_for(
            order, before, returning, False, already_refunded_total=sum(r.amount for r in refunds)
        )
        assert refund.amount >= 0
        assert all(part.goods >= 0 and part.tax >= 0 for part in refund.lines)
        assert {part.item_id: part.quantity for part in refund.lines} == returning
        refunds.append(refund)
        assert sum(r.amount for r in refunds) <= order.total_price
        for item_id, n in returning.items():
            before[item_id] = before.get(item_id, 0) + n
    assert sum(r.amount for r in refunds) == order.total_price
    # Each line's parts add up to what it paid: its goods net of discounts, and its tax.
    for line in order.lines:
        parts = [part for r in refunds for part in r.lines if part.item_id == line.id]
        assert sum(part.goods for part in parts) == line.line_total - line.discount_amount
        assert sum(part.tax for part in parts) == line.tax_amount
    # Shipping once, with the last return only.
    assert [(r.shipping_cost, r.shipping_tax) for r in refunds[:-1]] == [(0, 0)] * (len(refunds) - 1)
    assert (refunds[-1].shipping_cost, refunds[-1].shipping_tax) == (order.shipping_cost, order.shipping_tax)


@pytest.mark.parametrize("currency", CURRENCIES)
@given(data=st.data())
def test_a_line_refunds_the_same_in_one_go_or_unit_by_unit(currency: str, data: st.DataObject) -> None:
    order = data.draw(orders(currency))
    for line in order.lines:
        at_once = refund_for(order, {}, {line.id: line.quantity}, True, already_refunded_total=0)
        one_by_one = [
            refund_for(order, {line.id: n}, {line.id: 1}, True, already_refunded_total=0)
            for n in range(line.quantity)
        ]
        assert at_once.amount == sum(r.amount for r in one_by_one) == paid(line)
        assert at_once.tax == sum(r.tax for r in one_by_one) == line.tax_amount


@pytest.mark.parametrize("currency", CURRENCIES)
@given(data=st.data())
def test_how_units_are_grouped_changes_nothing(currency: str, data: st.DataObject) -> None:
    """k units after r refund what k1 then k2 (k1 + k2 = k) refund: a line's refunds depend only on
    how many of its units have come back."""
    order = data.draw(orders(currency))
    line = data.draw(st.sampled_from(order.lines))
    r = data.draw(st.integers(0, line.quantity - 1))
    k = data.draw(st.integers(1, line.quantity - r))
    k1 = data.draw(st.integers(0, k))

    def refund(after: int, n: int) -> tuple[int, int]:
        if n == 0:
            return 0, 0
        share = refund_for(order, {line.id: after}, {line.id: n}, True, already_refunded_total=0)
        return share.amount, share.tax

    whole, first, second = refund(r, k), refund(r, k1), refund(r + k1, k - k1)
    assert whole == (first[0] + second[0], first[1] + second[1])
    assert 0 <= whole[0] <= paid(line)


@pytest.mark.parametrize("currency", CURRENCIES)
@given(data=st.data())
def test_shipping_only_with_the_whole_order_and_only_once(currency: str, data: st.DataObject) -> None:
    order = data.draw(orders(currency))
    everything = {line.id: line.quantity for line in order.lines}
    last = data.draw(st.sampled_from(order.lines))
    kept_back = data.draw(st.integers(1, last.quantity))
    before = everything | {last.id: last.quantity - kept_back}
    final = refund_for(order, before, {last.id: kept_back}, False, already_refunded_total=0)
    assert (final.shipping_cost, final.shipping_tax) == (order.shipping_cost, order.shipping_tax)
    again = refund_for(order, before, {last.id: kept_back}, True, already_refunded_total=0)
    assert (again.shipping_cost, again.shipping_tax) == (0, 0)
    assert final.amount - again.amount == order.shipping_cost + order.shipping_tax
    if kept_back > 1:
        short = refund_for(order, before, {last.id: kept_back - 1}, False, already_refunded_total=0)
        assert (short.shipping_cost, short.shipping_tax) == (0, 0)


@pytest.mark.parametrize("currency", CURRENCIES)
@given(data=st.data())
def test_never_past_what_is_left_of_the_total(currency: str, data: st.DataObject) -> None:
    order = data.draw(orders(currency))
    everything = {line.id: line.quantity for line in order.lines}
    refund = refund_for(order, {}, everything, False, already_refunded_total=0)
    assert refund.amount == order.total_price
    if order.total_price:
        earlier = data.draw(st.integers(1, order.total_price))
        with pytest.raises(RefundExceedsPaid):
            refund_for(order, {}, everything, False, already_refunded_total=earlier)
