"""Returns: the one table of moves of a return's life, asking for a return (delivered, within the
window, no more than is left), the reason's text, and refund shares worked out by hand."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shop_core.domain.errors import Conflict, InvalidInput
from shop_core.domain.orders import Order, OrderStatus
from shop_core.domain.returns import (
    RETURN_MOVES,
    LineRefund,
    RefundExceedsPaid,
    Return,
    ReturnLine,
    ReturnMoveRefused,
    ReturnNotAllowed,
    ReturnStatus,
    ReturnTooMany,
    check_request,
    refund_for,
    units_in,
)
from shop_core.domain.tax import tax_added

R = ReturnStatus
DELIVERED_AT = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
LATER = DELIVERED_AT + timedelta(days=2)
WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Line:
    """An order line as read back from the database, with the id clients name it by (`item_id`)."""

    id: int
    quantity: int
    line_total: int
    discount_amount: int
    tax_amount: int


@dataclass(frozen=True)
class Stored:
    """What returns read of a stored order (a domain Order, once its lines carry their ids)."""

    lines: tuple[Line, ...]
    shipping_cost: int = 0
    shipping_tax: int = 0
    currency: str = "USD"
    number: str = "ORD-2026-TESTTEST"
    status: OrderStatus = OrderStatus.DELIVERED
    delivered_at: datetime | None = DELIVERED_AT

    @property
    def total_price(self) -> int:
        paid = sum(line.line_total - line.discount_amount + line.tax_amount for line in self.lines)
        return paid + self.shipping_cost + self.shipping_tax

    @classmethod
    def of(cls, order: Order) -> Stored:
        """The order with its lines numbered 1, 2, ... as the repository would give them ids."""
        lines = tuple(
            Line(i, line.quantity, line.line_total, line.discount_amount, line.tax_amount)
            for i, line in enumerate(order.lines, start=1)
        )
        stored = cls(lines, order.shipping_cost, order.shipping_tax, order.currency, order.number)
        assert stored.total_price == order.total_price  # the identity returns rely on
        return stored


# A lamp (2 units of 30.00) and a rug (3 units of 10.00 less a 1.00 voucher share), 10% tax added,
# shipping 5.00 with 0.50 tax: the customer paid 66.00 + 31.90 + 5.50 = 103.40.
LAMP = Line(11, 2, 6000, 0, 600)
RUG = Line(12, 3, 3000, 100, 290)
ORDER = Stored((LAMP, RUG), shipping_cost=500, shipping_tax=50)


def asked(
    order: Stored = ORDER,
    lines: list[tuple[int, int]] | None = None,
    *,
    in_returns: dict[int, int] | None = None,
    now: datetime = LATER,
    window: timedelta = WINDOW,
) -> tuple[ReturnLine, ...]:
    wanted = [(12, 1)] if lines is None else lines
    return check_request(order, wanted, in_returns=in_returns or {}, now=now, window=window)


def requested() -> Return:
    return Return.request(7, (ReturnLine(12, 1),), "Wrong colour", DELIVERED_AT)


# How a return reaches each status from requested.
PATHS: dict[ReturnStatus, list[ReturnStatus]] = {
    R.REQUESTED: [],
    R.APPROVED: [R.APPROVED],
    R.REJECTED: [R.REJECTED],
    R.RECEIVED: [R.APPROVED, R.RECEIVED],
    R.REFUNDED: [R.APPROVED, R.RECEIVED, R.REFUNDED],
}


def moved(r: Return, target: ReturnStatus, now: datetime) -> None:
    if target is R.APPROVED:
        r.approve(now)
    elif target is R.REJECTED:
        r.reject(now, "Worn")
    elif target is R.RECEIVED:
        r.receive(now, restock=True)
    else:
        r.refunded(now, 1063)


def at(status: ReturnStatus) -> Return:
    r = requested()
    for step in PATHS[status]:
        moved(r, step, DELIVERED_AT)
    assert r.status is status
    return r


def test_the_table_is_the_brief() -> None:
    assert {(a, b) for a, targets in RETURN_MOVES.items() for b in targets} == {
        (R.REQUESTED, R.APPROVED),
        (R.REQUESTED, R.REJECTED),
        (R.APPROVED, R.RECEIVED),
        (R.RECEIVED, R.REFUNDED),
    }


# No method moves a return back to requested: it is only ever the first status.
@pytest.mark.parametrize(
    ("before", "after"), list(itertools.product(R, [s for s in R if s is not R.REQUESTED]))
)
def test_every_move_outside_the_table_is_a_409_that_changes_nothing(
    before: ReturnStatus, after: ReturnStatus
) -> None:
    r = at(before)
    kept = vars(r).copy()
    if after in RETURN_MOVES[before]:
        moved(r, after, LATER)
        assert (r.status, r.updated_at) == (after, LATER)
        return
    with pytest.raises(ReturnMoveRefused) as refused:
        moved(r, after, LATER)
    assert isinstance(refused.value, Conflict)
    assert refused.value.code == "return_move_refused"
    assert (refused.value.before, refused.value.after) == (before, after)
    assert f"is {before.value}; it cannot become {after.value}" in refused.value.detail
    assert vars(r) == kept


def test_each_move_keeps_what_it_says() -> None:
    r = requested()
    assert (r.status, r.refund_amount, r.restock, r.created_at) == (R.REQUESTED, None, None, DELIVERED_AT)
    assert r.units == {12: 1}
    r.approve(LATER)
    r.receive(LATER + timedelta(days=1), restock=False)
    assert (r.restock, r.received_at) == (False, LATER + timedelta(days=1))
    r.refunded(LATER + timedelta(days=2), 1063)
    assert (r.status, r.refund_amount, r.refunded_at) == (R.REFUNDED, 1063, LATER + timedelta(days=2))
    rejected = requested()
    rejected.reject(LATER, "  Worn twice\r\nand washed  ")
    assert (rejected.status, rejected.note) == (R.REJECTED, "Worn twice\nand washed")


def test_a_refund_amount_is_fixed_once_and_the_refund_must_match_it() -> None:
    r = at(R.RECEIVED)
    assert r.fix_refund(1063, LATER) == 1063
    assert r.fix_refund(999, LATER) == 1063  # a retry asks the gateway for what was fixed
    with pytest.raises(ValueError, match="was to refund 1063"):
        r.refunded(LATER, 999)
    assert r.status is R.RECEIVED
    r.refunded(LATER, 1063)
    with pytest.raises(ReturnMoveRefused):
        at(R.APPROVED).fix_refund(1063, LATER)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "at least one"),
        (" \n\t ", "at least one"),
        ("x" * 1001, "at most 1000"),
        ("bad\x00byte", "control"),
        ("tab\there", "control"),
        ("escape\x1b[31m", "control"),
        ("c1\x85next line", "control"),
        ("del\x7f", "control"),
    ],
)
def test_a_reason_is_plain_text_of_1_to_1000_characters(raw: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem) as refused:
        Return.request(7, (ReturnLine(12, 1),), raw, LATER)
    assert list(refused.value.errors) == ["reason"]


def test_a_reason_keeps_line_breaks_and_any_script() -> None:
    assert Return.request(7, (), "x" * 1000, LATER).reason == "x" * 1000
    assert Return.request(7, (), " Zu groß\r\n— 大きすぎる ", LATER).reason == "Zu groß\n— 大きすぎる"


def test_a_bad_rejection_note_changes_nothing() -> None:
    r = requested()
    with pytest.raises(InvalidInput):
        r.reject(LATER, "\x00")
    assert (r.status, r.note) == (R.REQUESTED, "")


def test_a_request_within_the_window_gives_back_its_lines() -> None:
    assert asked(lines=[(12, 2), (11, 2)]) == (ReturnLine(12, 2), ReturnLine(11, 2))
    assert asked(now=DELIVERED_AT + WINDOW) == (ReturnLine(12, 1),)  # the last instant is in


def test_outside_the_window_says_until_when_it_was_open() -> None:
    with pytest.raises(ReturnNotAllowed, match=r"open until 2026-03-31T15:30:00\+00:00") as refused:
        asked(now=DELIVERED_AT + WINDOW + timedelta(seconds=1))
    assert refused.value.code == "return_not_allowed"
    assert asked(now=DELIVERED_AT + timedelta(days=9), window=timedelta(days=10))
    with pytest.raises(ReturnNotAllowed):
        asked(now=DELIVERED_AT + timedelta(days=11), window=timedelta(days=10))


@pytest.mark.parametrize("status", [s for s in OrderStatus if s is not OrderStatus.DELIVERED])
def test_only_a_delivered_order_takes_returns(status: OrderStatus) -> None:
    with pytest.raises(ReturnNotAllowed, match=f"is {status.value}; only delivered goods go back"):
        asked(replace(ORDER, status=status))


def test_a_delivered_order_without_its_delivery_time_takes_none() -> None:
    with pytest.raises(ReturnNotAllowed):
        asked(replace(ORDER, delivered_at=None))


def test_no_more_than_was_delivered_and_is_not_in_a_return() -> None:
    assert asked(lines=[(12, 1)], in_returns={12: 2, 11: 2}) == (ReturnLine(12, 1),)
    with pytest.raises(ReturnTooMany) as refused:
        asked(lines=[(12, 2), (11, 1)], in_returns={12: 2})
    assert refused.value.code == "return_too_many"
    assert refused.value.left == {12: 1}
    assert "item 12: 2 wanted, 1 left to return" in refused.value.detail
    with pytest.raises(ReturnTooMany, match="item 11: 3 wanted, 2 left"):
        asked(lines=[(11, 3)])


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ([], "at least one item"),
        ([(99, 1)], "has no item 99"),
        ([(12, 0)], "at least 1 unit"),
        ([(12, -1)], "at least 1 unit"),
        ([(12, 1), (12, 1)], "named twice"),
    ],
)
def test_malformed_lines_are_a_400(lines: list[tuple[int, int]], problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem) as refused:
        asked(lines=lines)
    assert list(refused.value.errors) == ["lines"]


def test_malformed_lines_come_before_the_order_s_state() -> None:
    with pytest.raises(InvalidInput):
        asked(replace(ORDER, status=OrderStatus.PAID), lines=[(99, 1)])


def test_units_in_returns_count_what_is_not_rejected_or_what_is_refunded() -> None:
    rejected, waiting, fixed, paid = at(R.REJECTED), at(R.APPROVED), at(R.RECEIVED), at(R.REFUNDED)
    fixed.fix_refund(1063, LATER)
    returns = [rejected, waiting, fixed, paid, at(R.RECEIVED)]
    assert units_in(returns) == {12: 4}
    assert units_in(returns, refunded_only=True) == {12: 2}


def test_the_rug_comes_back_one_unit_at_a_time() -> None:
    """The rug paid 30.00 - 1.00 voucher share = 29.00 and 10% tax on it, 2.90: P = 31.90 for 3 units.
    share(3190, 3, n) = 1063, 2126, 3190: the refunds are 10.63, 10.63, 10.64 (the cent lost to
    rounding down comes back with the last unit). Tax in proportion, rounded down: 290 * 1063 // 3190
    = 96, 290 * 2126 // 3190 = 193, then 290: 0.96, 0.97, 0.97; the goods are the rest: 9.67, 9.66,
    9.67 (adding up to the 29.00 net)."""
    assert tax_added(2900, Decimal("0.1")) == 290
    refunds = [refund_for(ORDER, {12: n}, {12: 1}, False, already_refunded_total=0) for n in range(3)]
    assert [r.amount for r in refunds] == [1063, 1063, 1064]
    assert [r.lines for r in refunds] == [
        (LineRefund(12, 1, 967, 96),),
        (LineRefund(12, 1, 966, 97),),
        (LineRefund(12, 1, 967, 97),),
    ]
    assert all(r.shipping_cost == r.shipping_tax == 0 for r in refunds)  # the lamp is still out
    whole = refund_for(ORDER, {}, {12: 3}, False, already_refunded_total=0)
    assert whole.amount == 3190 == sum(r.amount for r in refunds)


def test_without_tax_the_same_rug_refunds_9_66_9_67_9_67() -> None:
    """P = 29.00 for 3 units: share(2900, 3, n) = 966, 1933, 2900."""
    rug = replace(RUG, tax_amount=0)
    order = Stored((rug,))
    steps = [refund_for(order, {12: n}, {12: 1}, False, already_refunded_total=0) for n in range(3)]
    assert [r.amount for r in steps] == [966, 967, 967]
    assert [r.lines[0].tax for r in steps] == [0, 0, 0]


def test_shipping_comes_back_once_with_the_whole_order() -> None:
    """The lamp first (66.00), then the rug: 31.90 and the shipping's 5.00 + 0.50: 103.40 in all."""
    first = refund_for(ORDER, {}, {11: 2}, False, already_refunded_total=0)
    last = refund_for(ORDER, {11: 2}, {12: 3}, False, already_refunded_total=6600)
    assert (first.amount, first.shipping_cost, first.shipping_tax) == (6600, 0, 0)
    assert (last.amount, last.shipping_cost, last.shipping_tax, last.tax) == (3740, 500, 50, 340)
    assert first.amount + last.amount == ORDER.total_price == 10340
    again = refund_for(ORDER, {11: 2}, {12: 3}, True, already_refunded_total=6600)
    assert again.amount == 3190


