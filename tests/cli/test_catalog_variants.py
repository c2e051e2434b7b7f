"""`shop catalog import|export` with variants, and `shop catalog import --format shopify`, on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from shop_core.bootstrap import Shop, bootstrap
from tests.cli.conftest import Cli, error_line, make_categories, ok, table_rows
from tests.cli.test_catalog import products, rejections, write
from tests.conftest import fast_hasher, make_settings, truncate_postgres
from tests.unit.services.test_catalog_import_variants import made_catalog

FIXTURE = Path(__file__).parents[1] / "fixtures" / "shopify_products.csv"
REJECTED_LINES = [7, 8, 9, 10, 19, 20, 23, 24, 25, 26]  # 23 twice: a bad price, so no variant left


@pytest.fixture
def shop_cli(database_url: str) -> Cli:
    """The CLI on this test's SQLite file, or on the run's PostgreSQL database (emptied after)."""
    return Cli(database_url)


@pytest.fixture
def emptied(sqlite_template: Path, tmp_path: Path) -> Callable[[Cli], Cli]:
    """A CLI on an empty database of the same kind: a new SQLite file, or PostgreSQL emptied."""

    def empty(cli: Cli) -> Cli:
        if cli.database_url.startswith("postgresql"):
            asyncio.run(truncate_postgres(cli.database_url))
            return cli
        path = tmp_path / "empty.db"
        shutil.copy(sqlite_template, path)
        return Cli(f"sqlite+aiosqlite:///{path}")

    return empty


def build(database_url: str, make: Callable[[Shop], Awaitable[None]]) -> None:
    """Make a catalog through the shop's use cases (what `shop catalog export` then writes)."""

    async def run() -> None:
        async with bootstrap(make_settings(database_url), hasher=fast_hasher()) as shop:
            await make(shop)

    asyncio.run(run())


def exported(cli: Cli) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(ok(cli("catalog", "export", "-")), newline="")))


# --- the native format with variants ------------------------------------------------------------


def test_export_then_import_into_an_empty_database_round_trips_variants(
    shop_cli: Cli, emptied: Callable[[Cli], Cli], tmp_path: Path
) -> None:
    build(shop_cli.database_url, made_catalog)
    assert ok(shop_cli("catalog", "export", "a.csv")).strip() == "Exported 4 products to a.csv."
    assert "4 unchanged" in ok(shop_cli("catalog", "import", "a.csv"))  # into the shop it came from
    target = emptied(shop_cli)
    assert products(target) == {}

    out = ok(target("catalog", "import", "a.csv"))
    ok(target("catalog", "export", "b.csv"))

    assert "6 rows read — 4 created, 0 updated, 0 unchanged, 0 rejected." in out
    assert (tmp_path / "b.csv").read_bytes() == (tmp_path / "a.csv").read_bytes()
    listed = products(target)
    assert (listed["TEE"]["price"], listed["TEE"]["stock"]) == ("18.50", "6")  # lowest active, sum of active
    assert "0 created, 0 updated, 4 unchanged" in ok(target("catalog", "import", "a.csv"))


def test_a_file_of_variants_imports_and_a_change_moves_one_variant(shop_cli: Cli, tmp_path: Path) -> None:
    make_categories(shop_cli.database_url, "Clothes")
    text = (
        "sku,name,category,price,option1_name,option1_values,variant_sku,option1_value,variant_stock\n"
        "TEE,Tee,Clothes,20,Size,S | M | L,TEE-S,S,5\n"
        "TEE,,,,,,TEE-M,M,0\n"
        "TEE,,,,,,TEE-L,L,2\n"
        "MUG,Mug,,7,,,,,\n"
    )

    out = ok(shop_cli("catalog", "import", str(write(tmp_path / "v1.csv", text))))

    assert "4 rows read — 2 created, 0 updated, 0 unchanged, 0 rejected." in out
    assert (products(shop_cli)["TEE"]["stock"], products(shop_cli)["MUG"]["stock"]) == ("7", "0")
    changed = text.replace("TEE-M,M,0", "TEE-M,M,4").replace("TEE-L,L,2", "TEE-L,L,2\nTEE,,,,,,TEE-S,XL,1")
    out = ok(shop_cli("catalog", "import", str(write(tmp_path / "v2.csv", changed))))
    assert "5 rows read — 0 created, 1 updated, 1 unchanged, 1 rejected." in out
    assert rejections(out) == {5: "variant_sku: 'TEE-S' already appears on line 2"}
    assert products(shop_cli)["TEE"]["stock"] == "11"
    movements = table_rows(ok(shop_cli("stock", "history", "TEE")))
    assert (movements[0]["delta"], movements[0]["reason"]) == ("+4", "import")
    rows = exported(shop_cli)
    assert [(r["variant_sku"], r["option1_value"], r["variant_stock"]) for r in rows] == [
        ("TEE-S", "S", "5"),
        ("TEE-M", "M", "4"),
        ("TEE-L", "L", "2"),
        ("", "", ""),
    ]


# --- the Shopify format -------------------------------------------------------------------------


