"""API.md's Catalog table, products: pages, visibility, money, detail, and the staff writes.

Every test runs on SQLite and on PostgreSQL (the `catalog` fixture), with the catalog cache on.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from shop_core.domain.actors import Actor
from tests.http.conftest import (
    BEYOND_64_BITS,
    INT4_OVERFLOW,
    PAGE_FIELDS,
    PRODUCT_FIELDS,
    STAFF_PRODUCT_FIELDS,
    Catalog,
    assert_error,
    assert_utc,
    bearer,
    craft_token,
    in_app,
    money,
    shop_of,
)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


async def products(catalog: Catalog, n: int, **extra: Any) -> list[dict[str, Any]]:
    return [await catalog.product(f"Product {i:03d}", f"{i + 1}.00", **extra) for i in range(n)]


# --- the list: pages -----------------------------------------------------------------------------


async def test_the_list_is_a_drf_page_of_twenty_by_default(catalog: Catalog) -> None:
    made = await products(catalog, 23)

    first = await catalog.client.get("/api/products/")

    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/json")
    body = first.json()
    assert set(body) == PAGE_FIELDS
    assert body["count"] == 23
    assert [p["id"] for p in body["results"]] == [p["id"] for p in made[:20]]
    assert all(set(p) == PRODUCT_FIELDS for p in body["results"])
    assert body["previous"] is None
    assert query_of(body["next"]) == {"page": ["2"], "page_size": ["20"]}
    assert urlsplit(body["next"]).path == "/api/products/"

    second = (await catalog.client.get(body["next"])).json()

    assert second["count"] == 23
    assert [p["id"] for p in second["results"]] == [p["id"] for p in made[20:]]
    assert second["next"] is None
    assert query_of(second["previous"]) == {"page": ["1"], "page_size": ["20"]}
    assert (await catalog.client.get(second["previous"])).json() == body


async def test_page_and_page_size_walk_the_list_and_the_links_keep_the_filters(catalog: Catalog) -> None:
    made = await products(catalog, 7)
    query = {"page": 2, "page_size": 3, "ordering": "-price", "min_price": "2.00"}

    page = (await catalog.client.get("/api/products/", params=query)).json()

    # min_price 2.00 leaves products 2..7 (prices 2.00..7.00), most expensive first: 7 6 5 | 4 3 2
    assert page["count"] == 6
    assert [p["price"] for p in page["results"]] == ["4.00", "3.00", "2.00"]
    assert page["next"] is None
    previous = query_of(page["previous"])
    assert previous == {"page": ["1"], "page_size": ["3"], "ordering": ["-price"], "min_price": ["2.00"]}
    first = (await catalog.client.get(page["previous"])).json()
    assert [p["id"] for p in first["results"]] == [made[6]["id"], made[5]["id"], made[4]["id"]]
    assert query_of(first["next"])["page"] == ["2"]


async def test_page_size_from_one_to_a_hundred(catalog: Catalog) -> None:
    await products(catalog, 2)

    smallest = (await catalog.client.get("/api/products/", params={"page_size": 1})).json()
    largest = (await catalog.client.get("/api/products/", params={"page_size": 100})).json()

    assert len(smallest["results"]) == 1
    assert query_of(smallest["next"]) == {"page": ["2"], "page_size": ["1"]}
    assert len(largest["results"]) == 2
    assert largest["next"] is None


async def test_a_page_past_the_end_is_404(catalog: Catalog) -> None:
    await products(catalog, 4)

    last = await catalog.client.get("/api/products/", params={"page": 2, "page_size": 2})
    past = await catalog.client.get("/api/products/", params={"page": 3, "page_size": 2})
    far = await catalog.client.get("/api/products/", params={"page": 1_000_000})

    assert last.status_code == 200
    assert last.json()["next"] is None
    assert_error(past, 404, "not_found")
    assert_error(far, 404, "not_found")


async def test_an_empty_list_is_one_empty_page(catalog: Catalog) -> None:
    empty = await catalog.client.get("/api/products/")

    assert empty.json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert_error(await catalog.client.get("/api/products/?page=2"), 404)


async def test_the_list_answers_with_and_without_the_trailing_slash(catalog: Catalog) -> None:
    made = await catalog.product("Lamp")
    await catalog.product("Chair")

    for path in ("/api/products/", "/api/products"):
        body = (await catalog.client.get(path, params={"page_size": 1})).json()
        assert [p["id"] for p in body["results"]] == [made["id"]], path
        assert urlsplit(body["next"]).path == path  # the links keep the path as the client sent it


# --- who sees what -------------------------------------------------------------------------------


async def test_inactive_products_are_hidden_from_customers_and_anonymous_but_shown_to_staff(
    catalog: Catalog,
) -> None:
    shown = await catalog.product("Shown")
    hidden = await catalog.product("Hidden", is_active=False)
    client = catalog.client

    for headers in ({}, catalog.customer.headers):
        listed = (await client.get("/api/products/", headers=headers)).json()
        assert listed["count"] == 1
        assert [p["id"] for p in listed["results"]] == [shown["id"]]
        assert (await client.get(f"/api/products/{shown['id']}/", headers=headers)).status_code == 200
        assert_error(await client.get(f"/api/products/{hidden['id']}/", headers=headers), 404, "not_found")

    staff_list = (await client.get("/api/products/", headers=catalog.staff.headers)).json()
    staff_detail = await client.get(f"/api/products/{hidden['id']}/", headers=catalog.staff.headers)
    assert [p["id"] for p in staff_list["results"]] == [shown["id"], hidden["id"]]
    assert staff_detail.status_code == 200
    assert staff_detail.json() == hidden


async def test_an_inactive_product_looks_exactly_like_an_unknown_one(catalog: Catalog) -> None:
    hidden = await catalog.product("Hidden", is_active=False)

    inactive = await catalog.client.get(f"/api/products/{hidden['id']}/")
    unknown = await catalog.client.get(f"/api/products/{hidden['id'] + 1}/")

    assert inactive.status_code == unknown.status_code == 404
    assert inactive.json() == unknown.json()


async def test_cost_price_is_shown_to_staff_only(catalog: Catalog) -> None:
    made = await catalog.product("Kettle", "30.00", cost_price="12.50")
    plain = await catalog.product("Mug", "5.00")
    client = catalog.client

    assert made["cost_price"] == "12.50"
    assert plain["cost_price"] is None
    for headers in ({}, catalog.customer.headers):
        detail = (await client.get(f"/api/products/{made['id']}/", headers=headers)).json()
        listed = (await client.get("/api/products/", headers=headers)).json()["results"]
        assert set(detail) == PRODUCT_FIELDS
        assert all(set(p) == PRODUCT_FIELDS for p in listed)
        assert "12.50" not in str(listed) + str(detail)
    staff_detail = (await client.get(f"/api/products/{made['id']}/", headers=catalog.staff.headers)).json()
    staff_list = (await client.get("/api/products/", headers=catalog.staff.headers)).json()["results"]
    assert set(staff_detail) == STAFF_PRODUCT_FIELDS
    assert staff_detail["cost_price"] == "12.50"
    assert [p["cost_price"] for p in staff_list] == ["12.50", None]


# --- money -----------------------------------------------------------------------------------------


PRICES = [  # price, discount, final price
    ("0.99", "50", "0.50"),  # 49.5 cents, half up
    ("0.01", "50", "0.01"),  # half a cent rounds up
    ("0.05", "10", "0.05"),  # 4.5 cents
    ("19.99", "15", "16.99"),  # 16.9915
    ("33.33", "33.33", "22.22"),  # 22.221111
    ("10", "0", "10.00"),
    ("2.5", "12.5", "2.19"),  # 2.1875
    ("0.03", "50", "0.02"),  # 1.5 cents
    ("100.00", "100", "0.00"),
    ("0", "0", "0.00"),
    ("999999.99", "0.01", "999899.99"),  # 999899.990001
]


async def test_money_is_a_two_place_string_and_final_price_rounds_half_up(catalog: Catalog) -> None:
    made = [
        await catalog.product("Priced", price, discount_percentage=discount) for price, discount, _ in PRICES
    ]

    listed = (await catalog.client.get("/api/products/")).json()["results"]

    for (price, discount, final), created, in_list in zip(PRICES, made, listed, strict=True):
        detail = (await catalog.client.get(f"/api/products/{created['id']}/")).json()
        for body in (created, detail, in_list):
            case = (price, discount, body)
            assert money(body["price"]) == Decimal(price), case
            assert body["final_price"] == final, case
            assert body["discount_percentage"] == str(Decimal(discount).quantize(Decimal("0.01"))), case
            assert money(body["final_price"]) <= money(body["price"]), case


# --- detail ------------------------------------------------------------------------------------------


async def test_detail_is_the_product_as_listed(catalog: Catalog) -> None:
    shoes = await catalog.category("Shoes")
    made = await catalog.product(
        "Runner",
        "89.90",
        description="Light and quick.",
        category=shoes["id"],
        discount_percentage="10",
        stock_quantity=7,
        image_url="https://img.example.com/runner.png",
        cost_price="40.00",
    )

    for path in (f"/api/products/{made['id']}/", f"/api/products/{made['id']}"):
        detail = await catalog.client.get(path)
        assert detail.status_code == 200
        body = detail.json()
        assert body == {k: v for k, v in made.items() if k != "cost_price"}
    listed = (await catalog.client.get("/api/products/")).json()["results"]
    assert listed == [body]
    assert body["category"] == shoes["id"]
    assert body["category_name"] == "Shoes"
    assert body["final_price"] == "80.91"
    assert body["stock_quantity"] == 7
    assert body["slug"] == "runner"
    assert isinstance(body["id"], int)
    assert_utc(body["created_at"])
    assert_utc(body["updated_at"])


async def test_detail_of_an_unknown_product_is_404(catalog: Catalog) -> None:
    await catalog.product("Something")

    for product_id in ("999", str(BEYOND_64_BITS), "-1", "0"):
        for headers in ({}, catalog.staff.headers):
            response = await catalog.client.get(f"/api/products/{product_id}/", headers=headers)
            assert response.status_code == 404, (product_id, response.text)
            assert_error(response, 404, "not_found")


async def test_detail_of_an_id_beyond_a_32_bit_column_is_404(catalog: Catalog) -> None:

    assert_error(await catalog.client.get(f"/api/products/{INT4_OVERFLOW}/"), 404, "not_found")


BAD_AUTHORIZATION = {
    "garbage": lambda: "Bearer garbage",
    "empty": lambda: "Bearer ",
    "basic": lambda: "Basic dXNlcjpwYXNz",
    "forged": lambda: "Bearer " + craft_token(1, secret="another-secret-0123456789abcdef0123456789"),
    "expired": lambda: "Bearer " + craft_token(1, lifetime=timedelta(seconds=-60)),
    "refresh-token": lambda: "Bearer " + craft_token(1, "refresh"),
}


async def test_a_bad_bearer_token_on_a_public_read_is_401(catalog: Catalog) -> None:
    shoes = await catalog.category("Shoes")
    made = await catalog.product("Shown", category=shoes["id"])
    assert made["id"] == shoes["id"] == 1

    for path in ("/api/products/", "/api/products/1/", "/api/categories/", "/api/categories/1/"):
        for name, header in BAD_AUTHORIZATION.items():
            response = await catalog.client.get(path, headers={"Authorization": header()})
            assert response.status_code == 401, (path, name, response.text)
            assert_error(response, 401, "not_authenticated")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await catalog.client.get(path)).status_code == 200
        assert (await catalog.client.get(path, headers=catalog.customer.headers)).status_code == 200
        assert (await catalog.client.get(path, headers=catalog.staff.headers)).status_code == 200


async def test_a_revoked_token_on_a_public_read_is_401(catalog: Catalog) -> None:
    await catalog.product("Shown")
    customer = catalog.customer
    logout = await catalog.client.post(
        "/api/auth/logout/", json={"refresh": customer.refresh}, headers=customer.headers
    )
    assert logout.status_code == 204

    assert_error(await catalog.client.get("/api/products/", headers=customer.headers), 401)
    assert_error(await catalog.client.get("/api/products/1/", headers=customer.headers), 401)


# --- staff writes: who may -------------------------------------------------------------------------

WRITES = {
    "create": lambda c, pid, h: c.post("/api/products/", json=new_product("NEW-1"), headers=h),
    "replace": lambda c, pid, h: c.put(f"/api/products/{pid}/", json=new_product("NEW-1"), headers=h),
    "update": lambda c, pid, h: c.patch(f"/api/products/{pid}/", json={"price": "1.00"}, headers=h),
    "delete": lambda c, pid, h: c.delete(f"/api/products/{pid}/", headers=h),
}


def new_product(sku: str, **extra: Any) -> dict[str, Any]:
    return {"name": "New thing", "sku": sku, "price": "9.99", **extra}


async def test_customers_may_not_write_products(catalog: Catalog) -> None:
    made = await catalog.product("Existing")
    before = await catalog.stored()

    for write, send in WRITES.items():
        response = await send(catalog.client, made["id"], catalog.customer.headers)
        assert response.status_code == 403, (write, response.text)
        assert_error(response, 403, "permission_denied")
    assert await catalog.stored() == before


async def test_anonymous_may_not_write_products(catalog: Catalog) -> None:
    made = await catalog.product("Existing")
    before = await catalog.stored()

    for write, send in WRITES.items():
        for headers in ({}, bearer("garbage"), {"Authorization": BAD_AUTHORIZATION["expired"]()}):
            response = await send(catalog.client, made["id"], headers)
            assert response.status_code == 401, (write, headers, response.text)
            assert_error(response, 401, "not_authenticated")
    assert await catalog.stored() == before


# --- create ------------------------------------------------------------------------------------------


async def test_staff_create_a_product(catalog: Catalog) -> None:
    shoes = await catalog.category("Shoes")
    sent = {
        "name": "  Trail Runner  ",
        "sku": "TR-1",
        "price": "120.00",
        "description": "Grippy.",
        "category": shoes["id"],
        "cost_price": "60.00",
        "discount_percentage": "25",
        "stock_quantity": 3,
        "image_url": "https://img.example.com/tr.png",
        "is_active": True,
    }

    created = await catalog.client.post("/api/products/", json=sent, headers=catalog.staff.headers)

    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == STAFF_PRODUCT_FIELDS
    assert body["name"] == "Trail Runner"
    assert body["slug"] == "trail-runner"
    assert body["category_name"] == "Shoes"
    assert (body["price"], body["cost_price"], body["final_price"]) == ("120.00", "60.00", "90.00")
    assert body["discount_percentage"] == "25.00"
    assert body["created_at"] == body["updated_at"]
    public = (await catalog.client.get(f"/api/products/{body['id']}/")).json()
    assert public == {k: v for k, v in body.items() if k != "cost_price"}
    history = await in_app(
        catalog.client, shop_of(catalog.client).stock.stock_history, "TR-1", Actor.operator()
    )
    assert [(m.delta, m.reason, m.balance_after) for m in history] == [(3, "initial", 3)]


async def test_create_with_only_the_required_fields(catalog: Catalog) -> None:
    created = await catalog.client.post(
        "/api/products/", json={"name": "Bare", "sku": "B-1", "price": "1"}, headers=catalog.staff.headers
    )

    assert created.status_code == 201
    body = created.json()
    assert body["description"] == body["image_url"] == ""
    assert body["category"] is body["category_name"] is body["cost_price"] is None
    assert (body["price"], body["discount_percentage"], body["final_price"]) == ("1.00", "0.00", "1.00")
    assert body["stock_quantity"] == 0
    assert body["is_active"] is True
    assert (
        await in_app(catalog.client, shop_of(catalog.client).stock.stock_history, "B-1", Actor.operator())
        == []
    )


async def test_the_slug_is_made_from_the_name_and_kept_unique(catalog: Catalog) -> None:
    first = await catalog.product("Café Crème")
    second = await catalog.product("Café Crème")
    third = await catalog.product("CAFÉ  crème!")
    symbols = await catalog.product("!!!")

    assert first["slug"] == "cafe-creme"
    assert second["slug"] == "cafe-creme-2"
    assert third["slug"] == "cafe-creme-3"
    assert symbols["slug"]
    assert len({first["slug"], second["slug"], third["slug"], symbols["slug"]}) == 4


async def test_an_explicit_slug_is_used(catalog: Catalog) -> None:
    made = await catalog.product("Café Crème", slug="coffee")

    assert made["slug"] == "coffee"
    assert (await catalog.product("Coffee"))["slug"] != "coffee"


@pytest.mark.parametrize(
    "clash", [{"sku": "TAKEN-1"}, {"slug": "taken"}, {"sku": "TAKEN-1", "slug": "taken"}], ids=str
)
async def test_create_with_a_taken_sku_or_slug_is_409(catalog: Catalog, clash: dict[str, str]) -> None:
    await catalog.product("Original", sku="TAKEN-1", slug="taken")
    before = await catalog.stored()

    response = await catalog.client.post(
        "/api/products/", json={**new_product("FREE-1"), **clash}, headers=catalog.staff.headers
    )

    assert_error(response, 409, "conflict")
    assert await catalog.stored() == before


BAD_PRODUCTS: list[tuple[dict[str, Any], str]] = [
    ({"category": 999}, "category"),
    ({"category": 0}, "category"),
    ({"category": "shoes"}, "category"),
    ({"price": "-0.01"}, "price"),
    ({"price": "1.001"}, "price"),
    ({"price": "abc"}, "price"),
    ({"price": "NaN"}, "price"),
    ({"price": "1e20"}, "price"),
    ({"price": None}, "price"),
    ({"cost_price": "-1"}, "cost_price"),
    ({"cost_price": "0.005"}, "cost_price"),
    ({"discount_percentage": "100.01"}, "discount_percentage"),
    ({"discount_percentage": "-1"}, "discount_percentage"),
    ({"discount_percentage": "10.005"}, "discount_percentage"),
    ({"stock_quantity": -1}, "stock_quantity"),
    ({"stock_quantity": "five"}, "stock_quantity"),
    ({"stock_quantity": [1]}, "stock_quantity"),
    ({"stock_quantity": 1.5}, "stock_quantity"),
    ({"is_active": "maybe"}, "is_active"),
    ({"description": ["a"]}, "description"),
    ({"name": ""}, "name"),
    ({"name": 123}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"sku": "has space"}, "sku"),
    ({"sku": ""}, "sku"),
    ({"slug": "Not A Slug"}, "slug"),
    ({"image_url": "javascript:alert(1)"}, "image_url"),
    ({"colour": "red"}, "colour"),
    ({"id": 5}, "id"),
]


async def test_create_with_bad_input_is_400_naming_the_field(catalog: Catalog) -> None:
    await catalog.category("Shoes")
    before = await catalog.stored()

    for change, field in BAD_PRODUCTS:
        response = await catalog.client.post(
            "/api/products/", json={**new_product("NEW-1"), **change}, headers=catalog.staff.headers
        )
        assert response.status_code == 400, (change, response.text)
        assert field in assert_error(response, 400, "invalid")["errors"], (change, response.text)
    assert await catalog.stored() == before


async def test_create_without_a_required_field_is_400(catalog: Catalog) -> None:
    for missing in ("name", "sku", "price"):
        sent = {k: v for k, v in new_product("NEW-1").items() if k != missing}
        response = await catalog.client.post("/api/products/", json=sent, headers=catalog.staff.headers)
        assert assert_error(response, 400, "invalid")["errors"] == {missing: ["This field is required."]}
    assert await catalog.stored() == ([], [])


async def test_create_with_a_body_that_is_no_object_is_400(catalog: Catalog) -> None:
    for content in (b"", b"[]", b'"x"', b"null", b"{", b"not json", b"\xff\xfe"):
        response = await catalog.client.post(
            "/api/products/",
            content=content,
            headers={**catalog.staff.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 400, (content, response.text)
        assert_error(response, 400, "invalid")
    assert await catalog.stored() == ([], [])


# --- update (PATCH) ---------------------------------------------------------------------------------


async def test_patch_changes_only_the_fields_sent(catalog: Catalog) -> None:
    shoes = await catalog.category("Shoes")
    made = await catalog.product("Boot", "50.00", description="Warm.", cost_price="20.00", stock_quantity=2)

    patched = await catalog.client.patch(
        f"/api/products/{made['id']}/",
        json={"price": "45.50", "category": shoes["id"], "discount_percentage": "10"},
        headers=catalog.staff.headers,
    )

    assert patched.status_code == 200, patched.text
    body = patched.json()
    changed = {"price", "category", "category_name", "discount_percentage", "final_price", "updated_at"}
    changed.add("variants")  # the default variant's price is the product's (Part 2, "Variants")
    assert {k: v for k, v in body.items() if k not in changed} == {
        k: v for k, v in made.items() if k not in changed
    }
    assert (body["price"], body["final_price"], body["discount_percentage"]) == ("45.50", "40.95", "10.00")
    assert [(v["price"], v["final_price"]) for v in body["variants"]] == [("45.50", "40.95")]
    assert (body["category"], body["category_name"]) == (shoes["id"], "Shoes")
    assert body["updated_at"] > made["updated_at"]
    assert (
        await catalog.client.get(f"/api/products/{made['id']}/", headers=catalog.staff.headers)
    ).json() == body


async def test_patch_with_an_empty_object_changes_nothing_visible(catalog: Catalog) -> None:
    made = await catalog.product("Boot")

    patched = await catalog.client.patch(
        f"/api/products/{made['id']}/", json={}, headers=catalog.staff.headers
    )

    assert patched.status_code == 200
    assert {k: v for k, v in patched.json().items() if k != "updated_at"} == {
        k: v for k, v in made.items() if k != "updated_at"
    }


async def test_patch_can_clear_the_category_and_cost_price(catalog: Catalog) -> None:
    shoes = await catalog.category("Shoes")
    made = await catalog.product("Boot", category=shoes["id"], cost_price="3.00")

    patched = await catalog.client.patch(
        f"/api/products/{made['id']}/",
        json={"category": None, "cost_price": None},
        headers=catalog.staff.headers,
    )

    assert patched.status_code == 200
    assert (
        patched.json()["category"] is patched.json()["category_name"] is patched.json()["cost_price"] is None
    )


async def test_patch_of_stock_quantity_is_recorded_as_a_stock_movement(catalog: Catalog) -> None:
    made = await catalog.product("Boot", sku="BOOT-1", stock_quantity=5)

    for quantity in (9, 2, 2, 0):
        patched = await catalog.client.patch(
            f"/api/products/{made['id']}/", json={"stock_quantity": quantity}, headers=catalog.staff.headers
        )
        assert patched.status_code == 200
        assert patched.json()["stock_quantity"] == quantity

    history = await in_app(
        catalog.client, shop_of(catalog.client).stock.stock_history, "BOOT-1", Actor.operator()
    )
    assert [(m.delta, m.reason, m.balance_after) for m in reversed(history)] == [
        (5, "initial", 5),
        (4, "adjustment", 9),
        (-7, "adjustment", 2),
        (-2, "adjustment", 0),
    ]
    assert all(m.product_id == made["id"] for m in history)
    assert all(catalog.staff.email in m.actor for m in history)
    assert sum(m.delta for m in history) == 0
    assert (await catalog.client.get(f"/api/products/{made['id']}/")).json()["stock_quantity"] == 0


@pytest.mark.parametrize(
    "clash", [{"sku": "TAKEN-1"}, {"slug": "taken"}, {"name": "Renamed", "sku": "TAKEN-1"}], ids=str
)
async def test_patch_to_a_taken_sku_or_slug_is_409(catalog: Catalog, clash: dict[str, str]) -> None:
    await catalog.product("Original", sku="TAKEN-1", slug="taken")
    made = await catalog.product("Other", sku="OTHER-1")
    before = await catalog.stored()

    response = await catalog.client.patch(
        f"/api/products/{made['id']}/", json=clash, headers=catalog.staff.headers
    )

    assert_error(response, 409, "conflict")
    assert await catalog.stored() == before


async def test_patch_keeping_its_own_sku_and_slug_is_fine(catalog: Catalog) -> None:
    made = await catalog.product("Original", sku="MINE-1", slug="mine")

    patched = await catalog.client.patch(
        f"/api/products/{made['id']}/", json={"sku": "MINE-1", "slug": "mine"}, headers=catalog.staff.headers
    )

    assert patched.status_code == 200
    assert (patched.json()["sku"], patched.json()["slug"]) == ("MINE-1", "mine")


async def test_patch_with_bad_input_is_400_and_changes_nothing(catalog: Catalog) -> None:
    await catalog.category("Shoes")
    made = await catalog.product("Boot", stock_quantity=4)
    before = await catalog.stored()

    for change, field in [*BAD_PRODUCTS, ({"name": None}, "name"), ({"sku": None}, "sku")]:
        response = await catalog.client.patch(
            f"/api/products/{made['id']}/",
            json={"description": "changed", "stock_quantity": 9, **change},
            headers=catalog.staff.headers,
        )
        assert response.status_code == 400, (change, response.text)
        assert field in assert_error(response, 400, "invalid")["errors"], (change, response.text)
    assert await catalog.stored() == before
    history = await in_app(
        catalog.client, shop_of(catalog.client).stock.stock_history, made["sku"], Actor.operator()
    )
    assert len(history) == 1


async def test_writes_to_an_unknown_product_are_404(catalog: Catalog) -> None:
    await catalog.product("Existing")
    before = await catalog.stored()

    for method in ("PUT", "PATCH", "DELETE"):
        for product_id in ("999", str(BEYOND_64_BITS), "-1"):
            body = new_product("NEW-1") if method != "DELETE" else None
            response = await catalog.client.request(
                method, f"/api/products/{product_id}/", json=body, headers=catalog.staff.headers
            )
            assert response.status_code == 404, (method, product_id, response.text)
            assert_error(response, 404, "not_found")
    assert await catalog.stored() == before


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_writes_to_an_id_beyond_a_32_bit_column_are_404(catalog: Catalog, method: str) -> None:
    body = new_product("NEW-1") if method != "DELETE" else None

    response = await catalog.client.request(
        method, f"/api/products/{INT4_OVERFLOW}/", json=body, headers=catalog.staff.headers
    )

    assert_error(response, 404, "not_found")


# --- replace (PUT) ------------------------------------------------------------------------------------


async def test_put_replaces_the_product(catalog: Catalog) -> None:
    shoes = await catalog.category("Shoes")
    made = await catalog.product("Boot", "50.00", sku="BOOT-1", stock_quantity=2, cost_price="9.00")
    sent = {
        "name": "Winter Boot",
        "sku": "BOOT-2",
        "price": "75.00",
        "slug": "winter-boot",
        "description": "Warmer.",
        "category": shoes["id"],
        "cost_price": None,
        "discount_percentage": "20",
        "stock_quantity": 6,
        "image_url": "",
        "is_active": False,
    }

    replaced = await catalog.client.put(
        f"/api/products/{made['id']}/", json=sent, headers=catalog.staff.headers
    )

    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert body["id"] == made["id"]
    assert body["created_at"] == made["created_at"]
    assert {k: body[k] for k in sent} == {**sent, "price": "75.00", "discount_percentage": "20.00"}
    assert (body["final_price"], body["category_name"]) == ("60.00", "Shoes")
    assert_error(await catalog.client.get(f"/api/products/{made['id']}/"), 404)  # now inactive
    history = await in_app(
        catalog.client, shop_of(catalog.client).stock.stock_history, "BOOT-2", Actor.operator()
    )
    assert [(m.delta, m.balance_after) for m in history] == [(4, 6), (2, 2)]


async def test_put_requires_every_required_field(catalog: Catalog) -> None:
    made = await catalog.product("Boot", sku="BOOT-1")
    before = await catalog.stored()

    for missing in (["name"], ["sku"], ["price"], ["name", "sku", "price"]):
        sent = {k: v for k, v in new_product("BOOT-1").items() if k not in missing}
        response = await catalog.client.put(
            f"/api/products/{made['id']}/", json=sent, headers=catalog.staff.headers
        )
        errors = assert_error(response, 400, "invalid")["errors"]
        assert errors, missing
        assert set(errors) <= set(missing), (missing, errors)
        assert all(messages == ["This field is required."] for messages in errors.values())
    assert await catalog.stored() == before


async def test_put_to_a_taken_sku_is_409(catalog: Catalog) -> None:
    await catalog.product("Original", sku="TAKEN-1")
    made = await catalog.product("Other", sku="OTHER-1")
    before = await catalog.stored()

    response = await catalog.client.put(
        f"/api/products/{made['id']}/", json=new_product("TAKEN-1"), headers=catalog.staff.headers
    )

    assert_error(response, 409, "conflict")
    assert await catalog.stored() == before


async def test_put_with_bad_input_is_400_and_changes_nothing(catalog: Catalog) -> None:
    made = await catalog.product("Boot", sku="BOOT-1")
    before = await catalog.stored()

    for change, field in BAD_PRODUCTS:
        response = await catalog.client.put(
            f"/api/products/{made['id']}/",
            json={**new_product("BOOT-1"), **change},
            headers=catalog.staff.headers,
        )
        assert response.status_code == 400, (change, response.text)
        assert field in assert_error(response, 400, "invalid")["errors"], (change, response.text)
    assert await catalog.stored() == before


# --- delete ------------------------------------------------------------------------------------------


async def test_staff_delete_a_product(catalog: Catalog) -> None:
    gone = await catalog.product("Gone", sku="GONE-1", stock_quantity=3)
    kept = await catalog.product("Kept")
    client = catalog.client
    assert (await client.get(f"/api/products/{gone['id']}/")).status_code == 200

    deleted = await client.delete(f"/api/products/{gone['id']}/", headers=catalog.staff.headers)

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_error(await client.get(f"/api/products/{gone['id']}/"), 404)
    assert_error(await client.get(f"/api/products/{gone['id']}/", headers=catalog.staff.headers), 404)
    assert [p["id"] for p in (await client.get("/api/products/")).json()["results"]] == [kept["id"]]
    assert_error(await client.delete(f"/api/products/{gone['id']}/", headers=catalog.staff.headers), 404)
    _, stored = await catalog.stored()
    assert [p["id"] for p in stored] == [kept["id"]]
    # the sku is free again
    assert (await catalog.product("Back", sku="GONE-1"))["sku"] == "GONE-1"


async def test_responses_to_writes_are_json(catalog: Catalog) -> None:
    made = await catalog.product("Boot")

    responses: list[httpx.Response] = [
        await catalog.client.patch(f"/api/products/{made['id']}/", json={}, headers=catalog.staff.headers),
        await catalog.client.put(
            f"/api/products/{made['id']}/", json=new_product("X-1"), headers=catalog.staff.headers
        ),
    ]

    for response in responses:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert set(response.json()) == STAFF_PRODUCT_FIELDS
