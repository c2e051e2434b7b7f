"""`shop webhooks list|add|deliveries|redeliver|disable|enable|remove`: staff's webhooks from the
command line; deliveries made by a shop process to a real local receiver."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import msgspec
import pytest

from shop_core.bootstrap import bootstrap
from shop_core.domain.actors import Actor
from shop_core.services.order_commands import PlaceOrder
from tests.cli.conftest import Cli, error_line, ok, table_rows
from tests.cli.test_orders import SHIPPING, cli, product_ids, register  # noqa: F401 - `cli`: the fixture
from tests.conftest import fast_hasher, make_settings
from tests.webhook_receiver import Answer, Receiver, running_receiver

PRIVATE_OK = {"SHOP_WEBHOOKS_ALLOW_PRIVATE": "true"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def order_placed_and_delivered(cli: Cli) -> None:  # noqa: F811
    """A customer's order of a lamp, placed by a shop process that delivers its webhooks (private
    targets allowed) and waits for every job."""
    user_id = register(cli, "ann@example.com")
    cmd = msgspec.convert(
        {
            "items": [{"product_id": product_ids(cli)["LAMP-1"], "quantity": 1}],
            "shipping_address": SHIPPING,
            "payment_method": "cod",
        },
        PlaceOrder,
    )

    async def go() -> None:
        settings = make_settings(cli.database_url, webhooks_allow_private=True, job_retry_delay=0.01)
        async with bootstrap(settings, hasher=fast_hasher()) as shop:
            await shop.orders.place_order(user_id, Actor(f"user:{user_id}", user_id), cmd)
            await shop.jobs.drain_jobs()

    asyncio.run(go())


def test_staff_subscribe_read_deliveries_and_redeliver(cli: Cli, receiver: Receiver) -> None:  # noqa: F811
    added = ok(
        cli(
            "webhooks",
            "add",
            receiver.url(),
            "--event",
            "order.created",
            "--description",
            "ERP",
            env=PRIVATE_OK,
        )
    )
    secret = added.split("Signing secret (shown this once): ", 1)[1].strip()
    assert secret.startswith("whsec_")
    rows = table_rows(ok(cli("webhooks", "list")))
    assert [(r["id"], r["url"], r["events"], r["active"], r["description"]) for r in rows] == [
        ("1", receiver.url(), "order.created", "yes", "ERP")
    ]
    assert secret not in ok(cli("webhooks", "list", "--json"))

    receiver.answer_with(Answer(500, b"oops"))
    order_placed_and_delivered(cli)
    assert len(receiver.received) == 2
    rows = table_rows(ok(cli("webhooks", "deliveries", "1")))
    assert [(r["attempt"], r["status"].split(" ")[0], r["code"]) for r in rows] == [
        ("2", "succeeded", "200"),
        ("1", "retrying", "500"),
    ]
    assert "(next " in rows[1]["status"]
    found = json.loads(ok(cli("webhooks", "deliveries", "1", "--json")))["results"]
    assert {d["event_id"] for d in found} == {receiver.received[0].headers["webhook-id"]}

    again = ok(cli("webhooks", "redeliver", str(found[0]["id"])))
    assert f"Attempt 3 of {found[0]['event_id']} to subscription #1" in again

    assert "paused" in ok(cli("webhooks", "disable", "1"))
    assert "paused" in error_line(cli("webhooks", "redeliver", str(found[0]["id"])))
    assert "active" in ok(cli("webhooks", "enable", "1"))
    assert "removed" in ok(cli("webhooks", "remove", "1"))
    assert table_rows(ok(cli("webhooks", "list"))) == []


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("add", "https://erp.example.com/h", "--event", "order.teleported"), "order.teleported"),
        (("add", "http://127.0.0.1/h", "--event", "order.paid"), "private"),
        (("add", "http://[::ffff:10.0.0.1]/h", "--event", "order.paid"), "private"),
        (("add", "ftp://erp.example.com/h", "--event", "order.paid"), "http and https"),
        (("add", "https://u:p@erp.example.com/h", "--event", "order.paid"), "user name or password"),
        (("add", "https://erp.example.com/h", "--event", "order.paid", "--description", "x" * 501), "500"),
        (("deliveries", "7"), "No such webhook subscription"),
        (("redeliver", "7"), "No delivery 7"),
        (("disable", "7"), "No such webhook subscription"),
        (("remove", "7"), "No such webhook subscription"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(
    cli: Cli,  # noqa: F811
    args: tuple[str, ...],
    fragment: str,
) -> None:
    assert fragment in error_line(cli("webhooks", *args))
    assert table_rows(ok(cli("webhooks", "list"))) == []


def test_add_needs_an_event(cli: Cli) -> None:  # noqa: F811
    result = cli("webhooks", "add", "https://erp.example.com/h")
    assert result.exit_code == 2
    assert "--event" in result.output
