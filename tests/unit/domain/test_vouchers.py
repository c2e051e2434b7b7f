"""Voucher rules: codes, invariants, when a voucher applies, what it takes off, and how the discount
is spread over the lines, property-tested in currencies of 0, 2 and 3 decimals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop_core.domain.errors import InvalidInput
from shop_core.domain.money import exponent_of, minor_units
from shop_core.domain.vouchers import (
    Reason,
    Voucher,
    VoucherExhausted,
    VoucherInvalid,
    VoucherKind,
    VoucherLine,
    check_applies,
    check_voucher,
    discount_of,
    eligible,
    normalize_code,
    spread,
)

NOW = datetime(2026, 12, 24, 12, tzinfo=UTC)
CURRENCIES = ("USD", "JPY", "KWD")


def voucher(kind: VoucherKind = VoucherKind.PERCENTAGE, value: str = "10", **extra: object) -> Voucher:
    return Voucher("XMAS-10", kind, Decimal(value), **extra)  # type: ignore[arg-type]


# --- codes and invariants ------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "stored"), [(" xmas-10 ", "XMAS-10"), ("Summer_2026", "SUMMER_2026")])
def test_codes_are_case_insensitive_and_trimmed(raw: str, stored: str) -> None:
    assert normalize_code(raw) == stored


@pytest.mark.parametrize("raw", ["", "ab", "-XMAS", "X" * 33, "XMAS 10", "XMAS\x00", "ÉTÉ-10", "X;DROP"])
def test_malformed_codes_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalize_code(raw)
    assert "code" in refused.value.errors


@pytest.mark.parametrize(
    ("built", "field"),
    [
        (voucher(value="0"), "value"),
        (voucher(value="-5"), "value"),
        (voucher(value="100.01"), "value"),
        (voucher(value="10.005"), "value"),
        (voucher(VoucherKind.FIXED, "-100"), "value"),
        (voucher(VoucherKind.FIXED, "0"), "value"),
        (voucher(VoucherKind.FREE_SHIPPING, "5"), "value"),
        (voucher(min_subtotal=-1), "min_subtotal"),
        (voucher(starts_at=NOW, ends_at=NOW), "ends_at"),
        (voucher(starts_at=NOW, ends_at=NOW - timedelta(days=1)), "ends_at"),
        (voucher(usage_limit=0), "usage_limit"),
        (voucher(per_customer_limit=-2), "per_customer_limit"),
    ],
)
def test_broken_vouchers_are_refused_naming_the_field(built: Voucher, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_voucher(built)
    assert field in refused.value.errors


def test_sound_vouchers_pass() -> None:
    for good in (
        voucher(value="100"),
        voucher(value="12.5"),
        voucher(VoucherKind.FIXED, "500"),
        voucher(VoucherKind.FREE_SHIPPING, "0"),
    ):
        check_voucher(good)


# --- when it applies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("built", "subtotal", "eligible_total", "reason"),
    [
        (None, 1000, 1000, Reason.UNKNOWN),
        (voucher(is_active=False), 1000, 1000, Reason.UNKNOWN),
        (voucher(starts_at=NOW + timedelta(seconds=1)), 1000, 1000, Reason.NOT_STARTED),
        (voucher(ends_at=NOW), 1000, 1000, Reason.EXPIRED),
        (voucher(usage_limit=3, used_count=3), 1000, 1000, Reason.USED_UP),
        (voucher(min_subtotal=1001), 1000, 1000, Reason.MINIMUM_NOT_MET),
        (voucher(product_ids=frozenset({9})), 1000, 0, Reason.NOT_APPLICABLE),
    ],
)
def test_a_voucher_that_does_not_apply_says_why(
    built: Voucher | None, subtotal: int, eligible_total: int, reason: Reason
) -> None:
    with pytest.raises(VoucherInvalid) as refused:
        check_applies(built, now=NOW, subtotal=subtotal, eligible_total=eligible_total)
    assert (refused.value.reason, refused.value.code) == (reason, "voucher_invalid")


def test_a_voucher_applies_from_its_start_until_before_its_end() -> None:
    timed = voucher(
        starts_at=NOW, ends_at=NOW + timedelta(hours=1), min_subtotal=1000, usage_limit=3, used_count=2
    )
    assert check_applies(timed, now=NOW, subtotal=1000, eligible_total=1000) is timed
    free = voucher(VoucherKind.FREE_SHIPPING, "0", product_ids=frozenset({9}))
    assert check_applies(free, now=NOW, subtotal=1000, eligible_total=0) is free
    assert VoucherExhausted().code == "voucher_exhausted"


def test_restricted_vouchers_apply_to_their_products_and_categories() -> None:
    only = voucher(product_ids=frozenset({1}), category_ids=frozenset({10}))
    tree = {10, 11}  # category 10 and its subcategory 11
    assert eligible(only, VoucherLine(1, None, 500), tree)
    assert eligible(only, VoucherLine(2, 11, 500), tree)
    assert not eligible(only, VoucherLine(3, 12, 500), tree)
    assert eligible(voucher(), VoucherLine(3, None, 500), set())


@pytest.mark.parametrize(
    ("built", "total", "off"),
    [
        (voucher(value="10"), 1995, 200),  # 199.5 rounds half-up
        (voucher(value="33.33"), 1, 0),
        (voucher(value="100"), 1234, 1234),
        (voucher(VoucherKind.FIXED, "500"), 300, 300),  # never more than the goods
        (voucher(VoucherKind.FIXED, "500"), 2000, 500),
        (voucher(VoucherKind.FREE_SHIPPING, "0"), 2000, 0),
    ],
)
def test_what_a_voucher_takes_off(built: Voucher, total: int, off: int) -> None:
    assert discount_of(built, total) == off


# --- spreading the discount over the lines (property tests) --------------------------------------

amounts = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30).filter(
    lambda a: sum(a) > 0
)


@given(amounts, st.data())
def test_shares_add_up_to_the_discount_and_no_line_goes_below_zero(
    lines: list[int], data: st.DataObject
) -> None:
    discount = data.draw(st.integers(min_value=0, max_value=sum(lines)))
    shares = spread(discount, lines)
    assert sum(shares) == discount
    assert all(0 <= share <= line for share, line in zip(shares, lines, strict=True))
    # proportional: no line gets less than its exact share rounded down, nor a unit more than rounded up
    total = sum(lines)
    assert all(discount * line // total <= share for share, line in zip(shares, lines, strict=True))


@given(
    st.sampled_from(CURRENCIES),
    st.lists(
        st.decimals(min_value=Decimal("0.001"), max_value=Decimal(100_000), places=3), min_size=1, max_size=20
    ),
    st.integers(min_value=1, max_value=10_000).map(lambda n: Decimal(n) / 100),
)
def test_a_percentage_voucher_spread_in_0_2_and_3_decimal_currencies(
    currency: str, prices: list[Decimal], percent: Decimal
) -> None:
    exponent = exponent_of(currency)
    step = Decimal(1).scaleb(-exponent)
    lines = [minor_units(p.quantize(step), currency) for p in prices if p.quantize(step) > 0] or [1]
    built = voucher(value=str(percent))
    off = discount_of(built, sum(lines))
    shares = spread(off, lines)
    assert sum(shares) == off <= sum(lines)
    assert all(0 <= share <= line for share, line in zip(shares, lines, strict=True))
    # what the lines then cost adds up to the goods less the voucher, to the minor unit
    assert sum(line - share for share, line in zip(shares, lines, strict=True)) == sum(lines) - off


def test_the_units_left_over_go_to_the_largest_line_first() -> None:
    assert spread(10, [1, 2, 7]) == [1, 2, 7]
    assert spread(1, [100, 300, 300]) == [0, 1, 0]  # equal largest: the first of them
    assert spread(2, [1, 1, 1]) == [1, 1, 0]  # a line never takes more than it costs
    assert spread(0, [5, 5]) == [0, 0]
    with pytest.raises(ValueError, match="Cannot spread"):
        spread(11, [5, 5])
