"""API.md Part 2's tax rates (`GET, POST /api/tax-rates/; GET, PATCH, DELETE /api/tax-rates/{id}/`,
staff only) as a client sees them, on both databases: the flow, one rate per country and region
(409, also for concurrent creates), and malformed or hostile input refused with a precise 400 and
nothing stored."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from tests.http.conftest import (
    BEYOND_64_BITS,
    INT4_OVERFLOW,
    PAGE_FIELDS,
    Catalog,
    Client,
    assert_error,
    open_catalog,
    post_concurrently,
)

RATE_FIELDS = {"id", "country", "region", "rate", "name"}
PATH = "/api/tax-rates/"


class Rates:
    """The staff API of tax rates, as a staff client (or another) calls it."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    @property
    def client(self) -> Client:
        return self.catalog.client

    @property
    def staff(self) -> dict[str, str]:
        return self.catalog.staff.headers

    async def post(self, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.post(PATH, json=body, headers=self.staff if headers is None else headers)

    async def created(self, **fields: Any) -> dict[str, Any]:
        made = await self.post({"country": "BD", "rate": "0.15", "name": "VAT"} | fields)
        assert made.status_code == 201, made.text
        assert_rate(made.json())
        body: dict[str, Any] = made.json()
        return body

    async def patch(self, rate_id: int, body: Any) -> httpx.Response:
        return await self.client.patch(f"{PATH}{rate_id}/", json=body, headers=self.staff)

    async def stored(self) -> list[dict[str, Any]]:
        listed = await self.client.get(PATH, params={"page_size": 100}, headers=self.staff)
        assert listed.status_code == 200, listed.text
        found: list[dict[str, Any]] = listed.json()["results"]
        return found


@pytest.fixture
async def rates(database_url: str) -> AsyncIterator[Rates]:
    """The API on each database (SQLite and PostgreSQL), with a staff member and a customer."""
    async with open_catalog(make_settings(database_url)) as opened:
        yield Rates(opened)


def assert_rate(body: dict[str, Any]) -> None:
    assert set(body) == RATE_FIELDS, body
    assert isinstance(body["id"], int)
    assert re.fullmatch(r"0\.\d{4}", body["rate"]), body  # a string, four decimals
    assert body["region"] is None or isinstance(body["region"], str)


# --- the flow ---------------------------------------------------------------------------------------


async def test_staff_create_list_show_change_and_delete_a_rate(rates: Rates) -> None:
    vat = await rates.created()
    assert (vat["country"], vat["region"], vat["rate"], vat["name"]) == ("BD", None, "0.1500", "VAT")
    state = await rates.created(country="US", region=" CA ", rate="0.0725", name=" Sales tax ")
    assert (state["region"], state["rate"], state["name"]) == ("CA", "0.0725", "Sales tax")
    whole = await rates.created(country="US", rate="0.05")
    path = f"{PATH}{state['id']}/"

    listed = await rates.client.get(PATH, headers=rates.staff)
    assert listed.status_code == 200
    assert set(listed.json()) == PAGE_FIELDS
    assert listed.json()["results"] == [vat, whole, state]  # by country, the whole country first
    assert (await rates.client.get(path, headers=rates.staff)).json() == state
    assert (await rates.client.get(path.rstrip("/"), headers=rates.staff)).json() == state

    patched = await rates.patch(state["id"], {"rate": "0.08", "name": "CA sales tax"})
    assert patched.status_code == 200, patched.text
    assert patched.json() == state | {"rate": "0.0800", "name": "CA sales tax"}
    moved = await rates.patch(state["id"], {"country": "GB", "region": None})
    assert moved.json() == patched.json() | {"country": "GB", "region": None}
    assert (await rates.patch(state["id"], {})).json() == moved.json()

    assert (await rates.client.delete(path, headers=rates.staff)).status_code == 204
    assert_error(await rates.client.get(path, headers=rates.staff), 404, "not_found")
    assert_error(await rates.client.delete(path, headers=rates.staff), 404, "not_found")
    assert await rates.stored() == [vat, whole]


@pytest.mark.parametrize(
    ("sent", "shown"),
    [("0.2", "0.2000"), ("0.20000", "0.2000"), ("2e-1", "0.2000"), ("0", "0.0000"), ("0.9999", "0.9999")],
)
async def test_a_rate_is_a_decimal_string_shown_with_four_decimals(
    rates: Rates, sent: str, shown: str
) -> None:
    assert (await rates.created(rate=sent))["rate"] == shown


async def test_a_json_number_is_read_exactly_as_written(rates: Rates) -> None:
    assert (await rates.created(rate=0.07))["rate"] == "0.0700"
    assert_error(await rates.post({"country": "US", "rate": 0.07000001, "name": "Tax"}), 400, "invalid")


async def test_the_name_defaults_to_tax(rates: Rates) -> None:
    made = await rates.post({"country": "DE", "rate": "0.19"})

    assert made.status_code == 201, made.text
    assert (made.json()["name"], made.json()["region"]) == ("Tax", None)


async def test_pages_of_rates(rates: Rates) -> None:
    for country in ("DE", "BD", "US"):
        await rates.created(country=country)

    second = await rates.client.get(PATH, params={"page": 2, "page_size": 2}, headers=rates.staff)

    assert second.status_code == 200
    assert (second.json()["count"], [r["country"] for r in second.json()["results"]]) == (3, ["US"])
    assert_error(await rates.client.get(PATH, params={"page": 3, "page_size": 2}, headers=rates.staff), 404)
    assert_error(await rates.client.get(PATH, params={"page_size": 101}, headers=rates.staff), 400)
    assert_error(await rates.client.get(PATH, params={"page": "x"}, headers=rates.staff), 400)


async def test_only_staff_may_see_or_touch_rates(rates: Rates) -> None:
    made = await rates.created()
    customer = rates.catalog.customer.headers
    path = f"{PATH}{made['id']}/"
    requests = [
        ("GET", PATH, None),
        ("POST", PATH, {"country": "US", "rate": "0.05", "name": "Tax"}),
        ("GET", path, None),
        ("PATCH", path, {"rate": "0.99"}),
        ("DELETE", path, None),
    ]

    for method, url, body in requests:
        assert_error(await rates.client.request(method, url, json=body), 401, "not_authenticated")
        assert_error(await rates.client.request(method, url, json=body, headers=customer), 403)

    assert await rates.stored() == [made]


# --- one rate per country and region -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [({}, {}), ({"region": "CA"}, {"region": "ca"}), ({"region": "New York"}, {"region": " NEW YORK "})],
    ids=["country", "region-case", "region-spaces"],
)
async def test_a_second_rate_for_a_country_or_region_is_409(
    rates: Rates, first: dict[str, Any], second: dict[str, Any]
) -> None:
    made = await rates.created(country="US", **first)

    body = assert_error(await rates.post({"country": "US", "rate": "0.01"} | second), 409, "tax_rate_taken")

    assert "already has a tax rate" in body["detail"]
    assert await rates.stored() == [made]


