"""Stock lives on variants: every product has its default variant, and whichever way stock or the
sku changes (creating, the legacy product fields, a stock change, an import, a sale, a
cancellation), the variant and the product's total agree, and the movements and order lines name
the variant. On SQLite and PostgreSQL (whose checkout takes the fast path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.services.catalog_commands import ChangeStock, CreateProduct, UpdateProduct
from shop_core.services.catalog_import import read_csv
from shop_core.services.commands import RegisterUser
from shop_core.services.order_commands import PlaceOrder
from tests.conftest import make_settings, shop_factory
from tests.fakes import FakeClock
from tests.variants_support import add_variants

STAFF = Actor.operator()
ADDRESS = {"full_name": "Ada", "line1": "1 Road", "city": "London", "postal_code": "N1", "country": "GB"}


@pytest.fixture
async def shop(database_url: str) -> AsyncIterator[Shop]:
    async with shop_factory(make_settings(database_url)) as built:
        yield built


@pytest.fixture
async def rows(database_url: str) -> AsyncIterator[Rows]:
    engine = create_async_engine(database_url, poolclass=NullPool)
    yield Rows(engine)
    await engine.dispose()


class Rows:
    """What the database holds, read beside the shop."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def all(self, query: str) -> list[tuple[Any, ...]]:
        async with self.engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(sa.text(query))]

    async def variants(self) -> list[tuple[str, int, bool, int]]:
        """(sku, stock, is_default, product's stock) of every variant, by product."""
        found = await self.all(
            "SELECT v.sku, v.stock_quantity, v.is_default, p.stock_quantity FROM product_variants v"
            " JOIN products p ON p.id = v.product_id ORDER BY p.id, v.id"
        )
        return [(sku, stock, bool(default), total) for sku, stock, default, total in found]


async def test_the_default_variant_follows_every_kind_of_change(shop: Shop, rows: Rows) -> None:
    mug = await shop.catalog.create_product(
        CreateProduct(name="Mug", sku="MUG-1", price=Decimal("5.00"), stock_quantity=10), STAFF
    )
    assert await rows.variants() == [("MUG-1", 10, True, 10)]

    await shop.catalog.update_product(mug.id, UpdateProduct(sku="MUG-2", stock_quantity=12), STAFF)
    assert await rows.variants() == [("MUG-2", 12, True, 12)]

    await shop.stock.change_stock(ChangeStock(sku="MUG-2", reason="damage", delta=-2), STAFF)
    assert await rows.variants() == [("MUG-2", 10, True, 10)]

    csv = b"sku,name,price,stock_quantity\nMUG-2,Mug,5.00,4\nPOT-1,Pot,9.00,3\n"
    report = await shop.catalog.import_products(read_csv(csv), STAFF)
    assert (report.created, report.updated) == (1, 1)
    assert await rows.variants() == [("MUG-2", 4, True, 4), ("POT-1", 3, True, 3)]


async def test_a_sale_and_its_cancellation_move_the_variant_and_name_it(shop: Shop, rows: Rows) -> None:
    mug = await shop.catalog.create_product(
        CreateProduct(name="Mug", sku="MUG-1", price=Decimal("5.00"), stock_quantity=10), STAFF
    )
    ada = await shop.accounts.register(
        msgspec.convert({"email": "ada@example.com", "password": "a long enough password"}, RegisterUser)
    )
    customer = Actor.user(ada.id, ada.email, is_staff=False)
    cmd = msgspec.convert(
        {
            "items": [{"product_id": mug.id, "quantity": 3}],
            "shipping_address": ADDRESS,
            "payment_method": "cod",
        },
        PlaceOrder,
    )
    placed = await shop.orders.place_order(ada.id, customer, cmd)
    assert await rows.variants() == [("MUG-1", 7, True, 7)]

    await shop.orders.cancel_order(placed.order.id, customer)
    assert await rows.variants() == [("MUG-1", 10, True, 10)]

    [(variant_id,)] = await rows.all("SELECT id FROM product_variants")
    assert [(i.variant_id, i.variant_name) for i in placed.order.items] == [(variant_id, "")]
    assert await rows.all("SELECT variant_id, variant_name FROM order_lines") == [(variant_id, "")]
    assert await rows.all("SELECT variant_id, delta, balance_after FROM stock_movements ORDER BY id") == [
        (variant_id, 10, 10),
        (variant_id, -3, 7),
        (variant_id, 3, 10),
    ]