def test_in_yen_and_in_dinars() -> None:
    """JPY: 3 units paid 1000 yen: 333, 333, 334. KWD: 7 units paid 10.000 KD: 1.428, 1.429, 1.428 ..."""
    yen = Stored((Line(1, 3, 1000, 0, 0),), currency="JPY")
    steps = [refund_for(yen, {1: n}, {1: 1}, False, already_refunded_total=0).amount for n in range(3)]
    assert steps == [333, 333, 334]
    dinars = Stored((Line(1, 7, 10_000, 0, 0),), currency="KWD")
    steps = [refund_for(dinars, {1: n}, {1: 1}, False, already_refunded_total=0).amount for n in range(7)]
    assert steps == [1428, 1429, 1428, 1429, 1428, 1429, 1429]
    assert sum(steps) == 10_000


def test_a_refund_past_what_was_paid_is_refused() -> None:
    """A manual refund of 80.00 earlier: the lamp's 66.00 would take the order past its 103.40."""
    with pytest.raises(
        RefundExceedsPaid, match=re.escape("refunding 66.00 USD after 80.00 would pass the 103.40")
    ):
        refund_for(ORDER, {}, {11: 2}, False, already_refunded_total=8000)
    assert refund_for(ORDER, {}, {11: 2}, False, already_refunded_total=10340 - 6600).amount == 6600


@pytest.mark.parametrize(
    ("before", "returning"),
    [({}, {}), ({}, {99: 1}), ({99: 1}, {12: 1}), ({12: 3}, {12: 1}), ({}, {12: 0}), ({12: -1}, {12: 1})],
)
def test_inconsistent_counts_are_a_bug_not_a_refund(
    before: dict[int, int], returning: dict[int, int]
) -> None:
    with pytest.raises(ValueError, match="Cannot refund"):
        refund_for(ORDER, before, returning, False, already_refunded_total=0)
