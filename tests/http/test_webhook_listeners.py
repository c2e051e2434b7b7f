"""What emitting costs: a checkout whose events no subscription listens to sends no statement about
webhooks (the process's snapshot of the listened types answers); another process's new
subscription is heard once the snapshot is read again (`SHOP_WEBHOOKS_REFRESH_SECONDS`)."""

from __future__ import annotations

from tests.http.conftest import sql_statements
from tests.http.test_notifications import World, inbox  # noqa: F401 - a fixture
from tests.http.webhooks_support import hooks_world, subscribe, verified
from tests.smtp_server import Inbox
from tests.webhook_receiver import Receiver


async def test_a_checkout_nobody_listens_to_sends_no_webhook_statement(
    sqlite_url: str,
    inbox: Inbox,  # noqa: F811 - the fixture
    receiver: Receiver,
) -> None:
    # SQLite: every statement goes through SQLAlchemy, where the test sees it (PostgreSQL's checkout
    # takes its asyncpg fast path; the snapshot is read through SQLAlchemy on both).
    async with hooks_world(sqlite_url, inbox, webhooks_refresh_seconds=300) as world:
        await subscribe(world, receiver.url(), "product.updated")
        product = await world.product("Lamp", stock=50)
        await world.order([(product["id"], 1)])  # the first event after the change reads the types
        await world.drain()
        with sql_statements(world.client) as seen:
            await world.order([(product["id"], 1)])
            await world.drain()
        assert seen, "the statements were not collected"
        assert [s for s in seen if "webhook" in s.lower()] == []
        assert receiver.received == []


async def test_another_process_s_subscription_is_heard_once_its_snapshot_is_read_again(
    sqlite_url: str,
    inbox: Inbox,  # noqa: F811 - the fixture
    receiver: Receiver,
) -> None:
    async with (
        hooks_world(sqlite_url, inbox, webhooks_refresh_seconds=300) as slow,
        hooks_world(sqlite_url, inbox, webhooks_refresh_seconds=0) as eager,
    ):
        product = await slow.product("Lamp", stock=50)
        await slow.order([(product["id"], 1)])  # `slow` reads the types now: none
        await eager.order([(product["id"], 1)])
        hook = await subscribe(eager, receiver.url(), "order.created")

        await slow.order([(product["id"], 1)])  # within its window: not heard yet
        await slow.drain()
        assert receiver.received == []
        await eager.order([(product["id"], 1)])  # reads the types at every event
        await eager.drain()
        [got] = receiver.received
        assert verified(hook["secret"], got)["type"] == "order.created"
