"""An order's life: the one table of moves, what each move sets, order numbers, parsing."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest

from shop_core.domain.addresses import Address
from shop_core.domain.errors import Conflict, InvalidInput
from shop_core.domain.orders import (
    RESTOCKING,
    TRANSITIONS,
    Order,
    OrderPaymentStatus,
    OrderStatus,
    PaymentMethod,
    new_order_number,
    parse_payment_method,
    parse_status,
)
from shop_core.domain.pricing import PricedLine, Totals

S = OrderStatus
PLACED_AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LATER = PLACED_AT + timedelta(hours=3)
ADDRESS = Address(full_name="Ada Lovelace", line1="1 Main St", city="London", postal_code="N1", country="GB")
LINE = PricedLine(
    product_id=1,
    product_name="Widget",
    sku="W-1",
    unit_price=1000,
    quantity=2,
    line_total=2000,
    discount_amount=200,
    tax_amount=270,
)
TOTALS = Totals(subtotal=2000, discount_amount=200, tax_amount=270, shipping_cost=499)
NUMBER = re.compile(r"^ORD-\d{4}-[2-9A-HJ-NP-Z]{8}$")

# How an order reaches each status from pending, with the payment state that path leaves.
PATHS: dict[OrderStatus, list[OrderStatus]] = {
    S.PENDING: [],
    S.PAID: [S.PAID],
    S.PROCESSING: [S.PAID, S.PROCESSING],
    S.SHIPPED: [S.PAID, S.PROCESSING, S.SHIPPED],
    S.DELIVERED: [S.PAID, S.PROCESSING, S.SHIPPED, S.DELIVERED],
    S.CANCELLED: [S.CANCELLED],
    S.REFUNDED: [S.PAID, S.REFUNDED],
}


def placed() -> Order:
    return Order.place(
        user_id=7,
        lines=[LINE],
        totals=TOTALS,
        currency="USD",
        payment_method=PaymentMethod.COD,
        shipping_address=ADDRESS,
        billing_address=ADDRESS,
        now=PLACED_AT,
    )


def order_in(status: OrderStatus) -> Order:
    order = placed()
    at = PLACED_AT
    for step in PATHS[status]:
        at += timedelta(minutes=10)
        order.move_to(step, at, "staff:1")
    assert order.status is status
    return order


def snapshot(order: Order) -> tuple[object, ...]:
    return (order.status, order.payment_status, order.paid_at, order.delivered_at, order.updated_at)


def test_every_status_has_a_row_in_the_table() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)
    assert set(PATHS) == set(OrderStatus)


def test_a_placed_order() -> None:
    order = placed()

    assert order.status is S.PENDING
    assert order.payment_status is OrderPaymentStatus.UNPAID
    assert (order.paid_at, order.delivered_at) == (None, None)
    assert order.created_at == order.updated_at == PLACED_AT
    assert order.total_price == 2000 - 200 + 270 + 499
    assert order.is_unpaid
    assert NUMBER.match(order.number)
    assert order.number.startswith("ORD-2025-")


def test_an_order_needs_a_line() -> None:
    with pytest.raises(InvalidInput) as caught:
        Order.place(
            user_id=7,
            lines=[],
            totals=TOTALS,
            currency="USD",
            payment_method=PaymentMethod.COD,
            shipping_address=ADDRESS,
            billing_address=ADDRESS,
            now=PLACED_AT,
        )
    assert list(caught.value.errors) == ["items"]


@pytest.mark.parametrize(
    ("source", "target"),
    [pytest.param(a, b, id=f"{a.value}->{b.value}") for a, b in itertools.product(OrderStatus, OrderStatus)],
)
def test_every_pair_of_statuses(source: OrderStatus, target: OrderStatus) -> None:
    order = order_in(source)
    before = snapshot(order)
    allowed = target in TRANSITIONS[source]

    assert order.can_move_to(target) is allowed
    if allowed:
        event = order.move_to(target, LATER, "staff:1", "a note")
        assert order.status is target
        assert order.updated_at == LATER
        assert (event.action, event.from_status, event.to_status) == ("status", source.value, target.value)
        assert (event.at, event.actor, event.note) == (LATER, "staff:1", "a note")
    else:
        with pytest.raises(Conflict) as caught:
            order.move_to(target, LATER, "staff:1")
        assert order.number in caught.value.detail
        assert snapshot(order) == before


def test_the_table_allows_exactly_these_moves() -> None:
    allowed = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert allowed == {
        (S.PENDING, S.PAID),
        (S.PENDING, S.CANCELLED),
        (S.PAID, S.PROCESSING),
        (S.PAID, S.CANCELLED),
        (S.PAID, S.REFUNDED),
        (S.PROCESSING, S.SHIPPED),
        (S.PROCESSING, S.REFUNDED),
        (S.SHIPPED, S.DELIVERED),
        (S.SHIPPED, S.REFUNDED),
        (S.DELIVERED, S.REFUNDED),
    }
    assert allowed >= RESTOCKING


def test_paid_sets_the_payment_and_when() -> None:
    order = placed()

    order.move_to(S.PAID, LATER, "staff:1")

    assert order.payment_status is OrderPaymentStatus.PAID
    assert order.paid_at == LATER
    assert not order.is_unpaid


def test_delivered_sets_when() -> None:
    order = order_in(S.SHIPPED)
    paid_at = order.paid_at

    order.move_to(S.DELIVERED, LATER, "staff:1")

    assert order.delivered_at == LATER
    assert order.paid_at == paid_at
    assert order.payment_status is OrderPaymentStatus.PAID


@pytest.mark.parametrize("source", [S.PAID, S.PROCESSING, S.SHIPPED, S.DELIVERED])
def test_refunded_refunds_the_payment(source: OrderStatus) -> None:
    order = order_in(source)

    order.move_to(S.REFUNDED, LATER, "staff:1")

    assert order.payment_status is OrderPaymentStatus.REFUNDED


def test_cancelling_a_paid_order_refunds_it() -> None:
    order = order_in(S.PAID)

    order.move_to(S.CANCELLED, LATER, "staff:1")

    assert (order.status, order.payment_status) == (S.CANCELLED, OrderPaymentStatus.REFUNDED)


def test_cancelling_an_unpaid_order_leaves_it_unpaid() -> None:
    order = placed()

    order.move_to(S.CANCELLED, LATER, "system")

    assert (order.status, order.payment_status) == (S.CANCELLED, OrderPaymentStatus.UNPAID)
    assert order.paid_at is None
    assert not order.is_unpaid  # cancelled: nothing left to expire


@pytest.mark.parametrize(
    ("source", "target"),
    [  # sorted: TRANSITIONS holds sets, and every test process must collect the same list
        pytest.param(a, b, id=f"{a.value}->{b.value}")
        for a in OrderStatus
        for b in sorted(TRANSITIONS[a], key=lambda status: status.value)
    ],
)
def test_stock_returns_only_before_the_goods_left(source: OrderStatus, target: OrderStatus) -> None:
    expected = (source, target) in {(S.PENDING, S.CANCELLED), (S.PAID, S.CANCELLED), (S.PAID, S.REFUNDED)}
    assert order_in(source).returns_stock_on(source, target) is expected


# --- order numbers ---------------------------------------------------------------------------------


def test_order_numbers_have_the_year_and_eight_unambiguous_characters() -> None:
    numbers = [new_order_number(datetime(2031, 12, 31, tzinfo=UTC)) for _ in range(10_000)]

    assert all(NUMBER.match(n) for n in numbers)
    assert all(n.startswith("ORD-2031-") for n in numbers)
    assert len(set(numbers)) == len(numbers)
    used = set("".join(n[-8:] for n in numbers))
    assert not used & set("01IO")


# --- parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(OrderStatus))
def test_parse_status_accepts_every_status(status: OrderStatus) -> None:
    assert parse_status(status.value) is status


@pytest.mark.parametrize("raw", ["", "PAID", "Paid", " paid", "shipping", "archived", "paid\x00"])
def test_parse_status_refuses_anything_else(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_status(raw)
    assert list(caught.value.errors) == ["status"]
    assert repr(raw) in caught.value.detail


@pytest.mark.parametrize("method", list(PaymentMethod))
def test_parse_payment_method_accepts_every_method(method: PaymentMethod) -> None:
    assert parse_payment_method(method.value) is method


@pytest.mark.parametrize("raw", ["", "COD", "paypal", "card", "stripe "])
def test_parse_payment_method_refuses_anything_else(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_payment_method(raw)
    assert list(caught.value.errors) == ["payment_method"]
    assert repr(raw) in caught.value.detail


# --- a failed payment attempt -------------------------------------------------------------------


def test_a_failed_payment_marks_an_unpaid_order_once() -> None:
    order = placed()
    assert order.payment_failed(LATER) is True
    assert (order.payment_status, order.updated_at) == (OrderPaymentStatus.FAILED, LATER)
    assert order.payment_failed(LATER + timedelta(hours=1)) is False
    assert order.updated_at == LATER


@pytest.mark.parametrize("status", [s for s in OrderStatus if s is not S.PENDING])
def test_a_failed_payment_changes_nothing_once_the_order_moved_on(status: OrderStatus) -> None:
    order = order_in(status)
    before = (order.payment_status, order.updated_at)
    assert order.payment_failed(LATER + timedelta(days=9)) is False
    assert (order.payment_status, order.updated_at) == before


def test_a_failed_order_can_still_be_paid() -> None:
    order = placed()
    order.payment_failed(LATER)
    order.move_to(S.PAID, LATER, "gateway:stripe")
    assert order.payment_status is OrderPaymentStatus.PAID
