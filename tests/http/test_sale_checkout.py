"""Sales in carts and orders: while a sale runs, the cart prices a line at the better of the
product's own discount and the sale (never both) and the order keeps that price; by the shop's
clock, a sale that has not started or has ended changes nothing. A voucher applies to the price
after the sale."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from shop_core.settings import Settings
from tests.conftest import make_settings
from tests.fakes import FakeClock
from tests.http.conftest import Account, Client, new_account, new_staff
from tests.http.test_cart_vouchers import add_voucher_to, assert_totals_identity
from tests.http.test_sale_prices import on_the_clock

HOUR = 3600
ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "1 Main St",
    "city": "London",
    "postal_code": "N1",
    "country": "GB",
}


class Store:
    """Kitchen > Pots; a pot (20.00) in Pots, a knife (10.00, its own 30% off) in Kitchen, a lid
    (5.00) in no category; a sale of 25% on Kitchen from hour 1 to hour 3 of the shop's clock."""

    def __init__(self, client: Client, clock: FakeClock, staff: Account, customer: Account) -> None:
        self.client, self.clock, self.staff, self.customer = client, clock, staff, customer
        self.ids: dict[str, int] = {}

    async def post(self, path: str, body: dict[str, Any]) -> int:
        made = await self.client.post(path, json=body, headers=self.staff.headers)
        assert made.status_code == 201, made.text
        found: int = made.json()["id"]
        return found

    async def stock(self) -> Store:
        kitchen = await self.post("/api/categories/", {"name": "Kitchen"})
        pots = await self.post("/api/categories/", {"name": "Pots", "parent": kitchen})
        for name, price, extra in (
            ("pot", "20.00", {"category": pots}),
            ("knife", "10.00", {"category": kitchen, "discount_percentage": "30"}),
            ("lid", "5.00", {}),
        ):
            body = {"name": name, "sku": name.upper(), "price": price, "stock_quantity": 50, **extra}
            self.ids[name] = await self.post("/api/products/", body)
        now = self.clock.now()
        await self.post(
            "/api/sales/",
            {
                "name": "Kitchen days",
                "percentage": "25",
                "starts_at": (now + timedelta(hours=1)).isoformat(),
                "ends_at": (now + timedelta(hours=3)).isoformat(),
                "category_ids": [kitchen],
            },
        )
        for name in ("pot", "knife", "lid"):
            added = await self.client.post(
                "/api/cart/add/",
                json={"product_id": self.ids[name], "quantity": 2},
                headers=self.customer.headers,
            )
            assert added.status_code == 200, added.text
        return self

    async def unit_prices(self) -> dict[str, str]:
        cart = await self.client.get("/api/cart/", headers=self.customer.headers)
        assert cart.status_code == 200, cart.text
        names = {v: k for k, v in self.ids.items()}
        return {names[line["product_id"]]: line["unit_price"] for line in cart.json()["items"]}

    async def checkout(self, **extra: Any) -> dict[str, Any]:
        placed = await self.client.post(
            "/api/cart/checkout/",
            json={"shipping_address": ADDRESS, "payment_method": "cod", **extra},
            headers=self.customer.headers,
        )
        assert placed.status_code == 201, placed.text
        order: dict[str, Any] = placed.json()
        assert_totals_identity(order)
        return order


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, access_token_ttl=86_400)  # the clock moves hours


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    clock = FakeClock()
    async with on_the_clock(settings, clock) as client:
        staff, customer = await new_staff(client), await new_account(client)
        yield await Store(client, clock, staff, customer).stock()


BEFORE = {"pot": "20.00", "knife": "7.00", "lid": "5.00"}
DURING = {"pot": "15.00", "knife": "7.00", "lid": "5.00"}  # the knife's own 30% beats the sale's 25%


async def test_the_cart_follows_the_sale_by_the_clock(store: Store) -> None:
    assert await store.unit_prices() == BEFORE
    store.clock.advance(1 * HOUR)
    assert await store.unit_prices() == DURING
    store.clock.advance(2 * HOUR)
    assert await store.unit_prices() == BEFORE


async def test_an_order_keeps_the_sale_price_it_was_placed_at(store: Store) -> None:
    store.clock.advance(2 * HOUR)

    order = await store.checkout()

    lines = {line["sku"]: line for line in order["items"]}
    assert (lines["POT"]["unit_price"], lines["POT"]["final_unit_price"]) == ("20.00", "15.00")
    assert lines["POT"]["discount_amount"] == "10.00"  # 2 x 5.00 off: the sale
    assert (lines["KNIFE"]["final_unit_price"], lines["KNIFE"]["discount_amount"]) == ("7.00", "6.00")
    assert (lines["LID"]["final_unit_price"], lines["LID"]["discount_amount"]) == ("5.00", "0.00")
    assert order["subtotal"] == "70.00"
    assert order["discount_amount"] == "16.00"
    # The sale ends; the order keeps its prices.
    store.clock.advance(2 * HOUR)
    again = await store.client.get(f"/api/orders/{order['id']}/", headers=store.customer.headers)
    assert again.json()["discount_amount"] == "16.00"


async def test_an_order_placed_before_the_sale_pays_the_plain_price(store: Store) -> None:
    order = await store.checkout()
    assert order["discount_amount"] == "6.00"  # the knife's own discount only


async def test_a_voucher_applies_to_the_price_after_the_sale(store: Store) -> None:
    await add_voucher_to(store.client, "TENOFF", value="10")
    store.clock.advance(1.5 * HOUR)
    applied = await store.client.post(
        "/api/cart/voucher/", json={"code": "tenoff"}, headers=store.customer.headers
    )
    assert applied.status_code == 200, applied.text
    assert (applied.json()["subtotal"], applied.json()["discount"]) == ("54.00", "5.40")

    order = await store.checkout()

    assert order["voucher_discount"] == "5.40"
    assert order["discount_amount"] == "21.40"  # the sale's 10.00, the knife's own 6.00, the voucher's 5.40


async def test_a_sale_on_a_product_prices_it_in_the_cart_and_the_order(store: Store) -> None:
    now = store.clock.now()
    await store.post(
        "/api/sales/",
        {
            "name": "Lids",
            "percentage": "40",
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "product_ids": [store.ids["lid"]],
        },
    )
    assert await store.unit_prices() == {**BEFORE, "lid": "3.00"}

    order = await store.checkout()

    lid = next(line for line in order["items"] if line["sku"] == "LID")
    assert (lid["final_unit_price"], lid["discount_amount"]) == ("3.00", "4.00")
