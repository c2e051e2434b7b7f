"""Orders placed at once on PostgreSQL: one read of the products, then one statement that takes the
stock and stores the order, all or nothing. Whenever something the order was priced on changed
between the two, or the usual path has work this one does not do, nothing is written and the order
is placed the usual way, with the answer the usual path gives.

`place_at_once` is watched (not replaced) to tell which way each order went."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shop_core.adapters.sql.catalog_repositories import SqlProductRepository
from shop_core.adapters.sql.order_repositories import SqlOrderRepository
from shop_core.bootstrap import Shop, bootstrap
from shop_core.domain.actors import Actor
from shop_core.domain.errors import AuthenticationFailed, InvalidInput
from shop_core.domain.orders import OutOfStock
from shop_core.domain.vouchers import Voucher, VoucherExhausted, VoucherKind
from shop_core.services import jobs
from shop_core.services.catalog_commands import CreateProduct
from shop_core.services.commands import RegisterUser
from shop_core.services.order_commands import AddressInput, ChangeOrderStatus, OrderItemInput, PlaceOrder
from shop_core.services.order_views import OrderView
from shop_core.services.sessions import USER_GONE
from tests.conftest import fast_hasher, make_settings

STAFF = Actor("staff:boss", None, is_staff=True)
ADDRESS = AddressInput(
    full_name="Ada Lovelace", line1="1 Main St", city="London", postal_code="N1", country="GB"
)
THRESHOLD = 5  # the low-stock alert's


@dataclass
class Ways:
    """What each `place_at_once` call answered: True placed, False left to the usual path."""

    answers: list[bool] = field(default_factory=list)


@pytest.fixture
def ways(monkeypatch: pytest.MonkeyPatch) -> Ways:
    seen = Ways()
    original = SqlOrderRepository.place_at_once

    async def watched(self: SqlOrderRepository, *args: Any, **kwargs: Any) -> bool:
        answer = await original(self, *args, **kwargs)
        seen.answers.append(answer)
        return answer

    monkeypatch.setattr(SqlOrderRepository, "place_at_once", watched)
    return seen


@dataclass
class World:
    shop: Shop
    engine: AsyncEngine  # a connection of the test's own, for what another request would change
    customer: Actor
    lamp: int  # 20.00, 100 in stock
    mug: int  # 5.00, 100 in stock

    async def place(
        self, *items: tuple[int, int], key: str | None = None, voucher: str | None = None
    ) -> tuple[OrderView, bool]:
        cmd = PlaceOrder(
            items=[OrderItemInput(product_id=pid, quantity=qty) for pid, qty in items],
            shipping_address=ADDRESS,
            payment_method="cod",
            voucher_code=voucher,
        )
        assert self.customer.user_id is not None
        placed = await self.shop.orders.place_order(
            self.customer.user_id, self.customer, cmd, idempotency_key=key
        )
        return placed.order, placed.replayed

    async def sql(self, statement: str, **values: Any) -> list[Any]:
        async with self.engine.begin() as connection:
            result = await connection.execute(sa.text(statement), values)
            return list(result.all()) if result.returns_rows else []

    async def counts(self) -> dict[str, int]:
        tables = ("orders", "order_lines", "stock_movements", "order_events", "idempotency_keys", "jobs")
        return {t: (await self.sql(f"SELECT count(*) FROM {t}"))[0][0] for t in tables}  # noqa: S608

    async def add_voucher(self, code: str, **limits: int) -> int:
        """A 10% voucher with these limits (`usage_limit`, `per_customer_limit`); its id."""
        voucher = Voucher(code=code, kind=VoucherKind.PERCENTAGE, value=Decimal(10), **limits)
        async with self.shop.ports.uow() as uow:
            stored = await uow.vouchers.add(voucher, datetime.now(UTC))
            await uow.commit()
        assert stored.id is not None
        return stored.id

    async def uses(self, voucher_id: int) -> tuple[int, int]:
        """(the customer's uses of the voucher, the uses for everyone counted on its own row: only
        a voucher with a `usage_limit` counts them there)."""
        rows = await self.sql(
            "SELECT coalesce((SELECT count FROM voucher_uses WHERE voucher_id = :id AND user_id = :user), 0),"
            " used_count FROM vouchers WHERE id = :id",
            id=voucher_id,
            user=self.customer.user_id,
        )
        return rows[0][0], rows[0][1]

    async def stock(self, product_id: int) -> tuple[int, int]:
        """(the product's total, its default variant's)."""
        rows = await self.sql(
            "SELECT p.stock_quantity, v.stock_quantity FROM products p"
            " JOIN product_variants v ON v.product_id = p.id AND v.is_default WHERE p.id = :id",
            id=product_id,
        )
        return rows[0][0], rows[0][1]


@pytest.fixture
async def world(pg_url: str) -> AsyncIterator[World]:
    settings = make_settings(pg_url, low_stock_threshold=THRESHOLD)
    async with bootstrap(settings, hasher=fast_hasher()) as shop:
        user = await shop.accounts.register(
            RegisterUser(email="ada@example.com", password="correct horse battery")
        )
        lamp = await shop.catalog.create_product(
            CreateProduct(name="Lamp", sku="LAMP", price=Decimal(20), stock_quantity=100), STAFF
        )
        mug = await shop.catalog.create_product(
            CreateProduct(name="Mug", sku="MUG", price=Decimal(5), stock_quantity=100), STAFF
        )
        engine = create_async_engine(pg_url)
        try:
            yield World(shop, engine, Actor(f"user:{user.id}", user.id), lamp=lamp.id, mug=mug.id)
        finally:
            await engine.dispose()


def after_the_quote(monkeypatch: pytest.MonkeyPatch, change: Callable[[], Awaitable[None]]) -> None:
    """Run `change` (on its own connection, committed) right after the next quote is read: what a
    concurrent request would do between the order's read and its write."""
    original = SqlProductRepository.quote
    pending = [change]

    async def quote_then_change(self: SqlProductRepository, lines: Any) -> Any:
        quoted = await original(self, lines)
        if pending:
            await pending.pop()()
        return quoted

    monkeypatch.setattr(SqlProductRepository, "quote", quote_then_change)


