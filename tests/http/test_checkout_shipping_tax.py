"""Checkout with shipping zones, methods and tax rates (API.md Part 2, "Shipping, tax, addresses"),
on SQLite and PostgreSQL: a shop without zones answers Part 1 clients as before; once zones exist
an order names a method of the zone holding its country, one that carries its weight; the most
specific tax rate for the address applies, in either tax mode; the order keeps the method and the
rate as they were. Every refusal leaves the stock and the cart as they were."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader

from shop_core.domain.shipping import Method, Zone
from shop_core.domain.tax import TaxRate
from tests.conftest import make_settings
from tests.http.conftest import Catalog, assert_error, in_app, money, open_catalog, shop_of
from tests.http.test_cart_vouchers import add_voucher

DHAKA = {
    "full_name": "Rahim Uddin",
    "line1": "House 12, Road 5",
    "city": "Dhaka",
    "postal_code": "1205",
    "country": "BD",
}
LONDON = {**DHAKA, "full_name": "Ada Lovelace", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}
NEW_YORK = {**DHAKA, "city": "New York", "postal_code": "10001", "country": "US", "region": "NY"}
LOS_ANGELES = {**NEW_YORK, "city": "Los Angeles", "postal_code": "90001", "region": "ca"}


async def zone(catalog: Catalog, name: str, countries: set[str], *methods: dict[str, Any]) -> list[int]:
    """A zone and its methods, stored through the repository (the staff API has its own tests);
    the methods' ids."""

    async def run() -> list[int]:
        async with shop_of(catalog.client).ports.uow() as uow:
            made = await uow.shipping.add_zone(Zone(name, frozenset(countries)))
            assert made.id is not None
            ids = []
            for fields in methods:
                method = await uow.shipping.add_method(Method(made.id, **fields))
                assert method.id is not None
                ids.append(method.id)
            await uow.commit()
        return ids

    ids: list[int] = await in_app(catalog.client, run)
    return ids


async def rate(catalog: Catalog, country: str, value: str, name: str, region: str | None = None) -> None:
    async def run() -> None:
        async with shop_of(catalog.client).ports.uow() as uow:
            await uow.tax_rates.add(TaxRate(country, Decimal(value), name, region))
            await uow.commit()

    await in_app(catalog.client, run)


async def weigh(catalog: Catalog, product: dict[str, Any], grams: int) -> None:
    """Give the product's (default) variant a weight."""
    path = f"/api/products/{product['id']}/variants/"
    (variant,) = (await catalog.client.get(path, headers=catalog.staff.headers)).json()
    changed = await catalog.client.patch(
        f"{path}{variant['id']}/", json={"weight_grams": grams}, headers=catalog.staff.headers
    )
    assert changed.status_code == 200, changed.text


async def order(catalog: Catalog, product_id: int, quantity: int = 1, **fields: Any) -> Any:
    body = {
        "items": [{"product_id": product_id, "quantity": quantity}],
        "payment_method": "cod",
        "shipping_address": DHAKA,
        **fields,
    }
    return await catalog.client.post("/api/orders/", json=body, headers=catalog.customer.headers)


async def stock_of(catalog: Catalog, product: dict[str, Any]) -> int:
    found = await catalog.client.get(f"/api/products/{product['id']}/", headers=catalog.staff.headers)
    stock: int = found.json()["stock_quantity"]
    return stock


async def methods_for(catalog: Catalog, country: str, headers: dict[str, str] | None = None) -> Any:
    return await catalog.client.get(
        "/api/cart/shipping-methods/",
        params={"country": country},
        headers=headers or catalog.customer.headers,
    )


def adds_up(body: dict[str, Any]) -> None:
    total = money(body["subtotal"]) - money(body["discount_amount"])
    assert money(body["total_price"]) == total + money(body["tax_amount"]) + money(body["shipping_cost"])
    assert sum(money(item["tax_amount"]) for item in body["items"]) + money(body["shipping_tax"]) == money(
        body["tax_amount"]
    )


@pytest.fixture
async def shop(database_url: str) -> AsyncIterator[Catalog]:
    """Flat shipping 5.00 and 10% tax by default, so the defaults show when they apply."""
    settings = make_settings(database_url, shipping_flat=Decimal("5.00"), tax_rate=Decimal("0.10"))
    async with open_catalog(settings) as opened:
        yield opened


