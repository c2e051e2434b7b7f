"""API.md's Catalog table, categories: pages, the detail with children and products, the staff writes.

Every test runs on SQLite and on PostgreSQL (the `catalog` fixture), with the catalog cache on.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.http.conftest import (
    CATEGORY_FIELDS,
    INT4_OVERFLOW,
    PAGE_FIELDS,
    PRODUCT_FIELDS,
    STAFF_PRODUCT_FIELDS,
    Catalog,
    assert_error,
    bearer,
)


async def tree(catalog: Catalog) -> dict[str, dict[str, Any]]:
    """clothing > shoes > boots, clothing > hats, and garden on its own."""
    clothing = await catalog.category("Clothing", description="All of it.")
    shoes = await catalog.category("Shoes", clothing["id"])
    boots = await catalog.category("Boots", shoes["id"])
    hats = await catalog.category("Hats", clothing["id"])
    garden = await catalog.category("Garden")
    return {"clothing": clothing, "shoes": shoes, "boots": boots, "hats": hats, "garden": garden}


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [item["id"] for item in items]


# --- reads ---------------------------------------------------------------------------------------


async def test_the_list_is_a_drf_page_of_categories(catalog: Catalog) -> None:
    made = await tree(catalog)

    for path in ("/api/categories/", "/api/categories"):
        listed = await catalog.client.get(path)
        assert listed.status_code == 200
        body = listed.json()
        assert set(body) == PAGE_FIELDS
        assert body["count"] == 5
        assert (body["next"], body["previous"]) == (None, None)
        assert body["results"] == list(made.values())
        assert all(set(c) == CATEGORY_FIELDS for c in body["results"])
    assert made["boots"]["parent"] == made["shoes"]["id"]
    assert made["clothing"]["parent"] is None


async def test_the_category_list_pages(catalog: Catalog) -> None:
    made = list((await tree(catalog)).values())

    first = (await catalog.client.get("/api/categories/", params={"page_size": 2})).json()
    second = (await catalog.client.get(first["next"])).json()
    third = (await catalog.client.get(second["next"])).json()

    assert [ids(p["results"]) for p in (first, second, third)] == [
        ids(made[:2]),
        ids(made[2:4]),
        ids(made[4:]),
    ]
    assert first["previous"] is None
    assert third["next"] is None
    assert parse_qs(urlsplit(third["previous"]).query) == {"page": ["2"], "page_size": ["2"]}
    assert_error(await catalog.client.get("/api/categories/", params={"page": 4, "page_size": 2}), 404)
    assert (await catalog.client.get("/api/categories/", params={"page_size": 100})).json()["count"] == 5


async def test_the_category_list_refuses_bad_paging(catalog: Catalog) -> None:
    for query in ("page=0", "page=abc", "page_size=0", "page_size=101", "page_size=10000", "page=-1"):
        response = await catalog.client.get(f"/api/categories/?{query}")
        assert response.status_code == 400, (query, response.text)
        assert query.split("=")[0] in assert_error(response, 400, "invalid")["errors"]


async def test_an_empty_category_list_is_one_empty_page(catalog: Catalog) -> None:
    empty = await catalog.client.get("/api/categories/")

    assert empty.json() == {"count": 0, "next": None, "previous": None, "results": []}


async def test_the_detail_has_direct_children_and_products_of_every_descendant(catalog: Catalog) -> None:
    made = await tree(catalog)
    top = await catalog.product("Scarf", category=made["clothing"]["id"])
    mid = await catalog.product("Sneaker", category=made["shoes"]["id"])
    leaf = await catalog.product("Wellington", category=made["boots"]["id"])
    side = await catalog.product("Cap", category=made["hats"]["id"])
    await catalog.product("Spade", category=made["garden"]["id"])
    await catalog.product("Loose")
    await catalog.product("Hidden boot", category=made["boots"]["id"], is_active=False)

    for path in (f"/api/categories/{made['clothing']['id']}/", f"/api/categories/{made['clothing']['id']}"):
        response = await catalog.client.get(path)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == CATEGORY_FIELDS | {"children", "products"}
        assert {k: body[k] for k in CATEGORY_FIELDS} == made["clothing"]
        assert body["children"] == [made["shoes"], made["hats"]]
        assert set(body["products"]) == PAGE_FIELDS
        assert body["products"]["count"] == 4
        assert ids(body["products"]["results"]) == [top["id"], mid["id"], leaf["id"], side["id"]]
        assert all(set(p) == PRODUCT_FIELDS for p in body["products"]["results"])

    shoes = (await catalog.client.get(f"/api/categories/{made['shoes']['id']}/")).json()
    boots = (await catalog.client.get(f"/api/categories/{made['boots']['id']}/")).json()
    assert shoes["children"] == [made["boots"]]
    assert ids(shoes["products"]["results"]) == [mid["id"], leaf["id"]]
    assert boots["children"] == []
    assert ids(boots["products"]["results"]) == [leaf["id"]]


async def test_the_detail_shows_staff_inactive_products_and_cost_prices(catalog: Catalog) -> None:
    boots = await catalog.category("Boots")
    shown = await catalog.product("Shown", category=boots["id"], cost_price="1.00")
    hidden = await catalog.product("Hidden", category=boots["id"], is_active=False)

    public = (await catalog.client.get(f"/api/categories/{boots['id']}/")).json()
    customer = (
        await catalog.client.get(f"/api/categories/{boots['id']}/", headers=catalog.customer.headers)
    ).json()
    staff = (
        await catalog.client.get(f"/api/categories/{boots['id']}/", headers=catalog.staff.headers)
    ).json()

    assert public == customer
    assert ids(public["products"]["results"]) == [shown["id"]]
    assert "cost_price" not in public["products"]["results"][0]
    assert ids(staff["products"]["results"]) == [shown["id"], hidden["id"]]
    assert staff["products"]["results"] == [shown, hidden]
    assert all(set(p) == STAFF_PRODUCT_FIELDS for p in staff["products"]["results"])


async def test_the_products_of_a_category_page_with_links(catalog: Catalog) -> None:
    boots = await catalog.category("Boots")
    made = [await catalog.product(f"Boot {i}", category=boots["id"]) for i in range(5)]
    path = f"/api/categories/{boots['id']}/"

    first = (await catalog.client.get(path, params={"page_size": 2})).json()
    second = (await catalog.client.get(first["products"]["next"])).json()
    third = (await catalog.client.get(second["products"]["next"])).json()

    assert first["products"]["count"] == 5
    assert [ids(p["products"]["results"]) for p in (first, second, third)] == [
        ids(made[:2]),
        ids(made[2:4]),
        ids(made[4:]),
    ]
    assert urlsplit(first["products"]["next"]).path == path
    assert first["products"]["previous"] is None
    assert third["products"]["next"] is None
    assert {k: v for k, v in third.items() if k != "products"} == {
        k: v for k, v in first.items() if k != "products"
    }
    assert_error(await catalog.client.get(path, params={"page": 4, "page_size": 2}), 404)
    assert_error(await catalog.client.get(path, params={"page_size": 101}), 400)


async def test_an_empty_category_has_an_empty_first_page_of_products(catalog: Catalog) -> None:
    empty = await catalog.category("Empty")
    path = f"/api/categories/{empty['id']}/"

    body = (await catalog.client.get(path)).json()

    assert body["products"] == {"count": 0, "next": None, "previous": None, "results": []}
    assert_error(await catalog.client.get(path, params={"page": 2}), 404)


async def test_an_unknown_category_is_404(catalog: Catalog) -> None:
    await catalog.category("Known")

    for category_id in ("999", "0", "-1", str(10**20)):
        for headers in ({}, catalog.staff.headers):
            response = await catalog.client.get(f"/api/categories/{category_id}/", headers=headers)
            assert response.status_code == 404, (category_id, response.text)
            assert_error(response, 404, "not_found")


async def test_a_category_id_beyond_a_32_bit_column_is_404(catalog: Catalog) -> None:

    assert_error(await catalog.client.get(f"/api/categories/{INT4_OVERFLOW}/"), 404, "not_found")


# --- writes: who may --------------------------------------------------------------------------------

WRITES = {
    "create": lambda c, cid, h: c.post("/api/categories/", json={"name": "New"}, headers=h),
    "replace": lambda c, cid, h: c.put(f"/api/categories/{cid}/", json={"name": "New"}, headers=h),
    "update": lambda c, cid, h: c.patch(f"/api/categories/{cid}/", json={"name": "New"}, headers=h),
    "delete": lambda c, cid, h: c.delete(f"/api/categories/{cid}/", headers=h),
}


async def test_customers_may_not_write_categories(catalog: Catalog) -> None:
    made = await catalog.category("Existing")
    before = await catalog.stored()

    for write, send in WRITES.items():
        response = await send(catalog.client, made["id"], catalog.customer.headers)
        assert response.status_code == 403, (write, response.text)
        assert_error(response, 403, "permission_denied")
    assert await catalog.stored() == before


async def test_anonymous_may_not_write_categories(catalog: Catalog) -> None:
    made = await catalog.category("Existing")
    before = await catalog.stored()

    for write, send in WRITES.items():
        for headers in ({}, bearer("garbage")):
            response = await send(catalog.client, made["id"], headers)
            assert response.status_code == 401, (write, headers, response.text)
            assert_error(response, 401, "not_authenticated")
    assert await catalog.stored() == before


# --- create -------------------------------------------------------------------------------------------


async def test_staff_create_categories(catalog: Catalog) -> None:
    parent = await catalog.category("Outdoor")

    created = await catalog.client.post(
        "/api/categories/",
        json={"name": "  Tents & Tarps ", "parent": parent["id"], "description": "Shelter."},
        headers=catalog.staff.headers,
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == CATEGORY_FIELDS
    assert isinstance(body["id"], int)
    assert (body["name"], body["slug"], body["parent"], body["description"]) == (
        "Tents & Tarps",
        "tents-tarps",
        parent["id"],
        "Shelter.",
    )
    assert parent == {
        "id": parent["id"],
        "name": "Outdoor",
        "slug": "outdoor",
        "parent": None,
        "description": "",
    }
    detail = (await catalog.client.get(f"/api/categories/{body['id']}/")).json()
    assert {k: detail[k] for k in CATEGORY_FIELDS} == body


async def test_an_explicit_category_slug_is_used_and_a_generated_one_kept_unique(catalog: Catalog) -> None:
    explicit = await catalog.category("Café Crème", slug="coffee")
    first = await catalog.category("Café Crème")
    second = await catalog.category("Café Crème")

    assert explicit["slug"] == "coffee"
    assert first["slug"] == "cafe-creme"
    assert second["slug"].startswith("cafe-creme-")
    assert len({explicit["slug"], first["slug"], second["slug"]}) == 3


async def test_a_generated_category_slug_never_collides_with_an_explicit_one(catalog: Catalog) -> None:
    """The suffix added to a taken slug must itself be free ("shoes-3" is, by chance, taken here)."""
    await catalog.category("Shoes")
    await catalog.category("Other", slug="shoes-3")

    created = await catalog.client.post(
        "/api/categories/", json={"name": "Shoes"}, headers=catalog.staff.headers
    )

    assert created.status_code == 201, created.text
    assert created.json()["slug"] not in {"shoes", "shoes-3"}


async def test_create_with_a_taken_slug_is_409(catalog: Catalog) -> None:
    await catalog.category("Shoes")
    before = await catalog.stored()

    response = await catalog.client.post(
        "/api/categories/", json={"name": "Other", "slug": "shoes"}, headers=catalog.staff.headers
    )

    assert_error(response, 409, "conflict")
    assert await catalog.stored() == before


BAD_CATEGORIES: list[tuple[dict[str, Any], str]] = [
    ({"parent": 999}, "parent"),
    ({"parent": 0}, "parent"),
    ({"parent": "shoes"}, "parent"),
    ({"name": ""}, "name"),
    ({"name": None}, "name"),
    ({"name": 5}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"slug": "Not A Slug"}, "slug"),
    ({"slug": "trailing-"}, "slug"),
    ({"description": 5}, "description"),
    ({"colour": "red"}, "colour"),
    ({"children": []}, "children"),
]


async def test_create_with_bad_input_is_400_naming_the_field(catalog: Catalog) -> None:
    await catalog.category("Shoes")
    before = await catalog.stored()

    for change, field in [*BAD_CATEGORIES, ({"description": "no name"}, "name")]:
        sent = {"name": "New", **change} if field != "name" or "name" in change else change
        response = await catalog.client.post("/api/categories/", json=sent, headers=catalog.staff.headers)
        assert response.status_code == 400, (sent, response.text)
        assert field in assert_error(response, 400, "invalid")["errors"], (sent, response.text)
    assert await catalog.stored() == before


# --- replace and update ---------------------------------------------------------------------------------


async def test_staff_rename_and_move_a_category(catalog: Catalog) -> None:
    made = await tree(catalog)
    boots = made["boots"]

    renamed = await catalog.client.patch(
        f"/api/categories/{boots['id']}/", json={"name": "Wellies"}, headers=catalog.staff.headers
    )
    moved = await catalog.client.patch(
        f"/api/categories/{boots['id']}/",
        json={"parent": made["garden"]["id"]},
        headers=catalog.staff.headers,
    )

    assert renamed.status_code == moved.status_code == 200
    assert renamed.json() == {**boots, "name": "Wellies"}
    assert moved.json() == {**boots, "name": "Wellies", "parent": made["garden"]["id"]}
    garden = (await catalog.client.get(f"/api/categories/{made['garden']['id']}/")).json()
    shoes = (await catalog.client.get(f"/api/categories/{made['shoes']['id']}/")).json()
    assert garden["children"] == [moved.json()]
    assert shoes["children"] == []

    to_root = await catalog.client.patch(
        f"/api/categories/{boots['id']}/", json={"parent": None}, headers=catalog.staff.headers
    )
    assert to_root.json()["parent"] is None


async def test_staff_replace_a_category(catalog: Catalog) -> None:
    made = await tree(catalog)

    replaced = await catalog.client.put(
        f"/api/categories/{made['hats']['id']}/",
        json={"name": "Caps", "slug": "caps", "parent": made["garden"]["id"], "description": "Sun."},
        headers=catalog.staff.headers,
    )

    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {
        "id": made["hats"]["id"],
        "name": "Caps",
        "slug": "caps",
        "parent": made["garden"]["id"],
        "description": "Sun.",
    }
    assert (await catalog.client.get(f"/api/categories/{made['hats']['id']}/")).json()["slug"] == "caps"


async def test_put_requires_a_name(catalog: Catalog) -> None:
    made = await catalog.category("Hats")
    before = await catalog.stored()

    response = await catalog.client.put(
        f"/api/categories/{made['id']}/", json={"slug": "caps"}, headers=catalog.staff.headers
    )

    assert assert_error(response, 400, "invalid")["errors"] == {"name": ["This field is required."]}
    assert await catalog.stored() == before


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_a_category_may_not_go_under_itself_or_a_descendant(catalog: Catalog, method: str) -> None:
    made = await tree(catalog)
    before = await catalog.stored()

    for moved, under in (
        ("clothing", "clothing"),
        ("clothing", "shoes"),
        ("clothing", "boots"),
        ("shoes", "boots"),
    ):
        response = await catalog.client.request(
            method,
            f"/api/categories/{made[moved]['id']}/",
            json={"name": "Renamed", "parent": made[under]["id"]},
            headers=catalog.staff.headers,
        )
        assert response.status_code == 400, (moved, under, response.text)
        assert "parent" in assert_error(response, 400, "invalid")["errors"]
    assert await catalog.stored() == before


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_update_with_a_taken_slug_is_409(catalog: Catalog, method: str) -> None:
    await catalog.category("Shoes")
    hats = await catalog.category("Hats")
    before = await catalog.stored()

    response = await catalog.client.request(
        method,
        f"/api/categories/{hats['id']}/",
        json={"name": "Hats", "slug": "shoes"},
        headers=catalog.staff.headers,
    )

    assert_error(response, 409, "conflict")
    assert await catalog.stored() == before


async def test_update_keeping_its_own_slug_is_fine(catalog: Catalog) -> None:
    hats = await catalog.category("Hats")

    response = await catalog.client.patch(
        f"/api/categories/{hats['id']}/",
        json={"slug": "hats", "name": "Hats!"},
        headers=catalog.staff.headers,
    )

    assert response.json() == {**hats, "name": "Hats!"}


async def test_update_with_bad_input_is_400_and_changes_nothing(catalog: Catalog) -> None:
    made = await tree(catalog)
    before = await catalog.stored()

    for method in ("PUT", "PATCH"):
        for change, field in BAD_CATEGORIES:
            response = await catalog.client.request(
                method,
                f"/api/categories/{made['shoes']['id']}/",
                json={"name": "Renamed", "description": "changed", **change},
                headers=catalog.staff.headers,
            )
            assert response.status_code == 400, (method, change, response.text)
            assert field in assert_error(response, 400, "invalid")["errors"], (method, change, response.text)
    assert await catalog.stored() == before


async def test_writes_to_an_unknown_category_are_404(catalog: Catalog) -> None:
    await catalog.category("Known")
    before = await catalog.stored()

    for method in ("PUT", "PATCH", "DELETE"):
        for category_id in ("999", "-1", str(10**20)):
            body = {"name": "New"} if method != "DELETE" else None
            response = await catalog.client.request(
                method, f"/api/categories/{category_id}/", json=body, headers=catalog.staff.headers
            )
            assert response.status_code == 404, (method, category_id, response.text)
            assert_error(response, 404, "not_found")
    assert await catalog.stored() == before


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_writes_to_a_category_id_beyond_a_32_bit_column_are_404(catalog: Catalog, method: str) -> None:
    body = {"name": "New"} if method != "DELETE" else None

    response = await catalog.client.request(
        method, f"/api/categories/{INT4_OVERFLOW}/", json=body, headers=catalog.staff.headers
    )

    assert_error(response, 404, "not_found")


# --- delete ---------------------------------------------------------------------------------------------


async def test_staff_delete_an_empty_leaf_category(catalog: Catalog) -> None:
    made = await tree(catalog)

    deleted = await catalog.client.delete(
        f"/api/categories/{made['hats']['id']}/", headers=catalog.staff.headers
    )

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_error(await catalog.client.get(f"/api/categories/{made['hats']['id']}/"), 404)
    clothing = (await catalog.client.get(f"/api/categories/{made['clothing']['id']}/")).json()
    assert clothing["children"] == [made["shoes"]]
    listed = (await catalog.client.get("/api/categories/")).json()
    assert ids(listed["results"]) == [made[k]["id"] for k in ("clothing", "shoes", "boots", "garden")]
    assert_error(
        await catalog.client.delete(f"/api/categories/{made['hats']['id']}/", headers=catalog.staff.headers),
        404,
    )


async def test_deleting_a_category_with_products_or_children_is_409(catalog: Catalog) -> None:
    made = await tree(catalog)
    await catalog.product("Boot", category=made["boots"]["id"])
    await catalog.product("Hidden", category=made["garden"]["id"], is_active=False)
    before = await catalog.stored()

    for name in (
        "clothing",
        "shoes",
        "boots",
        "garden",
    ):  # children; children; a product; an inactive product
        response = await catalog.client.delete(
            f"/api/categories/{made[name]['id']}/", headers=catalog.staff.headers
        )
        assert response.status_code == 409, (name, response.text)
        assert_error(response, 409, "conflict")

    assert await catalog.stored() == before
    listed = (await catalog.client.get("/api/categories/")).json()
    assert listed["count"] == 5
