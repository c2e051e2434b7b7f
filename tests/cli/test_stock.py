"""`shop stock set|adjust|history`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shop_core.domain.stock import BLANK_REASON, ZERO_DELTA
from tests.cli.conftest import Cli, error_line, ok, table_rows


@pytest.fixture
def cli(cli: Cli, tmp_path: Path) -> Cli:
    """The CLI's shop with LAMP-1 (10 in stock) and MUG-1 (none)."""
    (tmp_path / "stock.csv").write_text("sku,name,price,stock_quantity\nLAMP-1,Lamp,10,10\nMUG-1,Mug,5,0\n")
    ok(cli("catalog", "import", "stock.csv"))
    return cli


def stock_of(cli: Cli, sku: str) -> int:
    [row] = [row for row in table_rows(ok(cli("products", "list", "--search", sku))) if row["sku"] == sku]
    return int(row["stock"])


def history(cli: Cli, sku: str, *options: str) -> list[tuple[str, str, str, str, str]]:
    """(delta, balance, reason, actor, note) of each movement, newest first."""
    rows = table_rows(ok(cli("stock", "history", sku, *options)))
    return [(r["delta"], r["balance"], r["reason"], r["actor"], r["note"]) for r in rows]


def test_set_records_the_difference_as_a_movement(cli: Cli) -> None:
    out = ok(cli("stock", "set", "LAMP-1", "25", "--reason", "stocktake", "--note", "counted twice"))

    assert out.strip() == "LAMP-1: stock 10 → 25 (+15), reason stocktake, by cli."
    assert stock_of(cli, "LAMP-1") == 25
    assert history(cli, "LAMP-1")[0] == ("+15", "25", "stocktake", "cli", "counted twice")


def test_set_can_lower_the_stock_to_zero(cli: Cli) -> None:
    assert "stock 10 → 0 (-10)" in ok(cli("stock", "set", "LAMP-1", "0", "--reason", "damage"))
    assert stock_of(cli, "LAMP-1") == 0


def test_adjust_adds_a_positive_delta(cli: Cli) -> None:
    assert "MUG-1: stock 0 → 12 (+12)" in ok(cli("stock", "adjust", "MUG-1", "12", "--reason", "restock"))
    assert stock_of(cli, "MUG-1") == 12


@pytest.mark.parametrize(
    "args",
    [
        ["LAMP-1", "-4", "--reason", "damage"],
        ["--reason", "damage", "LAMP-1", "-4"],
        ["--reason", "damage", "--", "LAMP-1", "-4"],
    ],
    ids=["after-the-sku", "options-first", "after-a-double-dash"],
)
def test_adjust_takes_a_negative_delta(cli: Cli, args: list[str]) -> None:
    assert "LAMP-1: stock 10 → 6 (-4)" in ok(cli("stock", "adjust", *args))
    assert stock_of(cli, "LAMP-1") == 6
    assert history(cli, "LAMP-1")[0] == ("-4", "6", "damage", "cli", "")


def test_going_below_zero_is_refused_and_changes_nothing(cli: Cli) -> None:
    before = history(cli, "LAMP-1")

    line = error_line(cli("stock", "adjust", "LAMP-1", "-11", "--reason", "sale"))

    assert line == "error: Only 10 of LAMP-1 in stock; cannot remove 11."
    assert stock_of(cli, "LAMP-1") == 10
    assert history(cli, "LAMP-1") == before


def test_setting_a_negative_quantity_is_refused(cli: Cli) -> None:
    line = error_line(cli("stock", "set", "LAMP-1", "-1", "--reason", "oops"))

    assert "below zero" in line
    assert stock_of(cli, "LAMP-1") == 10


def test_a_delta_of_zero_is_refused(cli: Cli) -> None:
    assert error_line(cli("stock", "adjust", "LAMP-1", "0", "--reason", "noop")) == (
        f"error: delta: {ZERO_DELTA}"
    )
    assert len(history(cli, "LAMP-1")) == 1