async def test_a_plain_order_is_placed_at_once_with_everything_the_usual_path_stores(
    world: World, ways: Ways
) -> None:
    before = await world.counts()
    order, replayed = await world.place((world.mug, 2), (world.lamp, 3), key="k-1")

    assert ways.answers == [True]
    assert not replayed
    assert [(line.product_id, line.quantity, line.unit_price) for line in order.items] == [
        (world.lamp, 3, "20.00"),
        (world.mug, 2, "5.00"),
    ]
    assert all(line.id for line in order.items)
    assert await world.stock(world.lamp) == (97, 97)
    assert await world.stock(world.mug) == (98, 98)
    after = await world.counts()
    assert {t: after[t] - before[t] for t in after} == {
        "orders": 1,
        "order_lines": 2,
        "stock_movements": 2,
        "order_events": 1,
        "idempotency_keys": 1,
        "jobs": 1,  # the confirmation email's
    }
    movements = await world.sql(
        "SELECT product_id, delta, reason, balance_after, note FROM stock_movements"
        " WHERE reason = 'sale' ORDER BY product_id"
    )
    assert [tuple(m) for m in movements] == [
        (world.lamp, -3, "sale", 97, order.order_number),
        (world.mug, -2, "sale", 98, order.order_number),
    ]
    job = await world.sql(
        "SELECT key, payload FROM jobs WHERE name = :name", name=jobs.ORDER_CONFIRMATION_EMAIL
    )
    assert [tuple(j) for j in job] == [
        (f"{jobs.ORDER_CONFIRMATION_EMAIL}:{order.id}", f'{{"order_id":{order.id}}}')
    ]
    assert await world.shop.orders.get_order(order.id, world.customer) == order


async def test_the_same_key_again_is_answered_with_the_first_order(world: World, ways: Ways) -> None:
    first, _ = await world.place((world.lamp, 1), key="same")
    again, replayed = await world.place((world.lamp, 1), key="same")

    # The second statement met the first's key, wrote nothing, and the usual path replayed.
    assert ways.answers == [True, False]
    assert replayed
    assert again == first
    assert await world.stock(world.lamp) == (99, 99)
    assert (await world.counts())["orders"] == 1


@pytest.mark.parametrize(
    ("change", "price"),
    [
        ("UPDATE products SET price = 2500 WHERE sku = 'LAMP'", "25.00"),
        ("UPDATE products SET discount_percentage = 1000 WHERE sku = 'LAMP'", "18.00"),  # 10% off
        ("UPDATE product_variants SET price = 1900 WHERE sku = 'LAMP'", "19.00"),
        ("UPDATE product_variants SET weight_grams = 300 WHERE sku = 'LAMP'", "20.00"),
        ("UPDATE products SET category_id = (SELECT min(id) FROM categories) WHERE sku = 'LAMP'", "20.00"),
    ],
)
async def test_an_order_whose_product_changed_after_the_read_is_priced_again(
    world: World, ways: Ways, monkeypatch: pytest.MonkeyPatch, change: str, price: str
) -> None:
    if "categories" in change:
        await world.sql("INSERT INTO categories (name, slug) VALUES ('Lights', 'lights')")

    async def staff_edit() -> None:
        await world.sql(change)

    after_the_quote(monkeypatch, staff_edit)
    before = await world.counts()
    order, _ = await world.place((world.lamp, 2), (world.mug, 1))

    assert ways.answers == [False]  # nothing written at once: placed the usual way, as it is now
    assert order.items[0].final_unit_price == price
    assert await world.stock(world.lamp) == (98, 98)  # taken once
    assert await world.stock(world.mug) == (99, 99)
    after = await world.counts()
    assert (after["orders"] - before["orders"], after["stock_movements"] - before["stock_movements"]) == (
        1,
        2,
    )


