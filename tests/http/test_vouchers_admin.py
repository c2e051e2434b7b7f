"""Staff's vouchers through the API (API.md Part 2, "Vouchers and sales"): GET, POST /api/vouchers/;
GET, PATCH, DELETE /api/vouchers/{id}/. Every test runs on SQLite and on PostgreSQL (the `catalog`
fixture). Every refusal is precise (status, `code`, the field at fault) and stores nothing."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shop_core.ports.vouchers import VoucherFilter
from tests.http.conftest import (
    BEYOND_64_BITS,
    INT4_OVERFLOW,
    PAGE_FIELDS,
    Catalog,
    assert_error,
    assert_utc,
    engine_of,
    in_app,
    shop_of,
)

VOUCHER_FIELDS = {
    "id",
    "code",
    "kind",
    "value",
    "min_subtotal",
    "starts_at",
    "ends_at",
    "usage_limit",
    "per_customer_limit",
    "used_count",
    "product_ids",
    "category_ids",
    "is_active",
    "uses_left",
}
XMAS = {
    "code": "xmas-15",
    "kind": "percentage",
    "value": "15",
    "min_subtotal": "50.00",
    "starts_at": "2026-12-01T00:00:00Z",
    "ends_at": "2026-12-27T00:00:00+01:00",
    "usage_limit": 500,
    "per_customer_limit": 1,
}
ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "1 Main St",
    "city": "London",
    "postal_code": "N1",
    "country": "GB",
}


async def post(catalog: Catalog, **fields: Any) -> httpx.Response:
    return await catalog.client.post("/api/vouchers/", json=fields, headers=catalog.staff.headers)


async def created(catalog: Catalog, **fields: Any) -> dict[str, Any]:
    response = await post(catalog, **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def patch(catalog: Catalog, voucher_id: int, **fields: Any) -> httpx.Response:
    return await catalog.client.patch(
        f"/api/vouchers/{voucher_id}/", json=fields, headers=catalog.staff.headers
    )


async def stored(catalog: Catalog) -> list[dict[str, Any]]:
    """Every voucher as stored, straight from the database."""
    shop = shop_of(catalog.client)

    async def read() -> list[dict[str, Any]]:
        async with shop.ports.uow() as uow:
            found, _ = await uow.vouchers.page(VoucherFilter(), offset=0, limit=10_000)
        return [asdict(v) for v in found]

    rows: list[dict[str, Any]] = await in_app(catalog.client, read)
    return rows


async def use(catalog: Catalog, code: str, times: int = 1) -> None:
    """Count uses of the voucher, as checkout does (the customer's)."""
    shop = shop_of(catalog.client)

    async def counted() -> None:
        for _ in range(times):
            async with shop.ports.uow() as uow:
                voucher = await uow.vouchers.by_code(code)
                assert voucher is not None
                assert voucher.id is not None
                assert await uow.vouchers.count_use(voucher.id, catalog.customer.id)
                await uow.commit()

    await in_app(catalog.client, counted)


async def ordered_with(catalog: Catalog, voucher: dict[str, Any]) -> None:
    """An order that used the voucher (placed by the customer; checkout with vouchers is the lead's:
    the order is marked as the checkout marks it)."""
    product = await catalog.product("Lamp", "20.00", stock_quantity=5)
    placed = await catalog.client.post(
        "/api/orders/",
        json={
            "items": [{"product_id": product["id"], "quantity": 1}],
            "shipping_address": ADDRESS,
            "payment_method": "cod",
        },
        headers=catalog.customer.headers,
    )
    assert placed.status_code == 201, placed.text
    engine = engine_of(catalog.client)

    async def mark() -> None:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE orders SET voucher_id = :v, voucher_code = :c WHERE id = :o"),
                {"v": voucher["id"], "c": voucher["code"], "o": placed.json()["id"]},
            )

    await in_app(catalog.client, mark)


# --- create, read, list --------------------------------------------------------------------------