async def test_a_change_onto_a_taken_country_or_region_is_409_and_changes_nothing(rates: Rates) -> None:
    await rates.created(country="US", rate="0.05")
    await rates.created(country="US", region="CA", rate="0.0725")
    texas = await rates.created(country="US", region="TX", rate="0.0625")
    before = await rates.stored()

    for body in ({"region": "ca", "rate": "0.01"}, {"region": None}):
        assert_error(await rates.patch(texas["id"], body), 409, "tax_rate_taken")

    assert await rates.stored() == before


async def test_concurrent_creates_of_one_country_store_exactly_one_on_postgres(pg_url: str) -> None:
    async with open_catalog(make_settings(pg_url)) as catalog:
        rates = Rates(catalog)
        body = {"country": "BD", "rate": "0.15", "name": "VAT"}

        answers = await post_concurrently(rates.client, PATH, body, rates.staff, 8)

        assert sorted(a.status_code for a in answers) == [201] + [409] * 7, [a.text for a in answers]
        for refused in (a for a in answers if a.status_code == 409):
            assert_error(refused, 409, "tax_rate_taken")
        (made,) = [a.json() for a in answers if a.status_code == 201]
        assert await rates.stored() == [made]


# --- bad input: a precise 400, nothing stored ------------------------------------------------------------

BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("lowercase country", {"country": "bd"}, "country"),
    ("unassigned country", {"country": "XX"}, "country"),
    ("country name", {"country": "Bangladesh"}, "country"),
    ("country with a NUL", {"country": "B\x00"}, "country"),
    ("country as a number", {"country": 50}, "country"),
    ("country null", {"country": None}, "country"),
    ("rate of 1", {"rate": "1"}, "rate"),
    ("rate as a percentage", {"rate": "15"}, "rate"),
    ("rate with a percent sign", {"rate": "15%"}, "rate"),
    ("negative rate", {"rate": "-0.01"}, "rate"),
    ("five decimals", {"rate": "0.15001"}, "rate"),
    ("not a number", {"rate": "NaN"}, "rate"),
    ("infinite", {"rate": "Infinity"}, "rate"),
    ("huge string", {"rate": "1e999999"}, "rate"),
    ("huge number", {"rate": 1e308}, "rate"),
    ("many digits", {"rate": "9" * 5000}, "rate"),
    ("tiny", {"rate": "1e-999999"}, "rate"),
    ("rate words", {"rate": "fifteen"}, "rate"),
    ("rate boolean", {"rate": True}, "rate"),
    ("rate list", {"rate": ["0.15"]}, "rate"),
    ("rate null", {"rate": None}, "rate"),
    ("blank name", {"name": "   "}, "name"),
    ("empty name", {"name": ""}, "name"),
    ("long name", {"name": "x" * 51}, "name"),
    ("very long name", {"name": "x" * 100_000}, "name"),
    ("NUL in the name", {"name": "V\x00T"}, "name"),
    ("line break in the name", {"name": "VAT\r\n"}, "name"),
    ("name as a number", {"name": 5}, "name"),
    ("empty region", {"region": ""}, "region"),
    ("long region", {"region": "r" * 65}, "region"),
    ("long region once case-folded", {"region": "ß" * 33}, "region"),
    ("NUL in the region", {"region": "C\x00A"}, "region"),
    ("region as an object", {"region": {"name": "CA"}}, "region"),
    ("unknown field", {"percentage": "15"}, "percentage"),
    ("id sent", {"id": 7}, "id"),
]


def named(errors: dict[str, list[str]]) -> set[str]:
    return {key.removeprefix("$.") for key in errors}


@pytest.mark.parametrize(
    ("fields", "field"), [(b[1], b[2]) for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES]
)
async def test_a_bad_rate_is_a_precise_400_and_nothing_is_stored(
    rates: Rates, fields: dict[str, Any], field: str
) -> None:
    made = await rates.created(country="DE", rate="0.19", name="MwSt.")

    created = assert_error(await rates.post({"country": "US", "rate": "0.05", "name": "Tax"} | fields), 400)
    changed = assert_error(await rates.patch(made["id"], fields), 400)

    for body in (created, changed):
        assert body["code"] == "invalid"
        assert named(body["errors"]) == {field}, body
    assert await rates.stored() == [made]


async def test_a_lowercase_country_gets_a_hint(rates: Rates) -> None:
    body = assert_error(await rates.post({"country": "gb", "rate": "0.2", "name": "VAT"}), 400, "invalid")

    assert "Did you mean GB?" in body["errors"]["country"][0]


async def test_every_field_at_fault_is_named_at_once(rates: Rates) -> None:
    body = {"country": "us", "rate": "1.5", "name": "", "region": " "}

    refused = assert_error(await rates.post(body), 400, "invalid")

    assert set(refused["errors"]) == {"country", "rate", "name", "region"}
    assert await rates.stored() == []


@pytest.mark.parametrize("missing", ["country", "rate"])
async def test_a_rate_missing_a_required_field_is_refused(rates: Rates, missing: str) -> None:
    body = {"country": "US", "rate": "0.05"}
    del body[missing]

    refused = assert_error(await rates.post(body), 400, "invalid")

    assert refused["errors"] == {missing: ["This field is required."]}
    assert await rates.stored() == []


@pytest.mark.parametrize("body", [None, [], "VAT", 0.2], ids=["no body", "a list", "a string", "a number"])
async def test_a_body_that_is_no_object_is_refused(rates: Rates, body: Any) -> None:
    made = await rates.created()

    assert_error(await rates.post(body), 400, "invalid")
    assert_error(await rates.patch(made["id"], body), 400, "invalid")
    assert await rates.stored() == [made]


async def test_a_body_that_is_no_json_is_refused(rates: Rates) -> None:
    headers = rates.staff | {"Content-Type": "application/json"}

    refused = await rates.client.post(PATH, content=b'{"country": "BD", "rate": ', headers=headers)

    assert_error(refused, 400, "invalid")
    assert await rates.stored() == []


@pytest.mark.parametrize("rate_id", ["0", "-1", "999", str(INT4_OVERFLOW), str(BEYOND_64_BITS)])
async def test_a_rate_no_row_has_is_404(rates: Rates, rate_id: str) -> None:
    made = await rates.created()

    for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
        response = await rates.client.request(method, f"{PATH}{rate_id}/", json=body, headers=rates.staff)
        assert_error(response, 404)
    assert await rates.stored() == [made]


async def test_an_id_that_is_no_number_is_404(rates: Rates) -> None:
    made = await rates.created()

    for method in ("GET", "PATCH", "DELETE"):
        response = await rates.client.request(method, f"{PATH}one/", json={}, headers=rates.staff)
        assert_error(response, 404, "not_found")
    assert await rates.stored() == [made]
