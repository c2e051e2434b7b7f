"""Stock never goes below zero."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop_core.domain.errors import Conflict
from shop_core.domain.stock import StockReason, apply_delta

stock_levels = st.integers(min_value=0, max_value=2_000_000_000)
small_levels = st.integers(min_value=0, max_value=100)
deltas = st.integers(min_value=-2_000_000_000, max_value=2_000_000_000)


@pytest.mark.parametrize(
    ("current", "delta", "after"), [(10, -10, 0), (10, 5, 15), (0, 0, 0), (3, -1, 2), (0, 7, 7)]
)
def test_apply_delta(current: int, delta: int, after: int) -> None:
    assert apply_delta(current, delta) == after


@pytest.mark.parametrize(("current", "delta"), [(0, -1), (10, -11), (5, -2_000_000_000)])
def test_a_delta_below_zero_is_a_conflict(current: int, delta: int) -> None:
    with pytest.raises(Conflict) as caught:
        apply_delta(current, delta)
    assert f"Only {current} in stock" in caught.value.detail
    assert f"cannot remove {-delta}" in caught.value.detail


@given(current=stock_levels, delta=deltas)
def test_stock_never_goes_below_zero(current: int, delta: int) -> None:
    try:
        after = apply_delta(current, delta)
    except Conflict:
        assert current + delta < 0
    else:
        assert after == current + delta >= 0


@given(start=small_levels, moves=st.lists(st.integers(min_value=-50, max_value=50), max_size=50))
def test_a_sequence_of_moves_keeps_stock_at_or_above_zero(start: int, moves: list[int]) -> None:
    current, applied = start, []
    for delta in moves:
        try:
            current = apply_delta(current, delta)
        except Conflict:
            continue
        applied.append(delta)
        assert current >= 0
    # What was applied is the record: the start plus the movements gives the stock.
    assert current == start + sum(applied)


def test_reasons_are_plain_strings() -> None:
    assert StockReason.RESTOCK == "restock"
    assert {r.value for r in StockReason} >= {"initial", "import", "adjustment", "sale"}