async def test_a_voucher_is_created_and_read_back_as_the_api_says(catalog: Catalog) -> None:
    mugs = await catalog.category("Mugs")
    lamp = await catalog.product("Lamp")

    body = await created(catalog, **XMAS, product_ids=[lamp["id"], lamp["id"]], category_ids=[mugs["id"]])

    assert set(body) == VOUCHER_FIELDS
    assert body | {"id": 0} == {
        "id": 0,
        "code": "XMAS-15",
        "kind": "percentage",
        "value": "15.00",
        "min_subtotal": "50.00",
        "starts_at": "2026-12-01T00:00:00Z",
        "ends_at": "2026-12-26T23:00:00Z",
        "usage_limit": 500,
        "per_customer_limit": 1,
        "used_count": 0,
        "product_ids": [lamp["id"]],
        "category_ids": [mugs["id"]],
        "is_active": True,
        "uses_left": 500,
    }
    assert_utc(body["starts_at"])
    again = await catalog.client.get(f"/api/vouchers/{body['id']}/", headers=catalog.staff.headers)
    assert again.status_code == 200
    assert again.json() == body
    listed = await catalog.client.get("/api/vouchers", headers=catalog.staff.headers)
    assert listed.json()["results"] == [body]


@pytest.mark.parametrize(
    ("fields", "value"),
    [
        ({"kind": "fixed", "value": "10.00"}, "10.00"),
        ({"kind": "fixed", "value": 7.5}, "7.50"),
        ({"kind": "percentage", "value": "12.5"}, "12.50"),
        ({"kind": "percentage", "value": "100"}, "100.00"),
        ({"kind": "free_shipping"}, "0.00"),
        ({"kind": "free_shipping", "value": "0.00"}, "0.00"),
    ],
)
async def test_values_are_strings_a_percentage_or_money_in_the_store_currency(
    catalog: Catalog, fields: dict[str, Any], value: str
) -> None:
    body = await created(catalog, code="SAVE-1", **fields)

    assert (body["kind"], body["value"], body["uses_left"], body["min_subtotal"]) == (
        fields["kind"],
        value,
        None,
        None,
    )
    assert (await stored(catalog))[0]["code"] == "SAVE-1"


async def test_the_list_is_a_page_newest_first_filtered_by_code_and_state(catalog: Catalog) -> None:
    made = [await created(catalog, code=f"XMAS-{n}", kind="fixed", value="1.00") for n in range(3)]
    other = await created(catalog, code="EASTER_1", kind="free_shipping", is_active=False)
    staff = catalog.staff.headers

    page = (await catalog.client.get("/api/vouchers/?page_size=2", headers=staff)).json()
    assert set(page) == PAGE_FIELDS
    assert page["count"] == 4
    assert [v["id"] for v in page["results"]] == [other["id"], made[2]["id"]]
    assert page["next"].endswith("/api/vouchers/?page_size=2&page=2")

    search = (await catalog.client.get("/api/vouchers/?search=mas-", headers=staff)).json()
    assert [v["code"] for v in search["results"]] == ["XMAS-2", "XMAS-1", "XMAS-0"]
    underscore = (await catalog.client.get("/api/vouchers/?search=_", headers=staff)).json()
    assert [v["code"] for v in underscore["results"]] == ["EASTER_1"]  # `_` is no wildcard
    inactive = (await catalog.client.get("/api/vouchers/?is_active=false", headers=staff)).json()
    assert [v["code"] for v in inactive["results"]] == ["EASTER_1"]
    active = (await catalog.client.get("/api/vouchers/?is_active=true&search=x", headers=staff)).json()
    assert active["count"] == 3
    for nothing in ("XMAS 1", "%", "x\x00", "ünï"):
        none = await catalog.client.get("/api/vouchers/", params={"search": nothing}, headers=staff)
        assert none.status_code == 200, none.text
        assert none.json()["count"] == 0

    past = await catalog.client.get("/api/vouchers/?page=3&page_size=2", headers=staff)
    assert_error(past, 404, "not_found")
    assert_error(await catalog.client.get("/api/vouchers/?is_active=maybe", headers=staff), 400, "invalid")


