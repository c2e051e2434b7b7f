"""The original API's paths that its clients (the Postman collection) still call, and id segments
that are no id: a path that names nothing is 404, never 405."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.http.conftest import Account, Catalog, Client, assert_error
from tests.http.test_openapi import SCHEMA
from tests.http.test_orders import ADDRESS
from tests.http.test_payments import Shop, assert_payment, shop  # noqa: F401 - `shop` is a fixture


def order_body(product_id: int, quantity: int = 1, method: str = "cod") -> dict[str, Any]:
    return {
        "items": [{"product_id": product_id, "quantity": quantity}],
        "shipping_address": ADDRESS,
        "payment_method": method,
    }


async def stock_of(client: Client, product_id: int) -> int:
    found = await client.get(f"/api/products/{product_id}/")
    assert found.status_code == 200, found.text
    stock: int = found.json()["stock_quantity"]
    return stock


@pytest.mark.parametrize("path", ["/api/orders/create/", "/api/orders/create"])
async def test_the_legacy_order_path_places_an_order_as_the_new_one_does(catalog: Catalog, path: str) -> None:
    client, customer = catalog.client, catalog.customer
    lamp = await catalog.product("Lamp", "25.00", stock_quantity=10)
    key = str(uuid.uuid4())
    headers = {**customer.headers, "Idempotency-Key": key}

    placed = await client.post(path, json=order_body(lamp["id"], 2), headers=headers)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["status"] == "pending"
    assert [(i["product_id"], i["quantity"]) for i in order["items"]] == [(lamp["id"], 2)]
    assert await stock_of(client, lamp["id"]) == 8

    # The same key replays the first order, on either path, and takes no more stock.
    for again_path in (path, "/api/orders/"):
        again = await client.post(again_path, json=order_body(lamp["id"], 2), headers=headers)
        assert again.status_code == 201, again.text
        assert again.json()["id"] == order["id"]
    assert await stock_of(client, lamp["id"]) == 8
    reused = await client.post(path, json=order_body(lamp["id"], 1), headers=headers)
    assert_error(reused, 409, "idempotency_key_reused")

    mine = await client.get("/api/orders/", headers=customer.headers)
    assert [o["id"] for o in mine.json()["results"]] == [order["id"]]


async def test_the_legacy_order_path_needs_a_customer_and_valid_input(catalog: Catalog) -> None:
    client = catalog.client
    lamp = await catalog.product("Lamp", "25.00", stock_quantity=1)
    assert_error(await client.post("/api/orders/create/", json=order_body(lamp["id"])), 401)
    too_many = await client.post(
        "/api/orders/create/", json=order_body(lamp["id"], 5), headers=catalog.customer.headers
    )
    assert too_many.status_code == 409
    assert too_many.json()["code"] == "insufficient_stock"
    assert_error(
        await client.post("/api/orders/create/", json={"items": []}, headers=catalog.customer.headers),
        400,
        "invalid",
    )
    assert await stock_of(client, lamp["id"]) == 1


@pytest.mark.parametrize("path", ["/api/payments/create-session/", "/api/payments/create-session"])
async def test_the_legacy_payment_path_starts_a_payment_as_the_new_one_does(shop: Shop, path: str) -> None:  # noqa: F811
    order = await shop.order("stripe")
    key = str(uuid.uuid4())
    headers = {**shop.customer.headers, "Idempotency-Key": key}

    first = assert_payment(await shop.client.post(path, json={"order_id": order["id"]}, headers=headers), 201)
    assert first["order_id"] == order["id"]
    assert first["client_secret"]
    again = await shop.client.post("/api/payments/process/", json={"order_id": order["id"]}, headers=headers)
    assert assert_payment(again, 201)["id"] == first["id"]
    live = await shop.client.post(path, json={"order_id": order["id"]}, headers=shop.customer.headers)
    assert assert_payment(live, 200)["id"] == first["id"]  # the order's live payment, no new one
    assert len(shop.stripe.payment_intents()) == 1

    assert_error(await shop.client.post(path, json={"order_id": order["id"]}), 401)
    someone_elses = await shop.client.post(path, json={"order_id": order["id"]}, headers=shop.other.headers)
    assert_error(someone_elses, 404, "not_found")


def test_the_legacy_paths_are_deprecated_aliases_in_the_schema() -> None:
    for legacy, current in (
        ("/api/orders/create", "/api/orders"),
        ("/api/payments/create-session", "/api/payments/process"),
    ):
        old, new = SCHEMA["paths"][legacy]["post"], SCHEMA["paths"][current]["post"]
        assert old["deprecated"] is True
        assert new.get("deprecated") is not True
        assert old["requestBody"] == new["requestBody"]
        assert old["responses"] == new["responses"]
        assert old["security"] == new["security"] == [{"BearerToken": []}]
        assert (
            {p["name"] for p in old["parameters"]}
            == {p["name"] for p in new["parameters"]}
            == {"Idempotency-Key"}
        )


# Every `{id}` path, with each method (a method the path serves, and one it does not).
ID_PATHS = [
    "/api/orders/{}",
    "/api/orders/{}/invoice",
    "/api/orders/{}/payments",
    "/api/orders/{}/confirm-cash",
    "/api/payments/{}",
    "/api/payments/{}/refund",
    "/api/payments/{}/verify",
    "/api/products/{}",
    "/api/categories/{}",
    "/api/cart/items/{}",
]
NOT_IDS = ["new", "abc", "1.5", "0x10", "%20", "-"]


@pytest.mark.parametrize("template", ID_PATHS)
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
async def test_an_id_segment_that_is_no_integer_is_404(
    client: Client, account: Account, template: str, method: str
) -> None:
    for not_an_id in NOT_IDS:
        for trailing in ("", "/"):
            path = template.format(not_an_id) + trailing
            for headers in ({}, account.headers):
                answered = await client.request(method, path, headers=headers, json={})
                assert_error(answered, 404, "not_found")
                assert answered.json() == {"detail": "Not Found.", "code": "not_found"}


async def test_a_method_a_real_id_path_does_not_serve_is_still_405(client: Client, account: Account) -> None:
    for method, path in (
        ("POST", "/api/orders/1/"),
        ("POST", "/api/products/1"),
        ("PUT", "/api/orders/1/invoice"),
    ):
        answered = await client.request(method, path, headers=account.headers)
        assert_error(answered, 405, "method_not_allowed")
    # The legacy paths are paths of their own: POST only.
    for path in ("/api/orders/create/", "/api/payments/create-session"):
        answered = await client.get(path, headers=account.headers)
        assert_error(answered, 405, "method_not_allowed")
        assert "POST" in answered.headers["allow"]
