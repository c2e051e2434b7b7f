"""The worker's cron jobs, each run by a real SAQ burst worker against Redis: they do their sweeps.

SAQ schedules them by the clock; here each is enqueued by name, which runs the same function the
schedule would (and proves it is registered with the worker).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from saq import Status

from shop_core.bootstrap import Shop, bootstrap
from shop_core.domain.actors import Actor
from shop_core.services.catalog_commands import CreateProduct
from shop_core.services.commands import RegisterUser
from shop_core.services.order_commands import AddressInput, OrderItemInput, PlaceOrder
from shop_core.settings import Settings
from shop_workers.worker import CRON, make_worker
from tests.conftest import fast_hasher, make_settings
from tests.fakes import FakeClock

ADDRESS = AddressInput(full_name="Ada", line1="1 Main St", city="Dhaka", postal_code="1000", country="BD")


@pytest.fixture
def settings(
    sqlite_url: str, redis_url: str, redis_prefix: str, saq_keys: Callable[[], set[str]]
) -> Settings:
    return make_settings(
        sqlite_url, redis_url=redis_url, redis_key_prefix=redis_prefix, order_payment_timeout=60
    )


@pytest.fixture
async def shop(settings: Settings) -> AsyncIterator[Shop]:
    # The worker makes its own Shop on the system clock; this one records what it sweeps, an hour
    # in the past, so that it is due.
    clock = FakeClock()
    clock.advance(-3600)
    async with bootstrap(settings, hasher=fast_hasher(), clock=clock) as built:
        yield built


async def run_cron(settings: Settings, name: str) -> Any:
    worker = make_worker(settings, burst=True)
    try:
        job = await worker.queue.enqueue(name, timeout=60)
        assert job is not None
        await asyncio.wait_for(worker.start(), timeout=30)
        await job.refresh()
    finally:
        await worker.queue.disconnect()
    assert (job.status, job.error) == (Status.COMPLETE, None)
    return job.result


def test_every_cron_job_is_registered_with_a_schedule_and_a_timeout() -> None:
    names = [task.__name__ for task, _, _ in CRON]
    assert names == ["relay_jobs", "heartbeat", "expire_unpaid_orders", "reconcile_payments", "purge"]
    assert all(timeout > 0 for _, _, timeout in CRON)


async def test_expire_unpaid_orders_returns_the_stock(settings: Settings, shop: Shop) -> None:
    user = await shop.accounts.register(
        RegisterUser(email="ada@example.com", password="correct horse battery")
    )
    product = await shop.catalog.create_product(
        CreateProduct(name="Widget", sku="W-1", price=Decimal(5), stock_quantity=3),
        Actor("staff:boss", is_staff=True),
    )
    cmd = PlaceOrder(
        items=[OrderItemInput(product_id=product.id, quantity=2)],
        shipping_address=ADDRESS,
        payment_method="stripe",
    )
    placed = await shop.orders.place_order(user.id, Actor(f"user:{user.id}", user.id), cmd)

    assert await run_cron(settings, "expire_unpaid_orders") == 1

    order = await shop.orders.get_order(placed.order.id, Actor("staff", None, is_staff=True))
    assert order.status == "cancelled"
    async with shop.ports.uow() as uow:
        assert (await uow.products.by_ids([product.id]))[product.id].stock_quantity == 3


async def test_relay_jobs_delivers_what_a_dead_process_left_pending(settings: Settings, shop: Shop) -> None:
    await shop.ports.relay.aclose(grace_s=0)  # this process dies right after its commits
    await shop.accounts.register(RegisterUser(email="ada@example.com", password="correct horse battery"))
    assert [j.status for j in (await shop.jobs.list_jobs(Actor.operator())).items] == ["pending"]

    # The worker relays at start-up and every minute (the cron job): either way, it takes the job
    # over and, being in burst mode, runs it before it stops.
    await run_cron(settings, "relay_jobs")

    assert [j.status for j in (await shop.jobs.list_jobs(Actor.operator())).items] == ["complete"]


async def test_purge_forgets_old_complete_jobs(settings: Settings, shop: Shop) -> None:
    for email in ("ada@example.com", "bob@example.com"):
        await shop.accounts.register(RegisterUser(email=email, password="correct horse battery"))
    await shop.jobs.drain_jobs()
    recent, old = sorted((await shop.jobs.list_jobs(Actor.operator())).items, key=lambda j: j.id)
    await shop.jobs.run_job(recent.id)  # an hour ago
    assert isinstance(shop.ports.clock, FakeClock)
    shop.ports.clock.advance(-timedelta(days=settings.job_retention_days).total_seconds())
    await shop.jobs.run_job(old.id)  # longer ago than the retention

    assert await run_cron(settings, "purge") == {"carts": 0, "idempotency_keys": 0, "jobs": 1}
    assert [j.id for j in (await shop.jobs.list_jobs(Actor.operator())).items] == [recent.id]


async def test_heartbeat_and_reconcile_answer(settings: Settings) -> None:
    assert (await run_cron(settings, "heartbeat"))["ok"] is True
    report = await run_cron(settings, "reconcile_payments")
    assert report == {
        "checked": 0,
        "settled": 0,
        "still_pending": 0,
        "failed_to_ask": 0,
        "refunds_settled": 0,
    }