# --- who may ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/vouchers/", None),
        ("POST", "/api/vouchers/", {"code": "SNEAKY", "kind": "free_shipping"}),
        ("GET", "/api/vouchers/{id}/", None),
        ("PATCH", "/api/vouchers/{id}/", {"usage_limit": 1000}),
        ("DELETE", "/api/vouchers/{id}/", None),
    ],
)
async def test_customers_are_refused_403_and_guests_401_changing_nothing(
    catalog: Catalog, method: str, path: str, body: dict[str, Any] | None
) -> None:
    voucher = await created(catalog, code="STAFF-ONLY", kind="fixed", value="5.00")
    before = await stored(catalog)
    url = path.format(id=voucher["id"])

    as_customer = await catalog.client.request(method, url, json=body, headers=catalog.customer.headers)
    as_guest = await catalog.client.request(method, url, json=body)

    assert_error(as_customer, 403, "permission_denied")
    assert_error(as_guest, 401, "not_authenticated")
    assert await stored(catalog) == before


# --- bad input: precise 4xx, nothing stored ---------------------------------------------------------

BAD_CREATES = [
    pytest.param({"kind": "percentage", "value": "-5"}, "value", id="negative-percentage"),
    pytest.param({"kind": "percentage", "value": "0"}, "value", id="zero-percentage"),
    pytest.param({"kind": "percentage", "value": "100.01"}, "value", id="percentage-over-100"),
    pytest.param({"kind": "percentage", "value": "150"}, "value", id="percentage-150"),
    pytest.param({"kind": "percentage", "value": "12.345"}, "value", id="percentage-3-decimals"),
    pytest.param({"kind": "percentage", "value": "NaN"}, "value", id="percentage-nan"),
    pytest.param({"kind": "percentage", "value": "sNaN"}, "value", id="percentage-snan"),
    pytest.param({"kind": "percentage", "value": "1e-99999"}, "value", id="percentage-tiny"),
    pytest.param({"kind": "percentage"}, "value", id="percentage-without-value"),
    pytest.param({"kind": "fixed", "value": "-1.00"}, "value", id="negative-fixed"),
    pytest.param({"kind": "fixed", "value": "0"}, "value", id="zero-fixed"),
    pytest.param({"kind": "fixed", "value": "1.005"}, "value", id="fixed-3-decimals"),
    pytest.param({"kind": "fixed", "value": "Infinity"}, "value", id="fixed-infinite"),
    pytest.param({"kind": "fixed", "value": "1e400"}, "value", id="fixed-huge"),
    pytest.param({"kind": "fixed", "value": None}, "value", id="fixed-null"),
    pytest.param({"kind": "free_shipping", "value": "5"}, "value", id="free-shipping-with-value"),
    pytest.param({"kind": "fixed", "value": True}, "value", id="value-bool"),
    pytest.param({"kind": "fixed", "value": ["1"]}, "value", id="value-list"),
    pytest.param({"kind": "bogus", "value": "1"}, "kind", id="unknown-kind"),
    pytest.param({"kind": None}, "kind", id="kind-null"),
    pytest.param(
        {"kind": "free_shipping", "starts_at": "2026-12-02T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z"},
        "ends_at",
        id="ends-before-start",
    ),
    pytest.param(
        {
            "kind": "free_shipping",
            "starts_at": "2026-12-01T00:00:00Z",
            "ends_at": "2026-12-01T01:00:00+01:00",
        },
        "ends_at",
        id="ends-as-it-starts",
    ),
    pytest.param(
        {"kind": "free_shipping", "starts_at": "2026-12-01T00:00:00"}, "starts_at", id="no-timezone"
    ),
    pytest.param({"kind": "free_shipping", "ends_at": "next week"}, "ends_at", id="not-a-moment"),
    pytest.param(
        {"kind": "free_shipping", "starts_at": "0001-01-01T00:00:00+05:00"}, "starts_at", id="year-0"
    ),
    pytest.param({"kind": "free_shipping", "min_subtotal": "-1.00"}, "min_subtotal", id="negative-minimum"),
    pytest.param({"kind": "free_shipping", "min_subtotal": "0.001"}, "min_subtotal", id="minimum-3-decimals"),
    pytest.param({"kind": "free_shipping", "usage_limit": 0}, "usage_limit", id="usage-limit-0"),
    pytest.param({"kind": "free_shipping", "usage_limit": -3}, "usage_limit", id="usage-limit-negative"),
    pytest.param({"kind": "free_shipping", "usage_limit": 1.5}, "usage_limit", id="usage-limit-float"),
    pytest.param(
        {"kind": "free_shipping", "usage_limit": INT4_OVERFLOW}, "usage_limit", id="usage-limit-huge"
    ),
    pytest.param(
        {"kind": "free_shipping", "per_customer_limit": 0}, "per_customer_limit", id="per-customer-0"
    ),
    pytest.param({"kind": "free_shipping", "product_ids": [INT4_OVERFLOW]}, "product_ids[0]", id="huge-id"),
    pytest.param({"kind": "free_shipping", "product_ids": [BEYOND_64_BITS]}, "product_ids[0]", id="huger-id"),
    pytest.param({"kind": "free_shipping", "product_ids": [0]}, "product_ids[0]", id="id-0"),
    pytest.param({"kind": "free_shipping", "product_ids": ["one"]}, "product_ids[0]", id="id-string"),
    pytest.param({"kind": "free_shipping", "product_ids": 1}, "product_ids", id="ids-not-a-list"),
    pytest.param({"kind": "free_shipping", "product_ids": [999]}, "product_ids", id="unknown-product"),
    pytest.param({"kind": "free_shipping", "category_ids": [999]}, "category_ids", id="unknown-category"),
    pytest.param({"kind": "free_shipping", "is_active": "yes"}, "is_active", id="active-string"),
    pytest.param({"kind": "free_shipping", "bogus": 1}, "bogus", id="unknown-field"),
    pytest.param({"kind": "free_shipping", "code": "XMAS 15"}, "code", id="code-with-a-space"),
    pytest.param({"kind": "free_shipping", "code": "XMAS\x0015"}, "code", id="code-with-nul"),
    pytest.param({"kind": "free_shipping", "code": "X" * 33}, "code", id="code-too-long"),
    pytest.param({"kind": "free_shipping", "code": "X" * 65}, "code", id="code-far-too-long"),
    pytest.param({"kind": "free_shipping", "code": "AB"}, "code", id="code-too-short"),
    pytest.param({"kind": "free_shipping", "code": "-XMAS"}, "code", id="code-starting-with-a-hyphen"),
    pytest.param({"kind": "free_shipping", "code": "NOËL-10"}, "code", id="code-not-ascii"),
    pytest.param({"kind": "free_shipping", "code": 15}, "code", id="code-a-number"),
    pytest.param({"kind": "free_shipping", "code": None}, "code", id="code-null"),
]