def test_a_shopify_export_imports_and_again_changes_nothing(shop_cli: Cli, tmp_path: Path) -> None:
    shutil.copy(FIXTURE, tmp_path / "products_export.csv")

    out = ok(shop_cli("catalog", "import", "--format", "shopify", "products_export.csv"))

    summary = "23 rows read — 6 created, 0 updated, 0 unchanged, 11 rejected."
    assert f"Imported products_export.csv (Shopify): {summary}" in out
    assert sorted(rejections(out)) == REJECTED_LINES
    assert "The import ran, but 11 rows were rejected" in out
    listed = products(shop_cli)
    assert sorted(listed) == ["CAP-1", "CLASSIC-TEE", "HOODIE", "LINEN-SHIRT", "MUG-1", "SECRET-SOCKS"]
    assert (listed["CLASSIC-TEE"]["price"], listed["CLASSIC-TEE"]["stock"]) == ("19.99", "13")
    assert (listed["LINEN-SHIRT"]["price"], listed["LINEN-SHIRT"]["final price"]) == ("50.00", "40.00")
    assert [listed[s]["active"] for s in ("HOODIE", "CAP-1", "SECRET-SOCKS", "MUG-1")] == [
        "no",
        "no",
        "no",
        "yes",
    ]
    history = table_rows(ok(shop_cli("stock", "history", "MUG-1")))
    assert [(m["delta"], m["balance"], m["reason"], m["actor"]) for m in history] == [
        ("+25", "25", "import", "cli")
    ]
    before = exported(shop_cli)

    again = ok(shop_cli("catalog", "import", "--format", "SHOPIFY", "products_export.csv"))

    assert "23 rows read — 0 created, 0 updated, 6 unchanged, 11 rejected." in again
    assert exported(shop_cli) == before
    assert len(table_rows(ok(shop_cli("stock", "history", "MUG-1")))) == 1


def test_a_shopify_re_import_after_a_price_change_updates(shop_cli: Cli, tmp_path: Path) -> None:
    fixture = FIXTURE.read_text(encoding="utf-8")
    ok(shop_cli("catalog", "import", "--format", "shopify", str(write(tmp_path / "v1.csv", fixture))))
    changed = fixture.replace(
        "TEE-M-BLU-POL,175,shopify,3,deny,manual,21.50", "TEE-M-BLU-POL,175,shopify,3,deny,manual,18.00"
    )

    out = ok(shop_cli("catalog", "import", "--format", "shopify", str(write(tmp_path / "v2.csv", changed))))

    assert "0 created, 1 updated, 5 unchanged, 11 rejected." in out
    assert products(shop_cli)["CLASSIC-TEE"]["price"] == "18.00"  # the lowest variant's now
    tee = [r for r in exported(shop_cli) if r["sku"] == "CLASSIC-TEE"]
    assert [(r["variant_sku"], r["variant_price"]) for r in tee] == [
        ("TEE-S-RED-COT", "19.99"),  # the lowest price is the base price: the others have their own
        ("TEE-M-RED-COT", "19.99"),
        ("TEE-M-BLU-POL", ""),
    ]
    assert tee[0]["price"] == "18.00"


def test_the_shopify_import_shows_a_progress_bar_on_a_terminal(shop_cli: Cli) -> None:
    shutil.copy(FIXTURE, "in.csv")

    result = shop_cli(
        "catalog", "import", "--format", "shopify", "in.csv", env={"TTY_COMPATIBLE": "1", "TERM": "xterm"}
    )

    ok(result)
    assert "Importing" in result.stderr
    assert "6/6" in result.stderr


SHOPIFY_HEADER = "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01", "The file is not UTF-8 text (line 1)"),
        (
            b'{"products": [{"handle": "pen"}]}\n',
            "Not a Shopify product CSV (missing columns: handle, title).",
        ),
        (
            (SHOPIFY_HEADER + "pen,Pen,Title,Default Title,PEN-1,1.00\n").encode("utf-16"),
            "The file is not UTF-8 text (line 1)",
        ),
        (
            (SHOPIFY_HEADER + "pen,Pen,Title,Default Title,PEN-1,1.00\nmug,Caf\u00e9 mug,,,MUG-1,2\n").encode(
                "latin-1"
            ),
            "The file is not UTF-8 text (line 3): export it from Shopify again, or save it as UTF-8.",
        ),
        (
            b"Title,Variant SKU,Variant Price\nPen,PEN-1,1\n",
            "Not a Shopify product CSV (missing columns: handle).",
        ),
        (
            (SHOPIFY_HEADER + "pen,Pen,Title,Default Title,PEN-1,free\nmug,,,,MUG-1,2\n").encode(),
            "no product could be read from it: every row was rejected (listed above).",
        ),
    ],
    ids=["empty", "not-a-csv", "json", "utf-16", "latin-1", "no-handle-column", "only-bad-rows"],
)
def test_an_unusable_shopify_file_is_one_error_line_and_stores_nothing(
    shop_cli: Cli, tmp_path: Path, content: bytes, message: str
) -> None:
    (tmp_path / "in.csv").write_bytes(content)

    result = shop_cli("catalog", "import", "--format", "shopify", "in.csv")

    line = error_line(result)
    assert line.startswith("error: in.csv: ")
    assert message in line
    assert products(shop_cli) == {}
    if "listed above" in message:
        assert [(r["line"], r["reason"]) for r in table_rows(result.stdout)] == [
            ("2", "Variant Price 'free' is not a number"),
            ("2", "product 'pen' has no valid variant: not imported"),
            ("3", "handle 'mug' has no product row (one with a Title) before this row"),
        ]


def test_an_unknown_format_is_a_usage_error(shop_cli: Cli) -> None:
    shutil.copy(FIXTURE, "in.csv")

    result = shop_cli("catalog", "import", "--format", "woocommerce", "in.csv")

    assert result.exit_code == 2
    assert "woocommerce" in result.stderr
    assert products(shop_cli) == {}