@pytest.mark.parametrize("command", ["set", "adjust"])
def test_an_unknown_sku_is_one_error_line(cli: Cli, command: str) -> None:
    line = error_line(cli("stock", command, "NOPE-1", "3", "--reason", "restock"))

    assert line == "error: No product with the sku 'NOPE-1'."


@pytest.mark.parametrize("command", ["set", "adjust"])
def test_the_reason_is_required(cli: Cli, command: str) -> None:
    result = cli("stock", command, "LAMP-1", "3")

    assert result.exit_code == 2
    assert "--reason" in result.stderr
    assert stock_of(cli, "LAMP-1") == 10


def test_a_blank_reason_is_one_error_line(cli: Cli) -> None:
    assert (
        error_line(cli("stock", "adjust", "LAMP-1", "3", "--reason", "  "))
        == f"error: reason: {BLANK_REASON}"
    )
    assert stock_of(cli, "LAMP-1") == 10


def test_a_delta_that_is_not_a_number_is_a_usage_error(cli: Cli) -> None:
    result = cli("stock", "adjust", "LAMP-1", "lots", "--reason", "restock")

    assert result.exit_code == 2
    assert "DELTA" in result.stderr


def test_history_lists_every_movement_newest_first(cli: Cli) -> None:
    ok(cli("stock", "adjust", "LAMP-1", "5", "--reason", "restock", "--note", "supplier [A]"))
    ok(cli("stock", "adjust", "LAMP-1", "-3", "--reason", "damage"))
    ok(cli("stock", "set", "LAMP-1", "20", "--reason", "stocktake"))

    out = ok(cli("stock", "history", "LAMP-1"))

    assert "Stock history of LAMP-1 (newest first)" in out
    assert history(cli, "LAMP-1") == [
        ("+8", "20", "stocktake", "cli", ""),
        ("-3", "12", "damage", "cli", ""),
        ("+5", "15", "restock", "cli", "supplier [A]"),
        ("+10", "10", "import", "cli", ""),
    ]
    assert all(len(row["when"]) == len("2025-01-01 12:00:00") for row in table_rows(out))


def test_history_pages(cli: Cli) -> None:
    ok(cli("stock", "adjust", "LAMP-1", "5", "--reason", "restock"))

    first = ok(cli("stock", "history", "LAMP-1", "--page-size", "1"))
    assert history(cli, "LAMP-1", "--page-size", "1") == [("+5", "15", "restock", "cli", "")]
    assert "page 1: 1 movement; more on page 2" in first
    assert history(cli, "LAMP-1", "--page", "2", "--page-size", "1") == [("+10", "10", "import", "cli", "")]
    assert "more on" not in ok(cli("stock", "history", "LAMP-1", "--page", "2", "--page-size", "1"))
    line = error_line(cli("stock", "history", "LAMP-1", "--page", "3", "--page-size", "1"))
    assert line == "error: That page is past the end of the list."


def test_history_as_json(cli: Cli) -> None:
    ok(cli("stock", "adjust", "LAMP-1", "-4", "--reason", "damage", "--note", "=1+1"))

    listed = json.loads(ok(cli("stock", "history", "LAMP-1", "--json", "--page-size", "1")))

    assert (listed["page"], listed["page_size"], listed["next_page"]) == (1, 1, 2)
    [movement] = listed["results"]
    assert {k: movement[k] for k in ("delta", "balance_after", "reason", "actor", "note")} == {
        "delta": -4,
        "balance_after": 6,
        "reason": "damage",
        "actor": "cli",
        "note": "=1+1",
    }


def test_history_of_a_product_without_movements(cli: Cli) -> None:
    assert ok(cli("stock", "history", "MUG-1")).strip() == "No stock movements for MUG-1."


def test_history_of_an_unknown_sku_is_one_error_line(cli: Cli) -> None:
    assert error_line(cli("stock", "history", "NOPE-1")) == "error: No product with the sku 'NOPE-1'."


def test_history_rejects_a_page_size_of_0(cli: Cli) -> None:
    result = cli("stock", "history", "LAMP-1", "--page-size", "0")

    assert result.exit_code == 2
    assert "--page-size" in result.stderr
