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
    Money,
    exponent_of,
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


# --- parse and str -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "minor", "text"),
    [
        ("19.99", "USD", 1999, "19.99"),
        ("19.9", "USD", 1990, "19.90"),
        ("0", "USD", 0, "0.00"),
        ("1500", "JPY", 1500, "1500"),
        ("1.234", "KWD", 1234, "1.234"),
        ("0.5", "KWD", 500, "0.500"),
        ("-2.50", "BDT", -250, "-2.50"),
        (Decimal("3.10"), "USD", 310, "3.10"),
        (7, "KRW", 7, "7"),
    ],
)
def test_parse_and_str(amount: str | Decimal | int, currency: str, minor: int, text: str) -> None:
    money = Money.parse(amount, currency)
    assert money == Money(minor, currency)
    assert str(money) == text


@given(minor=minors, currency=currencies)
def test_str_then_parse_is_the_same_money(minor: int, currency: str) -> None:
    money = Money(minor, currency)
    text = str(money)
    assert Money.parse(text, currency) == money
    decimals = text.partition(".")[2]
    assert len(decimals) == EXPONENTS[currency]
    assert money.amount == Decimal(text)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("0.005", "USD", 1),
        ("0.0049", "USD", 0),
        ("-0.005", "USD", -1),
        ("2.5", "JPY", 3),
        ("-2.5", "JPY", -3),
        ("1.0005", "KWD", 1001),
        ("1.00049", "KWD", 1000),
    ],
)
def test_parse_rounds_half_up_to_the_minor_unit(amount: str, currency: str, minor: int) -> None:
    assert Money.parse(amount, currency).minor == minor


@pytest.mark.parametrize("amount", ["abc", "", "1,5", "NaN", "Infinity", "-inf", "1e40"])
def test_parse_refuses_what_is_not_a_usable_amount(amount: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Money.parse(amount, "USD")
    assert list(caught.value.errors) == ["amount"]


def test_parse_refuses_a_float() -> None:
    with pytest.raises(InvalidInput):
        Money.parse(0.1, "USD")  # type: ignore[arg-type]


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


@given(price=prices, currency=currencies, percent=percents)
def test_less_percent_keeps_the_currency(price: int, currency: str, percent: Decimal) -> None:
    final = Money(price, currency).less_percent(percent)
    assert final == Money(percent_off(price, percent), currency)


@pytest.mark.parametrize(
    ("price", "percent", "final"),
    [(1999, "0", 1999), (1999, "100", 0), (1999, "10", 1799), (1999, "15", 1699), (5, "50", 3), (1, "50", 1)],
)
def test_discount_examples(price: int, percent: str, final: int) -> None:
    assert percent_off(price, Decimal(percent)) == final


def test_scaled_rounds_half_up() -> None:
    assert Money(1000, "USD").scaled(Decimal("0.0725")) == Money(73, "USD")  # 72.5 → 73
    assert Money(3, "JPY").scaled(Decimal("0.5")) == Money(2, "JPY")  # 1.5 → 2


# --- arithmetic ----------------------------------------------------------------------------


lines = st.lists(
    st.tuples(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=1000)),
    max_size=30,
)


@given(currency=currencies, order=lines)
def test_the_lines_of_an_order_sum_to_its_total(currency: str, order: list[tuple[int, int]]) -> None:
    amounts = [Money(unit, currency).times(quantity) for unit, quantity in order]
    total = Money.zero(currency)
    for amount in amounts:
        total += amount
    assert total.minor == sum(unit * quantity for unit, quantity in order)
    assert total.amount == sum((a.amount for a in amounts), Decimal(0))
    reverse_total = Money.zero(currency)
    for amount in reversed(amounts):
        reverse_total += amount
    assert reverse_total == total


@given(a=minors, b=minors, currency=currencies)
def test_subtraction_undoes_addition(a: int, b: int, currency: str) -> None:
    x, y = Money(a, currency), Money(b, currency)
    assert (x + y) - y == x


@given(unit=minors, quantity=st.integers(min_value=0, max_value=50), currency=currencies)
def test_times_is_repeated_addition(unit: int, quantity: int, currency: str) -> None:
    total = Money.zero(currency)
    for _ in range(quantity):
        total += Money(unit, currency)
    assert Money(unit, currency).times(quantity) == total


def test_mixing_currencies_is_refused() -> None:
    usd, eur = Money(100, "USD"), Money(100, "EUR")
    with pytest.raises(InvalidInput):
        usd + eur
    with pytest.raises(InvalidInput):
        usd - eur
    with pytest.raises(InvalidInput):
        _ = usd < eur
    with pytest.raises(InvalidInput):
        _ = usd >= eur
    assert usd != eur


def test_money_of_one_currency_compares_by_amount() -> None:
    assert Money(100, "USD") < Money(101, "USD") <= Money(101, "USD")
    assert Money(5, "JPY") > Money(4, "JPY") >= Money(4, "JPY")
    assert max(Money(3, "KWD"), Money(30, "KWD")) == Money(30, "KWD")


# --- input amounts -------------------------------------------------------------------------


@given(minor=st.integers(min_value=0, max_value=10**12), currency=currencies)
def test_minor_units_of_a_valid_amount(minor: int, currency: str) -> None:
    amount = Money(minor, currency).amount
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
