"""Sale rules: the invariants a sale keeps, when it runs, which one sets a product's price, the
pricing rule (never stacked, property-tested), and the next instant prices can change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop_core.domain.errors import InvalidInput
from shop_core.domain.money import percent_off
from shop_core.domain.sales import (
    NO_TARGET,
    RunningSale,
    Sale,
    ancestry,
    best_discount,
    best_of,
    check_sale,
    in_utc,
    next_boundary,
    sale_price,
)

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


def sale(**changes: object) -> Sale:
    made = Sale(
        name="Black Friday",
        percentage=Decimal("20"),
        starts_at=NOW,
        ends_at=NOW + 24 * HOUR,
        product_ids=frozenset({1}),
        created_at=NOW,
        updated_at=NOW,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


# --- invariants ----------------------------------------------------------------------------------


@pytest.mark.parametrize("percentage", ["0.01", "20", "33.33", "99.99", "100", "100.00", "1E+2"])
def test_a_percentage_is_more_than_0_and_at_most_100(percentage: str) -> None:
    check_sale(sale(percentage=Decimal(percentage)))


@pytest.mark.parametrize(
    ("percentage", "message"),
    [
        ("0", "A percentage is more than 0 and at most 100."),
        ("-5", "A percentage is more than 0 and at most 100."),
        ("100.01", "A percentage is more than 0 and at most 100."),
        ("1E+9999", "A percentage is more than 0 and at most 100."),
        ("NaN", "A percentage is more than 0 and at most 100."),
        ("sNaN", "A percentage is more than 0 and at most 100."),
        ("Infinity", "A percentage is more than 0 and at most 100."),
        ("12.345", "Use at most two decimal places."),
        ("0.001", "Use at most two decimal places."),
    ],
)
def test_a_bad_percentage_is_refused(percentage: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_sale(sale(percentage=Decimal(percentage)))
    assert refused.value.errors == {"percentage": [message]}


def test_a_sale_ends_after_it_starts() -> None:
    for ends_at in (NOW, NOW - HOUR):
        with pytest.raises(InvalidInput) as refused:
            check_sale(sale(ends_at=ends_at))
        assert refused.value.errors == {"ends_at": ["The sale must end after it starts."]}
    check_sale(sale(ends_at=NOW + timedelta(microseconds=1)))


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_name_has_1_to_200_characters(name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_sale(sale(name=name))
    assert set(refused.value.errors) == {"name"}
    check_sale(sale(name="x" * 200))


def test_a_sale_names_at_least_one_product_or_category() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_sale(sale(product_ids=frozenset()))
    assert refused.value.errors == {"product_ids": [NO_TARGET], "category_ids": [NO_TARGET]}
    check_sale(sale(product_ids=frozenset(), category_ids=frozenset({3})))


def test_every_broken_field_is_listed_at_once() -> None:
    broken = sale(name="", percentage=Decimal(101), ends_at=NOW - HOUR, product_ids=frozenset())

    with pytest.raises(InvalidInput) as refused:
        check_sale(broken)

    assert set(refused.value.errors) == {"name", "percentage", "ends_at", "product_ids", "category_ids"}


def test_instants_need_a_time_zone_and_are_kept_in_utc() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_sale(sale(starts_at=NOW.replace(tzinfo=None)))
    assert set(refused.value.errors) == {"starts_at"}
    dhaka = timezone(timedelta(hours=6))
    assert in_utc(datetime(2026, 11, 27, 18, tzinfo=dhaka), "starts_at") == NOW.replace(hour=12)
    with pytest.raises(InvalidInput, match="time zone"):
        in_utc(NOW.replace(tzinfo=None), "ends_at")
    with pytest.raises(InvalidInput) as too_early:
        in_utc(datetime(1, 1, 1, tzinfo=dhaka), "starts_at")  # before year 1 in UTC
    assert set(too_early.value.errors) == {"starts_at"}


# --- when it runs, what it covers -----------------------------------------------------------------


def test_a_sale_runs_from_its_start_until_just_before_its_end() -> None:
    running = sale(starts_at=NOW, ends_at=NOW + HOUR)
    assert not running.is_running(NOW - timedelta(microseconds=1))
    assert running.is_running(NOW)
    assert running.is_running(NOW + HOUR - timedelta(microseconds=1))
    assert not running.is_running(NOW + HOUR)
    assert running.has_ended(NOW + HOUR)
    assert not running.has_ended(NOW)


def test_a_sale_on_a_category_covers_the_products_of_its_descendants() -> None:
    parents = {1: None, 2: 1, 3: 2, 4: None}  # 1 > 2 > 3, and 4
    on_kitchen = sale(product_ids=frozenset(), category_ids=frozenset({2}))

    assert ancestry(3, parents) == [3, 2, 1]
    assert ancestry(None, parents) == []
    assert on_kitchen.covers(10, ancestry(3, parents))
    assert on_kitchen.covers(10, ancestry(2, parents))
    assert not on_kitchen.covers(10, ancestry(1, parents))  # above it, not below
    assert not on_kitchen.covers(10, ancestry(4, parents))
    assert not on_kitchen.covers(10, [])
    assert sale(product_ids=frozenset({10})).covers(10, [])


def test_ancestry_stops_at_a_cycle() -> None:
    assert ancestry(1, {1: 2, 2: 1}) == [1, 2]


def test_the_best_running_sale_is_the_highest_then_the_longest_then_the_oldest() -> None:
    ends = NOW + HOUR
    a, b = RunningSale(1, "A", Decimal(10), ends), RunningSale(2, "B", Decimal(20), ends)
    c = RunningSale(3, "C", Decimal(20), ends + HOUR)
    d = RunningSale(4, "D", Decimal(20), ends + HOUR)

    assert best_of([]) is None
    assert best_of([a, b]) == b
    assert best_of([a, b, c]) == c
    assert best_of([d, c, a]) == c


# --- pricing: the better of the two, never both ---------------------------------------------------


def test_the_better_discount_wins_and_they_never_stack() -> None:
    assert best_discount(Decimal(10), []) == Decimal(10)
    assert best_discount(Decimal(10), [Decimal(25)]) == Decimal(25)
    assert best_discount(Decimal(30), [Decimal(25), Decimal(5)]) == Decimal(30)
    assert sale_price(1000, Decimal(10), [Decimal(25)]) == 750  # not 1000 * 0.9 * 0.75 = 675
    assert sale_price(1999, Decimal(0), [Decimal("33.33")]) == 1333  # 1332.6667 rounded half-up


percentages = st.decimals(min_value=0, max_value=100, places=2)


@given(
    price=st.integers(min_value=0, max_value=10**12),
    own=percentages,
    sales=st.lists(st.decimals(min_value="0.01", max_value=100, places=2), max_size=5),
)
def test_a_sale_price_is_within_the_list_price_and_the_best_discount_alone(
    price: int, own: Decimal, sales: list[Decimal]
) -> None:
    priced = sale_price(price, own, sales)

    assert 0 <= priced <= price
    assert priced == percent_off(price, max([own, *sales]))
    assert priced <= percent_off(price, own)  # a sale never makes a product dearer
    assert all(priced <= percent_off(price, s) for s in sales)


# --- the next boundary -----------------------------------------------------------------------------


def test_the_next_boundary_is_the_earliest_start_or_end_after_now() -> None:
    later = sale(starts_at=NOW + 2 * HOUR, ends_at=NOW + 5 * HOUR)
    running = sale(starts_at=NOW - HOUR, ends_at=NOW + 3 * HOUR)
    ended = sale(starts_at=NOW - 3 * HOUR, ends_at=NOW - HOUR)

    assert next_boundary([], NOW) is None
    assert next_boundary([ended], NOW) is None
    assert next_boundary([running], NOW) == NOW + 3 * HOUR
    assert next_boundary([running, later, ended], NOW) == NOW + 2 * HOUR
    assert next_boundary([running, later], NOW + 2 * HOUR) == NOW + 3 * HOUR  # strictly after
    assert next_boundary([later], NOW + 5 * HOUR) is None


@given(
    windows=st.lists(
        st.tuples(st.integers(-100, 100), st.integers(1, 100)).map(lambda w: (w[0], w[0] + w[1])),
        max_size=6,
    ),
    at=st.integers(-150, 150),
)
def test_no_sale_starts_or_ends_between_now_and_the_next_boundary(
    windows: list[tuple[int, int]], at: int
) -> None:
    sales = [sale(starts_at=NOW + s * HOUR, ends_at=NOW + e * HOUR) for s, e in windows]
    now = NOW + at * HOUR

    boundary = next_boundary(sales, now)

    def running(at: datetime) -> set[int]:
        return {n for n, s in enumerate(sales) if s.is_running(at)}

    if boundary is None:
        assert all(s.ends_at <= now for s in sales)  # all over: nothing will change
        return
    assert boundary > now
    assert running(boundary - timedelta(microseconds=1)) == running(now)
    assert running(boundary) != running(now)
