"""How Stripe counts a currency's minor units: the Stripe adapter's own rule, not the shop's."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop_core.adapters.stripe_gateway import from_stripe_units, to_stripe_units
from shop_core.domain.errors import InvalidInput
from shop_core.domain.money import CURRENCY_EXPONENTS


@pytest.mark.parametrize(
    ("amount", "currency", "sent"),
    [(1999, "USD", 1999), (1500, "JPY", 1500), (5000, "ISK", 500_000), (1230, "KWD", 1230)],
)
def test_amounts_reach_stripe_in_its_units_and_come_back(amount: int, currency: str, sent: int) -> None:
    assert to_stripe_units(amount, currency) == sent
    assert from_stripe_units(sent, currency) == amount


def test_a_three_decimal_amount_stripe_cannot_charge_is_refused() -> None:
    with pytest.raises(InvalidInput):
        to_stripe_units(1234, "KWD")


@given(
    amount=st.integers(min_value=0, max_value=10**12),
    currency=st.sampled_from(sorted(CURRENCY_EXPONENTS)),
)
def test_what_stripe_is_sent_comes_back_as_the_same_amount(amount: int, currency: str) -> None:
    if CURRENCY_EXPONENTS[currency] == 3:
        amount -= amount % 10  # Stripe charges three-decimal currencies in whole hundredths
    assert from_stripe_units(to_stripe_units(amount, currency), currency) == amount


@pytest.mark.parametrize("currency", ["KWD", "BHD", "OMR", "JOD", "TND", "IQD", "LYD"])
def test_every_three_decimal_currency_must_end_in_zero(currency: str) -> None:
    assert to_stripe_units(1230, currency) == 1230
    with pytest.raises(InvalidInput):
        to_stripe_units(1231, currency)