@pytest.mark.parametrize(("fields", "at_fault"), BAD_CREATES)
async def test_a_bad_voucher_is_refused_precisely_and_stores_nothing(
    catalog: Catalog, fields: dict[str, Any], at_fault: str
) -> None:
    await created(catalog, code="KEEP-ME", kind="fixed", value="5.00")
    before = await stored(catalog)

    refused = await post(catalog, **({"code": "NEW-ONE"} | fields))

    body = assert_error(refused, 400, "invalid")
    assert set(body["errors"]) == {at_fault}, body
    assert await stored(catalog) == before


async def test_unknown_products_and_categories_are_named(catalog: Catalog) -> None:
    lamp = await catalog.product("Lamp")

    refused = await post(
        catalog, code="NEW-ONE", kind="free_shipping", product_ids=[lamp["id"], 998, 999], category_ids=[77]
    )

    body = assert_error(refused, 400, "invalid")
    assert body["errors"] == {
        "product_ids": ["No such products: 998, 999."],
        "category_ids": ["No such categories: 77."],
    }
    assert await stored(catalog) == []


@pytest.mark.parametrize("code", ["xmas-15", "XMAS-15", " Xmas-15 "])
async def test_a_code_that_differs_only_in_case_is_taken(catalog: Catalog, code: str) -> None:
    await created(catalog, code="Xmas-15", kind="fixed", value="5.00")
    before = await stored(catalog)

    refused = await post(catalog, code=code, kind="free_shipping")

    body = assert_error(refused, 409, "voucher_code_taken")
    assert "XMAS-15" in body["detail"]
    assert await stored(catalog) == before


