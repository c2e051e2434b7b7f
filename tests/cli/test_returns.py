"""`shop returns list|show|approve|reject|receive|refund|retry-refund`: staff handle returns."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from shop_core.bootstrap import bootstrap
from shop_core.domain.actors import Actor
from shop_core.services.returns import RequestReturn, ReturnLineInput
from tests.cli.conftest import Cli, error_line, ok, table_rows
from tests.cli.test_orders import cli, place, register, stock_of  # noqa: F401 - `cli`: the fixture with products
from tests.conftest import fast_hasher, make_settings


def delivered(cli: Cli, *, by_hand: bool = False) -> tuple[str, int, dict[str, int]]:  # noqa: F811
    """A cash order of 2 lamps (10.00) and 1 mug (2.50), its cash collected (or marked paid by hand,
    no payment), delivered; its number, owner, items."""
    user_id = register(cli, "ann@example.com")
    number = place(cli, user_id, {"LAMP-1": 2, "MUG-1": 1})
    if by_hand:
        ok(cli("orders", "set-status", number, "paid"))
    else:
        ok(cli("payments", "confirm-cod", number))
    for status in ("processing", "shipped", "delivered"):
        ok(cli("orders", "set-status", number, status))
    order = json.loads(ok(cli("orders", "show", number, "--json")))
    return number, user_id, {item["sku"]: item["id"] for item in order["items"]}


def ask(cli: Cli, number: str, user_id: int, lines: dict[int, int]) -> int:  # noqa: F811
    """The customer asks for a return (through the service: the CLI is staff's); its id."""

    async def request() -> int:
        async with bootstrap(make_settings(cli.database_url), hasher=fast_hasher()) as shop:
            order = await shop.orders.get_order_by_number(number, Actor.operator())
            cmd = RequestReturn(
                lines=[ReturnLineInput(item_id=i, quantity=q) for i, q in lines.items()], reason="Too big"
            )
            return (await shop.returns.request(order.id, cmd, Actor(f"user:{user_id}", user_id))).id

    return asyncio.run(request())


def test_staff_approve_receive_and_refund_a_return(cli: Cli) -> None:  # noqa: F811
    number, user_id, items = delivered(cli)
    lamp = items["LAMP-1"]
    before = stock_of(cli)["LAMP-1"]
    return_id = ask(cli, number, user_id, {lamp: 1})

    rows = table_rows(ok(cli("returns", "list")))
    assert [(r["id"], r["status"], r["items"]) for r in rows] == [
        (str(return_id), "requested", f"item {lamp} x 1")
    ]
    assert "approved" in ok(cli("returns", "approve", str(return_id)))
    assert "received" in ok(cli("returns", "receive", str(return_id), "--restock"))
    assert stock_of(cli)["LAMP-1"] == before + 1
    order = json.loads(ok(cli("orders", "show", number, "--json")))
    line = next(item for item in order["items"] if item["id"] == lamp)
    paid = Decimal(line["line_total"]) - Decimal(line["discount_amount"]) + Decimal(line["tax_amount"])
    share = f"{paid / 2:.2f}"  # one lamp of two: half of what the line cost, tax included
    out = ok(cli("returns", "refund", str(return_id)))
    assert f"refunded (item {lamp} x 1); refund {share}." in out
    shown = json.loads(ok(cli("returns", "show", str(return_id), "--json")))
    assert (shown["status"], shown["refund_amount"]) == ("refunded", share)
    assert json.loads(ok(cli("orders", "show", number, "--json")))["refunded_amount"] == share
    assert "reason: Too big" in ok(cli("returns", "show", str(return_id)))
    assert "refunded" in error_line(cli("returns", "refund", str(return_id)))
    assert "refund" in error_line(cli("returns", "retry-refund", str(return_id)))


def test_reject_with_a_note_and_refusals_are_one_red_line(cli: Cli) -> None:  # noqa: F811
    number, user_id, items = delivered(cli)
    return_id = ask(cli, number, user_id, {items["MUG-1"]: 1})
    out = ok(cli("returns", "reject", str(return_id), "--note", "Worn"))
    assert "rejected" in out
    assert "note: Worn" in ok(cli("returns", "show", str(return_id)))
    assert "rejected" in error_line(cli("returns", "receive", str(return_id), "--no-restock"))
    assert "no such return" in error_line(cli("returns", "show", "999999")).lower()
    fresh = ask(cli, number, user_id, {items["MUG-1"]: 1})
    assert "no refund" in error_line(cli("returns", "retry-refund", str(fresh))).lower()


def test_an_order_paid_by_hand_has_no_payment_to_refund_through(cli: Cli) -> None:  # noqa: F811
    number, user_id, items = delivered(cli, by_hand=True)
    return_id = ask(cli, number, user_id, {items["MUG-1"]: 1})
    ok(cli("returns", "approve", str(return_id)))
    ok(cli("returns", "receive", str(return_id), "--no-restock"))
    assert "no payment" in error_line(cli("returns", "refund", str(return_id)))
    assert json.loads(ok(cli("returns", "show", str(return_id), "--json")))["status"] == "received"
