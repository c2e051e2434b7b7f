"""`shop products list`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli, error_line, make_categories, ok, table_rows

CATALOG = """\
sku,name,category,price,discount_percentage,stock_quantity,is_active,description
KETTLE-1,Steel Kettle,Home > Kitchen,30.00,10,2,true,Boils water
KETTLE-2,Glass Kettle,Home > Kitchen,45.00,0,0,true,See it boil
SOFA-1,Green Sofa,Home,500.00,0,9,true,Seats three [comfortably]
RAKE-1,Leaf Rake,Garden,12.00,0,1,false,For autumn
HOSE-1,Garden Hose [20m],Garden,25.00,50,40,true,Long
"""


@pytest.fixture
def stocked(cli: Cli, tmp_path: Path) -> dict[str, int]:
    """The CLI's shop with five products in Home > Kitchen, Home and Garden; category ids by path."""
    ids = make_categories(cli.database_url, "Home > Kitchen", "Garden")
    (tmp_path / "catalog.csv").write_text(CATALOG, encoding="utf-8")
    assert "5 created" in ok(cli("catalog", "import", "catalog.csv"))
    return ids


def skus(output: str) -> list[str]:
    return [row["sku"] for row in table_rows(output)]


def test_list_shows_every_product_in_a_table(cli: Cli, stocked: dict[str, int]) -> None:
    out = ok(cli("products", "list"))

    assert "Products 1-5 of 5" in out
    assert "Prices in USD." in out
    rows = {row["sku"]: row for row in table_rows(out)}
    assert list(rows) == ["KETTLE-1", "KETTLE-2", "SOFA-1", "RAKE-1", "HOSE-1"]
    assert [row["id"] for row in rows.values()] == ["1", "2", "3", "4", "5"]
    assert rows["KETTLE-1"] == {
        "id": "1",
        "sku": "KETTLE-1",
        "name": "Steel Kettle",
        "category": "Kitchen",
        "price": "30.00",
        "final price": "27.00",
        "stock": "2",
        "active": "yes",
    }
    assert rows["RAKE-1"]["active"] == "no"  # staff view: inactive products are listed
    assert rows["HOSE-1"]["name"] == "Garden Hose [20m]"  # shown as is, not taken for markup
    assert rows["HOSE-1"]["final price"] == "12.50"


def test_search_matches_name_description_and_sku(cli: Cli, stocked: dict[str, int]) -> None:
    assert skus(ok(cli("products", "list", "--search", "kettle"))) == ["KETTLE-1", "KETTLE-2"]
    assert skus(ok(cli("products", "list", "--search", "AUTUMN"))) == ["RAKE-1"]
    assert skus(ok(cli("products", "list", "--search", "sofa-1"))) == ["SOFA-1"]
    assert skus(ok(cli("products", "list", "--search", "[comfortably]"))) == ["SOFA-1"]


def test_category_includes_its_subcategories(cli: Cli, stocked: dict[str, int]) -> None:
    home = ok(cli("products", "list", "--category", str(stocked["Home"])))
    kitchen = ok(cli("products", "list", "--category", str(stocked["Home > Kitchen"])))

    assert skus(home) == ["KETTLE-1", "KETTLE-2", "SOFA-1"]
    assert "Products 1-3 of 3" in home
    assert skus(kitchen) == ["KETTLE-1", "KETTLE-2"]


def test_low_stock_lists_those_below_the_threshold(cli: Cli, stocked: dict[str, int]) -> None:
    assert skus(ok(cli("products", "list", "--low-stock", "2"))) == ["KETTLE-2", "RAKE-1"]
    assert skus(ok(cli("products", "list", "--low-stock", "10"))) == [
        "KETTLE-1",
        "KETTLE-2",
        "SOFA-1",
        "RAKE-1",
    ]
    assert ok(cli("products", "list", "--low-stock", "0")).strip() == "No products match."


def test_filters_combine(cli: Cli, stocked: dict[str, int]) -> None:
    garden = str(stocked["Garden"])

    assert skus(ok(cli("products", "list", "--category", garden, "--low-stock", "5"))) == ["RAKE-1"]
    assert skus(ok(cli("products", "list", "--search", "kettle", "--low-stock", "1"))) == ["KETTLE-2"]


def test_pages(cli: Cli, stocked: dict[str, int]) -> None:
    second = ok(cli("products", "list", "--page", "2", "--page-size", "2"))

    assert "Products 3-4 of 5" in second
    assert skus(second) == ["SOFA-1", "RAKE-1"]
    assert skus(ok(cli("products", "list", "--page", "3", "--page-size", "2"))) == ["HOSE-1"]


def test_a_page_past_the_end_is_one_error_line(cli: Cli, stocked: dict[str, int]) -> None:
    line = error_line(cli("products", "list", "--page", "4", "--page-size", "2"))

    assert line == "error: That page is past the end of the list."


def test_an_empty_catalog(cli: Cli) -> None:
    assert ok(cli("products", "list")).strip() == "No products."


def test_an_unknown_category_matches_nothing(cli: Cli, stocked: dict[str, int]) -> None:
    assert ok(cli("products", "list", "--category", "999")).strip() == "No products match."


def test_a_too_long_search_is_one_error_line(cli: Cli) -> None:
    assert "search" in error_line(cli("products", "list", "--search", "x" * 201))


@pytest.mark.parametrize(
    "option",
    [
        ["--page", "0"],
        ["--page-size", "0"],
        ["--page-size", "1001"],
        ["--low-stock", "-1"],
        ["--category", "0"],
    ],
)
def test_out_of_range_options_are_refused(cli: Cli, option: list[str]) -> None:
    result = cli("products", "list", *option)

    assert result.exit_code == 2
    assert option[0] in result.stderr
