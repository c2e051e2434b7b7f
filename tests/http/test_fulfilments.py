"""API.md Part 2 "Fulfilment and returns", the fulfilment rows: staff record shipped parcels, the
order's `fulfillment_status` and `status` follow, the customer is mailed, and nothing ships twice.

Everything runs on both databases, mailing to a real SMTP server; the race runs on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from shop_core.bootstrap import bootstrap
from shop_http import create_app
from tests.conftest import fast_hasher, make_settings
from tests.http.conftest import Account, assert_error, in_app, new_account, new_staff
from tests.http.test_notifications import STORE, World, assert_mail, inbox, parts  # noqa: F401 - a fixture
from tests.smtp_server import Inbox

FULFILMENT_FIELDS = {"id", "order_id", "lines", "carrier", "tracking_number", "created_at"}


@pytest.fixture
async def world(database_url: str, inbox: Inbox) -> AsyncIterator[World]:  # noqa: F811 - the fixture
    """The app on each database, mailing to `inbox`, with a staff member and a customer."""
    settings = make_settings(database_url, smtp_url=inbox.url, store_name=STORE, job_retry_delay=0.01)
    app = create_app(settings, shop_factory=partial(bootstrap, hasher=fast_hasher()))
    async with AsyncTestClient(app) as client:
        opened = World(client, inbox, await new_staff(client), await new_account(client))
        await opened.drain()
        yield opened


async def fulfil(
    world: World, order: dict[str, Any], lines: list[tuple[int, int]], **extra: Any
) -> httpx.Response:
    body = {"lines": [{"item_id": i, "quantity": q} for i, q in lines], **extra}
    return await world.client.post(
        f"/api/orders/{order['id']}/fulfillments/", json=body, headers=world.staff.headers
    )


async def staff_view(world: World, order: dict[str, Any]) -> dict[str, Any]:
    found = await world.client.get(f"/api/orders/{order['id']}/", headers=world.staff.headers)
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


async def fulfilments_of(
    world: World, order: dict[str, Any], who: Account | None = None
) -> list[dict[str, Any]]:
    found = await world.client.get(
        f"/api/orders/{order['id']}/fulfillments/", headers=(who or world.staff).headers
    )
    assert found.status_code == 200, found.text
    body: list[dict[str, Any]] = found.json()
    return body


async def two_line_order(
    world: World, *, paid: bool = True, method: str = "cod"
) -> tuple[dict[str, Any], int, int]:
    """An order of 2 lamps and 1 mug (paid by cash unless told), and its two items' ids."""
    lamp = await world.product("Desk Lamp", "25.00")
    mug = await world.product("Mug", "5.00")
    body = {
        "items": [{"product_id": lamp["id"], "quantity": 2}, {"product_id": mug["id"], "quantity": 1}],
        "shipping_address": {
            "full_name": "Ada",
            "line1": "1 Main St",
            "city": "London",
            "postal_code": "N1",
            "country": "GB",
        },
        "payment_method": method,
    }
    placed = await world.client.post("/api/orders/", json=body, headers=world.customer.headers)
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json()
    if paid:
        await world.pay_cash(order)
    lamp_item, mug_item = order["items"]
    assert lamp_item["id"] > 0
    assert mug_item["id"] > 0
    return order, lamp_item["id"], mug_item["id"]


async def test_an_order_ships_in_two_parcels_then_is_shipped_with_every_tracking_number(world: World) -> None:
    order, lamp, mug = await two_line_order(world)
    assert order["fulfillment_status"] == "unfulfilled"

    first = await fulfil(world, order, [(lamp, 1)], carrier="DHL", tracking_number="TRACK-ONE")
    assert first.status_code == 201, first.text
    parcel = first.json()
    assert set(parcel) == FULFILMENT_FIELDS
    assert parcel["order_id"] == order["id"]
    assert parcel["lines"] == [{"item_id": lamp, "quantity": 1}]
    assert (parcel["carrier"], parcel["tracking_number"]) == ("DHL", "TRACK-ONE")
    now = await staff_view(world, order)
    assert (now["status"], now["fulfillment_status"]) == ("paid", "partial")

    await world.drain()
    number = order["order_number"]
    partly = world.one_mail(world.customer.email, f"Part of your order {number} is on its way — {STORE}")
    assert_mail(partly, number, "TRACK-ONE", "DHL", "1 x Desk Lamp")

    second = await fulfil(world, order, [(lamp, 1), (mug, 1)], tracking_number="TRACK-TWO")
    assert second.status_code == 201, second.text
    now = await staff_view(world, order)
    assert (now["status"], now["fulfillment_status"]) == ("shipped", "fulfilled")
    actions = [(e["action"], e["to_status"]) for e in now["events"]]
    assert actions[-4:] == [
        ("fulfilled", ""),
        ("fulfilled", ""),
        ("status", "processing"),
        ("status", "shipped"),
    ]
    assert "TRACK-ONE" in now["events"][-4]["note"]
    assert "partial → fulfilled" in now["events"][-3]["note"]

    await world.drain()
    shipped = world.one_mail(world.customer.email, f"Your order {number} is on its way — {STORE}")
    assert_mail(shipped, number, "TRACK-ONE", "TRACK-TWO")
    assert len(world.subjects_to(world.customer.email)) == 5  # welcome, confirmation, paid, part, shipped
    await world.assert_every_job_complete()

    listed = await fulfilments_of(world, order, world.customer)
    assert [p["tracking_number"] for p in listed] == ["TRACK-ONE", "TRACK-TWO"]
    assert listed == await fulfilments_of(world, order)

    again = await fulfil(world, order, [(mug, 1)])
    assert_error(again, 409, "order_not_fulfillable")