async def test_a_deactivated_product_sells_nothing_and_its_variant_keeps_its_stock(
    shop: Shop, rows: Rows
) -> None:
    mug = await shop.catalog.create_product(
        CreateProduct(name="Mug", sku="MUG-1", price=Decimal("5.00"), stock_quantity=5), STAFF
    )
    await shop.catalog.update_product(mug.id, UpdateProduct(is_active=False), STAFF)
    ada = await shop.accounts.register(
        msgspec.convert({"email": "ada@example.com", "password": "a long enough password"}, RegisterUser)
    )
    cmd = msgspec.convert(
        {
            "items": [{"product_id": mug.id, "quantity": 1}],
            "shipping_address": ADDRESS,
            "payment_method": "cod",
        },
        PlaceOrder,
    )
    with pytest.raises(Exception, match="No such product"):
        await shop.orders.place_order(ada.id, Actor.user(ada.id, ada.email, is_staff=False), cmd)
    assert await rows.variants() == [("MUG-1", 5, True, 5)]


# --- an option variant's stock goes back to it ----------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def timed_shop(database_url: str, clock: FakeClock) -> AsyncIterator[Shop]:
    async with shop_factory(make_settings(database_url, order_payment_timeout=600), clock=clock) as built:
        yield built


async def _shirt_order(shop: Shop, method: str) -> tuple[int, dict[str, int], Actor, int]:
    """A shirt in S (5) and M (4) without a default variant, and an order of 2 M and 1 S."""
    shirt = await shop.catalog.create_product(
        CreateProduct(name="Shirt", sku="TEE", price=Decimal("20.00")), STAFF
    )
    size = await add_variants(shop, shirt.id, "Size", {"S": 5, "M": 4})
    ada = await shop.accounts.register(
        msgspec.convert({"email": "ada@example.com", "password": "a long enough password"}, RegisterUser)
    )
    customer = Actor.user(ada.id, ada.email, is_staff=False)
    cmd = msgspec.convert(
        {
            "items": [
                {"product_id": shirt.id, "variant_id": size["M"], "quantity": 2},
                {"product_id": shirt.id, "variant_id": size["S"], "quantity": 1},
            ],
            "shipping_address": ADDRESS,
            "payment_method": method,
        },
        PlaceOrder,
    )
    placed = await shop.orders.place_order(ada.id, customer, cmd)
    assert [(i.variant_id, i.variant_name, i.sku) for i in placed.order.items] == [
        (size["S"], "S", "TEE-S"),
        (size["M"], "M", "TEE-M"),
    ]
    return shirt.id, size, customer, placed.order.id


async def test_a_cancelled_order_returns_each_option_variants_stock(timed_shop: Shop, rows: Rows) -> None:
    _, size, customer, order_id = await _shirt_order(timed_shop, "cod")
    assert await rows.variants() == [("TEE-S", 4, False, 6), ("TEE-M", 2, False, 6)]

    await timed_shop.orders.cancel_order(order_id, customer)

    assert await rows.variants() == [("TEE-S", 5, False, 9), ("TEE-M", 4, False, 9)]
    returned = await rows.all(
        "SELECT variant_id, delta, balance_after FROM stock_movements WHERE reason = 'cancellation'"
    )
    assert sorted(returned) == sorted([(size["S"], 1, 5), (size["M"], 2, 4)])


async def test_an_expired_order_returns_each_option_variants_stock(
    timed_shop: Shop, rows: Rows, clock: FakeClock
) -> None:
    _, size, _, order_id = await _shirt_order(timed_shop, "stripe")
    assert await timed_shop.orders.expire_unpaid_orders() == 0
    clock.advance(601)

    assert await timed_shop.orders.expire_unpaid_orders() == 1

    assert await rows.variants() == [("TEE-S", 5, False, 9), ("TEE-M", 4, False, 9)]
    assert await rows.all("SELECT id, status FROM orders") == [(order_id, "cancelled")]
    returned = await rows.all("SELECT variant_id, delta FROM stock_movements WHERE reason = 'cancellation'")
    assert sorted(returned) == sorted([(size["S"], 1), (size["M"], 2)])
