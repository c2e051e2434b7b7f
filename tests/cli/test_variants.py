"""`shop products variants options|add|list|set-stock|deactivate`, with the API's checks and messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, error_line, ok, table_rows

CATALOG = """\
sku,name,price,stock_quantity
TEE,Organic T-shirt,18.00,4
MUG-1,Enamel mug,12.50,3
"""


@pytest.fixture
def shirt(cli: Cli, tmp_path: Path) -> int:
    """A T-shirt (product 1) with options Size and Color, and a mug (product 2)."""
    (tmp_path / "catalog.csv").write_text(CATALOG, encoding="utf-8")
    ok(cli("catalog", "import", "catalog.csv"))
    out = ok(cli("products", "variants", "options", "1", "Size=S,M,L", "Color=Red,Black"))
    assert "options: Size: S, M, L; Color: Red, Black." in out
    return 1


def variants(cli: Cli) -> dict[str, dict[str, str]]:
    return {row["sku"]: row for row in table_rows(ok(cli("products", "variants", "list", "1")))}


def test_add_list_set_stock_and_deactivate(cli: Cli, shirt: int) -> None:
    out = ok(cli("products", "variants", "add", "1", "--sku", "TEE-S-RED", "-o", "Size=S", "-o", "color=red"))
    assert "Added variant 1 (TEE-S-RED, S / Red) to product 1: 18.00, 4 in stock." in out  # took over
    ok(
        cli(
            "products",
            "variants",
            "add",
            "1",
            "--sku",
            "TEE-M-BLK",
            "-o",
            "Size=M",
            "-o",
            "Color=Black",
            "--price",
            "20.00",
            "--stock",
            "2",
            "--weight-grams",
            "180",
        )
    )

    rows = variants(cli)
    assert rows["TEE-M-BLK"] == {
        "id": "3",
        "sku": "TEE-M-BLK",
        "name": "M / Black",
        "price": "20.00",
        "final price": "20.00",
        "stock": "2",
        "weight (g)": "180",
        "active": "yes",
    }
    assert rows["TEE-S-RED"]["stock"] == "4"

    assert "Variant 3 (TEE-M-BLK): 7 in stock, active." in ok(
        cli("products", "variants", "set-stock", "1", "3", "7")
    )
    assert "Variant 1 (TEE-S-RED): 4 in stock, inactive." in ok(
        cli("products", "variants", "deactivate", "1", "1")
    )
    assert variants(cli)["TEE-S-RED"]["active"] == "no"
    product = {row["sku"]: row for row in table_rows(ok(cli("products", "list")))}["TEE"]
    assert (product["price"], product["stock"]) == ("20.00", "7")  # the active variants only
    listed = json.loads(ok(cli("products", "variants", "list", "1", "--json")))
    assert [(v["sku"], v["is_active"]) for v in listed] == [("TEE-S-RED", False), ("TEE-M-BLK", True)]
    history = [(row["delta"], row["reason"]) for row in table_rows(ok(cli("stock", "history", "TEE-M-BLK")))]
    assert history == [("+5", "adjustment"), ("+2", "initial")]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["add", "1", "--sku", "X-1", "-o", "Size=XL", "-o", "Color=Red"], "'XL' is not a value of 'Size'"),
        (
            ["add", "1", "--sku", "X-1", "-o", "Fit=Slim", "-o", "Size=S", "-o", "Color=Red"],
            "Unknown option 'Fit'",
        ),
        (["add", "1", "--sku", "X-1", "-o", "Size"], "write NAME=VALUE"),
        (["add", "1", "--sku", "MUG-1", "-o", "Size=M", "-o", "Color=Red"], "'MUG-1' is already in use"),
        (["add", "1", "--sku", "X-1", "-o", "Size=S", "-o", "Color=Red", "--price", "-2"], "price"),
        (["add", "1", "--sku", "X 1", "-o", "Size=S", "-o", "Color=Red"], "sku"),
        (["add", "9", "--sku", "X-1", "-o", "Size=S", "-o", "Color=Red"], "No such product"),
        (["set-stock", "1", "99", "5"], "No such variant of this product"),
        (["set-stock", "2", "1", "5"], "No such variant of this product"),
        (["set-stock", "1", "1", "-5"], "Stock cannot go below zero"),
        (["options", "1", "A=1", "B=2", "C=3", "D=4"], "options"),
        (["options", "1", "Size=S,s"], "repeats the value"),
    ],
)
def test_bad_input_is_one_clear_line_and_changes_nothing(
    cli: Cli, shirt: int, args: list[str], says: str
) -> None:
    ok(cli("products", "variants", "add", "1", "--sku", "TEE-S-RED", "-o", "Size=S", "-o", "Color=Red"))
    before = ok(cli("products", "variants", "list", "1", "--json"))

    line = error_line(cli("products", "variants", *args))

    assert says in line
    assert ok(cli("products", "variants", "list", "1", "--json")) == before


def test_a_duplicate_combination_is_refused(cli: Cli, shirt: int) -> None:
    ok(cli("products", "variants", "add", "1", "--sku", "TEE-S-RED", "-o", "Size=S", "-o", "Color=Red"))
    line = error_line(
        cli("products", "variants", "add", "1", "--sku", "T2", "-o", "size=s", "-o", "Color=RED")
    )
    assert "already has a variant 'S / Red'" in line


def test_stock_commands_need_a_variants_sku_once_the_product_has_variants(cli: Cli, shirt: int) -> None:
    ok(cli("products", "variants", "add", "1", "--sku", "TEE-S-RED", "-o", "Size=S", "-o", "Color=Red"))
    ok(cli("products", "variants", "add", "1", "--sku", "TEE-M-RED", "-o", "Size=M", "-o", "Color=Red"))

    line = error_line(cli("stock", "set", "TEE", "9", "--reason", "stocktake"))

    assert "TEE has variants, each with its own stock: name one of TEE-S-RED, TEE-M-RED." in line
    ok(cli("stock", "adjust", "TEE-M-RED", "3", "--reason", "restock"))
    # the product's own code shows the history of all its variants
    history = [(row["delta"], row["reason"]) for row in table_rows(ok(cli("stock", "history", "TEE")))]
    assert history == [("+3", "restock"), ("+4", "import")]  # the import brought the first 4
