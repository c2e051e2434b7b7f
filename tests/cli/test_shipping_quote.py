"""`shop shipping quote`: what each method of a country's zone would charge for some products, as
checkout would price them, from an order file or --item options; bad input is one red line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, error_line, ok, table_rows

CATALOG = """\
sku,name,price,category
LAMP,Lamp,20.00,
MUG,Mug,2.50,
"""


@pytest.fixture
def shelf(database_url: str, tmp_path: Path) -> Cli:
    """The lamp (product 1) and the mug (2); the zone Asia (BD, IN) with Standard (4.99, free
    from 50.00), Express (14.99) and Freight (30.00, from 1000 g)."""
    cli = Cli(database_url)
    (tmp_path / "catalog.csv").write_text(CATALOG, encoding="utf-8")
    ok(cli("catalog", "import", "catalog.csv"))
    ok(cli("shipping", "zones", "add", "Asia", "--country", "BD,IN"))
    ok(
        cli(
            "shipping",
            "methods",
            "add",
            "Asia",
            "--name",
            "Standard",
            "--price",
            "4.99",
            "--free-over",
            "50",
            "--days",
            "5",
        )
    )
    ok(cli("shipping", "methods", "add", "Asia", "--name", "Express", "--price", "14.99", "--days", "1"))
    ok(
        cli(
            "shipping", "methods", "add", "Asia", "--name", "Freight", "--price", "30", "--min-weight", "1000"
        )
    )
    return cli


def quoted(out: str) -> dict[str, tuple[str, str]]:
    return {row["method"]: (row["cost"], row["note"]) for row in table_rows(out)}


def test_a_quote_prices_every_method_of_the_zone(shelf: Cli, tmp_path: Path) -> None:
    out = ok(shelf("shipping", "quote", "--country", "BD", "--item", "1:2", "--item", "2"))

    assert "Shipping to BD (zone Asia): goods 42.50 USD, 0 g" in " ".join(out.split())
    assert quoted(out) == {
        "Standard": ("4.99 USD", ""),
        "Express": ("14.99 USD", ""),
        "Freight": ("-", "cannot carry it: carries from 1000 g"),
    }
    # An order's body will do as the order file; from 50.00 of goods Standard is free.
    order = {"items": [{"product_id": 1, "quantity": 3}], "payment_method": "cod"}
    (tmp_path / "order.json").write_text(json.dumps(order), encoding="utf-8")
    out = ok(shelf("shipping", "quote", "--country", "IN", "--order-file", "order.json"))
    assert quoted(out)["Standard"] == ("0.00 USD", "")


def test_a_quote_without_zones_is_the_flat_shipping(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "catalog.csv").write_text(CATALOG, encoding="utf-8")
    ok(cli("catalog", "import", "catalog.csv"))

    out = ok(cli("shipping", "quote", "--country", "BD", "--item", "1", env={"SHOP_SHIPPING_FLAT": "3.50"}))

    assert quoted(out) == {"Standard shipping": ("3.50 USD", "")}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--country", "bd", "--item", "1"], "Did you mean BD?"),
        (["--country", "US", "--item", "1"], "We do not ship to US."),
        (["--country", "BD"], "Give the products"),
        (["--country", "BD", "--item", "1", "--order-file", "x.json"], "not both"),
        (["--country", "BD", "--item", "one"], "--item 'one': write PRODUCT_ID[:QUANTITY]"),
        (["--country", "BD", "--item", "1:0"], "quantity"),
        (["--country", "BD", "--item", "1:99999999999"], "quantity"),
        (["--country", "BD", "--order-file", "missing.json"], "missing.json: no such file."),
        (["--country", "BD", "--order-file", "bad.json"], "bad.json: not an order file"),
    ],
)
def test_bad_input_is_one_red_line(shelf: Cli, tmp_path: Path, args: list[str], says: str) -> None:
    (tmp_path / "bad.json").write_text('{"items": [{"product_id": "lamp"}]}', encoding="utf-8")

    assert says in error_line(shelf("shipping", "quote", *args))
