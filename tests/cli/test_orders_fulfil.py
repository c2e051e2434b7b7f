"""`shop orders fulfil ORDER --line ITEM:QTY [--carrier C] [--tracking T]`, and what `shop orders
show` says of an order's fulfilments."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Cli, error_line, ok, table_rows
from tests.cli.test_orders import cli, place, register  # noqa: F401 - `cli`: the fixture with products


def item_ids(cli: Cli, number: str) -> dict[str, int]:  # noqa: F811
    order = json.loads(ok(cli("orders", "show", number, "--json")))
    return {item["sku"]: item["id"] for item in order["items"]}


def paid_order(cli: Cli) -> tuple[str, dict[str, int]]:  # noqa: F811
    number = place(cli, register(cli, "ann@example.com"), {"LAMP-1": 2, "MUG-1": 1})
    ok(cli("orders", "set-status", number, "paid"))
    return number, item_ids(cli, number)


def test_fulfil_in_two_parcels_then_the_order_is_shipped(cli: Cli) -> None:  # noqa: F811
    number, items = paid_order(cli)
    lamp, mug = items["LAMP-1"], items["MUG-1"]

    out = ok(cli("orders", "fulfil", number, "--line", f"{lamp}:1", "--carrier", "DHL", "--tracking", "T-1"))
    assert f"item {lamp} x 1" in out
    assert "fulfilment partial, status paid" in out

    shown = ok(cli("orders", "show", number))
    assert "fulfilment: partial" in shown.splitlines()
    to_ship = {row["item"]: row for row in table_rows(shown) if "left" in row}
    assert (to_ship[str(lamp)]["shipped"], to_ship[str(lamp)]["left"]) == ("1", "1")
    assert (to_ship[str(mug)]["shipped"], to_ship[str(mug)]["left"]) == ("0", "1")
    parcels = [row for row in table_rows(shown) if "tracking" in row]
    assert [(p["carrier"], p["tracking"]) for p in parcels] == [("DHL", "T-1")]

    out = ok(
        cli("orders", "fulfil", number, "--line", f"{lamp}:1", "--line", f"{mug}:1", "--tracking", "T-2")
    )
    assert "fulfilment fulfilled, status shipped" in out
    order = json.loads(ok(cli("orders", "show", number, "--json")))
    assert (order["status"], order["fulfillment_status"]) == ("shipped", "fulfilled")


@pytest.mark.parametrize(
    ("line", "extra", "says"),
    [
        pytest.param("{lamp}:3", [], "left to ship", id="more than is left"),
        pytest.param("{lamp}:0", [], "quantity", id="zero"),
        pytest.param("{lamp}:-1", [], "quantity", id="negative"),
        pytest.param("{lamp}", [], "ITEM:QTY", id="no quantity"),
        pytest.param("lamp:1", [], "ITEM:QTY", id="not a number"),
        pytest.param("999999:1", [], "not a line", id="unknown item"),
        pytest.param("{lamp}:1", ["--tracking", "T" * 101], "100", id="tracking too long"),
        pytest.param("{lamp}:1", ["--carrier", "A\tB"], "control", id="control character"),
    ],
)
def test_refusals_are_one_red_line_and_ship_nothing(cli: Cli, line: str, extra: list[str], says: str) -> None:  # noqa: F811
    number, items = paid_order(cli)
    sent = line.format(lamp=items["LAMP-1"])
    message = error_line(cli("orders", "fulfil", number, "--line", sent, *extra))
    assert says.lower() in message.lower(), message
    assert "fulfilments: none" in ok(cli("orders", "show", number)).splitlines()


def test_an_unpaid_card_order_cannot_be_fulfilled(cli: Cli) -> None:  # noqa: F811
    number = place(cli, register(cli, "bob@example.com"), {"LAMP-1": 1}, method="stripe")
    lamp = item_ids(cli, number)["LAMP-1"]
    message = error_line(cli("orders", "fulfil", number, "--line", f"{lamp}:1"))
    assert "unpaid" in message


def test_an_unknown_order_is_one_red_line(cli: Cli) -> None:  # noqa: F811
    assert "ORD-2026-NOPE" in error_line(cli("orders", "fulfil", "ORD-2026-NOPE", "--line", "1:1"))
