"""API.md Part 2's shipping zones and methods (`GET, POST /api/shipping/zones/`; `GET, PATCH, DELETE
/api/shipping/zones/{id}/`; `POST .../{id}/methods/`, `PATCH, DELETE .../{id}/methods/{method_id}/`,
staff only) as a client sees them: the core flow and the conflicts on both databases, bad input
refused with a precise 4xx and nothing stored, and two racing zones on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any, Self

import httpx
import pytest

from shop_core.bootstrap import bootstrap
from shop_core.domain.actors import Actor
from shop_core.domain.errors import Conflict
from shop_core.domain.shipping import Zone
from shop_core.ports.persistence import UnitOfWork
from shop_core.services.shipping import Shipping
from shop_core.services.shipping_commands import CreateZone
from shop_core.services.shipping_views import ZoneView
from tests.conftest import fast_hasher, make_settings
from tests.http.conftest import (
    BEYOND_64_BITS,
    INT4_OVERFLOW,
    PAGE_FIELDS,
    Catalog,
    Client,
    assert_error,
    open_catalog,
)
from tests.http.test_cart_vouchers import sql
from tests.http.test_orders_concurrency import CHECKOUT

ZONES = "/api/shipping/zones/"
ZONE_FIELDS = {"id", "name", "countries", "methods"}
METHOD_FIELDS = {
    "id",
    "name",
    "price",
    "free_over",
    "min_weight_grams",
    "max_weight_grams",
    "delivery_days",
}
STANDARD = {
    "name": "Standard",
    "price": "4.99",
    "free_over": "50",
    "max_weight_grams": 20000,
    "delivery_days": 5,
}
EXPRESS = {"name": "Express", "price": "14.99", "max_weight_grams": 5000, "delivery_days": 2}


@pytest.fixture
async def app(sqlite_url: str) -> AsyncIterator[Catalog]:
    """The embedded default (SQLite): for the rules, which do not depend on the database."""
    async with open_catalog(make_settings(sqlite_url)) as opened:
        yield opened


class Staff:
    """A staff client of the shipping API."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.headers = catalog.staff.headers

    @property
    def client(self) -> Client:
        return self.catalog.client

    async def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.client.request(method, path, json=body, headers=self.headers)

    async def zone(
        self, name: str = "Asia", countries: list[str] | None = None, **extra: Any
    ) -> dict[str, Any]:
        made = await self.call("POST", ZONES, {"name": name, "countries": countries or ["BD"], **extra})
        assert made.status_code == 201, made.text
        body: dict[str, Any] = made.json()
        return body

    async def method(self, zone_id: int, **fields: Any) -> dict[str, Any]:
        made = await self.call(
            "POST", f"{ZONES}{zone_id}/methods/", {"name": "Standard", "price": "4.99"} | fields
        )
        assert made.status_code == 201, made.text
        body: dict[str, Any] = made.json()
        return body

    async def stored(self) -> list[dict[str, Any]]:
        """Every zone with its methods, as staff list them."""
        listed = await self.call("GET", f"{ZONES}?page_size=100")
        assert listed.status_code == 200, listed.text
        found: list[dict[str, Any]] = listed.json()["results"]
        return found


@pytest.fixture
def staff(catalog: Catalog) -> Staff:
    return Staff(catalog)


@pytest.fixture
def rules(app: Catalog) -> Staff:
    return Staff(app)


def assert_zone(body: dict[str, Any]) -> None:
    """API.md's zone: exactly its fields, countries sorted, money as decimal strings."""
    assert set(body) == ZONE_FIELDS, body
    assert isinstance(body["id"], int)
    assert body["countries"] == sorted(body["countries"])
    for method in body["methods"]:
        assert_method(method)


def assert_method(body: dict[str, Any]) -> None:
    assert set(body) == METHOD_FIELDS, body
    assert isinstance(body["price"], str)
    assert isinstance(body["free_over"], str | None)
    for name in ("min_weight_grams", "max_weight_grams", "delivery_days"):
        assert isinstance(body[name], int | None)


# --- the core flow, on both databases --------------------------------------------------------------


