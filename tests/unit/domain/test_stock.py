"""An operator's stock change: one of a level or a non-zero delta, and a reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop_core.domain.errors import InvalidInput
from shop_core.domain.stock import BLANK_REASON, ZERO_DELTA, StockReason, check_change

deltas = st.integers(min_value=-2_000_000_000, max_value=2_000_000_000)
nonzero_deltas = deltas.filter(lambda d: d != 0)


@pytest.mark.parametrize(
    ("quantity", "delta", "reason"),
    [(None, 5, "restock"), (None, -3, "damage"), (0, None, "lost"), (7, None, "x")],
)
def test_a_change_with_one_of_quantity_or_delta_and_a_reason_passes(
    quantity: int | None, delta: int | None, reason: str
) -> None:
    check_change(quantity=quantity, delta=delta, reason=reason)


@pytest.mark.parametrize(("quantity", "delta"), [(None, None), (3, 1), (0, 0)])
def test_exactly_one_of_quantity_and_delta(quantity: int | None, delta: int | None) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_change(quantity=quantity, delta=delta, reason="restock")
    assert list(caught.value.errors) == ["quantity"]


def test_a_zero_delta_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_change(quantity=None, delta=0, reason="restock")
    assert caught.value.errors == {"delta": [ZERO_DELTA]}


@given(reason=st.text(alphabet=" \t\n\r\u00a0\u2003", max_size=10), delta=nonzero_deltas)
def test_a_blank_reason_is_refused(reason: str, delta: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_change(quantity=None, delta=delta, reason=reason)
    assert caught.value.errors == {"reason": [BLANK_REASON]}


@given(delta=deltas, reason=st.text(max_size=20))
def test_a_delta_is_refused_exactly_when_zero_or_without_a_reason(delta: int, reason: str) -> None:
    refused: list[str] = []
    try:
        check_change(quantity=None, delta=delta, reason=reason)
    except InvalidInput as exc:
        refused = list(exc.errors)
    expected = ["delta"] if delta == 0 else ["reason"] if not reason.strip() else []
    assert refused == expected


def test_reasons_are_plain_strings() -> None:
    assert StockReason.RESTOCK == "restock"
    assert {r.value for r in StockReason} >= {"initial", "import", "adjustment", "sale"}
