"""Tax rules: which rate applies to an address, and the tax on an amount added to a net price or
extracted from a gross one, property-tested in currencies of 0, 2 and 3 decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop_core.domain.errors import InvalidInput
from shop_core.domain.tax import TaxRate, check_country, check_tax_rate, rate_for, tax_added, tax_included

RATES = [
    TaxRate("US", Decimal("0.0725"), "Sales tax", region="CA"),
    TaxRate("US", Decimal("0.04"), "Sales tax", region="NY"),
    TaxRate("BD", Decimal("0.15"), "VAT"),
    TaxRate("DE", Decimal("0.19"), "MwSt."),
]


@pytest.mark.parametrize(
    ("country", "region", "expected"),
    [
        ("US", "CA", Decimal("0.0725")),
        ("US", " ca ", Decimal("0.0725")),  # regions compare without regard to case or spaces
        ("US", "TX", None),  # a region without a rate, and no country-wide one
        ("US", None, None),
        ("BD", "Dhaka", Decimal("0.15")),  # no region's rate: the country's
        ("BD", None, Decimal("0.15")),
        ("GB", None, None),  # no rate at all: the shop's default applies
    ],
)
def test_the_most_specific_rate_applies(country: str, region: str | None, expected: Decimal | None) -> None:
    found = rate_for(RATES, country, region)
    assert (found.rate if found else None) == expected


def test_a_regions_rate_wins_over_its_countrys_whatever_their_order() -> None:
    country = TaxRate("IN", Decimal("0.18"), "GST")
    state = TaxRate("IN", Decimal("0.12"), "GST", region="Goa")
    for rates in ([country, state], [state, country]):
        assert rate_for(rates, "IN", "goa") == state
        assert rate_for(rates, "IN", "Kerala") == country


@pytest.mark.parametrize("raw", ["bd", "Bd", "XX", "BGD", "", "B", "B1", "ÀB", "GB "])
def test_countries_are_assigned_upper_case_codes(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_country(raw)
    assert "country" in refused.value.errors


def test_a_lower_case_country_is_refused_with_a_hint() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_country("bd")
    assert "Did you mean BD?" in refused.value.errors["country"][0]
    assert check_country("BD") == "BD"


@pytest.mark.parametrize(
    ("rate", "fields"),
    [
        (TaxRate("BD", Decimal("1"), "VAT"), {"rate"}),
        (TaxRate("BD", Decimal("-0.01"), "VAT"), {"rate"}),
        (TaxRate("BD", Decimal("0.12345"), "VAT"), {"rate"}),
        (TaxRate("BD", Decimal("NaN"), "VAT"), {"rate"}),
        (TaxRate("BD", Decimal("Infinity"), "VAT"), {"rate"}),
        (TaxRate("BD", Decimal("1e999999"), "VAT"), {"rate"}),
        (TaxRate("bd", Decimal("0.15"), ""), {"country", "name"}),
        (TaxRate("US", Decimal("0.05"), "Tax", region="  "), {"region"}),
        (TaxRate("US", Decimal("0.05"), "T" * 51), {"name"}),
        (TaxRate("DE", Decimal("0.19"), "MwSt.", region="ß" * 33), {"region"}),  # "ss" * 33 as compared
    ],
)
def test_a_bad_rate_names_every_field_at_fault(rate: TaxRate, fields: set[str]) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_tax_rate(rate)
    assert set(refused.value.errors) == fields


def test_good_rates_pass() -> None:
    for rate in [*RATES, TaxRate("BD", Decimal(0), "VAT"), TaxRate("BD", Decimal("0.9999"), "VAT")]:
        check_tax_rate(rate)


@pytest.mark.parametrize("exponent", [0, 2, 3])
@given(data=st.data())
def test_tax_extracted_from_a_gross_amount_leaves_a_net_it_would_be_added_to(
    exponent: int, data: st.DataObject
) -> None:
    gross = data.draw(st.integers(0, 100_000 * 10**exponent))
    rate = data.draw(st.decimals(0, Decimal("0.9999"), places=4))
    tax = tax_included(gross, rate)
    net = gross - tax
    assert 0 <= tax <= gross
    # Added back on the net, the tax comes to the same within one minor unit (both rounded once).
    assert abs(tax_added(net, rate) - tax) <= 1
    assert tax_added(net, rate) + net - gross in (-1, 0, 1)


@pytest.mark.parametrize("exponent", [0, 2, 3])
@given(data=st.data())
def test_tax_added_is_the_rate_of_the_net_rounded_half_up(exponent: int, data: st.DataObject) -> None:
    net = data.draw(st.integers(0, 100_000 * 10**exponent))
    rate = data.draw(st.decimals(0, Decimal("0.9999"), places=4))
    exact = Decimal(net) * rate
    assert abs(Decimal(tax_added(net, rate)) - exact) <= Decimal("0.5")


@pytest.mark.parametrize(
    ("gross", "rate", "tax"),
    [
        (11500, "0.15", 1500),
        (1190, "0.19", 190),
        (100, "0.19", 16),
        (1, "0.5", 0),
        (3, "0.5", 1),
        (0, "0.2", 0),
    ],
)
def test_worked_extractions(gross: int, rate: str, tax: int) -> None:
    assert tax_included(gross, Decimal(rate)) == tax