async def test_stock_taken_by_another_order_after_the_read_is_refused_the_usual_way(
    world: World, ways: Ways, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def sold_out() -> None:
        await world.sql("UPDATE product_variants SET stock_quantity = 1 WHERE sku = 'LAMP'")
        await world.sql("UPDATE products SET stock_quantity = 1 WHERE sku = 'LAMP'")

    after_the_quote(monkeypatch, sold_out)
    before = await world.counts()
    with pytest.raises(OutOfStock) as refused:
        await world.place((world.lamp, 2), (world.mug, 1))

    assert ways.answers == [False]
    assert [(s.product_id, s.requested, s.available) for s in refused.value.shortages] == [(world.lamp, 2, 1)]
    assert await world.counts() == before
    assert await world.stock(world.mug) == (100, 100)  # nothing taken from the other line either


async def test_a_product_withdrawn_after_the_read_is_refused_the_usual_way(
    world: World, ways: Ways, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def withdrawn() -> None:
        await world.sql("UPDATE products SET is_active = false WHERE sku = 'MUG'")

    after_the_quote(monkeypatch, withdrawn)
    before = await world.counts()
    with pytest.raises(InvalidInput, match="No such product"):
        await world.place((world.lamp, 1), (world.mug, 1))

    assert ways.answers == [False]
    assert await world.counts() == before
    assert await world.stock(world.lamp) == (100, 100)


async def test_a_take_that_sets_off_the_low_stock_alert_goes_the_usual_way(world: World, ways: Ways) -> None:
    await world.place((world.mug, 94))  # 6 left: still above the threshold
    order, _ = await world.place((world.mug, 2))  # 4 left: the alert

    assert ways.answers == [True, False]
    assert await world.stock(world.mug) == (4, 4)
    alerts = await world.sql("SELECT payload FROM jobs WHERE name = :name", name=jobs.LOW_STOCK_ALERT)
    assert len(alerts) == 1
    assert order.items[0].quantity == 2


async def test_a_customer_deactivated_after_the_read_is_refused(
    world: World, ways: Ways, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def deactivated() -> None:
        await world.sql("UPDATE users SET is_active = false WHERE id = :id", id=world.customer.user_id)

    after_the_quote(monkeypatch, deactivated)
    before = await world.counts()
    cmd = PlaceOrder(
        items=[OrderItemInput(product_id=world.lamp, quantity=1)],
        shipping_address=ADDRESS,
        payment_method="cod",
    )
    assert world.customer.user_id is not None
    with pytest.raises(AuthenticationFailed, match=USER_GONE):
        await world.shop.orders.place_order(world.customer.user_id, world.customer, cmd, confirm_user=True)

    assert ways.answers == [False]
    assert await world.counts() == before
    assert await world.stock(world.lamp) == (100, 100)


async def test_orders_at_once_and_the_usual_way_racing_for_the_last_units_never_oversell(
    world: World, ways: Ways
) -> None:
    await world.sql("UPDATE product_variants SET stock_quantity = 30 WHERE sku = 'LAMP'")
    await world.sql("UPDATE products SET stock_quantity = 30 WHERE sku = 'LAMP'")
    # 20 orders of 2 lamps for 30 in stock: the first ones at once; the last ones near the
    # threshold and every one that meets a changed stock go the usual way. Meanwhile staff cancel
    # orders, giving stock back: a mix of both paths' locks, which must never deadlock.
    placed: list[OrderView] = []

    async def order_two() -> None:
        try:
            order, _ = await world.place((world.lamp, 2), (world.mug, 1))
        except OutOfStock:
            return
        placed.append(order)

    await asyncio.gather(*(order_two() for _ in range(20)))
    assert True in ways.answers
    cancelled = placed[:3]
    await asyncio.gather(
        *(
            world.shop.orders.change_order_status(o.id, ChangeOrderStatus(status="cancelled"), STAFF)
            for o in cancelled
        ),
        *(order_two() for _ in range(5)),
    )

    lamp_total, lamp_variant = await world.stock(world.lamp)
    assert lamp_total == lamp_variant >= 0
    assert lamp_total == 30 - 2 * len(placed) + 2 * len(cancelled)
    assert len(placed) <= 15 + len(cancelled)
    mug_total, _ = await world.stock(world.mug)
    assert mug_total == 100 - len(placed) + len(cancelled)


@pytest.mark.parametrize("usage_limit", [None, 100], ids=["no limit for everyone", "use held"])
async def test_orders_with_a_per_customer_voucher_are_placed_at_once_up_to_the_customers_limit(
    world: World, ways: Ways, usage_limit: int | None
) -> None:
    voucher_id = await world.add_voucher("TWICE", per_customer_limit=2, usage_limit=usage_limit)

    first, _ = await world.place((world.lamp, 1), voucher="TWICE")
    second, _ = await world.place((world.lamp, 1), voucher="TWICE")
    assert ways.answers == [True, True]
    assert first.total_price == second.total_price == "18.00"  # 10% off, free shipping, no tax
    counted = 0 if usage_limit is None else 2
    assert await world.uses(voucher_id) == (2, counted)
    before = await world.counts()

    # At their limit: the statement writes nothing, and the usual path says why.
    with pytest.raises(VoucherExhausted):
        await world.place((world.lamp, 1), voucher="TWICE")
    assert ways.answers == [True, True, False]
    assert await world.counts() == before
    assert await world.stock(world.lamp) == (98, 98)
    assert await world.uses(voucher_id) == (2, counted)  # a held use given back


async def test_a_use_counted_by_another_order_after_the_read_is_refused(
    world: World, ways: Ways, monkeypatch: pytest.MonkeyPatch
) -> None:
    voucher_id = await world.add_voucher("ONCE", per_customer_limit=1)

    async def used_elsewhere() -> None:  # another of the customer's orders, committed meanwhile
        await world.sql(
            "INSERT INTO voucher_uses (voucher_id, user_id, count) VALUES (:id, :user, 1)",
            id=voucher_id,
            user=world.customer.user_id,
        )

    after_the_quote(monkeypatch, used_elsewhere)
    before = await world.counts()
    with pytest.raises(VoucherExhausted):
        await world.place((world.lamp, 1), voucher="ONCE")

    assert ways.answers == [False]
    assert await world.counts() == before
    assert await world.stock(world.lamp) == (100, 100)
    assert await world.uses(voucher_id) == (1, 0)


async def test_one_customers_orders_racing_for_their_voucher_get_exactly_their_limit(
    world: World, ways: Ways
) -> None:
    voucher_id = await world.add_voucher("THRICE", per_customer_limit=3)
    results = await asyncio.gather(
        *(world.place((world.lamp, 1), voucher="THRICE") for _ in range(12)), return_exceptions=True
    )

    placed = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(placed) == 3
    assert all(isinstance(r, VoucherExhausted) for r in refused)
    assert True in ways.answers
    assert await world.uses(voucher_id) == (3, 0)
    assert await world.stock(world.lamp) == (97, 97)
    assert (await world.counts())["orders"] == 3


async def test_a_first_use_racing_another_of_the_customers_orders_goes_the_usual_way(
    world: World, ways: Ways, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    # Another of the customer's orders records their first use of the voucher after this order's
    # read, and commits only once this order's statement waits on it: the statement saw no use
    # (their row was not there yet), so it must not count this one on top. Its insert of their
    # row fails, nothing is written, and the usual path refuses the order (a limit of one).
    voucher_id = await world.add_voucher("FIRST", per_customer_limit=1)
    other = await asyncpg.connect(pg_url.replace("+asyncpg", ""))
    watcher = await asyncpg.connect(pg_url.replace("+asyncpg", ""))
    other_order = other.transaction()

    async def commit_once_waited_on() -> None:
        await until_a_backend_waits_on_a_lock(watcher)
        await other_order.commit()

    async def first_use_elsewhere() -> None:
        await other_order.start()
        await other.execute(
            "INSERT INTO voucher_uses (voucher_id, user_id, count) VALUES ($1, $2, 1)",
            voucher_id,
            world.customer.user_id,
        )
        committing.append(asyncio.create_task(commit_once_waited_on()))

    committing: list[asyncio.Task[None]] = []
    after_the_quote(monkeypatch, first_use_elsewhere)
    before = await world.counts()
    try:
        with pytest.raises(VoucherExhausted):
            await asyncio.wait_for(world.place((world.lamp, 1), voucher="FIRST"), 30)
        await asyncio.wait_for(committing[0], 30)
    finally:
        await other.close()
        await watcher.close()

    assert ways.answers == [False]
    assert await world.counts() == before
    assert await world.stock(world.lamp) == (100, 100)
    assert await world.uses(voucher_id) == (1, 0)


async def until_a_backend_waits_on_a_lock(watcher: asyncpg.Connection) -> None:
    """Return once some backend of this database waits for a lock (polled, never for a fixed time)."""
    deadline = time.monotonic() + 30
    query = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while not await watcher.fetchval(query):
        assert time.monotonic() < deadline, "timed out waiting for the order to wait on the other's row"
        await asyncio.sleep(0.01)
