"""Stock set and moved by operators: never below zero, every change recorded as a movement."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.domain.errors import Conflict, InvalidInput, NotFound
from shop_core.domain.stock import BLANK_REASON, ZERO_DELTA
from shop_core.services.catalog_commands import ChangeStock, CreateProduct, UpdateProduct
from shop_core.services.catalog_import import read_csv
from tests.fakes import FakeClock, FakeDatabase, fake_shop


@pytest.fixture
def world() -> tuple[Shop, FakeDatabase, FakeClock]:
    return fake_shop()


@pytest.fixture
async def shop(world: tuple[Shop, FakeDatabase, FakeClock]) -> Shop:
    shop = world[0]
    await shop.catalog.create_product(
        CreateProduct(name="Lamp", sku="L-1", price=Decimal(5), stock_quantity=10),
        Actor("ada", is_staff=True),
    )
    return shop


@pytest.fixture
def db(world: tuple[Shop, FakeDatabase, FakeClock]) -> FakeDatabase:
    return world[1]


def stock_of(db: FakeDatabase, sku: str = "L-1") -> int:
    return next(p.stock_quantity for p in db.products.values() if p.sku == sku)


async def test_adjust_moves_the_stock_by_a_delta(shop: Shop, db: FakeDatabase) -> None:
    world_clock = shop.ports.clock
    assert isinstance(world_clock, FakeClock)
    world_clock.advance(5)
    movement = await shop.stock.change_stock(
        ChangeStock(sku="L-1", delta=-3, reason=" sale ", note=" counter "), Actor("grace", is_staff=True)
    )
    assert (movement.delta, movement.balance_after, movement.reason, movement.note) == (
        -3,
        7,
        "sale",
        "counter",
    )
    assert (movement.actor, movement.product_id, movement.created_at) == ("grace", 1, world_clock.now())
    assert stock_of(db) == 7


async def test_set_moves_the_stock_to_a_quantity(shop: Shop, db: FakeDatabase) -> None:
    down = await shop.stock.change_stock(
        ChangeStock(sku="L-1", quantity=4, reason="count"), Actor("ada", is_staff=True)
    )
    up = await shop.stock.change_stock(
        ChangeStock(sku="L-1", quantity=25, reason="restock"), Actor("ada", is_staff=True)
    )
    zero = await shop.stock.change_stock(
        ChangeStock(sku="L-1", quantity=0, reason="lost"), Actor("ada", is_staff=True)
    )
    assert [(m.delta, m.balance_after) for m in (down, up, zero)] == [(-6, 4), (21, 25), (-25, 0)]
    assert stock_of(db) == 0


async def test_stock_never_goes_below_zero(shop: Shop, db: FakeDatabase) -> None:
    await shop.stock.change_stock(
        ChangeStock(sku="L-1", delta=-10, reason="sale"), Actor("ada", is_staff=True)
    )
    with pytest.raises(Conflict, match="Only 0 of L-1 in stock; cannot remove 1"):
        await shop.stock.change_stock(
            ChangeStock(sku="L-1", delta=-1, reason="sale"), Actor("ada", is_staff=True)
        )
    assert stock_of(db) == 0
    assert (
        len(await shop.stock.stock_history("L-1", Actor.operator())) == 2
    )  # the initial stock and the sale; no failed move


@pytest.mark.parametrize("fields", [{}, {"quantity": 3, "delta": 1}])
async def test_exactly_one_of_quantity_and_delta(shop: Shop, fields: dict[str, int]) -> None:
    with pytest.raises(InvalidInput) as caught:
        await shop.stock.change_stock(
            ChangeStock(sku="L-1", reason="x", **fields), Actor("ada", is_staff=True)
        )
    assert list(caught.value.errors) == ["quantity"]


async def test_a_zero_delta_is_refused_and_records_nothing(shop: Shop, db: FakeDatabase) -> None:
    with pytest.raises(InvalidInput) as caught:
        await shop.stock.change_stock(
            ChangeStock(sku="L-1", delta=0, reason="restock"), Actor("ada", is_staff=True)
        )
    assert caught.value.errors == {"delta": [ZERO_DELTA]}
    assert stock_of(db) == 10
    assert len(await shop.stock.stock_history("L-1", Actor.operator())) == 1  # the initial stock only


@pytest.mark.parametrize("fields", [{"delta": 3}, {"quantity": 4}])
async def test_a_blank_reason_is_refused_and_records_nothing(
    shop: Shop, db: FakeDatabase, fields: dict[str, int]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await shop.stock.change_stock(
            ChangeStock(sku="L-1", reason=" \t ", **fields), Actor("ada", is_staff=True)
        )
    assert caught.value.errors == {"reason": [BLANK_REASON]}
    assert stock_of(db) == 10
    assert len(await shop.stock.stock_history("L-1", Actor.operator())) == 1


def test_a_negative_quantity_cannot_even_be_asked_for() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"sku": "L-1", "reason": "x", "quantity": -1}, ChangeStock)


async def test_an_unknown_sku_is_not_found(shop: Shop) -> None:
    with pytest.raises(NotFound):
        await shop.stock.change_stock(
            ChangeStock(sku="NOPE", delta=1, reason="x"), Actor("ada", is_staff=True)
        )
    with pytest.raises(NotFound):
        await shop.stock.stock_history("NOPE", Actor.operator())


async def test_history_is_newest_first_and_limited(shop: Shop) -> None:
    for delta in (1, 2, 3, -4):
        await shop.stock.change_stock(
            ChangeStock(sku="L-1", delta=delta, reason=f"move {delta}"), Actor("ada", is_staff=True)
        )
    history = await shop.stock.stock_history("L-1", Actor.operator())
    assert [(m.delta, m.balance_after, m.reason) for m in history] == [
        (-4, 12, "move -4"),
        (3, 16, "move 3"),
        (2, 13, "move 2"),
        (1, 11, "move 1"),
        (10, 10, "initial"),
    ]
    assert [m.delta for m in await shop.stock.stock_history("L-1", Actor.operator(), limit=2)] == [-4, 3]


async def test_every_kind_of_change_is_recorded_so_stock_can_be_rebuilt(shop: Shop, db: FakeDatabase) -> None:
    await shop.stock.change_stock(
        ChangeStock(sku="L-1", delta=5, reason="restock"), Actor("ada", is_staff=True)
    )
    await shop.stock.change_stock(
        ChangeStock(sku="L-1", quantity=2, reason="count"), Actor("ada", is_staff=True)
    )
    await shop.catalog.update_product(1, UpdateProduct(stock_quantity=9), Actor("ada", is_staff=True))
    data = b"sku,name,price,stock_quantity\nL-1,Lamp,5,30\nM-1,Mug,2,4\n"
    await shop.catalog.import_products(read_csv(data), Actor("importer", is_staff=True))
    with pytest.raises(Conflict):
        await shop.stock.change_stock(
            ChangeStock(sku="L-1", delta=-31, reason="sale"), Actor("ada", is_staff=True)
        )
    async with shop.ports.uow() as tx:
        for product in await tx.products.page(offset=0, limit=10):
            assert product.id is not None
            assert await tx.stock.total(product.id) == product.stock_quantity
            [latest, *_] = await tx.stock.for_product(product.id)
            assert latest.balance_after == product.stock_quantity
    assert stock_of(db) == 30
    assert stock_of(db, "M-1") == 4


async def test_a_stock_change_is_seen_by_the_next_read(shop: Shop) -> None:
    assert b'"stock_quantity":10' in await shop.catalog.get_product(1, staff=False)
    await shop.stock.change_stock(
        ChangeStock(sku="L-1", delta=-4, reason="sale"), Actor("ada", is_staff=True)
    )
    assert b'"stock_quantity":6' in await shop.catalog.get_product(1, staff=False)
