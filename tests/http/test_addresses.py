"""The address book (API.md Part 2, "Shipping, tax, addresses"), on SQLite and PostgreSQL: a
customer's saved addresses with a default for shipping and one for billing, someone else's as good
as missing, and checkout by saved address (copied, so a later change of the book changes no order)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.http.conftest import Catalog, assert_error, new_account

HOME = {
    "full_name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}
OFFICE = {**HOME, "line1": "1 Office Park", "postal_code": "EC1A 1BB"}
FIELDS = {
    "id",
    "full_name",
    "line1",
    "line2",
    "city",
    "postal_code",
    "region",
    "country",
    "phone",
    "is_default_shipping",
    "is_default_billing",
}


async def add(
    catalog: Catalog, body: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    made = await catalog.client.post(
        "/api/addresses/", json=body, headers=headers or catalog.customer.headers
    )
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    assert set(found) == FIELDS
    return found


async def book(catalog: Catalog, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    listed = await catalog.client.get("/api/addresses/", headers=headers or catalog.customer.headers)
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()
    return found


def defaults(entries: list[dict[str, Any]]) -> tuple[list[int], list[int]]:
    return (
        [e["id"] for e in entries if e["is_default_shipping"]],
        [e["id"] for e in entries if e["is_default_billing"]],
    )


async def test_the_first_address_is_both_defaults_and_a_new_default_replaces_the_old(
    catalog: Catalog,
) -> None:
    home = await add(catalog, HOME)
    assert (home["is_default_shipping"], home["is_default_billing"]) == (True, True)
    office = await add(catalog, {**OFFICE, "is_default_shipping": True})
    assert defaults(await book(catalog)) == ([office["id"]], [home["id"]])

    changed = await catalog.client.patch(
        f"/api/addresses/{home['id']}/", json={"is_default_shipping": True, "phone": "+44 20 7946 0000"},
        headers=catalog.customer.headers,
    )  # fmt: skip

    assert changed.status_code == 200, changed.text
    assert changed.json()["phone"] == "+44 20 7946 0000"
    assert defaults(await book(catalog)) == ([home["id"]], [home["id"]])
    unset = await catalog.client.patch(
        f"/api/addresses/{home['id']}/", json={"is_default_billing": False}, headers=catalog.customer.headers
    )
    assert unset.json()["is_default_billing"] is False
    assert defaults(await book(catalog)) == ([home["id"]], [])
    gone = await catalog.client.delete(f"/api/addresses/{home['id']}/", headers=catalog.customer.headers)
    assert gone.status_code == 204
    assert [e["id"] for e in await book(catalog)] == [office["id"]]


async def test_someone_elses_address_is_as_good_as_missing(catalog: Catalog) -> None:
    other = await new_account(catalog.client)
    theirs = await add(catalog, HOME, other.headers)
    for method in ("GET", "PATCH", "DELETE"):
        answer = await catalog.client.request(
            method, f"/api/addresses/{theirs['id']}/", json={"city": "Paris"} if method == "PATCH" else None,
            headers=catalog.customer.headers,
        )  # fmt: skip
        assert_error(answer, 404)
    assert await book(catalog) == []
    assert [e["city"] for e in await book(catalog, other.headers)] == ["London"]
    anonymous = await catalog.client.get("/api/addresses/")
    assert_error(anonymous, 401)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**HOME, "country": "XX"}, "address.country"),
        ({**HOME, "full_name": ""}, "address.full_name"),
        ({**HOME, "postal_code": "1" * 21}, "postal_code"),
        ({**HOME, "phone": "call me"}, "phone"),
        ({**HOME, "line1": "nul\x00byte"}, "line1"),
        ({**HOME, "surprise": 1}, "surprise"),
        ({k: v for k, v in HOME.items() if k != "city"}, "city"),
    ],
)
async def test_a_bad_address_is_400_naming_the_field_and_nothing_is_stored(
    catalog: Catalog, body: dict[str, Any], field: str
) -> None:
    refused = await catalog.client.post("/api/addresses/", json=body, headers=catalog.customer.headers)
    errors = assert_error(refused, 400).get("errors", {})
    assert any(field in key for key in errors) or field in refused.text, refused.text
    assert await book(catalog) == []


async def test_an_address_is_stored_as_an_order_keeps_it(catalog: Catalog) -> None:
    """Trimmed, and the country upper-cased, as order addresses are."""
    saved = await add(catalog, {**HOME, "country": "gb", "city": "  London "})
    assert (saved["country"], saved["city"], saved["line2"], saved["phone"]) == ("GB", "London", "", "")


async def test_a_bad_change_is_400_and_changes_nothing(catalog: Catalog) -> None:
    home = await add(catalog, HOME)
    refused = await catalog.client.patch(
        f"/api/addresses/{home['id']}/",
        json={"country": "zz", "city": "Paris"},
        headers=catalog.customer.headers,
    )
    assert "address.country" in assert_error(refused, 400)["errors"]
    assert (await book(catalog))[0]["city"] == "London"
    for path in ("/api/addresses/0/", "/api/addresses/99999999999/", "/api/addresses/abc/"):
        assert (await catalog.client.get(path, headers=catalog.customer.headers)).status_code in (400, 404)


async def test_two_first_addresses_at_once_leave_one_default_of_each_kind(catalog: Catalog) -> None:
    answers = await asyncio.gather(
        *(
            catalog.client.post("/api/addresses/", json=HOME, headers=catalog.customer.headers)
            for _ in range(4)
        )
    )
    assert {a.status_code for a in answers} == {201}
    shipping, billing = defaults(await book(catalog))
    assert (len(shipping), len(billing)) == (1, 1)


# --- checkout with saved addresses ------------------------------------------------------------------


async def place(catalog: Catalog, product_id: int, **fields: Any) -> Any:
    body = {"items": [{"product_id": product_id, "quantity": 1}], "payment_method": "cod", **fields}
    return await catalog.client.post("/api/orders/", json=body, headers=catalog.customer.headers)


async def test_an_order_copies_the_saved_addresses_it_names(catalog: Catalog) -> None:
    lamp = await catalog.product("Lamp", "10.00", stock_quantity=10)
    home = await add(catalog, HOME)
    office = await add(catalog, OFFICE)

    placed = await place(catalog, lamp["id"], shipping_address_id=office["id"], billing_address_id=home["id"])

    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["shipping_address"]["line1"] == "1 Office Park"
    assert order["billing_address"]["line1"] == HOME["line1"]
    # Editing or deleting the saved address later changes no order.
    await catalog.client.patch(
        f"/api/addresses/{office['id']}/", json={"line1": "2 Elsewhere"}, headers=catalog.customer.headers
    )
    await catalog.client.delete(f"/api/addresses/{home['id']}/", headers=catalog.customer.headers)
    again = await catalog.client.get(f"/api/orders/{order['id']}/", headers=catalog.customer.headers)
    assert again.json()["shipping_address"]["line1"] == "1 Office Park"
    assert again.json()["billing_address"]["line1"] == HOME["line1"]


async def test_without_an_address_the_defaults_are_used(catalog: Catalog) -> None:
    lamp = await catalog.product("Lamp", "10.00", stock_quantity=10)
    refused = await place(catalog, lamp["id"])
    assert "shipping_address" in assert_error(refused, 400)["errors"]
    await add(catalog, HOME)
    await add(catalog, {**OFFICE, "is_default_billing": True})

    placed = await place(catalog, lamp["id"])

    assert placed.status_code == 201, placed.text
    assert placed.json()["shipping_address"]["line1"] == HOME["line1"]
    assert placed.json()["billing_address"]["line1"] == "1 Office Park"


async def test_someone_elses_saved_address_is_404_at_checkout_and_nothing_is_taken(catalog: Catalog) -> None:
    lamp = await catalog.product("Lamp", "10.00", stock_quantity=10)
    other = await new_account(catalog.client)
    theirs = await add(catalog, HOME, other.headers)
    mine = await add(catalog, OFFICE)

    assert_error(await place(catalog, lamp["id"], shipping_address_id=theirs["id"]), 404)
    assert_error(
        await place(catalog, lamp["id"], shipping_address=HOME, billing_address_id=theirs["id"]), 404
    )
    both = await place(catalog, lamp["id"], shipping_address=HOME, shipping_address_id=mine["id"])
    assert "shipping_address_id" in assert_error(both, 400)["errors"]
    stock = await catalog.client.get(f"/api/products/{lamp['id']}/", headers=catalog.staff.headers)
    assert stock.json()["stock_quantity"] == 10


async def test_cart_checkout_takes_a_saved_address_too(catalog: Catalog) -> None:
    lamp = await catalog.product("Lamp", "10.00", stock_quantity=10)
    office = await add(catalog, OFFICE)
    await catalog.client.post(
        "/api/cart/add/", json={"product_id": lamp["id"]}, headers=catalog.customer.headers
    )
    placed = await catalog.client.post(
        "/api/cart/checkout/", json={"payment_method": "cod", "shipping_address_id": office["id"]},
        headers=catalog.customer.headers,
    )  # fmt: skip
    assert placed.status_code == 201, placed.text
    assert (
        placed.json()["shipping_address"]["line1"]
        == placed.json()["billing_address"]["line1"]
        == "1 Office Park"
    )
