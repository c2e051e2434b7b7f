"""Shipping rules: zones of countries (a country in one zone only), the methods that can carry a
parcel, and what each costs."""

from __future__ import annotations

import pytest

from shop_core.domain.errors import InvalidInput
from shop_core.domain.shipping import (
    CountryInAnotherZone,
    Method,
    ShippingUnavailable,
    Zone,
    carries,
    check_countries,
    check_method,
    check_zone,
    cost,
    zone_for,
)

DOMESTIC = Zone("Bangladesh", frozenset({"BD"}), id=1)
EUROPE = Zone("Europe", frozenset({"DE", "FR", "GB"}), id=2)


def test_a_country_is_found_in_its_zone() -> None:
    assert zone_for([DOMESTIC, EUROPE], "FR") == EUROPE
    assert zone_for([DOMESTIC, EUROPE], "BD") == DOMESTIC


def test_a_country_in_no_zone_cannot_be_shipped_to_and_is_named() -> None:
    with pytest.raises(ShippingUnavailable) as refused:
        zone_for([DOMESTIC, EUROPE], "US")
    assert refused.value.code == "shipping_unavailable"
    assert "US" in refused.value.detail
    assert refused.value.country == "US"


def test_a_country_in_another_zone_is_refused_naming_that_zone() -> None:
    with pytest.raises(CountryInAnotherZone) as refused:
        check_zone(Zone("West", frozenset({"US", "GB"})), [DOMESTIC, EUROPE])
    assert "GB" in refused.value.detail
    assert "'Europe'" in refused.value.detail


def test_a_zone_may_keep_its_own_countries_when_changed() -> None:
    check_zone(Zone("Europe (EU+UK)", frozenset({"DE", "FR", "GB", "IE"}), id=2), [DOMESTIC, EUROPE])


@pytest.mark.parametrize("countries", [[], ["bd"], ["BD", "XX"], ["BGD"], [""]])
def test_bad_countries_are_refused(countries: list[str]) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_countries(countries)
    assert "countries" in refused.value.errors


def test_bad_countries_are_all_named() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_countries(["BD", "xx", "gb"])
    message = refused.value.errors["countries"][0]
    assert "'xx'" in message
    assert "'gb'" in message
    assert "'BD'" not in message


@pytest.mark.parametrize(
    ("method", "fields"),
    [
        (Method(1, "Post", -1), {"price"}),
        (Method(1, "", 100), {"name"}),
        (Method(1, "Post", 100, free_over=-5), {"free_over"}),
        (Method(1, "Post", 100, min_weight_grams=-1), {"min_weight_grams"}),
        (Method(1, "Post", 100, min_weight_grams=500, max_weight_grams=100), {"max_weight_grams"}),
        (Method(1, "Post", 100, delivery_days=-2), {"delivery_days"}),
        (Method(1, " ", -1, free_over=-1), {"name", "price", "free_over"}),
    ],
)
def test_a_bad_method_names_every_field_at_fault(method: Method, fields: set[str]) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_method(method)
    assert set(refused.value.errors) == fields


def test_weight_bounds_are_inclusive() -> None:
    parcel = Method(1, "Parcel", 500, min_weight_grams=100, max_weight_grams=2000)
    assert [carries(parcel, w) for w in (99, 100, 2000, 2001)] == [False, True, True, False]
    assert carries(Method(1, "Any", 500), 10**9)


def test_a_method_is_free_from_its_threshold_or_with_a_free_shipping_voucher() -> None:
    post = Method(1, "Post", 500, free_over=5000)
    assert cost(post, 4999) == 500
    assert cost(post, 5000) == 0
    assert cost(post, 10, free_shipping=True) == 0
    assert cost(Method(1, "Courier", 900), 10**9) == 900
