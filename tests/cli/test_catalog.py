"""`shop catalog import|export|seed`."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from shop_core.services import catalog_seed
from shop_core.services.catalog_import import COLUMNS, PRODUCT_COLUMNS
from tests.cli.conftest import UNREACHABLE_DATABASE, Cli, error_line, make_categories, ok, table_rows

CATEGORIES = ("Home > Kitchen", "Garden")


def products(cli: Cli, *options: str) -> dict[str, dict[str, str]]:
    """The `shop products list` rows by sku, every page of 100."""
    found: dict[str, dict[str, str]] = {}
    page, pages = 1, 1
    while page <= pages:
        out = ok(cli("products", "list", "--page", str(page), "--page-size", "100", *options))
        found |= {row["sku"]: row for row in table_rows(out)}
        if match := re.search(r"page \d+ of (\d+)", out):
            pages = int(match[1])
        page += 1
    return found


def rejections(output: str) -> dict[int, str]:
    """The rejected rows table of an import: reason by line number."""
    return {int(row["line"]): row["reason"] for row in table_rows(output) if set(row) == {"line", "reason"}}


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode())
    return path


def read_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


GOOD = """\
sku,name,category,price,cost_price,discount_percentage,stock_quantity,is_active,description
LAMP-1,Desk Lamp,Home > Kitchen,19.99,8.00,10,5,true,A lamp
MUG-1,Big Mug,Home,7.50,,0,12,yes,
SPADE-1,Spade,Garden,24.00,,25.5,0,false,"Digs, well"
HAT-1,Sun Hat,,9.99,,,3,,
"""


# --- import ----------------------------------------------------------------------------------


def test_import_creates_the_products_of_a_good_file(cli: Cli, tmp_path: Path) -> None:
    make_categories(cli.database_url, *CATEGORIES)

    out = ok(cli("catalog", "import", str(write(tmp_path / "good.csv", GOOD))))

    assert "4 rows read — 4 created, 0 updated, 0 unchanged, 0 rejected." in out
    assert rejections(out) == {}
    assert "The import ran" not in out
    rows = products(cli)
    assert list(rows) == ["LAMP-1", "MUG-1", "SPADE-1", "HAT-1"]
    assert rows["LAMP-1"] | {"id": ""} == {
        "id": "",
        "sku": "LAMP-1",
        "name": "Desk Lamp",
        "category": "Kitchen",
        "price": "19.99",
        "final price": "17.99",
        "stock": "5",
        "active": "yes",
    }
    assert rows["SPADE-1"]["active"] == "no"  # inactive products are imported and listed for staff
    assert rows["SPADE-1"]["final price"] == "17.88"  # 24.00 less 25.5 %, rounded half-up
    assert rows["HAT-1"]["category"] == ""
    [movement] = table_rows(ok(cli("stock", "history", "LAMP-1")))
    assert (movement["delta"], movement["balance"], movement["reason"], movement["actor"]) == (
        "+5",
        "5",
        "import",
        "cli",
    )


def test_bad_rows_are_reported_by_line_and_the_good_ones_land(cli: Cli, tmp_path: Path) -> None:
    make_categories(cli.database_url, *CATEGORIES)
    lines = [
        b"sku,name,category,price,stock_quantity",
        b"OK-1,Good Lamp,Home > Kitchen,19.99,5",
        b"BAD-PRICE,Bad Price,Home,abc,1",
        b"BAD-STOCK,Negative Stock,Home,5.00,-3",
        b"NO-NAME,,Home,5.00,1",
        b"BAD-CAT,Unknown Category,Nowhere > Land,5.00,1",
        b"SHORT,Too Few,5.00",
        "LATIN,Caf\u00e9 cr\u00e8me,Home,5.00,1".encode("latin-1"),
        b"OK-2,Good Mug,home > kitchen,7.50,0",
        "OK-3,Caf\u00e9 cr\u00e8me,Garden,3,2".encode(),
        b"",
    ]
    (tmp_path / "mixed.csv").write_bytes(b"\n".join(lines))

    out = ok(cli("catalog", "import", "mixed.csv"))

    assert "9 rows read — 3 created, 0 updated, 0 unchanged, 6 rejected." in out
    assert "The import ran, but 6 rows were rejected" in out
    reasons = rejections(out)
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8]
    assert reasons[3] == "price: 'abc' is not a number"
    assert reasons[4] == "stock_quantity: the stock_quantity column: must be at least 0"
    assert reasons[5] == "name: the name column is empty, and every product needs one"
    assert reasons[6] == "category: unknown category 'Nowhere > Land'"
    assert reasons[7] == "expected 5 columns, found 3"
    assert "UTF-8" in reasons[8]
    rows = products(cli)
    assert list(rows) == ["OK-1", "OK-2", "OK-3"]
    assert rows["OK-2"]["category"] == "Kitchen"  # category paths match whatever their case
    assert rows["OK-3"]["name"] == "Café crème"


def test_a_quoted_value_spanning_lines_keeps_the_line_numbers_right(cli: Cli, tmp_path: Path) -> None:
    text = (
        "sku,name,price,description\n"  # line 1
        'ML-1,Two Lines,1.00,"first\nsecond"\n'  # lines 2-3
        "ML-2,Bad,abc,x\n"  # line 4
        'ML-3,Also Bad,xyz,"one\ntwo"\n'  # lines 5-6: reported where the row starts
        "ML-4,Fine,2.00,y\n"  # line 7
    )

    out = ok(cli("catalog", "import", str(write(tmp_path / "multi.csv", text))))

    assert "4 rows read — 2 created, 0 updated, 0 unchanged, 2 rejected." in out
    assert rejections(out) == {4: "price: 'abc' is not a number", 5: "price: 'xyz' is not a number"}
    no_variants = "," * (len(COLUMNS) - len(PRODUCT_COLUMNS))  # the variant columns, empty
    assert ok(cli("catalog", "export", "-")).splitlines()[1:3] == [
        'ML-1,Two Lines,two-lines,,1.00,,0.00,0,,true,"first',
        f'second"{no_variants}',
    ]


def test_a_duplicate_sku_keeps_the_first_row_and_names_its_line(cli: Cli, tmp_path: Path) -> None:
    text = "sku,name,price\nA-1,First,1.00\nB-1,Other,2.00\nA-1,Second,3.00\na-1,Third,4.00\n"

    out = ok(cli("catalog", "import", str(write(tmp_path / "dupes.csv", text))))

    # Skus are matched exactly, as the database's unique constraint does: a-1 is another product.
    assert "4 rows read — 3 created, 0 updated, 0 unchanged, 1 rejected." in out
    reasons = rejections(out)
    assert sorted(reasons) == [4]
    assert "line 2" in reasons[4]
    rows = products(cli)
    assert sorted(rows) == ["A-1", "B-1", "a-1"]
    assert (rows["A-1"]["name"], rows["A-1"]["price"]) == ("First", "1.00")


def test_importing_the_same_file_again_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    make_categories(cli.database_url, *CATEGORIES)
    path = write(tmp_path / "good.csv", GOOD)
    ok(cli("catalog", "import", str(path)))
    before = products(cli)

    out = ok(cli("catalog", "import", str(path)))

    assert "4 rows read — 0 created, 0 updated, 4 unchanged, 0 rejected." in out
    assert products(cli) == before
    assert len(table_rows(ok(cli("stock", "history", "LAMP-1")))) == 1  # no new movement


def test_a_changed_file_updates_what_changed(cli: Cli, tmp_path: Path) -> None:
    make_categories(cli.database_url, *CATEGORIES)
    ok(cli("catalog", "import", str(write(tmp_path / "v1.csv", GOOD))))
    changed = (
        GOOD.replace("LAMP-1,Desk Lamp,Home > Kitchen,19.99", "LAMP-1,Desk Lamp,Garden,21.50")
        .replace("MUG-1,Big Mug,Home,7.50,,0,12", "MUG-1,Big Mug,Home,7.50,,0,20")
        .replace("HAT-1,Sun Hat,,9.99,,,3,,", "HAT-1,Sun Hat,,9.99,,,3,,\nNEW-1,New Thing,,1.00,,,1,,")
    )

    out = ok(cli("catalog", "import", str(write(tmp_path / "v2.csv", changed))))

    assert "5 rows read — 1 created, 2 updated, 2 unchanged, 0 rejected." in out
    rows = products(cli)
    assert (rows["LAMP-1"]["category"], rows["LAMP-1"]["price"]) == ("Garden", "21.50")
    assert rows["MUG-1"]["stock"] == "20"
    latest = table_rows(ok(cli("stock", "history", "MUG-1")))[0]
    assert (latest["delta"], latest["balance"], latest["reason"]) == ("+8", "20", "import")


def test_a_ten_thousand_row_file_imports_completely(cli: Cli, tmp_path: Path) -> None:
    ids = make_categories(cli.database_url, *CATEGORIES)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["sku", "name", "category", "price", "stock_quantity", "description"])
    for i in range(10_000):
        category = ("Home > Kitchen", "Garden", "Home", "")[i % 4]
        writer.writerow([f"BULK-{i:05d}", f"Bulk item {i}", category, f"{i % 500}.{i % 100:02d}", i % 7, "x"])
    path = write(tmp_path / "bulk.csv", buffer.getvalue())

    out = ok(cli("catalog", "import", str(path)))

    assert "10000 rows read — 10000 created, 0 updated, 0 unchanged, 0 rejected." in out
    assert "Products 1-1 of 10000" in ok(cli("products", "list", "--page-size", "1"))
    kitchen = str(ids["Home > Kitchen"])
    assert "Products 1-1 of 2500" in ok(cli("products", "list", "--category", kitchen, "--page-size", "1"))
    last = table_rows(ok(cli("products", "list", "--search", "BULK-09999")))
    assert [(r["sku"], r["price"], r["stock"]) for r in last] == [("BULK-09999", "499.99", "3")]


def test_more_than_fifty_rejections_show_the_first_fifty_and_a_count(cli: Cli, tmp_path: Path) -> None:
    text = "sku,name,price\n" + "".join(f"X-{i},Item {i},free\n" for i in range(60)) + "OK,Fine,1\n"

    out = ok(cli("catalog", "import", str(write(tmp_path / "bad.csv", text))))

    assert "61 rows read — 1 created, 0 updated, 0 unchanged, 60 rejected." in out
    assert sorted(rejections(out)) == list(range(2, 52))
    assert "… and 10 more rejected rows." in out


def test_a_utf8_bom_is_ignored(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "bom.csv").write_bytes("sku,name,price\nBOM-1,Thé vert,4.20\n".encode("utf-8-sig"))

    assert "1 row read — 1 created" in ok(cli("catalog", "import", "bom.csv"))
    assert products(cli)["BOM-1"]["name"] == "Thé vert"


def test_import_reads_standard_input_for_a_dash(cli: Cli) -> None:
    out = ok(cli("catalog", "import", "-", input="sku,name,price\nIN-1,From stdin,1.00\n"))

    assert "Imported standard input: 1 row read — 1 created" in out
    assert list(products(cli)) == ["IN-1"]


def test_a_header_only_file_imports_nothing(cli: Cli, tmp_path: Path) -> None:
    out = ok(cli("catalog", "import", str(write(tmp_path / "header.csv", "sku,name,price\n"))))

    assert "0 rows read — 0 created, 0 updated, 0 unchanged, 0 rejected." in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"sku,name,colour\nA,B,red\n", "Bad header (missing columns: price; unknown columns: colour)."),
        (b"sku;name;price\nA;B;1\n", "missing columns: sku, name, price"),
        ("sku,name,pr\u00efce\n".encode("latin-1"), "Bad header"),
    ],
    ids=["empty", "bad-columns", "wrong-delimiter", "latin-1-header"],
)
def test_an_unusable_file_is_one_error_line(cli: Cli, tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "in.csv").write_bytes(content)

    line = error_line(cli("catalog", "import", "in.csv"))

    assert line.startswith("error: in.csv: ")
    assert message in line
    assert products(cli) == {}


def test_a_missing_file_is_one_error_line(cli: Cli) -> None:
    assert error_line(cli("catalog", "import", "nowhere.csv")) == "error: No such file: nowhere.csv"


def test_a_directory_is_one_error_line(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()

    assert error_line(cli("catalog", "import", "folder")) == "error: folder is a directory, not a CSV file."


def test_import_into_an_unreachable_database_is_one_error_line(tmp_path: Path) -> None:
    path = write(tmp_path / "good.csv", GOOD)

    assert "Connect" in error_line(Cli(UNREACHABLE_DATABASE)("catalog", "import", str(path)))


def test_the_progress_bar_reaches_the_total_on_a_terminal(cli: Cli, tmp_path: Path) -> None:
    text = "sku,name,price\n" + "".join(f"P-{i},Item {i},1.00\n" for i in range(1500)) + "BAD,Bad,x\n"

    result = cli(
        "catalog",
        "import",
        str(write(tmp_path / "p.csv", text)),
        env={"TTY_COMPATIBLE": "1", "TERM": "xterm"},
    )

    ok(result)
    assert "Importing" in result.stderr
    assert "1501/1501" in result.stderr  # also counting the row rejected before any write


# --- export ----------------------------------------------------------------------------------


def test_export_writes_the_header_and_every_product(cli: Cli, tmp_path: Path) -> None:
    make_categories(cli.database_url, *CATEGORIES)
    ok(cli("catalog", "import", str(write(tmp_path / "good.csv", GOOD))))

    assert ok(cli("catalog", "export", "out.csv")).strip() == "Exported 4 products to out.csv."

    rows = read_rows((tmp_path / "out.csv").read_text(encoding="utf-8"))
    assert rows[0] == list(COLUMNS)
    by_sku = {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]}
    assert list(by_sku) == ["LAMP-1", "MUG-1", "SPADE-1", "HAT-1"]
    assert by_sku["LAMP-1"] | {"slug": ""} == {
        "sku": "LAMP-1",
        "name": "Desk Lamp",
        "slug": "",
        "category": "Home > Kitchen",
        "price": "19.99",
        "cost_price": "8.00",
        "discount_percentage": "10.00",
        "stock_quantity": "5",
        "image_url": "",
        "is_active": "true",
        "description": "A lamp",
    } | dict.fromkeys(COLUMNS[len(PRODUCT_COLUMNS) :], "")  # without options: no variant columns
    assert by_sku["SPADE-1"]["description"] == "Digs, well"
    assert by_sku["SPADE-1"]["is_active"] == "false"


def test_export_then_import_round_trips(cli: Cli, other_cli: Cli, tmp_path: Path) -> None:
    for shop in (cli, other_cli):
        make_categories(shop.database_url, *CATEGORIES)
    ok(cli("catalog", "import", str(write(tmp_path / "good.csv", GOOD))))
    ok(cli("catalog", "export", "a.csv"))

    out = ok(other_cli("catalog", "import", "a.csv"))
    ok(other_cli("catalog", "export", "b.csv"))

    assert "4 rows read — 4 created, 0 updated, 0 unchanged, 0 rejected." in out
    assert (tmp_path / "b.csv").read_bytes() == (tmp_path / "a.csv").read_bytes()
    assert "4 unchanged" in ok(cli("catalog", "import", "a.csv"))  # and into the shop it came from


def test_export_of_a_dash_writes_only_the_csv_to_standard_output(cli: Cli, tmp_path: Path) -> None:
    make_categories(cli.database_url, *CATEGORIES)
    ok(cli("catalog", "import", str(write(tmp_path / "good.csv", GOOD))))
    ok(cli("catalog", "export", "file.csv"))

    result = cli("catalog", "export", "-")

    assert ok(result) == (tmp_path / "file.csv").read_text(encoding="utf-8")
    assert result.stderr == ""


def test_export_of_an_empty_catalog_is_the_header(cli: Cli) -> None:
    assert read_rows(ok(cli("catalog", "export", "-"))) == [list(COLUMNS)]


def test_export_replaces_an_existing_file(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "out.csv").write_text("old content\n")

    ok(cli("catalog", "export", "out.csv"))

    assert read_rows((tmp_path / "out.csv").read_text()) == [list(COLUMNS)]


def test_export_into_a_missing_directory_is_one_error_line(cli: Cli) -> None:
    line = error_line(cli("catalog", "export", "no/such/dir/out.csv"))

    assert line == "error: Cannot write no/such/dir/out.csv: the directory no/such/dir does not exist."


def test_export_onto_a_directory_is_one_error_line(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()

    assert error_line(cli("catalog", "export", "folder")) == "error: folder is a directory; give a file name."


def test_a_failed_export_leaves_no_file_behind(tmp_path: Path) -> None:
    (tmp_path / "kept.csv").write_text("previous export\n")

    assert "Connect" in error_line(Cli(UNREACHABLE_DATABASE)("catalog", "export", "kept.csv"))

    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.csv"]
    assert (tmp_path / "kept.csv").read_text() == "previous export\n"


# --- seed ------------------------------------------------------------------------------------


def test_seed_is_deterministic(cli: Cli, other_cli: Cli, tmp_path: Path) -> None:
    first = ok(cli("catalog", "seed", "--yes", "--products", "250", "--categories", "15"))
    ok(other_cli("catalog", "seed", "--yes", "--products", "250", "--categories", "15"))

    assert "Seeded 250 products in 15 categories: 250 created, 0 updated, 0 unchanged, 0 rejected." in first
    exported = ok(cli("catalog", "export", "-"))
    assert exported == ok(other_cli("catalog", "export", "-"))
    rows = read_rows(exported)
    assert len(rows) == 251
    assert len({row[3] for row in rows[1:]}) > 5  # spread over the categories
    assert all(row[3] for row in rows[1:])


def test_seeding_again_with_the_same_numbers_changes_nothing(cli: Cli) -> None:
    ok(cli("catalog", "seed", "--yes", "--products", "40", "--categories", "5"))
    exported = ok(cli("catalog", "export", "-"))

    out = ok(cli("catalog", "seed", "--yes", "--products", "40", "--categories", "5"))

    assert "0 created, 0 updated, 0 unchanged, 0 rejected, 40 skipped (already there)." in out
    assert ok(cli("catalog", "export", "-")) == exported


def test_other_numbers_give_other_rows(cli: Cli, other_cli: Cli) -> None:
    ok(cli("catalog", "seed", "--yes", "--products", "30", "--categories", "5"))
    ok(other_cli("catalog", "seed", "--yes", "--products", "30", "--categories", "6"))

    assert ok(cli("catalog", "export", "-")) != ok(other_cli("catalog", "export", "-"))


def test_seed_creates_categories_an_import_can_use(cli: Cli, other_cli: Cli, tmp_path: Path) -> None:
    ok(cli("catalog", "seed", "--yes", "--products", "50", "--categories", "8"))
    ok(cli("catalog", "export", "seeded.csv"))

    assert "0 created" in ok(other_cli("catalog", "seed", "--yes", "--products", "0", "--categories", "8"))
    out = ok(other_cli("catalog", "import", "seeded.csv"))

    assert "50 rows read — 50 created, 0 updated, 0 unchanged, 0 rejected." in out


@pytest.mark.parametrize(
    "options",
    [["--products", "-1"], ["--categories", "0"], ["--products", "many"]],
    ids=["negative-products", "no-categories", "not-a-number"],
)
def test_seed_rejects_bad_numbers(cli: Cli, options: list[str]) -> None:
    result = cli("catalog", "seed", "--yes", *options)

    assert result.exit_code == 2
    assert options[0] in result.stderr
    assert products(cli) == {}


def test_seed_fails_loudly_if_a_generated_row_is_ever_rejected(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = catalog_seed.product_rows

    def one_bad_row(count: int, paths: list[str], prefix: str) -> Iterator[tuple[int, dict[str, str]]]:
        for line, row in real(count, paths, prefix):
            yield line, row | {"price": "free"} if line == 3 else row

    monkeypatch.setattr(catalog_seed, "product_rows", one_bad_row)

    result = cli("catalog", "seed", "--yes", "--products", "5", "--categories", "2")

    assert (
        "Seeded 5 products in 2 categories: 4 created, 0 updated, 0 unchanged, 1 rejected." in result.stdout
    )
    assert rejections(result.stdout) == {3: "price: 'free' is not a number"}
    assert error_line(result) == "error: 1 generated row was rejected (listed above)."


# --- recount -----------------------------------------------------------------------------------


def test_recount_says_the_counters_were_right_after_an_import(cli: Cli, tmp_path: Path) -> None:
    ok(cli("catalog", "import", str(write(tmp_path / "good.csv", GOOD))))
    out = ok(cli("catalog", "recount"))
    assert "nothing to mend" in out