@pytest.mark.parametrize("body", [[], "XMAS", None, {}])
async def test_a_body_that_is_no_voucher_is_refused(catalog: Catalog, body: Any) -> None:
    refused = await catalog.client.post("/api/vouchers/", json=body, headers=catalog.staff.headers)

    assert_error(refused, 400, "invalid")
    assert await stored(catalog) == []


# --- change ---------------------------------------------------------------------------------------


async def test_patch_changes_the_fields_sent_and_null_clears_them(catalog: Catalog) -> None:
    mugs = await catalog.category("Mugs")
    voucher = await created(catalog, **XMAS, category_ids=[mugs["id"]])

    changed = await patch(catalog, voucher["id"], code="xmas-20", value="20", ends_at=None, usage_limit=None)

    assert changed.status_code == 200, changed.text
    assert changed.json() == voucher | {
        "code": "XMAS-20",
        "value": "20.00",
        "ends_at": None,
        "usage_limit": None,
        "uses_left": None,
    }
    again = await patch(
        catalog, voucher["id"], kind="fixed", value="5.00", category_ids=[], min_subtotal=None
    )
    assert (again.json()["kind"], again.json()["value"], again.json()["category_ids"]) == (
        "fixed",
        "5.00",
        [],
    )
    assert again.json()["min_subtotal"] is None
    free = await patch(catalog, voucher["id"], kind="free_shipping")
    assert (free.json()["kind"], free.json()["value"]) == ("free_shipping", "0.00")
    same_code = await patch(catalog, voucher["id"], code="Xmas-20")
    assert same_code.status_code == 200, same_code.text
    nothing = await patch(catalog, voucher["id"])
    assert (
        nothing.json()
        == same_code.json()
        == (await catalog.client.get(f"/api/vouchers/{voucher['id']}/", headers=catalog.staff.headers)).json()
    )


BAD_CHANGES = [
    pytest.param({"kind": "fixed"}, "value", id="new-kind-without-value"),
    pytest.param({"kind": "percentage", "value": None}, "value", id="new-kind-null-value"),
    pytest.param({"value": "101"}, "value", id="percentage-over-100"),
    pytest.param({"value": "-1"}, "value", id="negative-percentage"),
    pytest.param({"kind": "free_shipping", "value": "1"}, "value", id="free-shipping-with-value"),
    pytest.param({"ends_at": "2026-11-30T00:00:00Z"}, "ends_at", id="ends-before-the-stored-start"),
    pytest.param({"starts_at": "2027-01-01T00:00:00Z"}, "ends_at", id="starts-after-the-stored-end"),
    pytest.param({"usage_limit": 0}, "usage_limit", id="usage-limit-0"),
    pytest.param({"usage_limit": 2}, "usage_limit", id="usage-limit-below-used-count"),
    pytest.param({"code": "XMAS 20"}, "code", id="code-with-a-space"),
    pytest.param({"code": None}, "code", id="code-null"),
    pytest.param({"kind": None}, "kind", id="kind-null"),
    pytest.param({"is_active": None}, "is_active", id="active-null"),
    pytest.param({"product_ids": None}, "product_ids", id="ids-null"),
    pytest.param({"product_ids": [999]}, "product_ids", id="unknown-product"),
    pytest.param({"category_ids": [999]}, "category_ids", id="unknown-category"),
    pytest.param({"used_count": 0}, "used_count", id="used-count-is-not-for-staff"),
    pytest.param({"uses_left": 10}, "uses_left", id="uses-left-is-not-for-staff"),
]