async def test_staff_create_list_show_change_and_delete_zones_and_methods(staff: Staff) -> None:
    made = await staff.zone("Asia", ["NP", "BD", "IN", "BD"], methods=[EXPRESS, STANDARD])
    assert_zone(made)
    assert (made["name"], made["countries"]) == ("Asia", ["BD", "IN", "NP"])
    assert [m["name"] for m in made["methods"]] == ["Standard", "Express"]  # by price
    assert made["methods"][0] | {"id": 0} == {
        "id": 0,
        "name": "Standard",
        "price": "4.99",
        "free_over": "50.00",
        "min_weight_grams": None,
        "max_weight_grams": 20000,
        "delivery_days": 5,
    }
    path = f"{ZONES}{made['id']}/"
    europe = await staff.zone("  Europe ", ["GB", "DE"])
    assert (europe["name"], europe["methods"]) == ("Europe", [])

    listed = await staff.call("GET", ZONES.rstrip("/"))
    assert listed.status_code == 200
    assert set(listed.json()) == PAGE_FIELDS
    assert [z["name"] for z in listed.json()["results"]] == ["Asia", "Europe"]
    assert listed.json()["results"][0] == made
    assert (await staff.call("GET", path)).json() == made
    assert (await staff.call("GET", path.rstrip("/"))).json() == made

    renamed = await staff.call("PATCH", path, {"name": "South Asia", "countries": ["LK", "BD"]})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["countries"]) == ("South Asia", ["BD", "LK"])
    assert renamed.json()["methods"] == made["methods"]
    assert (await staff.call("PATCH", path, {})).json() == renamed.json()

    added = await staff.method(europe["id"], name="Courier", price="9", min_weight_grams=0)
    assert_method(added)
    assert (added["price"], added["free_over"], added["min_weight_grams"]) == ("9.00", None, 0)
    method_path = f"{ZONES}{europe['id']}/methods/{added['id']}/"
    changed = await staff.call(
        "PATCH", method_path, {"price": "8.50", "free_over": "100", "min_weight_grams": None}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == added | {"price": "8.50", "free_over": "100.00", "min_weight_grams": None}
    assert (await staff.call("GET", f"{ZONES}{europe['id']}/")).json()["methods"] == [changed.json()]

    assert (await staff.call("DELETE", method_path)).status_code == 204
    assert_error(await staff.call("DELETE", method_path), 404, "not_found")
    assert (await staff.call("DELETE", path)).status_code == 204
    assert_error(await staff.call("GET", path), 404, "not_found")
    assert [(z["name"], z["methods"]) for z in await staff.stored()] == [("Europe", [])]


async def test_a_country_in_another_zone_is_409_naming_that_zone(staff: Staff) -> None:
    asia = await staff.zone("Asia", ["BD", "IN"])
    europe = await staff.zone("Europe", ["GB"])

    created = await staff.call("POST", ZONES, {"name": "Bengal", "countries": ["NP", "IN", "BD"]})
    moved = await staff.call("PATCH", f"{ZONES}{europe['id']}/", {"countries": ["GB", "IN"]})

    for refused, country in ((created, "BD"), (moved, "IN")):  # the first shared, in code order
        body = assert_error(refused, 409, "country_in_another_zone")
        assert body["detail"] == f"{country} is already in the zone 'Asia'; take it out of that zone first."
    assert await staff.stored() == [asia, europe]
    # Out of one zone first, then into the other: both fine.
    assert (await staff.call("PATCH", f"{ZONES}{asia['id']}/", {"countries": ["BD"]})).status_code == 200
    assert (
        await staff.call("PATCH", f"{ZONES}{europe['id']}/", {"countries": ["GB", "IN"]})
    ).status_code == 200


async def test_a_zone_name_is_unique_in_any_case(staff: Staff) -> None:
    asia = await staff.zone("Asia", ["BD"])
    europe = await staff.zone("Europe", ["GB"])

    for refused in (
        await staff.call("POST", ZONES, {"name": "ASIA ", "countries": ["NP"]}),
        await staff.call("PATCH", f"{ZONES}{europe['id']}/", {"name": "asia"}),
    ):
        assert (
            assert_error(refused, 409, "zone_name_taken")["detail"] == "There is a zone named 'Asia' already."
        )

    assert await staff.stored() == [asia, europe]
    recased = await staff.call("PATCH", f"{ZONES}{asia['id']}/", {"name": "ASIA"})  # its own name
    assert recased.json()["name"] == "ASIA"


async def test_a_method_of_another_zone_is_404_and_stays_as_it_was(staff: Staff) -> None:
    asia = await staff.zone("Asia", ["BD"], methods=[STANDARD])
    europe = await staff.zone("Europe", ["GB"])
    method_id = asia["methods"][0]["id"]
    wrong = f"{ZONES}{europe['id']}/methods/{method_id}/"

    for method, body in (("PATCH", {"price": "0"}), ("DELETE", None)):
        refused = assert_error(await staff.call(method, wrong, body), 404, "not_found")
        assert refused["detail"] == (
            f"Shipping method {method_id} is not in the zone 'Europe': it belongs to zone {asia['id']}."
        )
    unknown_zone = f"{ZONES}{europe['id'] + 99}/methods/{method_id}/"
    assert assert_error(await staff.call("PATCH", unknown_zone, {"price": "0"}), 404)["detail"] == (
        "No such shipping zone."
    )
    assert await staff.stored() == [asia, europe]


async def test_only_staff_may_see_or_touch_shipping(staff: Staff) -> None:
    zone = await staff.zone("Asia", ["BD"], methods=[STANDARD])
    path = f"{ZONES}{zone['id']}/"
    method = f"{path}methods/{zone['methods'][0]['id']}/"
    customer = staff.catalog.customer.headers
    requests = [
        ("GET", ZONES, None),
        ("POST", ZONES, {"name": "Mine", "countries": ["NP"]}),
        ("GET", path, None),
        ("PATCH", path, {"name": "Mine"}),
        ("DELETE", path, None),
        ("POST", f"{path}methods/", {"name": "Free", "price": "0"}),
        ("PATCH", method, {"price": "0"}),
        ("DELETE", method, None),
    ]

    for verb, url, body in requests:
        assert_error(await staff.client.request(verb, url, json=body), 401, "not_authenticated")
        assert_error(
            await staff.client.request(verb, url, json=body, headers=customer), 403, "permission_denied"
        )

    assert await staff.stored() == [zone]


async def test_deleting_a_zone_takes_its_methods_and_orders_keep_their_copy(staff: Staff) -> None:
    zone = await staff.zone("Europe", ["GB"], methods=[STANDARD])
    method = zone["methods"][0]
    lamp = await staff.catalog.product("Lamp", "20.00", stock_quantity=5)
    order = {
        "items": [{"product_id": lamp["id"], "quantity": 1}],
        **CHECKOUT,
        "shipping_method_id": method["id"],
    }
    placed = await staff.client.post("/api/orders/", json=order, headers=staff.catalog.customer.headers)
    assert placed.status_code == 201, placed.text
    assert placed.json()["shipping_method"] == {"id": method["id"], "name": "Standard", "price": "4.99"}

    assert (await staff.call("DELETE", f"{ZONES}{zone['id']}/")).status_code == 204

    rows = await sql(staff.catalog, "SELECT count(*) AS n FROM shipping_methods")
    assert rows[0].n == 0
    kept = await sql(
        staff.catalog,
        "SELECT shipping_method_id, shipping_method_name, shipping_method_price FROM orders WHERE id = :o",
        o=placed.json()["id"],
    )
    assert tuple(kept[0]) == (None, "Standard", 499)
    shown = await staff.client.get(f"/api/orders/{placed.json()['id']}/", headers=staff.headers)
    assert shown.json()["shipping_method"] == {"id": None, "name": "Standard", "price": "4.99"}


async def test_hostile_input_changes_nothing_on_either_database(staff: Staff) -> None:
    """NUL bytes, huge numbers and ids, wrong types: a 400 (or 404) before the database sees them."""
    zone = await staff.zone("Asia", ["BD"], methods=[STANDARD])
    path = f"{ZONES}{zone['id']}/"
    method = f"{path}methods/{zone['methods'][0]['id']}/"
    refusals = [
        ("POST", ZONES, {"name": "Nul\x00", "countries": ["NP"]}, 400),
        ("POST", ZONES, {"name": "Nul", "countries": ["N\x00"]}, 400),
        (
            "POST",
            ZONES,
            {"name": "Big", "countries": ["NP"], "methods": [{"name": "x", "price": "1e999999"}]},
            400,
        ),
        ("PATCH", path, {"countries": "BD"}, 400),
        ("POST", f"{path}methods/", {"name": "Heavy", "price": "1", "max_weight_grams": 10**20}, 400),
        ("POST", f"{path}methods/", {"name": "Long", "price": "1", "delivery_days": -(10**20)}, 400),
        ("PATCH", method, {"name": "\x00"}, 400),
        ("PATCH", method, {"zone_id": 2}, 400),
        ("PATCH", f"{ZONES}{INT4_OVERFLOW}/", {"name": "Far"}, 404),
        ("DELETE", f"{path}methods/{BEYOND_64_BITS}/", None, 404),
    ]

    for verb, url, body, status in refusals:
        assert_error(await staff.call(verb, url, body), status)

    assert await staff.stored() == [zone]


# --- bad input: a precise 400, nothing stored --------------------------------------------------------


BAD_ZONES: list[tuple[str, dict[str, Any], str]] = [
    ("a lowercase country", {"countries": ["bd"]}, "countries"),
    ("an unassigned country", {"countries": ["XX"]}, "countries"),
    ("a three-letter country", {"countries": ["BGD"]}, "countries"),
    ("a country as a number", {"countries": [50]}, "countries"),
    ("countries as a string", {"countries": "BD"}, "countries"),
    ("no country", {"countries": []}, "countries"),
    ("a NUL in a country", {"countries": ["B\x00"]}, "countries"),
    ("too many countries", {"countries": ["BD"] * 1000}, "countries"),
    ("a blank name", {"name": "   "}, "name"),
    ("a long name", {"name": "x" * 101}, "name"),
    ("a NUL in the name", {"name": "As\x00ia"}, "name"),
    ("a number for a name", {"name": 5}, "name"),
    ("a null name", {"name": None}, "name"),
    ("a bad method", {"methods": [STANDARD, {"name": "Express", "price": "-1"}]}, "methods[1].price"),
    ("a method missing its price", {"methods": [{"name": "Express"}]}, "methods[0]"),
    ("methods as an object", {"methods": STANDARD}, "methods"),
    ("an unknown field", {"zone_id": 3}, "zone_id"),
]
BAD_METHODS: list[tuple[str, dict[str, Any], str]] = [
    ("a negative price", {"price": "-0.01"}, "price"),
    ("a price finer than cents", {"price": "4.999"}, "price"),
    ("a huge price", {"price": "1e999999"}, "price"),
    ("a price of more than the shop takes", {"price": "1000000000001"}, "price"),
    ("a price that is no number", {"price": "NaN"}, "price"),
    ("an infinite price", {"price": "Infinity"}, "price"),
    ("a price as a boolean", {"price": True}, "price"),
    ("a null price", {"price": None}, "price"),
    ("a price in words", {"price": "four"}, "price"),
    ("a negative threshold", {"free_over": "-5"}, "free_over"),
    ("a negative minimum weight", {"min_weight_grams": -1}, "min_weight_grams"),
    ("a negative maximum weight", {"max_weight_grams": -1}, "max_weight_grams"),
    ("a maximum below the minimum", {"min_weight_grams": 500, "max_weight_grams": 499}, "max_weight_grams"),
    ("a weight beyond 32 bits", {"max_weight_grams": INT4_OVERFLOW}, "max_weight_grams"),
    ("a fractional weight", {"min_weight_grams": 1.5}, "min_weight_grams"),
    ("weight in words", {"min_weight_grams": "heavy"}, "min_weight_grams"),
    ("negative days", {"delivery_days": -1}, "delivery_days"),
    ("days beyond 64 bits", {"delivery_days": BEYOND_64_BITS}, "delivery_days"),
    ("a blank name", {"name": " "}, "name"),
    ("a long name", {"name": "y" * 101}, "name"),
    ("a NUL in the name", {"name": "Stan\x00dard"}, "name"),
    ("a zone of its own", {"zone_id": 1}, "zone_id"),
]


def ids(cases: list[tuple[str, dict[str, Any], str]]) -> dict[str, Any]:
    return {"argvalues": [(c[1], c[2]) for c in cases], "ids": [c[0] for c in cases]}


@pytest.mark.parametrize(("fields", "field"), **ids(BAD_ZONES))
async def test_a_bad_zone_is_a_precise_400_and_nothing_is_stored(
    rules: Staff, fields: dict[str, Any], field: str
) -> None:
    body = assert_error(
        await rules.call("POST", ZONES, {"name": "Asia", "countries": ["BD"]} | fields), 400, "invalid"
    )

    assert field in {
        key.split("[")[0] if not key.startswith("methods[") else key for key in body["errors"]
    }, body
    assert await rules.stored() == []


@pytest.mark.parametrize(("fields", "field"), **ids(BAD_METHODS))
async def test_a_bad_method_is_a_precise_400_and_nothing_is_stored(
    rules: Staff, fields: dict[str, Any], field: str
) -> None:
    zone = await rules.zone("Asia", ["BD"], methods=[STANDARD])
    method = f"{ZONES}{zone['id']}/methods/"

    added = await rules.call("POST", method, {"name": "Express", "price": "14.99"} | fields)
    changed = await rules.call("PATCH", f"{method}{zone['methods'][0]['id']}/", fields)

    for refused in (added, changed):
        assert field in assert_error(refused, 400, "invalid")["errors"], refused.text
    assert await rules.stored() == [zone]


async def test_every_field_at_fault_is_named_at_once(rules: Staff) -> None:
    body = {
        "name": " ",
        "countries": ["bd", "IN", "XX"],
        "methods": [
            {"name": "A", "price": "-1", "min_weight_grams": 9, "max_weight_grams": 1},
            {"name": "", "price": "1"},
        ],
    }

    refused = assert_error(await rules.call("POST", ZONES, body), 400, "invalid")

    assert refused["errors"] == {
        "name": ["Name the zone in 1 to 100 characters."],
        "countries": ["Not an ISO 3166-1 alpha-2 code in capitals: 'bd', 'XX' (such as BD, GB, US)."],
        "methods[0].price": ["Use an amount of zero or more."],
        "methods[0].max_weight_grams": ["The maximum weight cannot be below the minimum."],
        "methods[1].name": ["Name the method in 1 to 100 characters."],
    }
    assert await rules.stored() == []


async def test_a_bad_change_of_a_zone_is_refused_and_changes_nothing(rules: Staff) -> None:
    zone = await rules.zone("Asia", ["BD", "IN"], methods=[STANDARD])
    path = f"{ZONES}{zone['id']}/"

    for body in (
        {"countries": []},
        {"countries": ["in"]},
        {"name": ""},
        {"name": None},
        {"methods": []},
        [],
        "x",
    ):
        assert_error(await rules.call("PATCH", path, body), 400, "invalid")

    assert await rules.stored() == [zone]


@pytest.mark.parametrize("body", [None, [], "zone", 20], ids=["no body", "a list", "a string", "a number"])
async def test_a_body_that_is_no_object_is_refused(rules: Staff, body: Any) -> None:
    assert_error(await rules.call("POST", ZONES, body), 400, "invalid")
    assert await rules.stored() == []


@pytest.mark.parametrize("missing", ["name", "countries"])
async def test_a_zone_missing_a_required_field_is_refused(rules: Staff, missing: str) -> None:
    body = {"name": "Asia", "countries": ["BD"]}
    del body[missing]

    refused = assert_error(await rules.call("POST", ZONES, body), 400, "invalid")

    assert refused["errors"] == {missing: ["This field is required."]}


@pytest.mark.parametrize("some_id", ["0", "999", str(INT4_OVERFLOW), str(BEYOND_64_BITS)])
async def test_an_id_no_row_has_is_404(rules: Staff, some_id: str) -> None:
    zone = await rules.zone("Asia", ["BD"], methods=[STANDARD])
    method_id = zone["methods"][0]["id"]
    requests = [
        ("GET", f"{ZONES}{some_id}/", None),
        ("PATCH", f"{ZONES}{some_id}/", {"name": "x"}),
        ("DELETE", f"{ZONES}{some_id}/", None),
        ("POST", f"{ZONES}{some_id}/methods/", {"name": "x", "price": "1"}),
        ("PATCH", f"{ZONES}{some_id}/methods/{method_id}/", {"price": "1"}),
        ("PATCH", f"{ZONES}{zone['id']}/methods/{some_id}/", {"price": "1"}),
        ("DELETE", f"{ZONES}{zone['id']}/methods/{some_id}/", None),
    ]

    for verb, url, body in requests:
        assert_error(await rules.call(verb, url, body), 404, "not_found")
    assert_error(await rules.call("GET", f"{ZONES}abc/"), 404)
    assert await rules.stored() == [zone]


async def test_pages_of_zones(rules: Staff) -> None:
    for name, country in (("C", "CA"), ("A", "AU"), ("B", "BR")):
        await rules.zone(name, [country])

    first = (await rules.call("GET", f"{ZONES}?page_size=2")).json()
    second = (await rules.call("GET", f"{ZONES}?page=2&page_size=2")).json()

    assert (first["count"], [z["name"] for z in first["results"]]) == (3, ["A", "B"])
    assert "page=2" in first["next"]
    assert ([z["name"] for z in second["results"]], second["next"]) == (["C"], None)
    assert_error(await rules.call("GET", f"{ZONES}?page=3&page_size=2"), 404)
    assert_error(await rules.call("GET", f"{ZONES}?page_size=101"), 400)


async def test_money_is_in_the_shop_currency(sqlite_url: str) -> None:
    async with open_catalog(make_settings(sqlite_url, currency="JPY")) as catalog:
        yen = Staff(catalog)
        zone = await yen.zone(
            "Japan", ["JP"], methods=[{"name": "Takkyubin", "price": "800", "free_over": "5000"}]
        )
        assert (zone["methods"][0]["price"], zone["methods"][0]["free_over"]) == ("800", "5000")
        refused = await yen.call("POST", f"{ZONES}{zone['id']}/methods/", {"name": "Cheap", "price": "1.50"})
        assert assert_error(refused, 400)["errors"] == {"price": ["Use at most 0 decimal places for JPY."]}


# --- two zones racing for one country, on PostgreSQL -------------------------------------------------


class GatedShipping:
    """The real shipping repository, held at the point of the race: the first change to read the
    other zones (under the lock) waits until the other change has entered `lock()` too."""

    def __init__(self, real: Any, gate: Gate) -> None:
        self._real = real
        self._gate = gate

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def lock(self) -> None:
        self._gate.entered += 1
        if self._gate.entered == 2:
            self._gate.both_entered.set()
        await self._real.lock()

    async def zones(self) -> list[Zone]:
        found: list[Zone] = await self._real.zones()
        self._gate.readers += 1
        if self._gate.readers == 1:  # the first: let the other one reach the lock before going on
            async with asyncio.timeout(30):
                await self._gate.both_entered.wait()
        return found


class Gate:
    def __init__(self) -> None:
        self.entered = 0
        self.readers = 0
        self.both_entered = asyncio.Event()


class GatedUnitOfWork:
    def __init__(self, real: UnitOfWork, gate: Gate) -> None:
        self._real = real
        self._gate = gate

    async def __aenter__(self) -> Self:
        await self._real.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._real.__aexit__(exc_type, exc, tb)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    @property
    def shipping(self) -> GatedShipping:
        return GatedShipping(self._real.shipping, self._gate)


def gated(factory: Callable[[], UnitOfWork], gate: Gate) -> Callable[[], Any]:
    return lambda: GatedUnitOfWork(factory(), gate)


async def test_two_zones_racing_for_a_country_store_exactly_one(pg_url: str) -> None:
    async with bootstrap(make_settings(pg_url), hasher=fast_hasher()) as shop:
        gate = Gate()
        shipping = Shipping(uow=gated(shop.ports.uow, gate), currency="USD")
        staff = Actor.operator()
        asia = CreateZone(name="Asia", countries=["BD", "IN"])
        bengal = CreateZone(name="Bengal", countries=["BD"])

        outcomes = await asyncio.gather(
            shipping.create_zone(asia, staff), shipping.create_zone(bengal, staff), return_exceptions=True
        )

        assert gate.entered == 2  # both changes were in the use case at once
        made = [o for o in outcomes if isinstance(o, ZoneView)]
        refused = [o for o in outcomes if isinstance(o, Conflict)]
        assert (len(made), len(refused)) == (1, 1), outcomes
        assert refused[0].code == "country_in_another_zone"
        # Checked under the lock, not caught by the database: the refusal names the zone stored.
        assert (
            refused[0].detail
            == f"BD is already in the zone {made[0].name!r}; take it out of that zone first."
        )
        stored = await shop.shipping.list_zones(staff)
        assert [(z.name, z.countries) for z in stored.items] == [(made[0].name, made[0].countries)]
