"""A product's variants through the API, on SQLite and PostgreSQL: options on the product, staff's
POST/PATCH/DELETE /api/products/{id}/variants/, what customers see of them, the catalog's derived
price and stock, the cache, search and filters, and every refusal leaving the catalog as it was."""

from __future__ import annotations

from typing import Any

import pytest

from shop_core.domain.actors import Actor
from tests.http.conftest import Catalog, assert_error, in_app, shop_of

OPERATOR = Actor.operator("tests")

SHIRT_OPTIONS = [{"name": "Size", "values": ["S", "M", "L"]}, {"name": "Color", "values": ["Red", "Black"]}]


async def shirt(catalog: Catalog, **extra: Any) -> dict[str, Any]:
    """A product with options Size and Color and no option variants yet."""
    return await catalog.product("Organic T-shirt", "18.00", sku="TEE", options=SHIRT_OPTIONS, **extra)


async def add(catalog: Catalog, product_id: int, **fields: Any) -> Any:
    return await catalog.client.post(
        f"/api/products/{product_id}/variants/", json=fields, headers=catalog.staff.headers
    )


async def added(catalog: Catalog, product_id: int, **fields: Any) -> dict[str, Any]:
    response = await add(catalog, product_id, **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def public(catalog: Catalog, product_id: int) -> dict[str, Any]:
    response = await catalog.client.get(f"/api/products/{product_id}/")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def staff_view(catalog: Catalog, product_id: int) -> dict[str, Any]:
    response = await catalog.client.get(f"/api/products/{product_id}/", headers=catalog.staff.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_legacy_product_has_one_default_variant_carrying_its_sku_price_and_stock(
    catalog: Catalog,
) -> None:
    mug = await catalog.product("Mug", "12.50", sku="MUG-1", stock_quantity=7, discount_percentage="10")

    shown = await public(catalog, mug["id"])

    assert shown["options"] == []
    [variant] = shown["variants"]
    assert variant | {"id": 0} == {
        "id": 0,
        "sku": "MUG-1",
        "name": "",
        "options": {},
        "price": "12.50",
        "final_price": "11.25",
        "stock_quantity": 7,
        "is_active": True,
        "weight_grams": None,
    }


async def test_each_product_shows_its_own_variants_in_lists_and_details(catalog: Catalog) -> None:
    tee = await shirt(catalog)
    await added(catalog, tee["id"], sku="TEE-S-RED", options={"Size": "S", "Color": "Red"})
    await added(catalog, tee["id"], sku="TEE-M-RED", options={"Size": "M", "Color": "Red"})
    mug = await catalog.product("Mug", sku="MUG-1")
    lamp = await catalog.product("Lamp", sku="LAMP-1")

    listed = (await catalog.client.get("/api/products/?ordering=name")).json()["results"]

    expected = {"Lamp": ["LAMP-1"], "Mug": ["MUG-1"], "Organic T-shirt": ["TEE-S-RED", "TEE-M-RED"]}
    assert {p["name"]: [v["sku"] for v in p["variants"]] for p in listed} == expected
    for product in (tee, mug, lamp):
        detail = await public(catalog, product["id"])
        assert [v["sku"] for v in detail["variants"]] == expected[detail["name"]]


async def test_variants_price_and_stock_the_product(catalog: Catalog) -> None:
    tee = await shirt(catalog)
    assert tee["options"] == SHIRT_OPTIONS

    first = await added(
        catalog, tee["id"], sku="TEE-S-RED", options={"size": "s", "color": "RED"}, stock_quantity=5
    )
    second = await added(
        catalog,
        tee["id"],
        sku="TEE-M-RED",
        options={"Size": "M", "Color": "Red"},
        price="16.00",
        stock_quantity=3,
        weight_grams=180,
    )

    # values are stored as the product spells them; the name follows the product's option order
    assert (first["name"], first["options"]) == ("S / Red", {"Size": "S", "Color": "Red"})
    assert (first["price"], first["stock_quantity"]) == ("18.00", 5)
    assert (second["name"], second["price"], second["weight_grams"]) == ("M / Red", "16.00", 180)
    shown = await public(catalog, tee["id"])
    assert [v["sku"] for v in shown["variants"]] == ["TEE-S-RED", "TEE-M-RED"]
    assert (shown["price"], shown["final_price"], shown["stock_quantity"]) == ("16.00", "16.00", 8)


async def test_the_first_variant_takes_over_the_default_one_and_its_stock(catalog: Catalog) -> None:
    tee = await shirt(catalog, stock_quantity=4)
    [default] = tee["variants"]

    first = await added(catalog, tee["id"], sku="TEE-S-RED", options={"Size": "S", "Color": "Red"})

    assert (first["id"], first["stock_quantity"]) == (default["id"], 4)
    assert [v["id"] for v in (await public(catalog, tee["id"]))["variants"]] == [default["id"]]
    history = await in_app(catalog.client, shop_of(catalog.client).stock.stock_history, "TEE-S-RED", OPERATOR)
    assert [(m.delta, m.variant_id) for m in history] == [(4, default["id"])]  # the opening stock


async def test_patch_changes_a_variant_and_a_stock_change_is_a_movement(catalog: Catalog) -> None:
    tee = await shirt(catalog)
    red_s = await added(catalog, tee["id"], sku="TEE-S-RED", options={"Size": "S", "Color": "Red"})
    black_m = await added(
        catalog, tee["id"], sku="TEE-M-BLK", options={"Size": "M", "Color": "Black"}, stock_quantity=2
    )

    patched = await catalog.client.patch(
        f"/api/products/{tee['id']}/variants/{red_s['id']}/",
        json={"stock_quantity": 9, "price": "15.00", "sku": "TEE-S-R"},
        headers=catalog.staff.headers,
    )

    assert patched.status_code == 200, patched.text
    assert (patched.json()["sku"], patched.json()["price"], patched.json()["stock_quantity"]) == (
        "TEE-S-R",
        "15.00",
        9,
    )
    shown = await public(catalog, tee["id"])
    assert (shown["price"], shown["stock_quantity"]) == ("15.00", 11)

    # back to the product's price, and out of sale: its stock leaves the product's total
    await catalog.client.patch(
        f"/api/products/{tee['id']}/variants/{red_s['id']}/",
        json={"price": None, "is_active": False},
        headers=catalog.staff.headers,
    )
    shown = await public(catalog, tee["id"])
    assert [v["id"] for v in shown["variants"]] == [black_m["id"]]
    assert (shown["price"], shown["stock_quantity"]) == ("18.00", 2)
    assert len((await staff_view(catalog, tee["id"]))["variants"]) == 2


async def test_a_variant_change_is_seen_through_the_cache(catalog: Catalog) -> None:
    tee = await shirt(catalog)
    red_s = await added(catalog, tee["id"], sku="TEE-S-RED", options={"Size": "S", "Color": "Red"})
    assert (await public(catalog, tee["id"]))["variants"][0]["stock_quantity"] == 0  # now cached
    listed = await catalog.client.get("/api/products/?search=organic")
    assert listed.json()["results"][0]["stock_quantity"] == 0

    await catalog.client.patch(
        f"/api/products/{tee['id']}/variants/{red_s['id']}/",
        json={"stock_quantity": 6},
        headers=catalog.staff.headers,
    )

    assert (await public(catalog, tee["id"]))["variants"][0]["stock_quantity"] == 6
    listed = await catalog.client.get("/api/products/?search=organic")
    assert listed.json()["results"][0]["stock_quantity"] == 6


async def test_search_in_stock_and_price_filters_go_by_the_variants(catalog: Catalog) -> None:
    tee = await shirt(catalog)
    await added(catalog, tee["id"], sku="TEE-S-RED", options={"Size": "S", "Color": "Red"}, price="9.00")
    await added(
        catalog, tee["id"], sku="TEE-M-BLK", options={"Size": "M", "Color": "Black"}, stock_quantity=1
    )
    await catalog.product("Lamp", "30.00", stock_quantity=1)

    async def found(query: str) -> list[str]:
        response = await catalog.client.get(f"/api/products/?{query}")
        assert response.status_code == 200, response.text
        return [p["name"] for p in response.json()["results"]]

    assert await found("search=tee-m-blk") == ["Organic T-shirt"]
    assert await found("in_stock=true&ordering=price") == ["Organic T-shirt", "Lamp"]
    assert await found("max_price=10.00") == ["Organic T-shirt"]  # its lowest variant price is 9.00
    assert await found("min_price=10.00") == ["Lamp"]
    assert await found("ordering=-price") == ["Lamp", "Organic T-shirt"]


async def test_delete_erases_a_variant_but_never_the_last_one(catalog: Catalog) -> None:
    tee = await shirt(catalog)
    red_s = await added(catalog, tee["id"], sku="TEE-S-RED", options={"Size": "S", "Color": "Red"})
    red_m = await added(
        catalog, tee["id"], sku="TEE-M-RED", options={"Size": "M", "Color": "Red"}, stock_quantity=3
    )

    gone = await catalog.client.delete(
        f"/api/products/{tee['id']}/variants/{red_m['id']}/", headers=catalog.staff.headers
    )
    assert gone.status_code == 204, gone.text
    shown = await staff_view(catalog, tee["id"])
    assert ([v["id"] for v in shown["variants"]], shown["stock_quantity"]) == ([red_s["id"]], 0)

    last = await catalog.client.delete(
        f"/api/products/{tee['id']}/variants/{red_s['id']}/", headers=catalog.staff.headers
    )
    assert_error(last, 409, "conflict")
    assert (await staff_view(catalog, tee["id"]))["variants"] == shown["variants"]
    # the sku of an erased variant is free again
    await added(catalog, tee["id"], sku="TEE-M-RED", options={"Size": "M", "Color": "Red"})


async def test_options_must_keep_fitting_the_variants(catalog: Catalog) -> None:
    tee = await shirt(catalog)
    await added(catalog, tee["id"], sku="TEE-L-RED", options={"Size": "L", "Color": "Red"})

    for options in ([], [{"name": "Size", "values": ["S", "M"]}, {"name": "Color", "values": ["Red"]}]):
        refused = await catalog.client.patch(
            f"/api/products/{tee['id']}/", json={"options": options}, headers=catalog.staff.headers
        )
        assert_error(refused, 400)
        assert "TEE-L-RED" in refused.json()["errors"]["options"][0]
    more = [*SHIRT_OPTIONS[:1], {"name": "Color", "values": ["Red", "Black", "Blue"]}]
    widened = await catalog.client.patch(
        f"/api/products/{tee['id']}/", json={"options": more}, headers=catalog.staff.headers
    )
    assert widened.status_code == 200, widened.text
    assert widened.json()["options"] == more


async def test_the_legacy_stock_field_is_refused_once_stock_lives_on_option_variants(
    catalog: Catalog,
) -> None:
    tee = await shirt(catalog)
    await added(catalog, tee["id"], sku="TEE-S-RED", options={"Size": "S", "Color": "Red"}, stock_quantity=2)

    refused = await catalog.client.patch(
        f"/api/products/{tee['id']}/", json={"stock_quantity": 50}, headers=catalog.staff.headers
    )

    assert_error(refused, 400)
    assert "stock_quantity" in refused.json()["errors"]
    assert (await public(catalog, tee["id"]))["stock_quantity"] == 2
    renamed = await catalog.client.patch(
        f"/api/products/{tee['id']}/",
        json={"name": "Tee", "stock_quantity": 2},
        headers=catalog.staff.headers,
    )
    assert renamed.status_code == 200, renamed.text  # the same stock sent back is no change


async def test_customers_and_guests_cannot_touch_variants(catalog: Catalog) -> None:
    tee = await shirt(catalog)
    red = await added(catalog, tee["id"], sku="TEE-S-RED", options={"Size": "S", "Color": "Red"})
    path = f"/api/products/{tee['id']}/variants/"
    body = {"sku": "X-1", "options": {"Size": "M", "Color": "Red"}}

    for headers, status in ((catalog.customer.headers, 403), ({}, 401)):
        assert (await catalog.client.get(path, headers=headers)).status_code == status
        assert (await catalog.client.post(path, json=body, headers=headers)).status_code == status
        assert (
            await catalog.client.patch(f"{path}{red['id']}/", json={"sku": "Y"}, headers=headers)
        ).status_code == status
        assert (await catalog.client.delete(f"{path}{red['id']}/", headers=headers)).status_code == status
    assert [v["sku"] for v in (await staff_view(catalog, tee["id"]))["variants"]] == ["TEE-S-RED"]


BAD_VARIANTS = [
    pytest.param(
        {"sku": "X-1", "options": {"Fit": "Slim", "Size": "S", "Color": "Red"}},
        400,
        "Fit",
        id="unknown option",
    ),
    pytest.param({"sku": "X-1", "options": {"Size": "XL", "Color": "Red"}}, 400, "XL", id="unknown value"),
    pytest.param({"sku": "X-1", "options": {"Size": "S"}}, 400, "Color", id="a value missing"),
    pytest.param(
        {"sku": "X-1", "options": {"Size": "S", "Color": "Red"}}, 409, "S / Red", id="same combination"
    ),
    pytest.param(
        {"sku": "TEE-S-RED", "options": {"Size": "M", "Color": "Red"}}, 409, "TEE-S-RED", id="own sku"
    ),
    pytest.param(
        {"sku": "LAMP-1", "options": {"Size": "M", "Color": "Red"}}, 409, "LAMP-1", id="other product's sku"
    ),
    pytest.param({"sku": "", "options": {"Size": "M", "Color": "Red"}}, 400, "sku", id="blank sku"),
    pytest.param({"sku": "X 1", "options": {"Size": "M", "Color": "Red"}}, 400, "sku", id="space in sku"),
    pytest.param(
        {"sku": "X-1", "options": {"Size": "M", "Color": "Red"}, "price": "-1"},
        400,
        "price",
        id="negative price",
    ),
    pytest.param(
        {"sku": "X-1", "options": {"Size": "M", "Color": "Red"}, "price": "1.001"},
        400,
        "price",
        id="sub-cent price",
    ),
    pytest.param(
        {"sku": "X-1", "options": {"Size": "M", "Color": "Red"}, "stock_quantity": -1},
        400,
        "stock_quantity",
        id="negative stock",
    ),
    pytest.param(
        {"sku": "X-1", "options": {"Size": "M", "Color": "Red"}, "weight_grams": -5},
        400,
        "weight_grams",
        id="negative weight",
    ),
    pytest.param(
        {"sku": "X-1", "options": {"Size": "M\x00", "Color": "Red"}}, 400, None, id="NUL in a value"
    ),
    pytest.param({"sku": "X-1", "options": ["Size", "M"]}, 400, "options", id="options not an object"),
    pytest.param(
        {"sku": "X-1", "options": {"A": "1", "B": "2", "C": "3", "D": "4"}}, 400, "options", id="four options"
    ),
    pytest.param({"options": {"Size": "M", "Color": "Red"}}, 400, "sku", id="no sku"),
    pytest.param(
        {"sku": "X-1", "options": {"Size": "M", "Color": "Red"}, "colour": "x"},
        400,
        "colour",
        id="unknown field",
    ),
]


@pytest.mark.parametrize(("body", "status", "named"), BAD_VARIANTS)
async def test_bad_variants_are_refused_precisely_and_store_nothing(
    catalog: Catalog, body: dict[str, Any], status: int, named: str | None
) -> None:
    await catalog.product("Lamp", sku="LAMP-1")
    tee = await shirt(catalog)
    await added(catalog, tee["id"], sku="TEE-S-RED", options={"Size": "S", "Color": "Red"})
    before = await catalog.stored()

    refused = await add(catalog, tee["id"], **body)

    assert_error(refused, status)
    if named is not None:
        assert named in refused.text
    assert await catalog.stored() == before


async def test_a_product_without_options_takes_no_second_variant(catalog: Catalog) -> None:
    mug = await catalog.product("Mug", sku="MUG-1")
    before = await catalog.stored()

    for options in ({}, {"Size": "M"}):
        refused = await add(catalog, mug["id"], sku="MUG-2", options=options)
        assert_error(refused, 400)
        assert "no options yet" in refused.json()["errors"]["options"][0]
    assert await catalog.stored() == before


async def test_more_than_three_options_on_a_product_is_400(catalog: Catalog) -> None:
    options = [{"name": name, "values": ["x"]} for name in ("A", "B", "C", "D")]
    refused = await catalog.client.post(
        "/api/products/",
        json={"name": "Too much", "sku": "MANY", "price": "1.00", "options": options},
        headers=catalog.staff.headers,
    )
    assert_error(refused, 400)
    assert "options" in refused.text
    repeated = [{"name": "Size", "values": ["S", "s"]}]
    refused = await catalog.client.post(
        "/api/products/",
        json={"name": "Twice", "sku": "TWICE", "price": "1.00", "options": repeated},
        headers=catalog.staff.headers,
    )
    assert_error(refused, 400)
    assert await catalog.stored() == ([], [])


async def test_a_variant_of_another_product_or_none_at_all_is_404(catalog: Catalog) -> None:
    tee = await shirt(catalog)
    mug = await catalog.product("Mug")
    red = await added(catalog, tee["id"], sku="TEE-S-RED", options={"Size": "S", "Color": "Red"})
    before = await catalog.stored()

    for path in (
        f"/api/products/{mug['id']}/variants/{red['id']}/",
        f"/api/products/{tee['id']}/variants/999999/",
        f"/api/products/999999/variants/{red['id']}/",
        f"/api/products/{tee['id']}/variants/99999999999999999999/",
    ):
        patched = await catalog.client.patch(path, json={"stock_quantity": 1}, headers=catalog.staff.headers)
        assert patched.status_code in {400, 404}, (path, patched.text)
        deleted = await catalog.client.delete(path, headers=catalog.staff.headers)
        assert deleted.status_code in {400, 404}, (path, deleted.text)
    assert_error(await add(catalog, 999999, sku="Q-1", options={}), 404)
    assert await catalog.stored() == before


async def test_a_variant_cannot_take_a_sku_that_is_a_products(catalog: Catalog) -> None:
    """Skus are unique across products and variants both ways."""
    tee = await shirt(catalog)
    await added(catalog, tee["id"], sku="TEE-S-RED", options={"Size": "S", "Color": "Red"})

    taken = await catalog.client.post(
        "/api/products/",
        json={"name": "Copycat", "sku": "TEE-S-RED", "price": "1.00"},
        headers=catalog.staff.headers,
    )

    assert_error(taken, 409)


async def test_the_default_variant_of_a_product_given_options_can_still_be_changed(catalog: Catalog) -> None:
    tee = await shirt(catalog, stock_quantity=3)
    [default] = tee["variants"]

    patched = await catalog.client.patch(
        f"/api/products/{tee['id']}/variants/{default['id']}/",
        json={"price": "17.00", "weight_grams": 150, "stock_quantity": 5},
        headers=catalog.staff.headers,
    )

    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["price"], patched.json()["stock_quantity"]) == (
        "",
        "17.00",
        5,
    )
    shown = await staff_view(catalog, tee["id"])
    assert (shown["sku"], shown["price"], shown["stock_quantity"]) == ("TEE", "17.00", 5)
