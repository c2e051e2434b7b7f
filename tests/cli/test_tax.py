"""`shop tax rates list|add|change|remove` on both databases, with the API's checks and messages:
one red line, no traceback, nothing stored on any error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cli.conftest import Cli, error_line, ok, table_rows


@pytest.fixture
def cli(database_url: str) -> Cli:
    """The CLI on a migrated SQLite file of this test's own, and on the run's PostgreSQL database."""
    return Cli(database_url)


def listed(cli: Cli) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(ok(cli("tax", "rates", "list", "--json")))["results"]
    return found


def add(cli: Cli, *args: str) -> str:
    return ok(cli("tax", "rates", "add", *args))


def test_add_list_change_and_remove_rates(cli: Cli) -> None:
    assert add(cli, "--country", "BD", "--rate", "15%", "--name", "VAT") == (
        "Added tax rate 1: BD: VAT 15.00% (0.1500).\n"
    )
    assert "Added tax rate 2: US, CA: Sales tax 7.25% (0.0725)." in add(
        cli, "--country", "US", "--region", "CA", "--rate", "0.0725", "--name", "Sales tax"
    )
    add(cli, "--country", "US", "--rate", "5 %")

    out = ok(cli("tax", "rates", "list"))
    rows = table_rows(out)
    assert [(r["id"], r["country"], r["region"], r["rate"], r["fraction"], r["name"]) for r in rows] == [
        ("1", "BD", "whole country", "15.00%", "0.1500", "VAT"),
        ("3", "US", "whole country", "5.00%", "0.0500", "Tax"),
        ("2", "US", "CA", "7.25%", "0.0725", "Sales tax"),
    ]
    assert "page 1 of 1: 3 of 3 tax rates" in out

    out = ok(cli("tax", "rates", "change", "2", "--rate", "8%", "--name", "CA tax"))
    assert out == "Tax rate 2 is now US, CA: CA tax 8.00% (0.0800).\n"
    out = ok(cli("tax", "rates", "change", "2", "--country", "GB", "--whole-country"))
    assert out == "Tax rate 2 is now GB: CA tax 8.00% (0.0800).\n"

    assert (
        ok(cli("tax", "rates", "remove", "2", "--yes")) == "Removed tax rate 2 (GB: CA tax 8.00% (0.0800)).\n"
    )
    assert [r["id"] for r in listed(cli)] == [1, 3]


def test_list_as_json_is_the_api_page(cli: Cli) -> None:
    add(cli, "--country", "US", "--region", "NY", "--rate", "4%", "--name", "Sales tax")

    page = json.loads(ok(cli("tax", "rates", "list", "--json")))

    assert (page["count"], page["page"], page["pages"]) == (1, 1, 1)
    assert page["results"] == [
        {"id": 1, "country": "US", "region": "NY", "rate": "0.0400", "name": "Sales tax"}
    ]


def test_no_rates_and_a_page_past_the_end(cli: Cli) -> None:
    assert ok(cli("tax", "rates", "list")).strip() == "No tax rates: SHOP_TAX_RATE applies to every order."
    assert "past the end" in error_line(cli("tax", "rates", "list", "--page", "2"))


def test_a_second_rate_for_a_country_or_region_is_refused(cli: Cli) -> None:
    add(cli, "--country", "US", "--rate", "5%")
    add(cli, "--country", "US", "--region", "CA", "--rate", "7.25%")
    before = listed(cli)

    line = error_line(cli("tax", "rates", "add", "--country", "US", "--region", " ca ", "--rate", "1%"))
    assert line == "error: US, ca already has a tax rate; change that one instead."
    assert "US already has a tax rate" in error_line(
        cli("tax", "rates", "add", "--country", "US", "--rate", "1%")
    )
    assert "already has a tax rate" in error_line(cli("tax", "rates", "change", "2", "--whole-country"))
    assert listed(cli) == before


BAD_ADDS = [
    (
        ["--country", "bd"],
        "--country: Use an ISO 3166-1 alpha-2 country code in capitals, such as BD. Did you",
    ),
    (["--country", "XX"], "--country: Use an ISO 3166-1 alpha-2 country code in capitals"),
    (["--rate", "20"], "--rate: A rate is a fraction from 0 up to 1 (0.15 is 15%)."),
    (["--rate", "100%"], "--rate: A rate is a fraction from 0 up to 1"),
    (["--rate", "-1%"], "--rate: A rate is a fraction from 0 up to 1"),
    (["--rate", "7.255%"], "--rate: Use at most four decimal places (0.1525 is 15.25%)."),
    (["--rate", "NaN"], "--rate: A rate is a fraction from 0 up to 1"),
    (
        ["--rate", "1e999999999%"],
        "--rate '1e999999999%': write a fraction from 0 up to 1 (0.2) or a percentage",
    ),
    (["--rate", "lots"], "--rate 'lots': write a fraction from 0 up to 1 (0.2) or a percentage (20%)."),
    (["--rate", "%"], "--rate '%': write a fraction"),
    (["--name", " "], "--name: Name the tax in 1 to 50 characters."),
    (["--name", "x" * 51], "--name: Name the tax in 1 to 50 characters."),
    (["--name", "V\tT"], "--name: Use no control characters"),
    (["--name", "x" * 1001], "Expected `str` of length <= 1000 - at --name"),
    (["--region", ""], "--region: A region is 1 to 64 characters (leave it out for the whole country)."),
    (["--region", "r" * 65], "--region: A region is 1 to 64 characters"),
    (
        ["--region", "ß" * 33],
        "--region: A region is at most 64 characters when compared without regard to case.",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_ADDS, ids=[" ".join(a)[:40] for a, _ in BAD_ADDS])
def test_bad_input_is_one_clear_line_and_nothing_is_stored(cli: Cli, args: list[str], message: str) -> None:
    defaults = {"--country": "US", "--rate": "5%", "--name": "Sales tax"}
    options = defaults | dict(zip(args[::2], args[1::2], strict=True))
    argv = [x for pair in options.items() for x in pair]

    assert message in error_line(cli("tax", "rates", "add", *argv))
    assert listed(cli) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Nothing to change: give --country, --region or --whole-country, --rate or --name."),
        (["--region", "CA", "--whole-country"], "--region and --whole-country contradict each other"),
        (["--country", "us"], "--country: Use an ISO 3166-1 alpha-2 country code in capitals, such as BD."),
        (["--rate", "1"], "--rate: A rate is a fraction from 0 up to 1"),
        (["--rate", "abc"], "--rate 'abc': write a fraction"),
        (["--name", ""], "--name: Name the tax in 1 to 50 characters."),
        (["--region", " "], "--region: A region is 1 to 64 characters"),
    ],
)
def test_a_bad_change_is_one_clear_line_and_changes_nothing(cli: Cli, args: list[str], message: str) -> None:
    add(cli, "--country", "BD", "--rate", "15%", "--name", "VAT")
    before = listed(cli)

    assert message in error_line(cli("tax", "rates", "change", "1", *args))
    assert listed(cli) == before


@pytest.mark.parametrize("rate_id", ["5", "3000000000", "100000000000000000000"])
def test_an_unknown_rate_is_one_clear_line(cli: Cli, rate_id: str) -> None:
    add(cli, "--country", "BD", "--rate", "15%")

    for command in (["change", rate_id, "--rate", "1%"], ["remove", rate_id, "--yes"]):
        assert error_line(cli("tax", "rates", *command)) == "error: No such tax rate."
    assert len(listed(cli)) == 1


def test_an_id_out_of_range_is_a_usage_error(cli: Cli) -> None:
    for rate_id in ("0", "-1", "one"):
        refused = cli("tax", "rates", "remove", rate_id, "--yes")
        assert refused.exit_code == 2, refused.output
        assert "Traceback" not in refused.output


def test_remove_asks_first(cli: Cli) -> None:
    add(cli, "--country", "BD", "--rate", "15%")

    refused = cli("tax", "rates", "remove", "1", input="n\n")

    assert refused.exit_code == 1
    assert "nothing was changed" in refused.stderr
    assert len(listed(cli)) == 1
    assert "Removed tax rate 1" in ok(cli("tax", "rates", "remove", "1", input="y\n"))
    assert listed(cli) == []
