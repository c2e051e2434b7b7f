"""Money: exact minor units per currency, half-up rounding in one place, never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop_core.domain.errors import InvalidInput
from shop_core.domain.money import (
    CURRENCY_EXPONENTS,
    MAX_AMOUNT,
    exponent_of,
    format_minor,
    minor_units,
    percent_off,
    round_half_up,
)

EXPONENTS = {"USD": 2, "BDT": 2, "JPY": 0, "KRW": 0, "KWD": 3}
currencies = st.sampled_from(sorted(EXPONENTS))
minors = st.integers(min_value=-(10**15), max_value=10**15)
prices = st.integers(min_value=0, max_value=10**15)
# Discounts as the catalog stores them: 0 to 100 with at most two decimal places.
percents = st.integers(min_value=0, max_value=10_000).map(lambda n: Decimal(n) / 100)


def reference_half_up(value: Decimal) -> int:
    """Half-up the slow, obvious way: the nearest integer, halves away from zero."""
    magnitude = abs(value)
    whole = int(magnitude)
    if magnitude - whole >= Decimal("0.5"):
        whole += 1
    return whole if value >= 0 else -whole


# --- currencies ----------------------------------------------------------------------------


@pytest.mark.parametrize(("currency", "exponent"), sorted(EXPONENTS.items()))
def test_currency_exponents(currency: str, exponent: int) -> None:
    assert exponent_of(currency) == exponent == CURRENCY_EXPONENTS[currency]


def test_an_unknown_currency_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        exponent_of("XYZ")
    assert list(caught.value.errors) == ["currency"]


# --- formatting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1999, "USD", "19.99"),
        (1990, "USD", "19.90"),
        (0, "USD", "0.00"),
        (5, "USD", "0.05"),
        (1500, "JPY", "1500"),
        (1234, "KWD", "1.234"),
        (500, "KWD", "0.500"),
        (-250, "BDT", "-2.50"),
        (-5, "USD", "-0.05"),
        (7, "KRW", "7"),
    ],
)
def test_format_minor_examples(minor: int, currency: str, text: str) -> None:
    assert format_minor(minor, exponent_of(currency)) == text


@given(minor=minors, currency=currencies)
def test_format_minor_is_the_exact_amount_with_the_currency_places(minor: int, currency: str) -> None:
    text = format_minor(minor, EXPONENTS[currency])
    assert len(text.partition(".")[2]) == EXPONENTS[currency]
    assert Decimal(text) == Decimal(minor).scaleb(-EXPONENTS[currency])


@given(minor=st.integers(min_value=0, max_value=10**12), currency=currencies)
def test_format_minor_then_minor_units_gives_the_amount_back(minor: int, currency: str) -> None:
    assert minor_units(Decimal(format_minor(minor, EXPONENTS[currency])), currency) == minor


# --- rounding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.5", 1),
        ("1.5", 2),
        ("2.5", 3),
        ("-0.5", -1),
        ("-2.5", -3),
        ("2.4999", 2),
        ("-2.4999", -2),
        ("7", 7),
    ],
)
def test_round_half_up_examples(value: str, expected: int) -> None:
    assert round_half_up(Decimal(value)) == expected


@given(
    st.decimals(
        min_value=Decimal(-(10**12)),
        max_value=Decimal(10**12),
        places=6,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_round_half_up_is_the_nearest_integer_with_halves_away_from_zero(value: Decimal) -> None:
    rounded = round_half_up(value)
    assert isinstance(rounded, int)
    assert abs(value - rounded) <= Decimal("0.5")
    assert rounded == reference_half_up(value)


# --- discounts -----------------------------------------------------------------------------


@given(price=prices, percent=percents)
def test_a_discount_is_a_whole_minor_amount_between_zero_and_the_price(price: int, percent: Decimal) -> None:
    final = percent_off(price, percent)
    assert isinstance(final, int)
    assert 0 <= final <= price
    assert final == reference_half_up(Decimal(price) * (100 - percent) / 100)


@given(price=prices, smaller=percents, larger=percents)
def test_a_larger_discount_never_costs_more(price: int, smaller: Decimal, larger: Decimal) -> None:
    smaller, larger = sorted((smaller, larger))
    assert percent_off(price, larger) <= percent_off(price, smaller)


@pytest.mark.parametrize(
    ("price", "percent", "final"),
    [(1999, "0", 1999), (1999, "100", 0), (1999, "10", 1799), (1999, "15", 1699), (5, "50", 3), (1, "50", 1)],
)
def test_discount_examples(price: int, percent: str, final: int) -> None:
    assert percent_off(price, Decimal(percent)) == final


# --- input amounts -------------------------------------------------------------------------


@given(minor=st.integers(min_value=0, max_value=10**12), currency=currencies)
def test_minor_units_of_a_valid_amount(minor: int, currency: str) -> None:
    amount = Decimal(minor).scaleb(-EXPONENTS[currency])
    assert minor_units(amount, currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("19.99", "USD", 1999), ("19.9", "USD", 1990), ("19.990", "USD", 1999), ("1500", "JPY", 1500)],
)
def test_minor_units_examples(amount: str, currency: str, minor: int) -> None:
    assert minor_units(Decimal(amount), currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("-0.01", "USD", "zero or more"),
        ("-1", "JPY", "zero or more"),
        ("1.001", "USD", "at most 2 decimal places"),
        ("1.5", "JPY", "at most 0 decimal places"),
        ("0.0001", "KWD", "at most 3 decimal places"),
        ("NaN", "USD", "zero or more"),
        ("Infinity", "USD", "zero or more"),
        ("-Infinity", "USD", "zero or more"),
        ("sNaN", "USD", "zero or more"),
    ],
)
def test_minor_units_refuses(amount: str, currency: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        minor_units(Decimal(amount), currency, field="min_price")
    assert list(caught.value.errors) == ["min_price"]
    assert message in caught.value.detail


def test_minor_units_has_a_ceiling() -> None:
    assert minor_units(MAX_AMOUNT, "USD") == int(MAX_AMOUNT) * 100
    with pytest.raises(InvalidInput, match="at most"):
        minor_units(MAX_AMOUNT + Decimal("0.01"), "USD")


@given(
    st.decimals(allow_nan=True, allow_infinity=True),
    currencies,
)
def test_minor_units_either_answers_exactly_or_refuses(amount: Decimal, currency: str) -> None:
    try:
        minor = minor_units(amount, currency)
    except InvalidInput:
        return
    assert minor >= 0
    assert Decimal(minor).scaleb(-EXPONENTS[currency]) == amount
