"""Exact money: integer minor units per currency. Rounding (half-up) happens in one place."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from shop_core.domain.errors import InvalidInput

# ISO 4217 minor-unit exponents. Currencies not listed here are refused.
CURRENCY_EXPONENTS: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "BDT": 2,
    "INR": 2,
    "CAD": 2,
    "AUD": 2,
    "CHF": 2,
    "CNY": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "BRL": 2,
    "MXN": 2,
    "SGD": 2,
    "HKD": 2,
    "NZD": 2,
    "ZAR": 2,
    "PKR": 2,
    "AED": 2,
    "SAR": 2,
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "UGX": 0,
    "KWD": 3,
    "BHD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
    "IQD": 3,
    "LYD": 3,
}


MAX_AMOUNT = Decimal(10) ** 12


def exponent_of(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise InvalidInput.field("currency", f"Unknown or unsupported currency {currency!r}.") from None


def round_half_up(value: Decimal) -> int:
    """The one rounding rule of the shop: to the nearest whole minor unit, halves away from zero."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_off(minor: int, percent: Decimal) -> int:
    """An amount in minor units less `percent` % (0-100), rounded half-up."""
    hundredths = percent * 100
    if minor >= 0 and 0 <= hundredths <= 10_000 and hundredths == int(hundredths):
        # The hot path (catalog prices, two-decimal discounts) in exact integers: the same result
        # as the general rule below, without building Decimals.
        return (minor * (10_000 - int(hundredths)) + 5_000) // 10_000
    return round_half_up(Decimal(minor) * (Decimal(100) - percent) / Decimal(100))


def format_minor(minor: int, exponent: int) -> str:
    """Minor units as a decimal string with exactly `exponent` places: 1999, 2 → "19.99"."""
    if exponent == 0:
        return str(minor)
    whole, part = divmod(abs(minor), 10**exponent)
    return f"{'-' if minor < 0 else ''}{whole}.{part:0{exponent}d}"


def minor_units(amount: Decimal, currency: str, *, field: str = "price") -> int:
    """An input amount in minor units; InvalidInput if it is negative or finer than the currency."""
    exponent = exponent_of(currency)
    if not amount.is_finite() or amount < 0:
        raise InvalidInput.field(field, "Use an amount of zero or more.")
    if amount > MAX_AMOUNT:
        raise InvalidInput.field(field, f"Use an amount of at most {MAX_AMOUNT}.")
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise InvalidInput.field(field, f"Use at most {exponent} decimal places for {currency}.")
    return int(scaled)
