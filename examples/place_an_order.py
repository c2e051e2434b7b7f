"""Use `shop_core` from your own program: bootstrap a shop, place an order, read it back.

Needs the core with its `sql`, `auth` (password hashing) and `mail` extras (registering and ordering
send emails; without `SHOP_SMTP_URL` they go to the `shop.mail` logger):

    pip install 'headless-shop[sql,auth,mail]'
    python examples/place_an_order.py

It works on a throwaway SQLite database in a temporary directory, so it leaves nothing behind.
Everything goes through the core's public API: `Settings`, `migrate`, `bootstrap` and the `Shop`
it yields, with the same commands (validated by msgspec) that the REST API and the CLI build.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import msgspec

from shop_core.bootstrap import Shop, bootstrap, migrate
from shop_core.domain.actors import Actor
from shop_core.services.catalog_commands import CreateProduct
from shop_core.services.commands import RegisterUser
from shop_core.services.order_commands import PlaceOrder
from shop_core.services.order_views import OrderView
from shop_core.settings import Settings


def settings_for(database: Path) -> Settings:
    """The shop's settings, from a mapping rather than the environment (`Settings.from_env()`)."""
    return Settings.from_mapping(
        {
            "SHOP_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "SHOP_CURRENCY": "EUR",
            "SHOP_TAX_RATE": "0.2",
            "SHOP_SHIPPING_FLAT": "4.90",
        }
    )


async def place_and_read_back(shop: Shop) -> OrderView:
    customer = await shop.accounts.register(
        msgspec.convert(
            {"email": "ada@example.com", "password": "a long enough password", "first_name": "Ada"},
            RegisterUser,
        )
    )
    teapot = await shop.catalog.create_product(
        msgspec.convert(
            {"name": "Teapot", "sku": "TEA-1", "price": "24.50", "stock_quantity": 10}, CreateProduct
        ),
        Actor.operator("example"),  # staff: here, an operator named "example"
    )
    # Who acts: the customer, ordering for themselves (staff would be `is_staff=True`).
    ada = Actor.user(customer.id, customer.email, is_staff=False)
    order = msgspec.convert(
        {
            "items": [{"product_id": teapot.id, "quantity": 2}],
            "shipping_address": {
                "full_name": "Ada Lovelace",
                "line1": "12 St James's Square",
                "city": "London",
                "postal_code": "SW1Y 4JH",
                "country": "GB",
            },
            "payment_method": "cod",
        },
        PlaceOrder,
    )
    placed = await shop.orders.place_order(customer.id, ada, order, idempotency_key="example-order-1")
    print(f"Placed order {placed.order.order_number} for {customer.email}")
    read_back = await shop.orders.get_order_by_number(placed.order.order_number, ada)
    await shop.jobs.drain_jobs()  # the order's confirmation email, sent (to the log) in this process
    return read_back


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        settings = settings_for(Path(directory) / "shop.db")
        revision = migrate(settings)  # creates the tables; synchronous, outside the event loop
        print(f"Database migrated to {revision}")

        async def run() -> OrderView:
            async with bootstrap(settings) as shop:
                return await place_and_read_back(shop)

        order = asyncio.run(run())
    lines = ", ".join(f"{item.quantity} x {item.product_name} ({item.sku})" for item in order.items)
    print(f"Read back order {order.order_number}: {order.status}, {lines}")
    print(
        f"subtotal {order.subtotal} + tax {order.tax_amount} + shipping {order.shipping_cost} "
        f"= {order.total_price} {order.currency}"
    )
    print(msgspec.json.encode(order).decode())


if __name__ == "__main__":
    main()
