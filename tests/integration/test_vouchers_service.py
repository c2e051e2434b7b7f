"""Staff's voucher use cases over the real databases (SQLite and PostgreSQL): bulk generation
(codes drawn again when taken, all in one transaction, nothing stored on a refusal), the code
conflict a race meets in the adapter, deleting a voucher orders used, and a limit lowered while
checkouts count uses (PostgreSQL, really concurrent)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from shop_core.bootstrap import Shop, bootstrap
from shop_core.domain.actors import Actor
from shop_core.domain.errors import InvalidInput
from shop_core.domain.voucher_codes import VoucherCodeTaken
from shop_core.domain.vouchers import Voucher, VoucherKind
from shop_core.ports.vouchers import VoucherFilter
from shop_core.services.catalog_commands import CreateProduct
from shop_core.services.commands import RegisterUser
from shop_core.services.order_commands import AddressInput, OrderItemInput, PlaceOrder
from shop_core.services.voucher_commands import CreateVoucher, GenerateVouchers, UpdateVoucher
from shop_core.services.voucher_generation import BATCH
from shop_core.services.vouchers import Vouchers
from tests.conftest import fast_hasher, make_settings

STAFF = Actor.operator("tests")


@pytest.fixture
async def shop(database_url: str) -> AsyncIterator[Shop]:
    async with bootstrap(make_settings(database_url), hasher=fast_hasher()) as built:
        yield built


async def stored(shop: Shop) -> list[dict[str, Any]]:
    async with shop.ports.uow() as uow:
        found, _ = await uow.vouchers.page(VoucherFilter(), offset=0, limit=100_000)
    return [asdict(v) for v in found]


def drawing(*parts: str) -> Iterator[str]:
    yield from parts


def vouchers_drawing(shop: Shop, *parts: str) -> Vouchers:
    """The shop's vouchers area, drawing these random parts in this order."""
    drawn = drawing(*parts)
    return Vouchers(uow=shop.ports.uow, clock=shop.ports.clock, currency="USD", draw=lambda: next(drawn))


async def test_generate_draws_again_the_codes_that_exist_and_stores_them_all(shop: Shop) -> None:
    await shop.vouchers.create_voucher(
        CreateVoucher(code="XMAS-BBBBBBBBBB", kind=VoucherKind.FREE_SHIPPING), STAFF
    )
    vouchers = vouchers_drawing(shop, "AAAAAAAAAA", "BBBBBBBBBB", "CCCCCCCCCC", "BBBBBBBBBB", "DDDDDDDDDD")
    cmd = GenerateVouchers(
        count=3,
        prefix="xmas-",
        kind=VoucherKind.FIXED,
        value=Decimal("5.00"),
        usage_limit=1,
        per_customer_limit=1,
    )

    made = await vouchers.generate_vouchers(cmd, STAFF)

    assert [v.code for v in made] == ["XMAS-AAAAAAAAAA", "XMAS-CCCCCCCCCC", "XMAS-DDDDDDDDDD"]
    assert {(v.kind, v.value, v.usage_limit, v.per_customer_limit, v.uses_left) for v in made} == {
        (VoucherKind.FIXED, "5.00", 1, 1, 1)
    }
    rows = await stored(shop)
    assert sorted(r["code"] for r in rows) == sorted([*(v.code for v in made), "XMAS-BBBBBBBBBB"])
    assert {r["id"] for r in rows} >= {v.id for v in made}


async def test_generate_stores_in_batches_in_one_transaction_reporting_progress(shop: Shop) -> None:
    done: list[int] = []
    count = 2 * BATCH + 7
    cmd = GenerateVouchers(count=count, prefix="BULK-", kind=VoucherKind.PERCENTAGE, value=Decimal(10))

    made = await shop.vouchers.generate_vouchers(cmd, STAFF, done.append)

    assert done == [BATCH, BATCH, 7]
    assert len({v.code for v in made}) == count
    assert len(await stored(shop)) == count
    assert all(v.code.startswith("BULK-") and len(v.code) == 15 for v in made)
    assert {v.value for v in made} == {"10.00"}


