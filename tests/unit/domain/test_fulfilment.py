"""The rules of fulfilment (domain/fulfilment.py): what is left to ship, who may ship, the check of
a requested parcel, and the status that follows."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shop_core.domain.errors import InvalidInput
from shop_core.domain.fulfilment import (
    FulfilmentLine,
    OrderNotFulfillable,
    OverFulfilment,
    check_fulfillable,
    label,
    left_to_ship,
    requested_lines,
    status_of,
)
from shop_core.domain.orders import FulfillmentStatus, Order, OrderStatus, PaymentMethod
from tests.unit.domain.test_order_life import order_in

S = OrderStatus


def with_lines(order: Order, *quantities: int) -> Order:
    """The order with lines 11, 12, ... of these quantities."""
    order.lines = [replace(order.lines[0], id=11 + n, quantity=q) for n, q in enumerate(quantities)]
    return order


def test_left_to_ship_is_ordered_minus_shipped() -> None:
    order = with_lines(order_in(S.PAID), 3, 1)
    assert left_to_ship(order, {}) == {11: 3, 12: 1}
    assert left_to_ship(order, {11: 2, 12: 1}) == {11: 1, 12: 0}


@pytest.mark.parametrize(
    ("left", "status"),
    [
        ({11: 3, 12: 1}, FulfillmentStatus.UNFULFILLED),
        ({11: 1, 12: 1}, FulfillmentStatus.PARTIAL),
        ({11: 3, 12: 0}, FulfillmentStatus.PARTIAL),
        ({11: 0, 12: 0}, FulfillmentStatus.FULFILLED),
    ],
)
def test_the_status_follows_what_is_left(left: dict[int, int], status: FulfillmentStatus) -> None:
    assert status_of(left, {11: 3, 12: 1}) is status


@pytest.mark.parametrize("status", [S.PAID, S.PROCESSING])
def test_a_paid_order_may_ship(status: OrderStatus) -> None:
    check_fulfillable(order_in(status))


def test_a_cash_order_may_ship_before_its_cash_comes() -> None:
    check_fulfillable(order_in(S.PENDING))  # placed() pays cash on delivery


@pytest.mark.parametrize(
    ("status", "method", "why"),
    [
        (S.PENDING, PaymentMethod.STRIPE, "unpaid"),
        (S.PENDING, PaymentMethod.SSLCOMMERZ, "unpaid"),
        (S.CANCELLED, PaymentMethod.COD, "cancelled"),
        (S.REFUNDED, PaymentMethod.COD, "refunded"),
        (S.SHIPPED, PaymentMethod.COD, "already shipped"),
        (S.DELIVERED, PaymentMethod.STRIPE, "already delivered"),
    ],
)
def test_other_orders_may_not_ship_and_say_why(status: OrderStatus, method: PaymentMethod, why: str) -> None:
    order = order_in(status)
    order.payment_method = method
    with pytest.raises(OrderNotFulfillable, match=why):
        check_fulfillable(order)


def test_a_fulfilled_order_ships_nothing_more() -> None:
    order = order_in(S.PAID)
    order.fulfillment_status = FulfillmentStatus.FULFILLED
    with pytest.raises(OrderNotFulfillable, match="already shipped"):
        check_fulfillable(order)


def test_a_line_named_twice_is_summed_then_checked() -> None:
    order = with_lines(order_in(S.PAID), 3, 1)
    left = {11: 3, 12: 1}
    assert requested_lines(order, [(11, 1), (12, 1), (11, 2)], left) == [
        FulfilmentLine(11, 3),
        FulfilmentLine(12, 1),
    ]
    with pytest.raises(OverFulfilment, match="item 11: 4 asked, 3 left to ship"):
        requested_lines(order, [(11, 2), (11, 2)], left)


def test_over_fulfilment_names_every_line_at_fault() -> None:
    order = with_lines(order_in(S.PAID), 3, 1)
    with pytest.raises(OverFulfilment) as refused:
        requested_lines(order, [(11, 4), (12, 2)], {11: 3, 12: 1})
    assert "item 11: 4 asked, 3 left" in refused.value.detail
    assert "item 12: 2 asked, 1 left" in refused.value.detail


@pytest.mark.parametrize("wanted", [[(99, 1)], [(11, 0)], [(11, -1)], []])
def test_unknown_items_and_quantities_below_one_are_invalid(wanted: list[tuple[int, int]]) -> None:
    order = with_lines(order_in(S.PAID), 3)
    with pytest.raises(InvalidInput):
        requested_lines(order, wanted, {11: 3})


def test_labels_are_trimmed_blank_is_none_and_control_characters_or_length_are_refused() -> None:
    assert label("carrier", "  DHL ") == "DHL"
    assert label("carrier", "   ") is None
    assert label("carrier", None) is None
    assert label("carrier", "x" * 100) == "x" * 100
    for bad in ("x" * 101, "A\x00B", "A\nB", "A\tB", "A\x7fB"):
        with pytest.raises(InvalidInput):
            label("tracking_number", bad)