# --- a shop without zones -------------------------------------------------------------------------


async def test_without_zones_orders_are_priced_as_before(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "20.00", stock_quantity=5)

    placed = await order(shop, lamp["id"])

    assert placed.status_code == 201, placed.text
    body = placed.json()
    assert (body["shipping_cost"], body["tax_amount"], body["total_price"]) == ("5.00", "2.00", "27.00")
    assert body["shipping_method"] is None
    assert (body["tax_rate"], body["tax_name"], body["prices_include_tax"]) == ("0.1000", "Tax", False)
    assert (body["items"][0]["tax_rate"], body["items"][0]["tax_name"]) == ("0.1000", "Tax")
    assert "region" not in body["shipping_address"]
    adds_up(body)
    offered = await methods_for(shop, "BD")
    assert offered.status_code == 200, offered.text
    assert offered.json() == [
        {"id": None, "name": "Standard shipping", "price": "5.00", "delivery_days": None}
    ]


async def test_without_zones_a_method_cannot_be_named(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "20.00", stock_quantity=5)

    refused = await order(shop, lamp["id"], shipping_method_id=1)

    assert "shipping_method_id" in assert_error(refused, 400, "shipping_unavailable")["errors"]
    assert await stock_of(shop, lamp) == 5


# --- zones and methods ----------------------------------------------------------------------------


async def test_an_order_ships_by_a_method_of_its_countrys_zone_and_keeps_it(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "20.00", stock_quantity=5)
    standard, express = await zone(
        shop,
        "South Asia",
        {"BD", "IN"},
        {"name": "Standard", "price": 600, "free_over": 10_000, "delivery_days": 5},
        {"name": "Express", "price": 1500, "delivery_days": 1},
    )

    placed = await order(shop, lamp["id"], shipping_method_id=express)

    assert placed.status_code == 201, placed.text
    body = placed.json()
    assert body["shipping_method"] == {"id": express, "name": "Express", "price": "15.00"}
    assert (body["shipping_cost"], body["tax_amount"], body["total_price"]) == ("15.00", "2.00", "37.00")
    adds_up(body)

    # Renaming, repricing or deleting the method later changes no order.
    async def change_then_delete() -> None:
        async with shop_of(shop.client).ports.uow() as uow:
            method = await uow.shipping.method(express)
            assert method is not None
            method.name, method.price = "Overnight", 9900
            await uow.shipping.save_method(method)
            await uow.commit()
        async with shop_of(shop.client).ports.uow() as uow:
            method = await uow.shipping.method(express)
            assert method is not None
            await uow.shipping.delete_method(method)
            await uow.commit()

    await in_app(shop.client, change_then_delete)
    again = (await shop.client.get(f"/api/orders/{body['id']}/", headers=shop.customer.headers)).json()
    assert again["shipping_method"] == {"id": None, "name": "Express", "price": "15.00"}
    assert again["shipping_cost"] == "15.00"
    assert standard != express


async def test_once_zones_exist_an_order_names_a_method_that_ships_there(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "20.00", stock_quantity=5)
    (standard,) = await zone(shop, "South Asia", {"BD"}, {"name": "Standard", "price": 600})
    (royal_mail,) = await zone(shop, "United Kingdom", {"GB"}, {"name": "Royal Mail", "price": 300})

    missing = await order(shop, lamp["id"])
    assert "shipping_method_id" in assert_error(missing, 400)["errors"]
    elsewhere = await order(shop, lamp["id"], shipping_method_id=royal_mail)
    assert "shipping_method_id" in assert_error(elsewhere, 400, "shipping_unavailable")["errors"]
    unknown = await order(shop, lamp["id"], shipping_method_id=999_999)
    assert_error(unknown, 400, "shipping_unavailable")
    nowhere = await order(shop, lamp["id"], shipping_method_id=standard, shipping_address=NEW_YORK)
    body = assert_error(nowhere, 400, "shipping_unavailable")
    assert "US" in body["detail"]
    assert "country" in body["errors"]

    assert await stock_of(shop, lamp) == 5
    shipped = await order(shop, lamp["id"], shipping_method_id=royal_mail, shipping_address=LONDON)
    assert shipped.status_code == 201, shipped.text
    assert await stock_of(shop, lamp) == 4


