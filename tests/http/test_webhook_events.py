"""One webhook event for each place where it happens, delivered to a real local receiver and
verified: an order placed, paid, fulfilled and shipped, delivered, cancelled, refunded (by staff
and, in part, through a return), a return requested, a product or its variant changed by staff,
and stock falling below the threshold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from shop_core.domain.webhooks import EVENT_TYPES
from tests.http.test_notifications import World, inbox  # noqa: F401 - a fixture
from tests.http.test_returns import delivered_order, moved, received
from tests.http.webhooks_support import hooks_world, subscribe, verified
from tests.smtp_server import Inbox
from tests.webhook_receiver import Receiver


@pytest.fixture
async def world(database_url: str, inbox: Inbox) -> AsyncIterator[World]:  # noqa: F811 - the fixture
    async with hooks_world(database_url, inbox, low_stock_threshold=5) as opened:
        yield opened


@pytest.fixture
async def hook(world: World, receiver: Receiver) -> dict[str, Any]:
    """A subscription to every event type."""
    return await subscribe(world, receiver.url(), *EVENT_TYPES)


async def heard(world: World, hook: dict[str, Any], receiver: Receiver) -> list[tuple[str, Any]]:
    """Each event received since the last call, verified: (type, data), in the order sent."""
    await world.drain()
    got = [verified(hook["secret"], r) for r in receiver.received]
    receiver.received.clear()
    return [(body["type"], body["data"]) for body in got]


def types(events: list[tuple[str, Any]]) -> list[str]:
    return sorted(t for t, _ in events)


async def test_an_order_life_paid_fulfilled_shipped_delivered(
    world: World, hook: dict[str, Any], receiver: Receiver
) -> None:
    product = await world.product("Lamp", stock=50)
    order = await world.order([(product["id"], 2)])
    assert types(await heard(world, hook, receiver)) == ["order.created"]

    await world.pay_cash(order)
    [(kind, data)] = await heard(world, hook, receiver)
    assert (kind, data["id"], data["status"], data["payment_status"]) == (
        "order.paid",
        order["id"],
        "paid",
        "paid",
    )

    [item] = order["items"]
    shipped = await world.client.post(
        f"/api/orders/{order['id']}/fulfillments/",
        json={"lines": [{"item_id": item["id"], "quantity": 2}]},
        headers=world.staff.headers,
    )
    assert shipped.status_code == 201, shipped.text
    events = await heard(world, hook, receiver)
    assert types(events) == ["order.fulfilled", "order.shipped"]
    assert dict(events)["order.shipped"]["status"] == "shipped"

    assert (await world.move(order, "delivered")).status_code == 200
    assert types(await heard(world, hook, receiver)) == ["order.delivered"]


async def test_a_cancelled_order(world: World, hook: dict[str, Any], receiver: Receiver) -> None:
    product = await world.product("Lamp", stock=50)
    order = await world.order([(product["id"], 1)])
    await heard(world, hook, receiver)
    await world.cancel(order)
    [(kind, data)] = await heard(world, hook, receiver)
    assert (kind, data["id"], data["status"]) == ("order.cancelled", order["id"], "cancelled")


async def test_an_order_refunded_by_staff(world: World, hook: dict[str, Any], receiver: Receiver) -> None:
    product = await world.product("Lamp", stock=50)
    order = await world.order([(product["id"], 1)])
    await world.pay_cash(order)
    await heard(world, hook, receiver)
    assert (await world.move(order, "refunded")).status_code == 200
    [(kind, data)] = await heard(world, hook, receiver)
    assert (kind, data["status"]) == ("order.refunded", "refunded")


async def test_a_return_requested_then_refunded_in_part_then_in_full(
    world: World, hook: dict[str, Any], receiver: Receiver
) -> None:
    order, lamp, mug = await delivered_order(world)
    await heard(world, hook, receiver)
    first = await received(world, order, [(lamp, 1)])
    [(kind, data)] = await heard(world, hook, receiver)
    assert (kind, data["id"], data["order_id"]) == ("return.requested", first["id"], order["id"])

    await moved(world, first, "refund")
    [(kind, data)] = await heard(world, hook, receiver)
    assert (kind, data["status"], data["refunded_amount"]) == ("order.refunded", "delivered", "25.00")

    second = await received(world, order, [(lamp, 1), (mug, 1)])
    await moved(world, second, "refund")
    events = await heard(world, hook, receiver)
    assert types(events) == ["order.refunded", "return.requested"]
    assert dict(events)["order.refunded"]["status"] == "refunded"


async def test_a_product_changed_by_staff(world: World, hook: dict[str, Any], receiver: Receiver) -> None:
    product = await world.product("Lamp", stock=50)
    assert await heard(world, hook, receiver) == []  # a new product is not an update
    changed = await world.client.patch(
        f"/api/products/{product['id']}/", json={"name": "Desk Lamp"}, headers=world.staff.headers
    )
    assert changed.status_code == 200, changed.text
    [(kind, data)] = await heard(world, hook, receiver)
    assert (kind, data["id"], data["name"]) == ("product.updated", product["id"], "Desk Lamp")
    assert data["sku"] == product["sku"]


async def test_a_variant_added_by_staff(world: World, hook: dict[str, Any], receiver: Receiver) -> None:
    options = [{"name": "Size", "values": ["S", "M"]}]
    made = await world.client.post(
        "/api/products/",
        json={"name": "Tee", "sku": "TEE-W", "price": "18.00", "options": options},
        headers=world.staff.headers,
    )
    assert made.status_code == 201, made.text
    variant = await world.client.post(
        f"/api/products/{made.json()['id']}/variants/",
        json={"sku": "TEE-W-S", "options": {"Size": "S"}, "stock_quantity": 9},
        headers=world.staff.headers,
    )
    assert variant.status_code == 201, variant.text
    [(kind, data)] = await heard(world, hook, receiver)
    assert (kind, data["id"], data["sku"]) == ("product.updated", made.json()["id"], "TEE-W")


async def test_stock_falling_below_the_threshold(
    world: World, hook: dict[str, Any], receiver: Receiver
) -> None:
    product = await world.product("Lamp", stock=7)
    await world.order([(product["id"], 2)])  # 5 left: not below
    assert types(await heard(world, hook, receiver)) == ["order.created"]
    await world.order([(product["id"], 1)])  # 4 left
    events = await heard(world, hook, receiver)
    assert types(events) == ["order.created", "stock.low"]
    assert dict(events)["stock.low"] == {"product_id": product["id"], "stock": 4}