@pytest.mark.parametrize(
    "fields",
    [
        {"product_ids": [999]},
        {"prefix": "-NO"},
        {"value": Decimal(101)},
        {"count": 0},
        {"usage_limit": 0},
    ],
)
async def test_a_refused_generation_stores_nothing(shop: Shop, fields: dict[str, Any]) -> None:
    lamp = await shop.catalog.create_product(CreateProduct(name="Lamp", sku="L-1", price=Decimal(5)), STAFF)
    terms: dict[str, Any] = {"count": 5, "prefix": "X-", "kind": VoucherKind.PERCENTAGE, "value": Decimal(5)}
    cmd = GenerateVouchers(**(terms | {"product_ids": [lamp.id]} | fields))

    with pytest.raises(InvalidInput):
        await shop.vouchers.generate_vouchers(cmd, STAFF)

    assert await stored(shop) == []


async def test_a_code_taken_in_a_race_is_the_same_conflict(shop: Shop) -> None:
    """Two staff members creating the same code at once both pass the check; the database's unique
    code refuses the second, as the same 409."""
    for attempt in range(2):
        async with shop.ports.uow() as uow:
            voucher = Voucher("RACE-1", VoucherKind.FREE_SHIPPING, Decimal(0))
            if attempt == 0:
                await uow.vouchers.add(voucher, shop.ports.clock.now())
                await uow.commit()
            else:
                with pytest.raises(VoucherCodeTaken):
                    await uow.vouchers.add(voucher, shop.ports.clock.now())
    assert [r["code"] for r in await stored(shop)] == ["RACE-1"]


async def test_a_voucher_orders_used_is_deactivated_not_erased(shop: Shop) -> None:
    used = await shop.vouchers.create_voucher(
        CreateVoucher(code="USED", kind=VoucherKind.FREE_SHIPPING), STAFF
    )
    unused = await shop.vouchers.create_voucher(
        CreateVoucher(code="UNUSED", kind=VoucherKind.FREE_SHIPPING), STAFF
    )
    customer = await shop.accounts.register(RegisterUser(email="ada@example.com", password="long enough pw"))
    lamp = await shop.catalog.create_product(
        CreateProduct(name="Lamp", sku="L-1", price=Decimal(5), stock_quantity=3), STAFF
    )
    address = AddressInput(full_name="Ada", line1="1 Main St", city="London", postal_code="N1", country="GB")
    placed = await shop.orders.place_order(
        customer.id,
        Actor(customer.email, customer.id),
        PlaceOrder(
            items=[OrderItemInput(product_id=lamp.id, quantity=1)],
            shipping_address=address,
            payment_method="cod",
        ),
    )
    engine = shop.ports.reader._engine  # type: ignore[attr-defined]
    async with engine.begin() as conn:  # as checkout records the voucher an order used
        await conn.execute(
            sa.text("UPDATE orders SET voucher_id = :v, voucher_code = 'USED' WHERE id = :o"),
            {"v": used.id, "o": placed.order.id},
        )
    async with shop.ports.uow() as uow:
        assert await uow.vouchers.is_ordered(used.id)
        assert not await uow.vouchers.is_ordered(unused.id)

    await shop.vouchers.delete_voucher(used.id, STAFF)
    await shop.vouchers.delete_voucher(unused.id, STAFF)

    assert [(r["code"], r["is_active"]) for r in await stored(shop)] == [("USED", False)]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_limit_lowered_while_checkouts_count_uses_is_never_below_them(shop: Shop) -> None:
    voucher = await shop.vouchers.create_voucher(
        CreateVoucher(code="RUSH", kind=VoucherKind.FREE_SHIPPING, usage_limit=100), STAFF
    )
    customer = await shop.accounts.register(RegisterUser(email="ada@example.com", password="long enough pw"))

    async def use() -> bool:
        async with shop.ports.uow() as uow:
            counted = await uow.vouchers.count_use(voucher.id, customer.id)
            await uow.commit()
        return counted

    async def lower() -> bool:
        try:
            await shop.vouchers.update_voucher(voucher.id, UpdateVoucher(usage_limit=10), STAFF)
        except InvalidInput:
            return False
        return True

    results = await asyncio.gather(*(use() for _ in range(30)), lower())

    final = await shop.vouchers.get_voucher(voucher.id, STAFF)
    assert final.usage_limit is not None
    assert final.used_count <= final.usage_limit
    assert final.used_count == sum(results[:-1])
    if results[-1]:
        assert final.usage_limit == 10