async def test_a_method_carries_only_what_its_weight_bounds_allow(shop: Catalog) -> None:
    kettle = await shop.product("Kettle", "30.00", stock_quantity=10)
    await weigh(shop, kettle, 600)
    standard, light = await zone(
        shop,
        "South Asia",
        {"BD"},
        {"name": "Freight", "price": 2000, "min_weight_grams": 1000},
        {"name": "Letterbox", "price": 400, "max_weight_grams": 1000},
    )
    await shop.client.post(
        "/api/cart/add/", json={"product_id": kettle["id"], "quantity": 1}, headers=shop.customer.headers
    )
    assert [m["name"] for m in (await methods_for(shop, "BD")).json()] == ["Letterbox"]
    await shop.client.put(
        f"/api/cart/items/{kettle['id']}/", json={"quantity": 2}, headers=shop.customer.headers
    )
    assert [m["name"] for m in (await methods_for(shop, "BD")).json()] == ["Freight"]

    too_heavy = await order(shop, kettle["id"], 2, shipping_method_id=light)
    body = assert_error(too_heavy, 400, "shipping_unavailable")
    assert "1200 g" in body["detail"]
    assert await stock_of(shop, kettle) == 10
    placed = await order(shop, kettle["id"], 2, shipping_method_id=standard)
    assert placed.status_code == 201, placed.text


async def test_cart_checkout_refused_for_shipping_keeps_the_cart(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "20.00", stock_quantity=5)
    await zone(shop, "South Asia", {"BD"}, {"name": "Standard", "price": 600})
    await shop.client.post("/api/cart/add/", json={"product_id": lamp["id"]}, headers=shop.customer.headers)

    refused = await shop.client.post(
        "/api/cart/checkout/",
        json={"payment_method": "cod", "shipping_address": LONDON},
        headers=shop.customer.headers,
    )

    assert_error(refused, 400, "shipping_unavailable")
    cart = (await shop.client.get("/api/cart/", headers=shop.customer.headers)).json()
    assert [(i["product_id"], i["quantity"]) for i in cart["items"]] == [(lamp["id"], 1)]
    assert await stock_of(shop, lamp) == 5


async def test_the_cart_lists_its_methods_priced_for_it(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "20.00", stock_quantity=50, discount_percentage="50")
    await zone(
        shop,
        "South Asia",
        {"BD"},
        {"name": "Express", "price": 1500, "delivery_days": 1},
        {"name": "Standard", "price": 600, "free_over": 5000, "delivery_days": 5},
    )
    await shop.client.post(
        "/api/cart/add/", json={"product_id": lamp["id"], "quantity": 4}, headers=shop.customer.headers
    )

    listed = await methods_for(shop, "BD")

    assert listed.status_code == 200, listed.text
    # 4 x 10.00 after the discount: under Standard's 50.00 threshold.
    assert [(m["name"], m["price"], m["delivery_days"]) for m in listed.json()] == [
        ("Standard", "6.00", 5),
        ("Express", "15.00", 1),
    ]
    await shop.client.put(
        f"/api/cart/items/{lamp['id']}/", json={"quantity": 5}, headers=shop.customer.headers
    )
    assert [m["price"] for m in (await methods_for(shop, "BD")).json()] == ["0.00", "15.00"]

    await add_voucher(shop, "SHIPFREE", "free_shipping", "0")
    await shop.client.put(
        f"/api/cart/items/{lamp['id']}/", json={"quantity": 1}, headers=shop.customer.headers
    )
    applied = await shop.client.post(
        "/api/cart/voucher/", json={"code": "shipfree"}, headers=shop.customer.headers
    )
    assert applied.status_code == 200, applied.text
    assert [m["price"] for m in (await methods_for(shop, "BD")).json()] == ["0.00", "0.00"]


