"""API.md Part 2's sales (`GET, POST /api/sales/; GET, PATCH, DELETE /api/sales/{id}/`, staff only)
as a client sees them: the core flow on both databases, bad input on the embedded default, each
refused with a precise 400 and nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
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
    assert_utc,
    open_catalog,
)

SALE_FIELDS = {
    "id",
    "name",
    "percentage",
    "starts_at",
    "ends_at",
    "product_ids",
    "category_ids",
    "status",
    "created_at",
    "updated_at",
}


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def soon(hours: float) -> str:
    return iso(datetime.now(UTC) + timedelta(hours=hours))


@pytest.fixture
async def app(sqlite_url: str) -> AsyncIterator[Catalog]:
    """The embedded default (SQLite): for the rules, which do not depend on the database."""
    async with open_catalog(make_settings(sqlite_url)) as opened:
        yield opened


class Shelf:
    """A catalog of two categories (Kitchen > Pots) and two products (a pot in Pots, a loose lid)."""

    def __init__(self, catalog: Catalog, ids: dict[str, int]) -> None:
        self.catalog = catalog
        self.ids = ids

    @property
    def client(self) -> Client:
        return self.catalog.client

    def sale(self, **fields: Any) -> dict[str, Any]:
        body = {
            "name": "Black Friday",
            "percentage": "20",
            "starts_at": soon(-1),
            "ends_at": soon(24),
            "category_ids": [self.ids["kitchen"]],
        }
        return body | fields

    async def post(self, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        given = self.catalog.staff.headers if headers is None else headers
        return await self.client.post("/api/sales/", json=body, headers=given)

    async def created(self, **fields: Any) -> dict[str, Any]:
        made = await self.post(self.sale(**fields))
        assert made.status_code == 201, made.text
        body: dict[str, Any] = made.json()
        return body

    async def stored(self) -> list[dict[str, Any]]:
        """Every sale, as staff list them."""
        listed = await self.client.get("/api/sales/?page_size=100", headers=self.catalog.staff.headers)
        assert listed.status_code == 200, listed.text
        found: list[dict[str, Any]] = listed.json()["results"]
        return found


async def shelf_of(catalog: Catalog) -> Shelf:
    kitchen = await catalog.category("Kitchen")
    pots = await catalog.category("Pots", kitchen["id"])
    pot = await catalog.product("Pot", "20.00", category=pots["id"])
    lid = await catalog.product("Lid", "5.00")
    return Shelf(catalog, {"kitchen": kitchen["id"], "pots": pots["id"], "pot": pot["id"], "lid": lid["id"]})


@pytest.fixture
async def shelf(catalog: Catalog) -> Shelf:
    return await shelf_of(catalog)


@pytest.fixture
async def rules(app: Catalog) -> Shelf:
    return await shelf_of(app)


def assert_sale(body: dict[str, Any]) -> None:
    assert set(body) == SALE_FIELDS, body
    assert isinstance(body["id"], int)
    assert isinstance(body["percentage"], str)
    assert body["percentage"].count(".") == 1
    assert len(body["percentage"].split(".")[1]) == 2
    for name in ("starts_at", "ends_at", "created_at", "updated_at"):
        assert_utc(body[name])
    assert body["status"] in {"scheduled", "running", "ended"}


# --- the core flow, on both databases ----------------------------------------------------------------


async def test_staff_create_list_show_change_and_delete_a_sale(shelf: Shelf) -> None:
    headers = shelf.catalog.staff.headers
    made = await shelf.created(percentage="12.5", product_ids=[shelf.ids["lid"], shelf.ids["lid"]])
    assert_sale(made)
    assert (made["name"], made["percentage"], made["status"]) == ("Black Friday", "12.50", "running")
    assert (made["product_ids"], made["category_ids"]) == ([shelf.ids["lid"]], [shelf.ids["kitchen"]])
    path = f"/api/sales/{made['id']}/"

    later = await shelf.created(name="Later", starts_at=soon(2), ends_at=soon(3))
    listed = await shelf.client.get("/api/sales", headers=headers)
    assert listed.status_code == 200
    assert set(listed.json()) == PAGE_FIELDS
    assert [s["name"] for s in listed.json()["results"]] == ["Later", "Black Friday"]  # newest first
    assert [s["status"] for s in listed.json()["results"]] == ["scheduled", "running"]
    assert (await shelf.client.get(path, headers=headers)).json() == made
    assert (await shelf.client.get(path.rstrip("/"), headers=headers)).json() == made

    patched = await shelf.client.patch(path, json={"percentage": "30", "category_ids": []}, headers=headers)
    assert patched.status_code == 200, patched.text
    assert (patched.json()["percentage"], patched.json()["category_ids"]) == ("30.00", [])
    assert patched.json()["product_ids"] == [shelf.ids["lid"]]
    ended = await shelf.client.patch(path, json={"ends_at": iso(datetime.now(UTC))}, headers=headers)
    assert ended.json()["status"] == "ended"

    assert (await shelf.client.delete(path, headers=headers)).status_code == 204
    assert_error(await shelf.client.get(path, headers=headers), 404, "not_found")
    assert_error(await shelf.client.delete(path, headers=headers), 404)
    assert [s["id"] for s in await shelf.stored()] == [later["id"]]


async def test_instants_are_answered_in_utc(shelf: Shelf) -> None:
    made = await shelf.created(starts_at="2030-01-01T06:00:00+06:00", ends_at="2030-01-02T00:00:00-05:00")

    assert made["starts_at"] == "2030-01-01T00:00:00Z"
    assert made["ends_at"] == "2030-01-02T05:00:00Z"
    assert made["status"] == "scheduled"


async def test_only_staff_may_see_or_touch_sales(shelf: Shelf) -> None:
    made = await shelf.created()
    customer = shelf.catalog.customer.headers
    path = f"/api/sales/{made['id']}/"
    requests = [
        ("GET", "/api/sales/", None),
        ("POST", "/api/sales/", shelf.sale(name="Mine")),
        ("GET", path, None),
        ("PATCH", path, {"percentage": "99"}),
        ("DELETE", path, None),
    ]

    for method, url, body in requests:
        assert_error(await shelf.client.request(method, url, json=body), 401, "not_authenticated")
        assert_error(await shelf.client.request(method, url, json=body, headers=customer), 403)

    assert await shelf.stored() == [made]


# --- bad input: a precise 400, nothing stored ----------------------------------------------------------


BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("negative percentage", {"percentage": "-5"}, "percentage"),
    ("zero percentage", {"percentage": "0"}, "percentage"),
    ("over 100", {"percentage": "100.01"}, "percentage"),
    ("three decimals", {"percentage": "12.345"}, "percentage"),
    ("not a number", {"percentage": "NaN"}, "percentage"),
    ("infinite", {"percentage": "Infinity"}, "percentage"),
    ("huge", {"percentage": "1e999999"}, "percentage"),
    ("a boolean percentage", {"percentage": True}, "percentage"),
    ("ends before it starts", {"starts_at": soon(2), "ends_at": soon(1)}, "ends_at"),
    (
        "ends as it starts",
        {"starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"},
        "ends_at",
    ),
    ("no time zone", {"ends_at": "2030-01-01T00:00:00"}, "ends_at"),
    ("not a time", {"starts_at": "tomorrow"}, "starts_at"),
    ("before year 1 in UTC", {"starts_at": "0001-01-01T00:00:00+06:00"}, "starts_at"),
    ("a blank name", {"name": "   "}, "name"),
    ("a long name", {"name": "x" * 201}, "name"),
    ("a NUL in the name", {"name": "Black\x00Friday"}, "name"),
    ("a number for a name", {"name": 5}, "name"),
    ("unknown products", {"product_ids": [98_765, 98_764]}, "product_ids"),
    ("unknown categories", {"category_ids": [98_765]}, "category_ids"),
    ("an id beyond 32 bits", {"product_ids": [INT4_OVERFLOW]}, "product_ids"),
    ("an id beyond 64 bits", {"category_ids": [BEYOND_64_BITS]}, "category_ids"),
    ("a zero id", {"product_ids": [0]}, "product_ids"),
    ("ids as a string", {"product_ids": "1"}, "product_ids"),
    ("nothing on sale", {"product_ids": [], "category_ids": []}, "category_ids"),
    ("an unknown field", {"stacked": True}, "stacked"),
]


def field_of(errors: dict[str, list[str]]) -> set[str]:
    """The body fields named, without the index of a list item (`product_ids[0]`)."""
    return {key.split("[")[0] for key in errors}


@pytest.mark.parametrize(
    ("fields", "field"), [(b[1], b[2]) for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES]
)
async def test_a_bad_sale_is_a_precise_400_and_nothing_is_stored(
    rules: Shelf, fields: dict[str, Any], field: str
) -> None:
    body = assert_error(await rules.post(rules.sale(**fields)), 400, "invalid")

    assert field in field_of(body["errors"]), body
    assert await rules.stored() == []


@pytest.mark.parametrize("missing", ["name", "percentage", "ends_at"])
async def test_a_sale_missing_a_required_field_is_refused(rules: Shelf, missing: str) -> None:
    body = rules.sale()
    del body[missing]

    refused = assert_error(await rules.post(body), 400, "invalid")

    assert refused["errors"] == {missing: ["This field is required."]}
    assert await rules.stored() == []


@pytest.mark.parametrize("body", [None, [], "sale", 20], ids=["no body", "a list", "a string", "a number"])
async def test_a_body_that_is_no_object_is_refused(rules: Shelf, body: Any) -> None:
    assert_error(await rules.post(body), 400, "invalid")
    assert await rules.stored() == []


async def test_every_field_at_fault_is_named_at_once(rules: Shelf) -> None:
    body = rules.sale(percentage="101", starts_at=soon(2), ends_at=soon(1), product_ids=[98_765])

    refused = assert_error(await rules.post(body), 400, "invalid")

    assert refused["errors"]["product_ids"] == ["There is no product 98765."]
    assert set(refused["errors"]) == {"percentage", "ends_at", "product_ids"}


async def test_a_bad_change_is_refused_and_changes_nothing(rules: Shelf) -> None:
    made = await rules.created()
    path, headers = f"/api/sales/{made['id']}/", rules.catalog.staff.headers
    bad = [
        {"percentage": "150"},
        {"ends_at": made["starts_at"]},
        {"product_ids": [98_765]},
        {"category_ids": []},  # and no product either: it would cover nothing
        {"name": None},
        {"ends_at": None},
        {"percentage": "1.001", "name": ""},
    ]

    for body in bad:
        assert_error(await rules.client.patch(path, json=body, headers=headers), 400, "invalid")

    assert await rules.stored() == [made]


@pytest.mark.parametrize("sale_id", ["0", "999", str(INT4_OVERFLOW), str(BEYOND_64_BITS)])
async def test_a_sale_no_row_has_is_404(rules: Shelf, sale_id: str) -> None:
    headers = rules.catalog.staff.headers
    for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
        response = await rules.client.request(method, f"/api/sales/{sale_id}/", json=body, headers=headers)
        assert_error(response, 404)


async def test_a_page_past_the_end_is_404(rules: Shelf) -> None:
    await rules.created()
    headers = rules.catalog.staff.headers

    assert_error(await rules.client.get("/api/sales/?page=2", headers=headers), 404)
    assert_error(await rules.client.get("/api/sales/?page_size=101", headers=headers), 400)
