"""`shop sales create|list|end|delete`, with the API's checks and messages: one red line, no
traceback, nothing stored on any error."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Cli, error_line, make_categories, ok, table_rows

CATALOG = """\
sku,name,price,category
POT,Pot,20.00,Kitchen > Pots
LID,Lid,5.00,
"""


def soon(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat(timespec="seconds")


@pytest.fixture
def shelf(cli: Cli, sqlite_url: str, tmp_path: Path) -> Cli:
    """Categories Kitchen (1) > Pots (2); the pot (product 1) in Pots, the lid (2) in none."""
    assert make_categories(sqlite_url, "Kitchen > Pots") == {"Kitchen": 1, "Kitchen > Pots": 2}
    (tmp_path / "catalog.csv").write_text(CATALOG, encoding="utf-8")
    ok(cli("catalog", "import", "catalog.csv"))
    return cli


def create(cli: Cli, *extra: str, ends: float = 24) -> Any:
    return cli(
        "sales", "create", "--name", "Black Friday", "--percentage", "20", "--ends", soon(ends), *extra
    )


def listed(cli: Cli) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(ok(cli("sales", "list", "--json")))["results"]
    return found


def product_price(cli: Cli, sku: str) -> str:
    return {row["sku"]: row for row in table_rows(ok(cli("products", "list")))}[sku]["final price"]


def test_create_list_and_end_a_sale(shelf: Cli) -> None:
    out = ok(create(shelf, "--category", "1", "--product", "2", "--starts", soon(-1)))
    assert "Created sale 1 (Black Friday): 20.00% off product 2, category 1," in out
    assert out.rstrip().endswith("UTC, running.")
    assert product_price(shelf, "POT") == "16.00"  # Pots is under Kitchen
    assert product_price(shelf, "LID") == "4.00"

    ok(create(shelf, "--product", "1", "--starts", soon(2), ends=3))
    rows = table_rows(ok(shelf("sales", "list")))
    assert [(r["id"], r["name"], r["off"], r["status"]) for r in rows] == [
        ("2", "Black Friday", "20.00%", "scheduled"),
        ("1", "Black Friday", "20.00%", "running"),
    ]
    assert (rows[1]["products"], rows[1]["categories"]) == ("2", "1")
    assert "page 1 of 1: 2 of 2 sales" in ok(shelf("sales", "list"))

    out = ok(shelf("sales", "end", "1"))
    assert out.startswith("Sale 1 (Black Friday) ended at ")
    assert product_price(shelf, "POT") == "20.00"
    assert ok(shelf("sales", "end", "1")).startswith("Sale 1 (Black Friday) had already ended at ")
    assert [s["status"] for s in listed(shelf)] == ["scheduled", "ended"]


def test_list_as_json_is_the_api_page(shelf: Cli) -> None:
    ok(create(shelf, "--product", "1"))

    page = json.loads(ok(shelf("sales", "list", "--json")))

    assert (page["count"], page["page"], page["pages"]) == (1, 1, 1)
    (sale,) = page["results"]
    assert (sale["percentage"], sale["product_ids"], sale["category_ids"]) == ("20.00", [1], [])
    assert sale["ends_at"].endswith("Z")


def test_no_sales_and_a_page_past_the_end(shelf: Cli) -> None:
    assert ok(shelf("sales", "list")).strip() == "No sales."
    assert "past the end" in error_line(shelf("sales", "list", "--page", "2"))


def test_a_sale_that_has_not_started_cannot_end_but_can_be_deleted(shelf: Cli) -> None:
    ok(create(shelf, "--product", "1", "--starts", soon(1), ends=2))

    line = error_line(shelf("sales", "end", "1"))
    assert "has not started yet" in line
    assert "delete it" in line
    assert "Deleted sale 1." in ok(shelf("sales", "delete", "1", "--yes"))
    assert listed(shelf) == []


def test_delete_asks_first(shelf: Cli) -> None:
    ok(create(shelf, "--product", "1"))

    refused = shelf("sales", "delete", "1", input="n\n")

    assert refused.exit_code == 1
    assert len(listed(shelf)) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--percentage", "150"], "--percentage: A percentage is more than 0 and at most 100."),
        (["--percentage", "-5"], "--percentage: A percentage is more than 0 and at most 100."),
        (["--percentage", "12.345"], "--percentage: Use at most two decimal places."),
        (["--percentage", "lots"], "--percentage 'lots': write a number, e.g. 20 or 12.5."),
        (["--ends", "2020-01-01T00:00Z"], "--ends: The sale must end after it starts."),
        (["--ends", "2030-01-01"], "--ends '2030-01-01': give its time zone"),
        (["--ends", "next week"], "--ends 'next week': write an instant"),
        (["--starts", "2030-01-01T00:00"], "--starts '2030-01-01T00:00': give its time zone"),
        (["--name", " "], "--name: Use 1 to 200 characters."),
        (["--product", "99", "--product", "98"], "--product: There is no product 98, 99."),
        (["--category", "7"], "--category: There is no category 7."),
        ([], "--product: Name at least one product or category.; --category: Name at least one"),
        (["--product", "0"], "Expected `int` >= 1"),
    ],
)
def test_bad_input_is_one_clear_line_and_nothing_is_stored(shelf: Cli, args: list[str], message: str) -> None:
    defaults = {"--name": "Black Friday", "--percentage": "20", "--ends": soon(24)}
    pairs = list(zip(args[::2], args[1::2], strict=True))  # an option given replaces its default
    options = defaults | {name: value for name, value in pairs if name in defaults}
    argv = [x for pair in [*options.items(), *(p for p in pairs if p[0] not in defaults)] for x in pair]

    line = error_line(shelf("sales", "create", *argv))

    assert message in line
    assert listed(shelf) == []


def test_an_unknown_sale_is_one_clear_line(shelf: Cli) -> None:
    for command in (["end", "5"], ["delete", "5", "--yes"]):
        assert error_line(shelf("sales", *command)) == "error: No such sale."