async def test_a_guest_cart_lists_methods_too(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "20.00", stock_quantity=5)
    await zone(shop, "United Kingdom", {"GB"}, {"name": "Royal Mail", "price": 300})
    added = await shop.client.post("/api/cart/add/", json={"product_id": lamp["id"]})
    token = added.headers["X-Cart-Token"]

    listed = await shop.client.get("/api/cart/shipping-methods/?country=GB", headers={"X-Cart-Token": token})

    assert listed.status_code == 200, listed.text
    assert [(m["name"], m["price"]) for m in listed.json()] == [("Royal Mail", "3.00")]


@pytest.mark.parametrize("country", ["bd", "B", "ZZ", "BDX", "", "D\x00"])
async def test_the_methods_of_a_country_that_is_not_one_are_400(shop: Catalog, country: str) -> None:
    await zone(shop, "South Asia", {"BD"}, {"name": "Standard", "price": 600})

    assert_error(await methods_for(shop, country), 400)


async def test_a_country_in_no_zone_has_no_methods(shop: Catalog) -> None:
    await zone(shop, "South Asia", {"BD"}, {"name": "Standard", "price": 600})

    refused = await methods_for(shop, "AQ")

    assert "AQ" in assert_error(refused, 400, "shipping_unavailable")["detail"]
    assert_error(await shop.client.get("/api/cart/shipping-methods/", headers=shop.customer.headers), 400)


# --- tax rates ------------------------------------------------------------------------------------


async def test_the_most_specific_rate_for_the_address_applies(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "100.00", stock_quantity=10)
    await rate(shop, "US", "0.04", "Sales tax")
    await rate(shop, "US", "0.0725", "CA sales tax", region="CA")
    await rate(shop, "BD", "0.15", "VAT")

    california = (await order(shop, lamp["id"], shipping_address=LOS_ANGELES)).json()
    new_york = (await order(shop, lamp["id"], shipping_address=NEW_YORK)).json()
    bangladesh = (await order(shop, lamp["id"])).json()
    britain = (await order(shop, lamp["id"], shipping_address=LONDON)).json()

    found = [
        (o["tax_rate"], o["tax_name"], o["tax_amount"], o["items"][0]["tax_rate"], o["items"][0]["tax_name"])
        for o in (california, new_york, bangladesh, britain)
    ]
    assert found == [
        ("0.0725", "CA sales tax", "7.25", "0.0725", "CA sales tax"),
        ("0.0400", "Sales tax", "4.00", "0.0400", "Sales tax"),
        ("0.1500", "VAT", "15.00", "0.1500", "VAT"),
        ("0.1000", "Tax", "10.00", "0.1000", "Tax"),  # no rate for GB: SHOP_TAX_RATE
    ]
    assert california["shipping_address"]["region"] == "ca"
    for body in (california, new_york, bangladesh, britain):
        adds_up(body)


async def test_an_address_with_a_region_keeps_the_fingerprint_of_one_without(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "10.00", stock_quantity=10)
    key = {"Idempotency-Key": "region-less"}
    first = await shop.client.post(
        "/api/orders/",
        json={
            "items": [{"product_id": lamp["id"], "quantity": 1}],
            "payment_method": "cod",
            "shipping_address": DHAKA,
        },
        headers={**shop.customer.headers, **key},
    )
    again = await shop.client.post(
        "/api/orders/",
        json={
            "items": [{"product_id": lamp["id"], "quantity": 1}],
            "payment_method": "cod",
            "shipping_address": {**DHAKA, "region": ""},
        },
        headers={**shop.customer.headers, **key},
    )
    assert first.status_code == 201, first.text
    assert again.status_code in (200, 201), again.text
    assert again.json()["id"] == first.json()["id"]
    assert await stock_of(shop, lamp) == 9


# --- tax modes ------------------------------------------------------------------------------------


async def test_taxed_shipping_with_prices_without_tax(database_url: str) -> None:
    settings = make_settings(database_url, tax_shipping=True)
    async with open_catalog(settings) as shop:
        lamp = await shop.product("Lamp", "10.00", stock_quantity=10)
        (royal_mail,) = await zone(shop, "United Kingdom", {"GB"}, {"name": "Royal Mail", "price": 500})
        await rate(shop, "GB", "0.2", "VAT")

        placed = await order(shop, lamp["id"], shipping_address=LONDON, shipping_method_id=royal_mail)

        body = placed.json()
        assert placed.status_code == 201, placed.text
        assert (body["subtotal"], body["shipping_cost"], body["shipping_tax"]) == ("10.00", "5.00", "1.00")
        assert (body["tax_amount"], body["total_price"], body["prices_include_tax"]) == (
            "3.00",
            "18.00",
            False,
        )
        adds_up(body)


