"""API.md Part 2 "Fulfilment and returns", the returns rows: the order's customer asks to send
delivered goods back, staff approve or reject, receive (restocking or not) and refund them.

Everything runs on both databases; the races run on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from litestar.testing import AsyncTestClient

from shop_core.bootstrap import bootstrap
from shop_core.domain.orders import PaymentMethod
from shop_core.domain.payments import Payment, Refund
from shop_core.ports.payments import GatewayError, PaymentGateway, RefundAnswer, RefundRequest
from shop_http import create_app
from tests.conftest import fast_hasher, make_settings
from tests.http.conftest import Account, assert_error, engine_of, in_app, new_account, new_staff, shop_of
from tests.http.test_notifications import STORE, World, assert_mail, inbox  # noqa: F401 - a fixture
from tests.smtp_server import Inbox

RETURN_FIELDS = {
    "id",
    "order_id",
    "status",
    "lines",
    "reason",
    "note",
    "refund_amount",
    "restock",
    "refund_id",
    "created_at",
    "updated_at",
    "received_at",
    "refunded_at",
}


def open_world(url: str, mail: Inbox, **settings: Any) -> AsyncTestClient[Any]:
    made = make_settings(url, smtp_url=mail.url, store_name=STORE, job_retry_delay=0.01, **settings)
    return AsyncTestClient(create_app(made, shop_factory=partial(bootstrap, hasher=fast_hasher())))


@pytest.fixture
async def world(database_url: str, inbox: Inbox) -> AsyncIterator[World]:  # noqa: F811 - the fixture
    async with open_world(database_url, inbox) as client:
        yield World(client, inbox, await new_staff(client), await new_account(client))


@pytest.fixture
async def pg_world(pg_url: str, inbox: Inbox) -> AsyncIterator[World]:  # noqa: F811 - the fixture
    async with open_world(pg_url, inbox) as client:
        yield World(client, inbox, await new_staff(client), await new_account(client))


async def sql(world: World, statement: str, **params: Any) -> list[Any]:
    async def run() -> list[Any]:
        async with engine_of(world.client).connect() as conn:
            return list((await conn.execute(sa.text(statement), params)).all())

    rows: list[Any] = await in_app(world.client, run)
    return rows


async def delivered_order(world: World, *, deliver: bool = True) -> tuple[dict[str, Any], int, int]:
    """A cash order of 2 lamps (25.00) and 1 mug (5.00), paid, and delivered unless told; its items."""
    lamp = await world.product("Desk Lamp", "25.00", stock=10)
    mug = await world.product("Mug", "5.00", stock=10)
    order = await world.order([(lamp["id"], 2), (mug["id"], 1)])
    await world.pay_cash(order)
    if deliver:
        for status in ("processing", "shipped", "delivered"):
            moved = await world.move(order, status)
            assert moved.status_code == 200, moved.text
    lamp_item, mug_item = order["items"]
    order["lamp"], order["mug"] = lamp, mug
    return order, lamp_item["id"], mug_item["id"]


async def ask(
    world: World, order: dict[str, Any], lines: list[tuple[int, int]], who: Account | None = None
) -> httpx.Response:
    body = {"lines": [{"item_id": i, "quantity": q} for i, q in lines], "reason": "Too small"}
    return await world.client.post(
        f"/api/orders/{order['id']}/returns/", json=body, headers=(who or world.customer).headers
    )


async def asked(world: World, order: dict[str, Any], lines: list[tuple[int, int]]) -> dict[str, Any]:
    made = await ask(world, order, lines)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def act(
    world: World,
    item: dict[str, Any],
    action: str,
    body: dict[str, Any] | None = None,
    who: Account | None = None,
) -> httpx.Response:
    return await world.client.post(
        f"/api/returns/{item['id']}/{action}/", json=body or {}, headers=(who or world.staff).headers
    )


async def moved(
    world: World, item: dict[str, Any], action: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    answer = await act(world, item, action, body)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def fetch(world: World, item: dict[str, Any], who: Account | None = None) -> httpx.Response:
    return await world.client.get(f"/api/returns/{item['id']}/", headers=(who or world.staff).headers)


async def events_of(world: World, order: dict[str, Any]) -> list[str]:
    found = await world.client.get(f"/api/orders/{order['id']}/", headers=world.staff.headers)
    return [e["action"] for e in found.json()["events"]]


# --- the life ---------------------------------------------------------------------------------------


async def test_a_return_is_requested_approved_and_received_into_stock(world: World) -> None:
    order, lamp, mug = await delivered_order(world)
    before = await world.stock_of(order["lamp"])
    item = await asked(world, order, [(lamp, 1), (mug, 1)])
    assert set(item) == RETURN_FIELDS
    assert (item["order_id"], item["status"], item["reason"]) == (order["id"], "requested", "Too small")
    assert item["lines"] == [{"item_id": lamp, "quantity": 1}, {"item_id": mug, "quantity": 1}]
    assert (item["refund_amount"], item["restock"], item["refund_id"]) == (None, None, None)

    assert (await moved(world, item, "approve"))["status"] == "approved"
    received = await moved(world, item, "receive", {"restock": True})
    assert (received["status"], received["restock"]) == ("received", True)
    assert received["received_at"] is not None
    assert await world.stock_of(order["lamp"]) == before + 1
    rows = await sql(
        world,
        "SELECT product_id, delta, reason, note FROM stock_movements WHERE reason = 'return' "
        "ORDER BY product_id",
    )
    assert [(r.product_id, r.delta) for r in rows] == [(order["lamp"]["id"], 1), (order["mug"]["id"], 1)]
    assert all(f"return #{item['id']}" in r.note for r in rows)
    assert (await events_of(world, order))[-3:] == ["return_requested", "return_approved", "return_received"]
    assert (await fetch(world, item, world.customer)).json() == received


async def test_received_without_restock_leaves_stock_alone(world: World) -> None:
    order, lamp, _ = await delivered_order(world)
    before = await world.stock_of(order["lamp"])
    item = await asked(world, order, [(lamp, 2)])
    await moved(world, item, "approve")
    received = await moved(world, item, "receive", {"restock": False})
    assert (received["status"], received["restock"]) == ("received", False)
    assert await world.stock_of(order["lamp"]) == before
    assert await sql(world, "SELECT id FROM stock_movements WHERE reason = 'return'") == []


async def test_a_rejected_return_keeps_the_note_and_frees_its_units(world: World) -> None:
    order, lamp, _ = await delivered_order(world)
    item = await asked(world, order, [(lamp, 2)])
    rejected = await moved(world, item, "reject", {"note": "Worn; not as sent."})
    assert (rejected["status"], rejected["note"]) == ("rejected", "Worn; not as sent.")
    again = await asked(world, order, [(lamp, 2)])  # a rejected return holds no units
    assert again["status"] == "requested"


MOVES = {
    "approve": None,
    "reject": {"note": ""},
    "receive": {"restock": True},
    "refund": None,
}


@pytest.mark.parametrize("where", ["requested", "approved", "rejected", "received", "refunded"])
async def test_every_move_the_table_refuses_is_409_and_changes_nothing(world: World, where: str) -> None:
    order, lamp, _ = await delivered_order(world)
    item = await asked(world, order, [(lamp, 1)])
    path = {
        "requested": [],
        "approved": ["approve"],
        "rejected": ["reject"],
        "received": ["approve", "receive"],
        "refunded": ["approve", "receive", "refund"],
    }
    for action in path[where]:
        await moved(world, item, action, MOVES[action])
    allowed = {
        "requested": {"approve", "reject"},
        "approved": {"receive"},
        "rejected": set(),
        "received": {"refund"},
        "refunded": set(),
    }
    refunds = await sql(world, "SELECT id FROM refunds")
    stock = await world.stock_of(order["lamp"])
    snapshot = (await fetch(world, item)).json()
    for action, body in MOVES.items():
        if action in allowed[where]:
            continue
        refused = await act(world, item, action, body)
        assert_error(refused, 409, "return_move_refused")
        assert (await fetch(world, item)).json() == snapshot
    assert await world.stock_of(order["lamp"]) == stock
    assert await sql(world, "SELECT id FROM refunds") == refunds


# --- refusals ---------------------------------------------------------------------------------------


async def test_an_order_not_delivered_cannot_be_returned(world: World) -> None:
    order, lamp, _ = await delivered_order(world, deliver=False)
    assert_error(await ask(world, order, [(lamp, 1)]), 409, "return_not_allowed")
    assert (await world.client.get("/api/returns/", headers=world.staff.headers)).json()["count"] == 0


async def test_after_the_window_returns_are_closed(database_url: str, inbox: Inbox) -> None:  # noqa: F811
    async with open_world(database_url, inbox, return_window_days=0) as client:
        world = World(client, inbox, await new_staff(client), await new_account(client))
        order, lamp, _ = await delivered_order(world)
        assert_error(await ask(world, order, [(lamp, 1)]), 409, "return_not_allowed")


async def test_more_than_was_delivered_or_already_in_a_return_is_409(world: World) -> None:
    order, lamp, mug = await delivered_order(world)
    refused = assert_error(await ask(world, order, [(lamp, 3)]), 409, "return_too_many")
    assert "item" in refused["detail"]
    await asked(world, order, [(lamp, 1)])
    assert_error(await ask(world, order, [(lamp, 2)]), 409, "return_too_many")
    await asked(world, order, [(lamp, 1), (mug, 1)])
    assert_error(await ask(world, order, [(mug, 1)]), 409, "return_too_many")


@pytest.mark.parametrize(
    "body",
    [
        {"lines": [], "reason": "x"},
        {"lines": [{"item_id": 1, "quantity": 0}], "reason": "x"},
        {"lines": [{"item_id": 1, "quantity": 1}], "reason": ""},
        {"lines": [{"item_id": 1, "quantity": 1}]},
    ],
)
async def test_bad_input_is_400(world: World, body: dict[str, Any]) -> None:
    order, _, _ = await delivered_order(world)
    answer = await world.client.post(
        f"/api/orders/{order['id']}/returns/", json=body, headers=world.customer.headers
    )
    assert_error(answer, 400)


async def test_an_item_named_twice_or_of_another_order_is_400(world: World) -> None:
    order, lamp, _ = await delivered_order(world)
    assert_error(await ask(world, order, [(lamp, 1), (lamp, 1)]), 400)
    assert_error(await ask(world, order, [(lamp + 1000, 1)]), 400)


# --- who sees and does what ------------------------------------------------------------------------------


async def test_visibility_and_permissions(world: World) -> None:
    order, lamp, _ = await delivered_order(world)
    other = await new_account(world.client)
    assert_error(await ask(world, order, [(lamp, 1)], other), 404)
    for_them = await ask(world, order, [(lamp, 1)], world.staff)  # staff ask on the customer's behalf
    assert for_them.status_code == 201, for_them.text
    assert_error(await act(world, for_them.json(), "reject", {"note": ""}, world.customer), 403)
    await moved(world, for_them.json(), "reject", {"note": "asked by phone, then withdrawn"})
    anonymous = await world.client.post(
        f"/api/orders/{order['id']}/returns/",
        json={"lines": [{"item_id": lamp, "quantity": 1}], "reason": "x"},
    )
    assert_error(anonymous, 401)
    item = await asked(world, order, [(lamp, 1)])

    assert_error(await fetch(world, item, other), 404)
    assert (await fetch(world, item, world.customer)).status_code == 200
    assert_error(await world.client.get("/api/returns/1000000/", headers=world.staff.headers), 404)
    assert_error(await world.client.get(f"/api/returns/{item['id']}/"), 401)
    for action, body in MOVES.items():
        assert_error(await act(world, item, action, body, world.customer), 403)
    assert (await fetch(world, item)).json()["status"] == "requested"

    mine = (await world.client.get("/api/returns/", headers=world.customer.headers)).json()
    assert [r["id"] for r in mine["results"]] == [item["id"], for_them.json()["id"]]
    theirs = (await world.client.get("/api/returns/", headers=other.headers)).json()
    assert (theirs["count"], theirs["results"]) == (0, [])
    everyone = (await world.client.get("/api/returns/", headers=world.staff.headers)).json()
    assert everyone == mine


# --- refunds ------------------------------------------------------------------------------------------


async def received(world: World, order: dict[str, Any], lines: list[tuple[int, int]]) -> dict[str, Any]:
    item = await asked(world, order, lines)
    await moved(world, item, "approve")
    return await moved(world, item, "receive", {"restock": True})


async def order_now(world: World, order: dict[str, Any]) -> dict[str, Any]:
    found = await world.client.get(f"/api/orders/{order['id']}/", headers=world.staff.headers)
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


async def test_returns_refund_their_exact_share_through_cash_on_delivery(world: World) -> None:
    order, lamp, mug = await delivered_order(world)
    assert order["refunded_amount"] == "0.00"
    first = await received(world, order, [(lamp, 1)])
    refunded = await moved(world, first, "refund")
    assert (refunded["status"], refunded["refund_amount"]) == ("refunded", "25.00")
    assert refunded["refund_id"] is not None
    assert refunded["refunded_at"] is not None
    now = await order_now(world, order)
    assert (now["status"], now["refunded_amount"]) == ("delivered", "25.00")
    actions = [e["action"] for e in now["events"]]
    assert actions[-3:] == ["return_refund_requested", "refund_succeeded", "return_refunded"]

    second = await received(world, order, [(lamp, 1), (mug, 1)])
    last = await moved(world, second, "refund")
    # The last units bring the shipping back too: together the refunds are what was paid.
    paid = Decimal(order["total_price"])
    assert Decimal(last["refund_amount"]) == paid - Decimal("25.00")
    now = await order_now(world, order)
    assert (now["status"], now["payment_status"]) == ("refunded", "refunded")
    assert Decimal(now["refunded_amount"]) == paid
    rows = await sql(world, "SELECT amount, status, reason FROM refunds ORDER BY id")
    assert [
        (r.status, f"return #{i['id']}" in r.reason) for r, i in zip(rows, (first, second), strict=True)
    ] == [
        ("succeeded", True),
        ("succeeded", True),
    ]
    assert_error(await act(world, second, "refund"), 409, "return_move_refused")


async def test_the_customer_is_mailed_when_the_goods_come_back_and_when_refunded(world: World) -> None:
    order, lamp, _ = await delivered_order(world)
    item = await received(world, order, [(lamp, 1)])
    await world.drain()
    number = order["order_number"]
    back = world.one_mail(world.customer.email, f"We received your return for order {number} — {STORE}")
    assert_mail(back, number, "1 x Desk Lamp")
    await moved(world, item, "refund")
    await world.drain()
    paid = world.one_mail(world.customer.email, f"Your return for order {number} is refunded — {STORE}")
    assert_mail(paid, number, "1 x Desk Lamp", "25.00 USD")
    await world.assert_every_job_complete()


class FlakyGateway:
    """The cash-on-delivery gateway that does not answer while `down` (the refund's fate unknown)."""

    def __init__(self, real: PaymentGateway) -> None:
        self.real, self.down, self.asked = real, True, 0

    async def refund(self, request: RefundRequest) -> RefundAnswer:
        self.asked += 1
        if self.down:
            raise GatewayError("timed out")
        return await self.real.refund(request)

    async def refund_status(self, refund: Refund, payment: Payment) -> RefundAnswer:
        return await self.real.refund_status(refund, payment)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


async def test_a_refund_the_gateway_did_not_confirm_is_asked_again_with_the_same_refund(world: World) -> None:
    order, lamp, _ = await delivered_order(world)
    item = await received(world, order, [(lamp, 1)])
    gateways = shop_of(world.client).payments.context.gateways
    assert isinstance(gateways, dict)
    flaky = FlakyGateway(gateways[PaymentMethod.COD])
    gateways[PaymentMethod.COD] = flaky
    try:
        failed = await act(world, item, "refund")
        assert_error(failed, 502, "gateway_error")
        pending = (await fetch(world, item)).json()
        assert (pending["status"], pending["refund_amount"]) == ("received", "25.00")
        refund_id = pending["refund_id"]
        assert refund_id is not None
        assert (await order_now(world, order))["refunded_amount"] == "0.00"
        assert_error(await act(world, item, "refund"), 502, "gateway_error")  # still down: same refund
        flaky.down = False
        done = await moved(world, item, "refund")
    finally:
        gateways[PaymentMethod.COD] = flaky.real
    assert (done["status"], done["refund_id"], done["refund_amount"]) == ("refunded", refund_id, "25.00")
    assert flaky.asked == 3
    rows = await sql(world, "SELECT id, amount, status FROM refunds")
    assert [(r.id, r.status) for r in rows] == [(refund_id, "succeeded")]
    assert (await order_now(world, order))["refunded_amount"] == "25.00"


async def test_reconciliation_completes_a_return_whose_refund_stayed_pending(world: World) -> None:
    order, lamp, _ = await delivered_order(world)
    item = await received(world, order, [(lamp, 1)])
    shop = shop_of(world.client)
    gateways = shop.payments.context.gateways
    assert isinstance(gateways, dict)
    flaky = FlakyGateway(gateways[PaymentMethod.COD])
    gateways[PaymentMethod.COD] = flaky
    try:
        assert_error(await act(world, item, "refund"), 502, "gateway_error")
        flaky.down = False
        report = await in_app(world.client, partial(shop.payments.reconcile_payments, timedelta(0)))
    finally:
        gateways[PaymentMethod.COD] = flaky.real
    assert report.refunds_settled == 1
    done = (await fetch(world, item)).json()
    assert (done["status"], done["refund_amount"]) == ("refunded", "25.00")
    assert len(await sql(world, "SELECT id FROM refunds")) == 1


# --- PostgreSQL: racing requests ------------------------------------------------------------------------


async def test_racing_requests_never_ask_back_more_than_was_delivered(pg_world: World) -> None:
    world = pg_world
    order, lamp, mug = await delivered_order(world)
    racers = 10
    path = f"/api/orders/{order['id']}/returns/"
    bodies = [
        {
            "lines": [{"item_id": lamp, "quantity": 1}]
            + ([{"item_id": mug, "quantity": 1}] if n % 3 == 0 else []),
            "reason": "r",
        }
        for n in range(racers)
    ]

    async def race() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=world.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as burst:
            return list(
                await asyncio.gather(
                    *(burst.post(path, json=b, headers=world.customer.headers) for b in bodies)
                )
            )

    responses: list[httpx.Response] = await in_app(world.client, race)
    codes = Counter(r.status_code for r in responses)
    assert set(codes) <= {201, 409}, [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} <= {"return_too_many"}
    units: Counter[int] = Counter()
    listed = (await world.client.get("/api/returns/", headers=world.staff.headers)).json()
    for item in listed["results"]:
        for line in item["lines"]:
            units[line["item_id"]] += line["quantity"]
    assert units[lamp] == 2
    assert units[mug] <= 1
    assert listed["count"] == codes[201]


async def test_racing_refunds_of_one_return_refund_it_once(pg_world: World) -> None:
    world = pg_world
    order, lamp, mug = await delivered_order(world)
    item = await received(world, order, [(lamp, 2), (mug, 1)])  # everything: the shipping too
    path = f"/api/returns/{item['id']}/refund/"

    async def race() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=world.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as burst:
            return list(
                await asyncio.gather(
                    *(burst.post(path, json={}, headers=world.staff.headers) for _ in range(8))
                )
            )

    responses: list[httpx.Response] = await in_app(world.client, race)
    codes = Counter(r.status_code for r in responses)
    assert set(codes) <= {200, 409}, [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} <= {"return_move_refused"}
    rows = await sql(world, "SELECT amount, status FROM refunds")
    assert [r.status for r in rows] == ["succeeded"]
    paid = await sql(world, "SELECT amount, refunded_amount FROM payments WHERE order_id = :o", o=order["id"])
    assert [(p.refunded_amount == p.amount == rows[0].amount) for p in paid] == [True]
    now = await order_now(world, order)
    assert (now["status"], now["refunded_amount"]) == ("refunded", order["total_price"])
    assert [e["action"] for e in now["events"]].count("return_refunded") == 1