async def test_a_cash_on_delivery_order_ships_before_its_cash_comes(world: World) -> None:
    order, lamp, mug = await two_line_order(world, paid=False)
    shipped = await fulfil(world, order, [(lamp, 2), (mug, 1)], carrier="Pathao")
    assert shipped.status_code == 201, shipped.text
    now = await staff_view(world, order)
    assert (now["status"], now["fulfillment_status"], now["payment_status"]) == (
        "pending",
        "fulfilled",
        "unpaid",
    )

    await world.drain()
    number = order["order_number"]
    assert_mail(
        world.one_mail(world.customer.email, f"Your order {number} is on its way — {STORE}"), "Pathao"
    )
    await world.pay_cash(order)  # the cash comes on delivery
    await world.assert_every_job_complete()


async def test_an_item_named_twice_counts_once_with_its_quantities_added(world: World) -> None:
    order, lamp, _ = await two_line_order(world)
    assert_error(await fulfil(world, order, [(lamp, 2), (lamp, 1)]), 409, "over_fulfilment")
    added = await fulfil(world, order, [(lamp, 1), (lamp, 1)])
    assert added.status_code == 201, added.text
    assert added.json()["lines"] == [{"item_id": lamp, "quantity": 2}]


async def test_refused_orders_and_over_shipping_are_409_and_change_nothing(world: World) -> None:
    order, lamp, mug = await two_line_order(world)
    over = assert_error(await fulfil(world, order, [(lamp, 3), (mug, 1)]), 409, "over_fulfilment")
    assert f"item {lamp}: 3 asked, 2 left to ship" in over["detail"]

    unpaid, lamp_of_unpaid, _ = await two_line_order(world, paid=False, method="stripe")
    refused = assert_error(await fulfil(world, unpaid, [(lamp_of_unpaid, 1)]), 409, "order_not_fulfillable")
    assert "unpaid" in refused["detail"]

    cancelled, lamp_of_cancelled, _ = await two_line_order(world, paid=False)
    await world.cancel(cancelled)
    refused = assert_error(
        await fulfil(world, cancelled, [(lamp_of_cancelled, 1)]), 409, "order_not_fulfillable"
    )
    assert "cancelled" in refused["detail"]

    for each in (order, unpaid, cancelled):
        assert await fulfilments_of(world, each) == []
        assert (await staff_view(world, each))["fulfillment_status"] == "unfulfilled"


async def test_only_staff_record_and_only_the_owner_and_staff_see(world: World) -> None:
    order, lamp, _ = await two_line_order(world)
    path = f"/api/orders/{order['id']}/fulfillments/"
    body = {"lines": [{"item_id": lamp, "quantity": 1}]}
    assert_error(await world.client.post(path, json=body, headers=world.customer.headers), 403)
    assert_error(await world.client.post(path, json=body), 401)
    assert_error(await world.client.get(path), 401)
    stranger = await new_account(world.client)
    assert_error(await world.client.get(path, headers=stranger.headers), 404)
    assert_error(
        await world.client.post("/api/orders/999999/fulfillments/", json=body, headers=world.staff.headers),
        404,
    )
    assert await fulfilments_of(world, order) == []


