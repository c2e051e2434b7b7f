"""The wishlist (API.md Part 2, "Reviews, wishlist, ..."), on SQLite and PostgreSQL: a customer's
products and variants with their live price and stock, adding twice idempotent, inactive ones kept
and shown unavailable, removal, bad input refused with nothing stored, someone else's list never
seen; and, on PostgreSQL, one entry however many identical adds race."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from tests.http.conftest import Account, Catalog, assert_error, in_app, new_account, open_catalog, shop_of
from tests.variants_support import add_variants, set_variant_active

FIELDS = {
    "id",
    "product_id",
    "variant_id",
    "name",
    "slug",
    "image_url",
    "price",
    "final_price",
    "stock_quantity",
    "in_stock",
    "is_available",
    "notify",
    "created_at",
    "variant",
}


async def add(
    catalog: Catalog, body: dict[str, Any], who: Account | None = None, status: int = 201
) -> dict[str, Any]:
    made = await catalog.client.post("/api/wishlist/", json=body, headers=(who or catalog.customer).headers)
    assert made.status_code == status, made.text
    found: dict[str, Any] = made.json()
    assert set(found) == FIELDS
    return found


async def wishlist(catalog: Catalog, who: Account | None = None) -> list[dict[str, Any]]:
    listed = await catalog.client.get("/api/wishlist/", headers=(who or catalog.customer).headers)
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()
    return found


async def sized(catalog: Catalog, product_id: int, stock: dict[str, int], **extra: Any) -> dict[str, int]:
    """Give the product a Size option with a variant per size holding that stock; their ids."""
    shop = shop_of(catalog.client)
    found: dict[str, int] = await in_app(
        catalog.client, partial(add_variants, shop, product_id, "Size", stock, **extra)
    )
    return found


async def patch_product(catalog: Catalog, product: dict[str, Any], **fields: Any) -> None:
    changed = await catalog.client.patch(
        f"/api/products/{product['id']}/", json=fields, headers=catalog.staff.headers
    )
    assert changed.status_code == 200, changed.text


async def test_adding_twice_is_one_entry_with_the_live_price_and_stock(catalog: Catalog) -> None:
    lamp = await catalog.product("Desk Lamp", "25.00", stock_quantity=3, image_url="https://x.test/l.jpg")
    first = await add(catalog, {"product_id": lamp["id"]})
    again = await add(catalog, {"product_id": lamp["id"]}, status=200)
    assert again == first
    assert {k: first[k] for k in FIELDS - {"id", "created_at"}} == {
        "product_id": lamp["id"],
        "variant_id": None,
        "name": "Desk Lamp",
        "slug": lamp["slug"],
        "image_url": "https://x.test/l.jpg",
        "price": "25.00",
        "final_price": "25.00",
        "stock_quantity": 3,
        "in_stock": True,
        "is_available": True,
        "notify": False,
        "variant": None,
    }
    await patch_product(catalog, lamp, price="30.00", stock_quantity=0, discount_percentage="10")
    [entry] = await wishlist(catalog)
    assert (entry["price"], entry["final_price"], entry["stock_quantity"], entry["in_stock"]) == (
        "30.00",
        "27.00",
        0,
        False,
    )
    now = datetime.now(UTC)
    sale = await catalog.client.post(
        "/api/sales/",
        json={
            "name": "Lamp days",
            "percentage": "20",
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "product_ids": [lamp["id"]],
        },
        headers=catalog.staff.headers,
    )
    assert sale.status_code == 201, sale.text
    [entry] = await wishlist(catalog)
    assert entry["final_price"] == "24.00"  # the sale beats the product's own 10 %, as in the catalog
    shown = await catalog.client.get(f"/api/products/{lamp['id']}/")
    assert shown.json()["final_price"] == entry["final_price"]


async def test_sending_notify_again_changes_the_entry_and_nothing_else(catalog: Catalog) -> None:
    lamp = await catalog.product("Desk Lamp")
    made = await add(catalog, {"product_id": lamp["id"], "notify": True})
    assert made["notify"] is True
    kept = await add(catalog, {"product_id": lamp["id"]}, status=200)
    assert kept["notify"] is True  # left out: as it was
    off = await add(catalog, {"product_id": lamp["id"], "notify": False}, status=200)
    assert (off["id"], off["notify"]) == (made["id"], False)
    assert [e["notify"] for e in await wishlist(catalog)] == [False]


async def test_variants_are_entries_of_their_own_and_a_default_variant_is_the_product(
    catalog: Catalog,
) -> None:
    shirt = await catalog.product("T-shirt", "20.00")
    sizes = await sized(catalog, shirt["id"], {"S": 0, "M": 4}, prices={"M": 2200})
    mug = await catalog.product("Mug", "5.00", stock_quantity=2)
    [mug_variant] = (await catalog.client.get(f"/api/products/{mug['id']}/")).json()["variants"]

    whole = await add(catalog, {"product_id": shirt["id"]})
    medium = await add(catalog, {"product_id": shirt["id"], "variant_id": sizes["M"]})
    small = await add(catalog, {"product_id": shirt["id"], "variant_id": sizes["S"]})
    assert len({whole["id"], medium["id"], small["id"]}) == 3
    await add(catalog, {"product_id": shirt["id"], "variant_id": sizes["M"]}, status=200)
    plain = await add(catalog, {"product_id": mug["id"]})
    same = await add(catalog, {"product_id": mug["id"], "variant_id": mug_variant["id"]}, status=200)
    assert (same["id"], same["variant_id"]) == (plain["id"], None)

    listed = {e["id"]: e for e in await wishlist(catalog)}
    assert len(listed) == 4
    assert (listed[whole["id"]]["price"], listed[whole["id"]]["stock_quantity"]) == ("20.00", 4)
    m = listed[medium["id"]]
    assert (m["variant_id"], m["price"], m["stock_quantity"], m["in_stock"]) == (sizes["M"], "22.00", 4, True)
    assert (m["variant"]["id"], m["variant"]["name"], m["variant"]["options"]) == (
        sizes["M"],
        "M",
        {"Size": "M"},
    )
    s = listed[small["id"]]
    assert (s["stock_quantity"], s["in_stock"], s["is_available"]) == (0, False, True)


async def test_inactive_products_and_variants_stay_listed_as_unavailable(catalog: Catalog) -> None:
    lamp = await catalog.product("Desk Lamp", "25.00", stock_quantity=3)
    shirt = await catalog.product("T-shirt", "20.00")
    sizes = await sized(catalog, shirt["id"], {"S": 1, "M": 2})
    await add(catalog, {"product_id": lamp["id"]})
    await add(catalog, {"product_id": shirt["id"], "variant_id": sizes["S"]})
    await patch_product(catalog, lamp, is_active=False)
    await in_app(catalog.client, set_variant_active, shop_of(catalog.client), sizes["S"], False)

    gone_lamp, gone_size = await wishlist(catalog)
    assert (gone_lamp["is_available"], gone_lamp["in_stock"]) == (False, False)
    assert (gone_lamp["price"], gone_lamp["stock_quantity"]) == ("25.00", 3)  # still live
    assert (gone_size["is_available"], gone_size["in_stock"], gone_size["variant"]["is_active"]) == (
        False,
        False,
        False,
    )
    # What customers cannot see cannot be added.
    refused = await catalog.client.post(
        "/api/wishlist/", json={"product_id": lamp["id"]}, headers=catalog.customer.headers
    )
    assert_error(refused, 404)
    other = await new_account(catalog.client)
    for body in ({"product_id": lamp["id"]}, {"product_id": shirt["id"], "variant_id": sizes["S"]}):
        answer = await catalog.client.post("/api/wishlist/", json=body, headers=other.headers)
        assert_error(answer, 404)
    assert await wishlist(catalog, other) == []


async def test_removing_a_product_or_one_variant(catalog: Catalog) -> None:
    shirt = await catalog.product("T-shirt", "20.00")
    sizes = await sized(catalog, shirt["id"], {"S": 1, "M": 2})
    lamp = await catalog.product("Desk Lamp")
    for body in (
        {"product_id": shirt["id"]},
        {"product_id": shirt["id"], "variant_id": sizes["S"]},
        {"product_id": shirt["id"], "variant_id": sizes["M"]},
        {"product_id": lamp["id"]},
    ):
        await add(catalog, body)
    headers = catalog.customer.headers
    one = await catalog.client.delete(
        f"/api/wishlist/{shirt['id']}/?variant_id={sizes['S']}", headers=headers
    )
    assert one.status_code == 204, one.text
    assert [(e["product_id"], e["variant_id"]) for e in await wishlist(catalog)] == [
        (shirt["id"], None),
        (shirt["id"], sizes["M"]),
        (lamp["id"], None),
    ]
    again = await catalog.client.delete(
        f"/api/wishlist/{shirt['id']}/?variant_id={sizes['S']}", headers=headers
    )
    assert_error(again, 404)
    every = await catalog.client.delete(f"/api/wishlist/{shirt['id']}/", headers=headers)
    assert every.status_code == 204
    assert [e["product_id"] for e in await wishlist(catalog)] == [lamp["id"]]
    assert_error(await catalog.client.delete(f"/api/wishlist/{shirt['id']}/", headers=headers), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"product_id": "abc"},
        {"product_id": 1.5},
        {"product_id": -1},
        {"product_id": 0},
        {"product_id": 2**31},
        {"product_id": 10**30},
        {"product_id": None},
        {},
        {"variant_id": 1},
        {"product_id": "__LAMP__", "variant_id": -3},
        {"product_id": "__LAMP__", "variant_id": 2**40},
        {"product_id": "__LAMP__", "surprise": True},
        {"product_id": "__LAMP__", "notify": "yes"},
        [1],
        "lamp",
    ],
)
async def test_bad_input_is_400_and_nothing_is_stored(catalog: Catalog, body: Any) -> None:
    lamp = await catalog.product("Desk Lamp")
    if isinstance(body, dict):
        body = {k: lamp["id"] if v == "__LAMP__" else v for k, v in body.items()}
    refused = await catalog.client.post("/api/wishlist/", json=body, headers=catalog.customer.headers)
    assert_error(refused, 400)
    assert await wishlist(catalog) == []


async def test_unknown_products_and_variants_are_404_and_nothing_is_stored(catalog: Catalog) -> None:
    lamp = await catalog.product("Desk Lamp")
    shirt = await catalog.product("T-shirt")
    sizes = await sized(catalog, shirt["id"], {"S": 1})
    for body in (
        {"product_id": 2**31 - 1},
        {"product_id": lamp["id"], "variant_id": sizes["S"]},  # another product's variant
        {"product_id": lamp["id"], "variant_id": 2**31 - 1},
    ):
        refused = await catalog.client.post("/api/wishlist/", json=body, headers=catalog.customer.headers)
        assert_error(refused, 404)
    assert await wishlist(catalog) == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/wishlist/abc/",
        "/api/wishlist/0/",
        "/api/wishlist/-1/",
        f"/api/wishlist/{2**31}/",
        "/api/wishlist/1/?variant_id=abc",
        "/api/wishlist/1/?variant_id=0",
        f"/api/wishlist/1/?variant_id={2**63}",
    ],
)
async def test_bad_removals_are_4xx_and_remove_nothing(catalog: Catalog, path: str) -> None:
    lamp = await catalog.product("Desk Lamp")
    await add(catalog, {"product_id": lamp["id"]})
    answer = await catalog.client.delete(path, headers=catalog.customer.headers)
    assert answer.status_code in (400, 404), answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert len(await wishlist(catalog)) == 1


async def test_someone_elses_wishlist_is_never_seen_nor_changed(catalog: Catalog) -> None:
    lamp = await catalog.product("Desk Lamp")
    mine = await add(catalog, {"product_id": lamp["id"], "notify": True})
    other = await new_account(catalog.client)
    assert await wishlist(catalog, other) == []
    assert_error(await catalog.client.delete(f"/api/wishlist/{lamp['id']}/", headers=other.headers), 404)
    theirs = await add(catalog, {"product_id": lamp["id"]}, other)
    assert theirs["id"] != mine["id"]
    assert [e["id"] for e in await wishlist(catalog)] == [mine["id"]]
    assert [(e["id"], e["notify"]) for e in await wishlist(catalog, other)] == [(theirs["id"], False)]
    for answer in (
        await catalog.client.get("/api/wishlist/"),
        await catalog.client.post("/api/wishlist/", json={"product_id": lamp["id"]}),
        await catalog.client.delete(f"/api/wishlist/{lamp['id']}/"),
    ):
        assert_error(answer, 401)
    assert [e["id"] for e in await wishlist(catalog)] == [mine["id"]]


async def test_past_the_cap_adding_is_409_but_what_is_there_still_answers(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shop_core.services.wishlist.MAX_WISHLIST_ITEMS", 2)
    products = [await catalog.product(f"Thing {n}") for n in range(3)]
    await add(catalog, {"product_id": products[0]["id"]})
    await add(catalog, {"product_id": products[1]["id"]})
    full = await catalog.client.post(
        "/api/wishlist/", json={"product_id": products[2]["id"]}, headers=catalog.customer.headers
    )
    assert_error(full, 409, "wishlist_full")
    await add(catalog, {"product_id": products[1]["id"], "notify": True}, status=200)
    assert [e["product_id"] for e in await wishlist(catalog)] == [products[0]["id"], products[1]["id"]]


async def test_ten_identical_adds_racing_make_one_entry_and_all_answer_2xx(pg_url: str) -> None:
    async with open_catalog(make_settings(pg_url)) as catalog:
        lamp = await catalog.product("Desk Lamp")
        racers = 10

        async def race() -> list[httpx.Response]:
            transport = httpx.ASGITransport(app=catalog.client.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as burst:
                return list(
                    await asyncio.gather(
                        *(
                            burst.post(
                                "/api/wishlist/",
                                json={"product_id": lamp["id"], "notify": True},
                                headers=catalog.customer.headers,
                            )
                            for _ in range(racers)
                        )
                    )
                )

        responses: list[httpx.Response] = await in_app(catalog.client, race)
        assert Counter(r.status_code for r in responses) == {201: 1, 200: racers - 1}, [
            r.text for r in responses
        ]
        assert len({r.json()["id"] for r in responses}) == 1
        assert len(await wishlist(catalog)) == 1