@pytest.mark.parametrize(("fields", "at_fault"), BAD_CHANGES)
async def test_a_bad_change_is_refused_precisely_and_changes_nothing(
    catalog: Catalog, fields: dict[str, Any], at_fault: str
) -> None:
    voucher = await created(catalog, **(XMAS | {"per_customer_limit": None}))
    await use(catalog, "XMAS-15", times=3)
    before = await stored(catalog)

    refused = await patch(catalog, voucher["id"], **fields)

    body = assert_error(refused, 400, "invalid")
    assert set(body["errors"]) == {at_fault}, body
    assert await stored(catalog) == before


async def test_the_usage_limit_may_come_down_to_the_uses_counted_not_below(catalog: Catalog) -> None:
    voucher = await created(catalog, **XMAS)
    await use(catalog, "XMAS-15", times=1)
    with_uses = (
        await catalog.client.get(f"/api/vouchers/{voucher['id']}/", headers=catalog.staff.headers)
    ).json()
    assert (with_uses["used_count"], with_uses["uses_left"]) == (1, 499)

    below = await patch(catalog, voucher["id"], usage_limit=0)
    assert_error(below, 400, "invalid")
    exhausted = await patch(catalog, voucher["id"], usage_limit=1)

    assert exhausted.status_code == 200, exhausted.text
    assert (exhausted.json()["usage_limit"], exhausted.json()["uses_left"]) == (1, 0)


async def test_a_change_to_another_vouchers_code_is_taken(catalog: Catalog) -> None:
    await created(catalog, code="WELCOME", kind="fixed", value="5.00")
    voucher = await created(catalog, **XMAS)
    before = await stored(catalog)

    refused = await patch(catalog, voucher["id"], code="welcome")

    assert_error(refused, 409, "voucher_code_taken")
    assert await stored(catalog) == before


@pytest.mark.parametrize("voucher_id", [999, INT4_OVERFLOW, BEYOND_64_BITS])
async def test_an_unknown_voucher_is_404_everywhere(catalog: Catalog, voucher_id: int) -> None:
    staff = catalog.staff.headers
    url = f"/api/vouchers/{voucher_id}/"

    assert_error(await catalog.client.get(url, headers=staff), 404, "not_found")
    assert_error(await catalog.client.patch(url, json={"usage_limit": 5}, headers=staff), 404, "not_found")
    assert_error(await catalog.client.delete(url, headers=staff), 404, "not_found")
    assert_error(await catalog.client.get("/api/vouchers/-1/", headers=staff), 404, "not_found")


# --- delete ---------------------------------------------------------------------------------------


async def test_delete_erases_a_voucher_no_order_used(catalog: Catalog) -> None:
    voucher = await created(catalog, **XMAS)
    await use(catalog, "XMAS-15")  # counted, but no order kept it (e.g. given back): still erased

    gone = await catalog.client.delete(f"/api/vouchers/{voucher['id']}", headers=catalog.staff.headers)

    assert gone.status_code == 204
    assert gone.content == b""
    assert await stored(catalog) == []
    assert (await created(catalog, **XMAS))["code"] == "XMAS-15"  # its code is free again


async def test_delete_deactivates_a_voucher_that_orders_used(catalog: Catalog) -> None:
    voucher = await created(catalog, **XMAS)
    await ordered_with(catalog, voucher)

    gone = await catalog.client.delete(f"/api/vouchers/{voucher['id']}/", headers=catalog.staff.headers)
    again = await catalog.client.delete(f"/api/vouchers/{voucher['id']}/", headers=catalog.staff.headers)

    assert (gone.status_code, again.status_code) == (204, 204)
    [kept] = await stored(catalog)
    assert (kept["id"], kept["code"], kept["is_active"]) == (voucher["id"], "XMAS-15", False)
    assert_error(await post(catalog, **XMAS), 409, "voucher_code_taken")
