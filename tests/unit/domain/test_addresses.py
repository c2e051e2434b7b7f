"""Order addresses: required parts, length limits, ISO country codes, errors named per field."""

from __future__ import annotations

import pytest

from shop_core.domain.addresses import COUNTRIES, LIMITS, REQUIRED, Address, address_of
from shop_core.domain.errors import InvalidInput

VALID = {
    "full_name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "line2": "Flat 3",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
    "phone": "+44 20 7946 0000",
}


def errors_of(raw: dict[str, str], field: str = "shipping_address") -> dict[str, list[str]]:
    with pytest.raises(InvalidInput) as caught:
        address_of(raw, field)
    return caught.value.errors


def test_a_valid_address() -> None:
    address = address_of(VALID, "shipping_address")

    assert address == Address(**VALID)
    assert address.as_dict() == VALID
    assert address.lines() == [
        "Ada Lovelace",
        "12 St James's Square",
        "Flat 3",
        "SW1Y 4JH London",
        "GB",
        "+44 20 7946 0000",
    ]


def test_optional_parts_may_be_missing() -> None:
    raw = {key: VALID[key] for key in REQUIRED}

    address = address_of(raw, "shipping_address")

    assert (address.line2, address.phone) == ("", "")
    assert address.lines() == ["Ada Lovelace", "12 St James's Square", "SW1Y 4JH London", "GB"]


def test_surrounding_whitespace_is_trimmed() -> None:
    raw = {key: f"  \t{value}\n " for key, value in VALID.items()}

    assert address_of(raw, "billing_address") == Address(**VALID)


@pytest.mark.parametrize(("raw", "code"), [("us", "US"), ("Us", "US"), (" gb ", "GB"), ("bd", "BD")])
def test_the_country_is_upper_cased(raw: str, code: str) -> None:
    assert address_of({**VALID, "country": raw}, "shipping_address").country == code


@pytest.mark.parametrize("country", ["XX", "USA", "UK", "U", "1A", "ZZ", "E U"])
def test_unknown_countries_are_refused(country: str) -> None:
    errors = errors_of({**VALID, "country": country})

    assert list(errors) == ["shipping_address.country"]
    assert "ISO 3166-1" in errors["shipping_address.country"][0]


def test_the_country_table_is_two_upper_case_letters() -> None:
    assert len(COUNTRIES) == 249
    assert all(len(code) == 2 and code.isascii() and code.isupper() for code in COUNTRIES)
    assert {"US", "GB", "BD", "DE"} <= COUNTRIES
    assert not {"UK", "XX", "EU"} & COUNTRIES


@pytest.mark.parametrize("missing", REQUIRED)
@pytest.mark.parametrize("blank", [None, "", "   "])
def test_each_required_part(missing: str, blank: str | None) -> None:
    raw = {**VALID}
    if blank is None:
        del raw[missing]
    else:
        raw[missing] = blank

    errors = errors_of(raw, "billing_address")

    assert errors == {f"billing_address.{missing}": ["This field is required."]}


def test_every_problem_is_named_at_once() -> None:
    raw = {"line1": "x" * 201, "country": "XX", "phone": "1" * 33}

    errors = errors_of(raw)

    assert set(errors) == {
        "shipping_address.full_name",
        "shipping_address.line1",
        "shipping_address.city",
        "shipping_address.postal_code",
        "shipping_address.country",
        "shipping_address.phone",
    }
    assert errors["shipping_address.line1"] == ["At most 200 characters."]
    assert errors["shipping_address.phone"] == ["At most 32 characters."]


@pytest.mark.parametrize(("part", "limit"), sorted(LIMITS.items()))
def test_length_limits(part: str, limit: int) -> None:
    assert LIMITS == {
        "full_name": 200,
        "line1": 200,
        "line2": 200,
        "city": 100,
        "postal_code": 20,
        "phone": 32,
        "region": 64,
    }

    at_limit = address_of({**VALID, part: "a" * limit}, "shipping_address")
    assert getattr(at_limit, part) == "a" * limit
    # Trimming happens before counting: surrounding spaces do not count.
    assert getattr(address_of({**VALID, part: f"  {'a' * limit}  "}, "shipping_address"), part) == "a" * limit

    errors = errors_of({**VALID, part: "a" * (limit + 1)})
    assert errors == {f"shipping_address.{part}": [f"At most {limit} characters."]}


def test_limits_count_characters_not_bytes() -> None:
    name = "দ" * 200  # 600 bytes in UTF-8

    assert address_of({**VALID, "full_name": name}, "shipping_address").full_name == name
