"""Back-in-stock emails (the wishlist's `notify`), on SQLite and PostgreSQL, mailed to a real SMTP
server: one email per entry per restock (from no stock to some), none for a raise while it was in
stock, none for a rolled-back change, none for customers who did not ask or for an inactive product;
and every path that puts stock back: staff adjustments, product and variant edits, a cancelled
order, a return received with restock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa
from litestar.testing import AsyncTestClient

from shop_core.bootstrap import Shop, bootstrap
from shop_core.domain.actors import Actor
from shop_core.domain.stock import StockMovement
from shop_core.services.catalog_commands import ChangeStock
from shop_core.services.stock_movements import record_movement
from shop_http import create_app
from tests.conftest import fast_hasher, make_settings
from tests.http.conftest import Account, engine_of, in_app, new_account, new_staff, shop_of
from tests.http.test_notifications import STORE, World, assert_mail, inbox  # noqa: F401 - a fixture
from tests.smtp_server import Inbox
from tests.variants_support import add_variants

BACK = "email.back_in_stock"


@pytest.fixture
async def world(database_url: str, inbox: Inbox) -> AsyncIterator[World]:  # noqa: F811 - the fixture
    settings = make_settings(database_url, smtp_url=inbox.url, store_name=STORE, job_retry_delay=0.01)
    app = create_app(settings, shop_factory=partial(bootstrap, hasher=fast_hasher()))
    async with AsyncTestClient(app) as client:
        opened = World(client, inbox, await new_staff(client), await new_account(client))
        await opened.drain()
        yield opened


async def wish(world: World, who: Account, product: dict[str, Any], **body: Any) -> dict[str, Any]:
    made = await world.client.post(
        "/api/wishlist/", json={"product_id": product["id"], **body}, headers=who.headers
    )
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    return found


async def move_stock(world: World, product: dict[str, Any], delta: int, sku: str | None = None) -> None:
    """What staff do with `shop stock` (the use case the CLI runs)."""
    shop = shop_of(world.client)
    change = ChangeStock(sku=sku or product["sku"], delta=delta, reason="restock")
    await in_app(world.client, shop.stock.change_stock, change, Actor.operator())


async def back_in_stock_mail(world: World, who: Account) -> list[str]:
    """The subjects of the back-in-stock emails `who` got, once every job recorded so far ran."""
    await world.drain()
    return [s for s in world.subjects_to(who.email) if s.startswith("Back in stock")]


async def back_in_stock_jobs(world: World) -> list[str]:
    return [job.key for job in await world.jobs() if job.name == BACK]


async def test_one_email_per_restock_to_those_who_asked(world: World) -> None:
    lamp = await world.product("Desk <Lamp> & Co", stock=0)
    asked = world.customer
    silent = await new_account(world.client)
    entry = await wish(world, asked, lamp, notify=True)
    await wish(world, silent, lamp)

    await move_stock(world, lamp, 5)
    assert await back_in_stock_mail(world, asked) == [f"Back in stock: Desk <Lamp> & Co — {STORE}"]
    text, _ = assert_mail(world.mail_to(asked.email)[-1], "Desk <Lamp> & Co", "is back in stock", STORE)
    raw_html = world.mail_to(asked.email)[-1].get_body(preferencelist=("html",))
    assert raw_html is not None
    assert "Desk &lt;Lamp&gt; &amp; Co" in raw_html.get_content()  # escaped, not markup
    assert "5 available" in text

    await move_stock(world, lamp, 3)  # raised while in stock: nobody hears again
    assert len(await back_in_stock_mail(world, asked)) == 1
    await move_stock(world, lamp, -8)
    await move_stock(world, lamp, 2)  # a second restock: a second email
    assert len(await back_in_stock_mail(world, asked)) == 2
    assert await back_in_stock_mail(world, silent) == []
    assert await back_in_stock_jobs(world) == [f"{BACK}:{entry['id']}:1", f"{BACK}:{entry['id']}:2"]
    await world.assert_every_job_complete()


async def test_a_rolled_back_stock_change_records_nothing(world: World) -> None:
    lamp = await world.product("Desk Lamp", stock=0)
    entry = await wish(world, world.customer, lamp, notify=True)
    shop: Shop = shop_of(world.client)

    async def raise_then_fail() -> None:
        async with shop.ports.uow() as uow:
            balance = await uow.products.change_stock(lamp["id"], 4)
            assert balance == 4
            movement = StockMovement(lamp["id"], 4, "restock", balance, shop.ports.clock.now(), "test")
            await record_movement(uow, movement)
            # The job and the entry's count are in this transaction; it ends without a commit.

    await in_app(world.client, raise_then_fail)
    assert await back_in_stock_mail(world, world.customer) == []
    assert await back_in_stock_jobs(world) == []
    assert await world.stock_of(lamp) == 0
    restocks = await sql(world, "SELECT restocks FROM wishlist_items WHERE id = :id", id=entry["id"])
    assert restocks == [(0,)]


async def test_no_email_for_an_inactive_product_coming_back(world: World) -> None:
    lamp = await world.product("Desk Lamp", stock=0)
    await wish(world, world.customer, lamp, notify=True)
    off = await world.client.patch(
        f"/api/products/{lamp['id']}/", json={"is_active": False}, headers=world.staff.headers
    )
    assert off.status_code == 200, off.text
    await move_stock(world, lamp, 5)
    assert await back_in_stock_mail(world, world.customer) == []
    assert await back_in_stock_jobs(world) == []


async def test_a_product_edit_putting_stock_back_emails(world: World) -> None:
    lamp = await world.product("Desk Lamp", stock=0)
    await wish(world, world.customer, lamp, notify=True)
    edited = await world.client.patch(
        f"/api/products/{lamp['id']}/", json={"stock_quantity": 7}, headers=world.staff.headers
    )
    assert edited.status_code == 200, edited.text
    assert len(await back_in_stock_mail(world, world.customer)) == 1


async def test_variants_and_the_product_as_a_whole(world: World) -> None:
    shirt = await world.product("T-shirt", stock=0)
    shop = shop_of(world.client)
    sizes = await in_app(world.client, partial(add_variants, shop, shirt["id"], "Size", {"S": 0, "M": 0}))
    small_fan, shirt_fan = world.customer, await new_account(world.client)
    await wish(world, small_fan, shirt, variant_id=sizes["S"], notify=True)
    await wish(world, shirt_fan, shirt, notify=True)

    await move_stock(world, shirt, 2, sku=f"{shirt['sku']}-M")  # the shirt is back, not the S
    assert await back_in_stock_mail(world, shirt_fan) == [f"Back in stock: T-shirt — {STORE}"]
    assert await back_in_stock_mail(world, small_fan) == []

    edited = await world.client.patch(
        f"/api/products/{shirt['id']}/variants/{sizes['S']}/",
        json={"stock_quantity": 3},
        headers=world.staff.headers,
    )
    assert edited.status_code == 200, edited.text  # the S is back; the shirt was in stock already
    assert await back_in_stock_mail(world, small_fan) == [f"Back in stock: T-shirt (S) — {STORE}"]
    assert len(await back_in_stock_mail(world, shirt_fan)) == 1


async def test_a_cancelled_order_putting_the_last_unit_back_emails(world: World) -> None:
    lamp = await world.product("Desk Lamp", stock=1)
    waiting = await new_account(world.client)
    await wish(world, waiting, lamp, notify=True)
    order = await world.order([(lamp["id"], 1)])
    assert await world.stock_of(lamp) == 0
    await world.cancel(order)
    assert await back_in_stock_mail(world, waiting) == [f"Back in stock: Desk Lamp — {STORE}"]


async def test_a_return_received_with_restock_emails(world: World) -> None:
    lamp = await world.product("Desk Lamp", stock=1)
    waiting = await new_account(world.client)
    await wish(world, waiting, lamp, notify=True)
    order = await world.order([(lamp["id"], 1)])
    await world.pay_cash(order)
    for status in ("processing", "shipped", "delivered"):
        assert (await world.move(order, status)).status_code == 200
    [item] = order["items"]
    asked = await world.client.post(
        f"/api/orders/{order['id']}/returns/",
        json={"lines": [{"item_id": item["id"], "quantity": 1}], "reason": "Too bright"},
        headers=world.customer.headers,
    )
    assert asked.status_code == 201, asked.text
    path = f"/api/returns/{asked.json()['id']}"
    assert (
        await world.client.post(f"{path}/approve/", json={}, headers=world.staff.headers)
    ).status_code == 200
    received = await world.client.post(
        f"{path}/receive/", json={"restock": True}, headers=world.staff.headers
    )
    assert received.status_code == 200, received.text
    assert await back_in_stock_mail(world, waiting) == [f"Back in stock: Desk Lamp — {STORE}"]


async def test_an_entry_removed_or_sold_out_again_before_the_email_gets_none(world: World) -> None:
    """The job checks again when it runs: what it would announce must still be true. Here both
    become untrue in the very transaction that recorded the jobs (they run after its commit)."""
    lamp = await world.product("Desk Lamp", stock=0)
    mug = await world.product("Mug", stock=0)
    await wish(world, world.customer, lamp, notify=True)
    await wish(world, world.customer, mug, notify=True)
    shop: Shop = shop_of(world.client)

    async def restock_and_change_minds() -> None:
        now = shop.ports.clock.now()
        async with shop.ports.uow() as uow:
            for product, delta in ((lamp, 1), (mug, 1), (mug, -1)):
                balance = await uow.products.change_stock(product["id"], delta)
                assert balance is not None
                await record_movement(uow, StockMovement(product["id"], delta, "r", balance, now, "test"))
            assert await uow.wishlist.remove(world.customer.id, lamp["id"]) == 1
            await uow.commit()

    await in_app(world.client, restock_and_change_minds)
    assert await back_in_stock_mail(world, world.customer) == []
    assert len(await back_in_stock_jobs(world)) == 2
    await world.assert_every_job_complete()


async def test_restocks_racing_on_postgresql_email_once(pg_url: str, inbox: Inbox) -> None:  # noqa: F811
    """Two staff restock a sold-out product at the same moment: one of them brought it back (the
    other raised it while in stock), so one job and one email."""
    settings = make_settings(pg_url, smtp_url=inbox.url, store_name=STORE, job_retry_delay=0.01)
    app = create_app(settings, shop_factory=partial(bootstrap, hasher=fast_hasher()))
    async with AsyncTestClient(app) as client:
        world = World(client, inbox, await new_staff(client), await new_account(client))
        lamp = await world.product("Desk Lamp", stock=0)
        entry = await wish(world, world.customer, lamp, notify=True)
        shop = shop_of(client)

        async def race() -> None:
            changes = [ChangeStock(sku=lamp["sku"], delta=n, reason="restock") for n in (3, 4)]
            await asyncio.gather(*(shop.stock.change_stock(c, Actor.operator()) for c in changes))

        await in_app(client, race)
        assert await world.stock_of(lamp) == 7
        assert await back_in_stock_jobs(world) == [f"{BACK}:{entry['id']}:1"]
        assert len(await back_in_stock_mail(world, world.customer)) == 1


async def sql(world: World, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    async def run() -> list[tuple[Any, ...]]:
        async with engine_of(world.client).connect() as conn:
            return [tuple(row) for row in (await conn.execute(sa.text(statement), params)).all()]

    rows: list[tuple[Any, ...]] = await in_app(world.client, run)
    return rows