@pytest.mark.parametrize(
    ("lines", "extra"),
    [
        pytest.param([(0, -1)], {}, id="negative"),
        pytest.param([(0, 0)], {}, id="zero"),
        pytest.param([(0, 10**20)], {}, id="huge"),
        pytest.param([(999_999, 1)], {}, id="unknown item"),
        pytest.param([(10**20, 1)], {}, id="huge item id"),
        pytest.param([], {}, id="no lines"),
        pytest.param([(0, 1)], {"carrier": "DH\x00L"}, id="NUL carrier"),
        pytest.param([(0, 1)], {"tracking_number": "T1\nBcc: x@example.com"}, id="newline tracking"),
        pytest.param([(0, 1)], {"tracking_number": "T" * 101}, id="tracking too long"),
        pytest.param([(0, 1)], {"carrier": "C" * 101}, id="carrier too long"),
        pytest.param([(0, 1)], {"surprise": 1}, id="unknown field"),
    ],
)
async def test_bad_input_is_400_and_stores_nothing(
    world: World, lines: list[tuple[int, int]], extra: dict[str, Any]
) -> None:
    order, lamp, _ = await two_line_order(world)
    sent = [(lamp if item == 0 else item, quantity) for item, quantity in lines]
    assert_error(await fulfil(world, order, sent, **extra), 400)
    assert await fulfilments_of(world, order) == []
    assert (await staff_view(world, order))["fulfillment_status"] == "unfulfilled"


async def test_an_item_of_another_order_is_400(world: World) -> None:
    order, _, _ = await two_line_order(world)
    _, other_lamp, _ = await two_line_order(world)
    assert_error(await fulfil(world, order, [(other_lamp, 1)]), 400)
    assert await fulfilments_of(world, order) == []


async def test_staff_entered_carrier_and_tracking_are_escaped_in_the_html_email(world: World) -> None:
    order, lamp, _ = await two_line_order(world)
    shipped = await fulfil(
        world, order, [(lamp, 1)], carrier="<b>Fast</b>", tracking_number="<script>x</script>"
    )
    assert shipped.status_code == 201, shipped.text
    await world.drain()
    message = world.one_mail(
        world.customer.email, f"Part of your order {order['order_number']} is on its way — {STORE}"
    )
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    raw = html_part.get_content()
    assert "<script>" not in raw
    assert "&lt;script&gt;x&lt;/script&gt;" in raw
    assert "&lt;b&gt;Fast&lt;/b&gt;" in raw
    text, _ = parts(message)
    assert "<b>Fast</b>" in text  # plain text is not HTML: shown as typed


# --- PostgreSQL: racing fulfilments --------------------------------------------------------------


@pytest.fixture
async def pg_world(pg_url: str, inbox: Inbox) -> AsyncIterator[World]:  # noqa: F811 - the fixture
    settings = make_settings(pg_url, smtp_url=inbox.url, store_name=STORE, job_retry_delay=0.01)
    app = create_app(settings, shop_factory=partial(bootstrap, hasher=fast_hasher()))
    async with AsyncTestClient(app) as client:
        opened = World(client, inbox, await new_staff(client), await new_account(client))
        yield opened


async def test_racing_fulfilments_never_ship_more_than_was_ordered(pg_world: World) -> None:
    world = pg_world
    order, lamp, mug = await two_line_order(world)
    racers = 12
    body_of = [
        {"lines": [{"item_id": lamp, "quantity": 1}, {"item_id": mug, "quantity": 1}]}
        if n % 3 == 0
        else {"lines": [{"item_id": lamp, "quantity": 1}]}
        for n in range(racers)
    ]
    path = f"/api/orders/{order['id']}/fulfillments/"

    async def race() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=world.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as burst:
            return list(
                await asyncio.gather(
                    *(burst.post(path, json=b, headers=world.staff.headers) for b in body_of)
                )
            )

    responses: list[httpx.Response] = await in_app(world.client, race)
    codes = Counter(r.status_code for r in responses)
    assert set(codes) <= {201, 409}, [r.text for r in responses]
    assert codes[201] >= 1
    shipped: Counter[int] = Counter()
    for parcel in await fulfilments_of(world, order):
        for line in parcel["lines"]:
            shipped[line["item_id"]] += line["quantity"]
    assert shipped[lamp] == 2  # eight requests ask for a lamp alone: two of them get one each
    assert shipped[mug] <= 1
    # Under the order's row lock each request sees what the others shipped: refusals say why,
    # none is a lost race ("changed meanwhile").
    refusals = {r.json()["code"] for r in responses if r.status_code == 409}
    assert refusals <= {"over_fulfilment", "order_not_fulfillable"}, refusals
    assert codes[201] == len(await fulfilments_of(world, order))
    now = await staff_view(world, order)
    expected = "fulfilled" if shipped == Counter({lamp: 2, mug: 1}) else "partial"
    assert now["fulfillment_status"] == expected
    assert [e["action"] for e in now["events"]].count("fulfilled") == codes[201]
