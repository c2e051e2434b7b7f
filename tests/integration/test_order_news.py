"""The unit of work hands the ids of the orders whose audit events it wrote to the order news after
the commit, and only then: placement (PostgreSQL's one-statement path too), moves, payments, expiry;
a rollback, or leaving without committing, announces nothing. On both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from shop_core.adapters.sql.database import open_database
from shop_core.adapters.sql.unit_of_work import SqlUnitOfWork
from shop_core.bootstrap import Shop, bootstrap
from shop_core.domain.actors import Actor
from shop_core.domain.errors import Conflict
from shop_core.domain.orders import OrderEvent
from shop_core.services.catalog_commands import CreateProduct
from shop_core.services.commands import RegisterUser
from shop_core.services.order_commands import ChangeOrderStatus, OrderItemInput, PlaceOrder
from tests.conftest import fast_hasher, make_settings
from tests.fakes import FakeClock
from tests.integration.test_orders_service import ADDRESS, STAFF, T0

TIMEOUT = 60


@dataclass
class World:
    shop: Shop
    clock: FakeClock
    announced: list[set[int]]
    customer: Actor
    product: int

    async def place(self, method: str = "cod") -> int:
        cmd = PlaceOrder(
            items=[OrderItemInput(product_id=self.product, quantity=1)],
            shipping_address=ADDRESS,
            payment_method=method,
        )
        assert self.customer.user_id is not None
        placed = await self.shop.orders.place_order(self.customer.user_id, self.customer, cmd)
        return placed.order.id


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    settings = make_settings(database_url, order_payment_timeout=TIMEOUT)
    clock = FakeClock(T0)
    announced: list[set[int]] = []
    db = open_database(database_url, pool_size=5)
    try:

        def uow() -> SqlUnitOfWork:
            return SqlUnitOfWork(
                db.sessions, None, clock=clock, on_orders=lambda ids: announced.append(set(ids))
            )

        async with bootstrap(settings, hasher=fast_hasher(), clock=clock, uow=uow) as shop:
            user = await shop.accounts.register(
                RegisterUser(email="ada@example.com", password="correct horse battery")
            )
            product = await shop.catalog.create_product(
                CreateProduct(name="Widget", sku="WIDGET", price=Decimal("9.99"), stock_quantity=10), STAFF
            )
            assert announced == []  # nothing about orders yet
            yield World(shop, clock, announced, Actor(f"user:{user.id}", user.id), product.id)
    finally:
        await db.close()


async def test_placing_and_moving_an_order_announce_it_once_per_commit(world: World) -> None:
    order_id = await world.place()
    assert world.announced == [{order_id}]
    await world.shop.orders.change_order_status(order_id, ChangeOrderStatus(status="paid"), STAFF)
    assert world.announced == [{order_id}, {order_id}]


async def test_the_expiry_sweep_announces_what_it_expired(world: World) -> None:
    expiring = await world.place("stripe")
    world.announced.clear()
    world.clock.advance(TIMEOUT + 1)
    assert await world.shop.orders.expire_unpaid_orders() == 1
    assert world.announced == [{expiring}]


async def test_a_rollback_or_no_commit_announces_nothing(world: World) -> None:
    order_id = await world.place()
    world.announced.clear()
    event = OrderEvent("note", world.clock.now(), "test")
    uow = world.shop.ports.uow()
    async with uow:
        await uow.orders.add_events(order_id, [event])
        await uow.rollback()
        await uow.commit()  # nothing left to commit, nothing to announce
    async with uow:
        await uow.orders.add_events(order_id, [event])
    assert world.announced == []
    async with uow:
        await uow.orders.add_events(order_id, [event])
        await uow.commit()
    assert world.announced == [{order_id}]
    async with uow:
        assert [e.action for e in await uow.orders.events(order_id)] == ["placed", "note"]


async def test_a_refused_change_announces_nothing(world: World) -> None:
    order_id = await world.place()
    world.announced.clear()
    with pytest.raises(Conflict):  # pending cannot become delivered
        await world.shop.orders.change_order_status(order_id, ChangeOrderStatus(status="delivered"), STAFF)
    assert world.announced == []
