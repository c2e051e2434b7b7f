"""A shop to review in, driven through the HTTP API as clients drive it: staff make products,
customers order them (cash on delivery), staff confirm the cash and move the orders to delivered.

    world = ReviewWorld(client, staff)
    lamp = await world.product("Desk Lamp")
    ada = await world.customer("Ada", "Lovelace")
    await world.delivered(ada, lamp)            # ada may now review the lamp
    made = await world.review(ada, lamp, rating=5, title="Bright")
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from tests.http.conftest import PASSWORD, Account, Client, engine_of, in_app, login, register, unique_email

ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}
REVIEW_FIELDS = {
    "id",
    "product_id",
    "rating",
    "title",
    "body",
    "author_name",
    "verified_purchase",
    "is_published",
    "created_at",
    "updated_at",
}


@dataclass
class ReviewWorld:
    client: Client
    staff: Account

    async def product(
        self, name: str = "Desk Lamp", price: str = "25.00", stock: int = 1000
    ) -> dict[str, Any]:
        fields = {"name": name, "sku": f"SKU-{uuid.uuid4().hex[:8].upper()}", "price": price}
        made = await self.client.post(
            "/api/products/", json={**fields, "stock_quantity": stock}, headers=self.staff.headers
        )
        assert made.status_code == 201, made.text
        body: dict[str, Any] = made.json()
        return body

    async def customer(self, first_name: str = "", last_name: str = "") -> Account:
        email = unique_email("customer")
        made = await register(self.client, email, PASSWORD, first_name=first_name, last_name=last_name)
        assert made.status_code == 201, made.text
        tokens = await login(self.client, email)
        assert tokens.status_code == 200, tokens.text
        body = tokens.json()
        return Account(made.json()["id"], email, PASSWORD, body["access"], body["refresh"])

    async def order(self, who: Account, *products: dict[str, Any], paid: bool = True) -> dict[str, Any]:
        body = {
            "items": [{"product_id": p["id"], "quantity": 1} for p in products],
            "shipping_address": ADDRESS,
            "payment_method": "cod",
        }
        placed = await self.client.post("/api/orders/", json=body, headers=who.headers)
        assert placed.status_code == 201, placed.text
        order: dict[str, Any] = placed.json()
        if paid:
            confirmed = await self.client.post(
                f"/api/orders/{order['id']}/confirm-cash/", headers=self.staff.headers
            )
            assert confirmed.status_code == 200, confirmed.text
        return order

    async def move(self, order: dict[str, Any], *statuses: str) -> None:
        for status in statuses:
            moved = await self.client.patch(
                f"/api/orders/{order['id']}/", json={"status": status}, headers=self.staff.headers
            )
            assert moved.status_code == 200, moved.text

    async def delivered(self, who: Account, *products: dict[str, Any]) -> dict[str, Any]:
        """An order of `who` holding one of each product, paid and delivered."""
        order = await self.order(who, *products)
        await self.move(order, "processing", "shipped", "delivered")
        return order

    async def post_review(self, who: Account | None, product_id: int, body: Any) -> httpx.Response:
        headers = {} if who is None else who.headers
        return await self.client.post(f"/api/products/{product_id}/reviews/", json=body, headers=headers)

    async def review(self, who: Account, product: dict[str, Any], **fields: Any) -> dict[str, Any]:
        made = await self.post_review(who, product["id"], {"rating": 5, **fields})
        assert made.status_code == 201, made.text
        body: dict[str, Any] = made.json()
        return body

    async def edit(self, who: Account, review: dict[str, Any], **fields: Any) -> httpx.Response:
        return await self.client.patch(f"/api/reviews/{review['id']}/", json=fields, headers=who.headers)

    async def public(self, product: dict[str, Any], query: str = "") -> httpx.Response:
        return await self.client.get(f"/api/products/{product['id']}/reviews/{query}")

    async def shown(self, product: dict[str, Any]) -> dict[str, Any]:
        """The product as a guest sees it (through the catalog cache when it is on)."""
        found = await self.client.get(f"/api/products/{product['id']}/")
        assert found.status_code == 200, found.text
        body: dict[str, Any] = found.json()
        return body

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        async def run() -> list[Any]:
            async with engine_of(self.client).connect() as conn:
                return list((await conn.execute(sa.text(statement), params)).all())

        rows: list[Any] = await in_app(self.client, run)
        return rows

    async def execute(self, statement: str, **params: Any) -> None:
        """Change rows behind the shop's back (committed; the shop hears nothing of it)."""

        async def run() -> None:
            async with engine_of(self.client).begin() as conn:
                await conn.execute(sa.text(statement), params)

        await in_app(self.client, run)

    async def stored_reviews(self) -> list[tuple[Any, ...]]:
        """Every review row, by id: what a refused request must leave as it was."""
        return [tuple(r) for r in await self.sql("SELECT * FROM reviews ORDER BY id")]

    async def totals(self, product: dict[str, Any]) -> tuple[int, int]:
        """The product's (rating_count, rating_sum) as stored."""
        [row] = await self.sql(
            "SELECT rating_count, rating_sum FROM products WHERE id = :id", id=product["id"]
        )
        return int(row[0]), int(row[1])

    async def recount(self, product: dict[str, Any]) -> tuple[int, int]:
        """The same, counted afresh from the reviews table."""
        [row] = await self.sql(
            "SELECT COUNT(*), COALESCE(SUM(rating), 0) FROM reviews WHERE product_id = :id AND is_published",
            id=product["id"],
        )
        return int(row[0]), int(row[1])
