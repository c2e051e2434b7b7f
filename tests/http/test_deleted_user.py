"""A user deleted from the database behind the shop's back (raw SQL: no `user_changed`, no stamp
moved on) still holds a signed, unexpired token. With it, every endpoint answers 401 and stores
nothing: never a 500 from the orders' foreign key. On SQLite alone, and with Redis on SQLite and on
PostgreSQL (where the processes remember users they have read under a stamp that this deletion does
not move)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from shop_core.settings import Settings
from tests.conftest import make_settings
from tests.http.conftest import Account, Catalog, assert_error, engine_of, in_app, open_catalog

ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        # PostgreSQL's order placement checks the user in the order's own statement.
        pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ]
)
def shop_settings(request: pytest.FixtureRequest) -> Settings:
    extra: dict[str, Any] = {}
    if "redis" in request.param:
        extra = {
            "redis_url": request.getfixturevalue("redis_url"),
            "redis_key_prefix": request.getfixturevalue("redis_prefix"),
        }
    database = "pg_url" if request.param.startswith("postgres") else "sqlite_url"
    return make_settings(request.getfixturevalue(database), **extra)


@pytest.fixture
async def shop(shop_settings: Settings) -> AsyncIterator[Catalog]:
    async with open_catalog(shop_settings) as opened:
        yield opened


async def sql(cat: Catalog, statement: str, **params: Any) -> list[Any]:
    async def run() -> list[Any]:
        async with engine_of(cat.client).begin() as conn:
            result = await conn.execute(sa.text(statement), params)
            return list(result.all()) if result.returns_rows else []

    rows: list[Any] = await in_app(cat.client, run)
    return rows


async def delete_behind_the_shops_back(cat: Catalog, who: Account) -> None:
    await sql(cat, "DELETE FROM users WHERE id = :id", id=who.id)
    assert await sql(cat, "SELECT id FROM users WHERE id = :id", id=who.id) == []


async def warmed_up(cat: Catalog) -> tuple[Account, int]:
    """The customer, known to the app (it served them a few times), with a product in the cart."""
    product = await cat.product("Lamp", "10.00", stock_quantity=5)
    me = cat.customer
    for _ in range(3):
        assert (await cat.client.get("/api/auth/profile/", headers=me.headers)).status_code == 200
    added = await cat.client.post(
        "/api/cart/add/", json={"product_id": product["id"], "quantity": 1}, headers=me.headers
    )
    assert added.status_code == 200, added.text
    return me, product["id"]


async def test_every_endpoint_refuses_the_token_of_a_deleted_user(shop: Catalog) -> None:
    me, product_id = await warmed_up(shop)
    await delete_behind_the_shops_back(shop, me)

    client = shop.client
    placed = await client.post(
        "/api/orders/",
        json={
            "items": [{"product_id": product_id, "quantity": 1}],
            "shipping_address": ADDRESS,
            "payment_method": "cod",
        },
        headers=me.headers,
    )
    checkout = await client.post(
        "/api/cart/checkout/", json={"shipping_address": ADDRESS, "payment_method": "cod"}, headers=me.headers
    )
    profile = await client.get("/api/auth/profile/", headers=me.headers)
    patched = await client.patch("/api/auth/profile/", json={"first_name": "Ghost"}, headers=me.headers)
    orders = await client.get("/api/orders/", headers=me.headers)
    cart = await client.get("/api/cart/", headers=me.headers)

    for response in (placed, checkout, profile, patched, orders, cart):
        assert_error(response, 401)
    assert await sql(shop, "SELECT id FROM orders") == []
    stock = await sql(shop, "SELECT stock_quantity FROM products WHERE id = :id", id=product_id)
    assert stock == [(5,)]


async def test_an_order_first_after_the_deletion_is_401_and_stores_nothing(shop: Catalog) -> None:
    """The write comes first, while the app still remembers the user as it was."""
    me, product_id = await warmed_up(shop)
    await delete_behind_the_shops_back(shop, me)

    placed = await shop.client.post(
        "/api/orders/",
        json={
            "items": [{"product_id": product_id, "quantity": 2}],
            "shipping_address": ADDRESS,
            "payment_method": "cod",
        },
        headers=me.headers,
    )

    assert_error(placed, 401)
    assert await sql(shop, "SELECT id FROM orders") == []
    assert await sql(shop, "SELECT stock_quantity FROM products WHERE id = :id", id=product_id) == [(5,)]


async def test_a_checkout_first_after_the_deletion_is_401_and_stores_nothing(shop: Catalog) -> None:
    me, product_id = await warmed_up(shop)
    await delete_behind_the_shops_back(shop, me)

    checkout = await shop.client.post(
        "/api/cart/checkout/", json={"shipping_address": ADDRESS, "payment_method": "cod"}, headers=me.headers
    )

    assert_error(checkout, 401)
    assert await sql(shop, "SELECT id FROM orders") == []
    assert await sql(shop, "SELECT stock_quantity FROM products WHERE id = :id", id=product_id) == [(5,)]


async def test_the_other_customers_are_not_affected(shop: Catalog) -> None:
    me, _ = await warmed_up(shop)
    await delete_behind_the_shops_back(shop, me)

    assert (await shop.client.get("/api/auth/profile/", headers=shop.staff.headers)).status_code == 200


async def test_an_order_deactivated_behind_the_shops_back_is_401_even_when_it_would_be_refused(
    shop: Catalog,
) -> None:
    """Deactivated with SQL (no stamp moved on): a valid order, one for more than there is, and one
    for no such product are all 401 (not 201, 409 or 400), and nothing is stored."""
    me, product_id = await warmed_up(shop)
    await sql(shop, "UPDATE users SET is_active = false WHERE id = :id", id=me.id)

    answers = [
        await shop.client.post(
            "/api/orders/",
            json={
                "items": [{"product_id": pid, "quantity": quantity}],
                "shipping_address": ADDRESS,
                "payment_method": "cod",
            },
            headers=me.headers | {"Idempotency-Key": f"deactivated-{n}"},
        )
        for n, (pid, quantity) in enumerate([(product_id, 1), (product_id, 50), (987654, 1)])
    ]

    for answer in answers:
        assert_error(answer, 401)
    assert await sql(shop, "SELECT id FROM orders") == []
    assert await sql(shop, "SELECT stock_quantity FROM products WHERE id = :id", id=product_id) == [(5,)]
