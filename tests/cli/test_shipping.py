"""`shop shipping zones list|add|change|remove` and `shop shipping methods list|add|change|remove`,
with the API's checks and messages (through the same use cases): the operator's flow on both
databases, bad input as one red line with no traceback and nothing stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
import typer

from shop_cli import main, shipping
from tests.cli.conftest import Cli, error_line, ok, table_rows


@pytest.fixture
def both(database_url: str) -> Cli:
    """The CLI on each database (SQLite and PostgreSQL)."""
    return Cli(database_url)


def zones_json(cli: Cli) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(ok(cli("shipping", "zones", "list", "--json")))["results"]
    return found


def methods_json(cli: Cli, *extra: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(ok(cli("shipping", "methods", "list", "--json", *extra)))
    return found


def asia(cli: Cli) -> None:
    """Asia (BD, IN, NP) with a Standard and an Express method."""
    ok(cli("shipping", "zones", "add", "Asia", "--country", "BD,IN", "--country", "NP"))
    standard = ["--name", "Standard", "--price", "4.99", "--free-over", "50", "--max-weight", "20000"]
    ok(cli("shipping", "methods", "add", "Asia", *standard, "--days", "5"))
    ok(cli("shipping", "methods", "add", "asia", "--name", "Express", "--price", "14.99", "--days", "2"))


# --- the operator's flow, on both databases ----------------------------------------------------------


def test_add_list_change_and_remove_zones_and_methods(both: Cli) -> None:
    out = ok(both("shipping", "zones", "add", "Asia", "--country", "BD,IN", "--country", "NP"))
    assert out.strip() == "Created zone 1 (Asia): BD, IN, NP."
    standard = ["--name", "Standard", "--price", "4.99", "--free-over", "50", "--max-weight", "20000"]
    out = ok(both("shipping", "methods", "add", "Asia", *standard, "--days", "5"))
    assert (
        out.strip()
        == "Added method 1 to zone 1 (Asia): Standard at 4.99, free from 50.00, up to 20000 g, 5 days."
    )
    ok(both("shipping", "methods", "add", "1", "--name", "Express", "--price", "14.99", "--days", "2"))
    ok(both("shipping", "zones", "add", "Europe", "--country", "GB"))

    rows = table_rows(ok(both("shipping", "zones", "list")))
    assert [(r["id"], r["name"], r["countries"], r["methods"]) for r in rows] == [
        ("1", "Asia", "BD IN NP", "Standard 4.99, Express 14.99"),
        ("2", "Europe", "GB", "none"),
    ]
    listed = ok(both("shipping", "zones", "list"))
    assert "page 1 of 1: 2 of 2 zones" in listed
    assert "Amounts in USD." in listed
    methods = table_rows(ok(both("shipping", "methods", "list")))
    assert [
        (m["zone"], m["id"], m["name"], m["price"], m["free over"], m["weight (g)"], m["days"])
        for m in methods
    ] == [
        ("Asia", "1", "Standard", "4.99", "50.00", "up to 20000", "5"),
        ("Asia", "2", "Express", "14.99", "", "any", "2"),
    ]

    out = ok(
        both(
            "shipping",
            "methods",
            "change",
            "1",
            "--price",
            "5.49",
            "--free-over",
            "none",
            "--min-weight",
            "10",
        )
    )
    assert out.strip() == "Changed method 1: Standard at 5.49, 10-20000 g, 5 days."
    out = ok(
        both(
            "shipping",
            "zones",
            "change",
            "ASIA",
            "--name",
            "South Asia",
            "--country",
            "BD",
            "--country",
            "LK",
        )
    )
    assert out.strip() == "Changed zone 1 (South Asia): BD, LK."
    assert "Removed shipping method 2." in ok(both("shipping", "methods", "remove", "2", "--yes"))
    assert [m["name"] for m in methods_json(both, "--zone", "south asia")] == ["Standard"]

    out = ok(both("shipping", "zones", "remove", "South Asia", "--yes"))
    assert out.strip() == "Removed zone 1 (South Asia) and its 1 method."
    assert [(z["name"], z["countries"]) for z in zones_json(both)] == [("Europe", ["GB"])]
    assert methods_json(both) == []


def test_lists_as_json_are_the_api_views(both: Cli) -> None:
    asia(both)

    page = json.loads(ok(both("shipping", "zones", "list", "--json")))
    methods = methods_json(both)

    assert (page["count"], page["page"], page["pages"]) == (1, 1, 1)
    (zone,) = page["results"]
    assert set(zone) == {"id", "name", "countries", "methods"}
    assert zone["countries"] == ["BD", "IN", "NP"]
    assert zone["methods"][0] == {
        "id": 1,
        "name": "Standard",
        "price": "4.99",
        "free_over": "50.00",
        "min_weight_grams": None,
        "max_weight_grams": 20000,
        "delivery_days": 5,
    }
    assert methods == [m | {"zone_id": 1, "zone": "Asia"} for m in zone["methods"]]


def test_a_country_in_another_zone_is_the_apis_message(both: Cli) -> None:
    asia(both)
    ok(both("shipping", "zones", "add", "Europe", "--country", "GB"))

    added = error_line(both("shipping", "zones", "add", "Bengal", "--country", "BD"))
    changed = error_line(both("shipping", "zones", "change", "Europe", "--country", "GB,IN"))
    renamed = error_line(both("shipping", "zones", "change", "Europe", "--name", "asia"))

    assert added == "error: BD is already in the zone 'Asia'; take it out of that zone first."
    assert changed == "error: IN is already in the zone 'Asia'; take it out of that zone first."
    assert renamed == "error: There is a zone named 'Asia' already."
    assert [(z["name"], z["countries"]) for z in zones_json(both)] == [
        ("Asia", ["BD", "IN", "NP"]),
        ("Europe", ["GB"]),
    ]


# --- bad input: one clear line, nothing stored ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--country", "bd"],
            "--country: Not an ISO 3166-1 alpha-2 code in capitals: 'bd' (such as BD, GB, US).",
        ),
        (["--country", "BD,XX"], "--country: Not an ISO 3166-1 alpha-2 code in capitals: 'XX'"),
        (["--country", "BGD"], "--country: Expected `str` of length <= 2."),
        (["--country", ","], "--country: A zone holds at least one country."),
        (["--name", " "], "--name: Name the zone in 1 to 100 characters."),
        (["--name", "x" * 101], "--name: Expected `str` of length <= 100."),
    ],
)
def test_a_bad_zone_is_one_clear_line_and_nothing_is_stored(cli: Cli, args: list[str], message: str) -> None:
    options = {"--name": "Asia", "--country": "BD"} | dict(zip(args[::2], args[1::2], strict=True))

    line = error_line(cli("shipping", "zones", "add", options["--name"], "--country", options["--country"]))

    assert line.startswith(f"error: {message}"), line
    assert zones_json(cli) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--price", "-1"], "--price: Use an amount of zero or more."),
        (["--price", "4.999"], "--price: Use at most 2 decimal places for USD."),
        (["--price", "1e999999"], "--price: Use an amount of at most 1000000000000."),
        (["--price", "NaN"], "--price: Use an amount of zero or more."),
        (["--price", "cheap"], "--price 'cheap': write an amount, e.g. 4.99."),
        (["--price", "none"], "--price 'none': write an amount, e.g. 4.99."),
        (["--free-over", "-5"], "--free-over: Use an amount of zero or more."),
        (["--min-weight", "-1"], "--min-weight: It cannot be negative."),
        (["--max-weight", "3000000000"], "--max-weight: Expected `int` <= 2147483647."),
        (
            ["--min-weight", "10", "--max-weight", "5"],
            "--max-weight: The maximum weight cannot be below the minimum.",
        ),
        (["--days", "soon"], "--days 'soon': write a whole number, or none."),
        (["--days", "-2"], "--days: It cannot be negative."),
        (["--name", " "], "--name: Name the method in 1 to 100 characters."),
        (
            ["--price", "-1", "--days", "-1"],
            "--price: Use an amount of zero or more.; --days: It cannot be negative.",
        ),
    ],
)
def test_a_bad_method_is_one_clear_line_and_nothing_is_stored(
    cli: Cli, args: list[str], message: str
) -> None:
    asia(cli)
    before = methods_json(cli)
    options = {"--name": "Courier", "--price": "9"} | dict(zip(args[::2], args[1::2], strict=True))
    argv = [x for pair in options.items() for x in pair]
    changes = dict(zip(args[::2], args[1::2], strict=True))

    added = error_line(cli("shipping", "methods", "add", "Asia", *argv))
    changed = error_line(cli("shipping", "methods", "change", "1", *[x for p in changes.items() for x in p]))

    assert added == f"error: {message}", added
    assert changed == f"error: {message}", changed
    assert methods_json(cli) == before


def test_nothing_to_change_and_unknown_zones_and_methods_are_one_clear_line(cli: Cli) -> None:
    asia(cli)
    before = zones_json(cli)

    assert "Nothing to change" in error_line(cli("shipping", "zones", "change", "Asia"))
    assert "Nothing to change" in error_line(cli("shipping", "methods", "change", "1"))
    for command in (
        ["zones", "change", "Africa", "--name", "X"],
        ["zones", "remove", "99", "--yes"],
        ["zones", "remove", "99999999999999999999", "--yes"],
        ["methods", "add", "Africa", "--name", "X", "--price", "1"],
        ["methods", "list", "--zone", "0"],
    ):
        assert error_line(cli("shipping", *command)).startswith(
            "error: No shipping zone with the name or id "
        ), command
    for command in (
        ["methods", "change", "99", "--price", "1"],
        ["methods", "remove", "3000000000", "--yes"],
    ):
        assert error_line(cli("shipping", *command)) == "error: No such shipping method."
    assert zones_json(cli) == before


def test_remove_asks_first(cli: Cli) -> None:
    asia(cli)

    refused = cli("shipping", "zones", "remove", "Asia", input="n\n")
    kept = cli("shipping", "methods", "remove", "1", input="n\n")

    assert refused.exit_code == 1
    assert "Remove zone 1 (Asia) and its 2 methods?" in refused.output
    assert kept.exit_code == 1
    assert len(methods_json(cli)) == 2


def test_no_zones_and_a_page_past_the_end(cli: Cli) -> None:
    assert (
        ok(cli("shipping", "zones", "list")).strip()
        == "No shipping zones: the flat shipping settings apply to every order."
    )
    assert ok(cli("shipping", "methods", "list")).strip() == "No shipping methods."
    assert "past the end" in error_line(cli("shipping", "zones", "list", "--page", "2"))


def test_the_shipping_group_is_open_to_more_commands() -> None:
    """`shop shipping` is `shop_cli.shipping.app`: a command another module adds to it is `shop
    shipping <command>`."""
    group = next(g for g in main.app.registered_groups if g.name == "shipping")

    assert group.typer_instance is shipping.app
    assert isinstance(shipping.app, typer.Typer)
    assert {g.name for g in shipping.app.registered_groups} == {"zones", "methods"}