async def test_prices_with_tax_included_total_the_shelf_prices(database_url: str) -> None:
    settings = make_settings(database_url, prices_include_tax=True, tax_shipping=True)
    async with open_catalog(settings) as shop:
        lamp = await shop.product("Lamp", "12.00", stock_quantity=10)
        (royal_mail,) = await zone(shop, "United Kingdom", {"GB"}, {"name": "Royal Mail", "price": 600})
        await rate(shop, "GB", "0.2", "VAT")

        placed = await order(shop, lamp["id"], 2, shipping_address=LONDON, shipping_method_id=royal_mail)

        body = placed.json()
        assert placed.status_code == 201, placed.text
        # The customer pays the shelf prices: 2 x 12.00 + 6.00; the amounts kept are net.
        assert body["total_price"] == "30.00"
        assert (body["subtotal"], body["tax_amount"], body["shipping_cost"], body["shipping_tax"]) == (
            "20.00",
            "5.00",
            "5.00",
            "1.00",
        )
        assert body["prices_include_tax"] is True
        assert (body["items"][0]["tax_amount"], body["items"][0]["tax_rate"]) == ("4.00", "0.2000")
        adds_up(body)
        listed = await shop.client.get(f"/api/orders/{body['id']}/", headers=shop.customer.headers)
        assert listed.json()["total_price"] == "30.00"


async def test_the_invoice_lists_the_tax_by_rate_and_names_the_method(database_url: str) -> None:
    settings = make_settings(database_url, prices_include_tax=True, tax_shipping=True)
    async with open_catalog(settings) as shop:
        lamp = await shop.product("Lamp", "12.00", stock_quantity=10)
        (royal_mail,) = await zone(shop, "United Kingdom", {"GB"}, {"name": "Royal Mail", "price": 600})
        await rate(shop, "GB", "0.2", "VAT")
        placed = await order(shop, lamp["id"], 2, shipping_address=LONDON, shipping_method_id=royal_mail)
        assert placed.status_code == 201, placed.text

        pdf = await shop.client.get(
            f"/api/orders/{placed.json()['id']}/invoice/", headers=shop.customer.headers
        )

        assert pdf.status_code == 200, pdf.text
        text = " ".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages).split())
        # One rate: the goods' 4.00 and the shipping's 1.00 of VAT on 25.00 net, in one line.
        assert "VAT 20% on 25.00 5.00" in text
        assert "Shipping (Royal Mail) 5.00" in text
        assert "Prices included tax" in text


async def test_a_saved_addresss_region_picks_the_regions_rate(shop: Catalog) -> None:
    lamp = await shop.product("Lamp", "100.00", stock_quantity=10)
    await rate(shop, "US", "0.04", "Sales tax")
    await rate(shop, "US", "0.0725", "CA sales tax", region="CA")
    saved = await shop.client.post("/api/addresses/", json=LOS_ANGELES, headers=shop.customer.headers)
    assert saved.status_code == 201, saved.text
    assert saved.json()["region"] == "ca"
    moved = await shop.client.patch(
        f"/api/addresses/{saved.json()['id']}/", json={"region": " CA "}, headers=shop.customer.headers
    )
    assert moved.json()["region"] == "CA"

    placed = await shop.client.post(
        "/api/orders/",
        json={"items": [{"product_id": lamp["id"], "quantity": 1}], "payment_method": "cod"},
        headers=shop.customer.headers,
    )

    assert placed.status_code == 201, placed.text
    assert (placed.json()["tax_name"], placed.json()["tax_amount"]) == ("CA sales tax", "7.25")
    assert placed.json()["shipping_address"]["region"] == "CA"
    too_long = await shop.client.patch(
        f"/api/addresses/{saved.json()['id']}/", json={"region": "x" * 65}, headers=shop.customer.headers
    )
    assert_error(too_long, 400)
