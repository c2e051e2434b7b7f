"""Bulk import and export on the fakes: upsert by sku, bad rows reported by line, never fatal."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
from collections.abc import Sequence
from decimal import Decimal

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.domain.catalog import Product
from shop_core.domain.errors import InvalidInput
from shop_core.services import catalog_import
from shop_core.services.catalog_commands import CreateCategory, CreateProduct
from shop_core.services.catalog_import import COLUMNS, PRODUCT_COLUMNS, ImportReport, escape_cell, read_csv
from tests.fakes import FakeClock, FakeDatabase, fake_shop

HEADER = "sku,name,price,category,stock_quantity"


@pytest.fixture
def world() -> tuple[Shop, FakeDatabase, FakeClock]:
    return fake_shop()


@pytest.fixture
def shop(world: tuple[Shop, FakeDatabase, FakeClock]) -> Shop:
    return world[0]


@pytest.fixture
def db(world: tuple[Shop, FakeDatabase, FakeClock]) -> FakeDatabase:
    return world[1]


def csv_file(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join((header, *lines)) + "\n").encode()


async def run_import(shop: Shop, data: bytes, progress: list[int] | None = None) -> ImportReport:
    seen = progress if progress is not None else []
    return await shop.catalog.import_products(
        read_csv(data), Actor("importer", is_staff=True), progress=seen.append
    )


async def tree(shop: Shop) -> dict[str, int]:
    """Home > Lighting > Lamps, and Garden; their ids by name."""
    home = await shop.catalog.create_category(CreateCategory(name="Home"), Actor.operator())
    lighting = await shop.catalog.create_category(
        CreateCategory(name="Lighting", parent=home.id), Actor.operator()
    )
    lamps = await shop.catalog.create_category(
        CreateCategory(name="Lamps", parent=lighting.id), Actor.operator()
    )
    garden = await shop.catalog.create_category(CreateCategory(name="Garden"), Actor.operator())
    return {"Home": home.id, "Lighting": lighting.id, "Lamps": lamps.id, "Garden": garden.id}


def by_sku(db: FakeDatabase) -> dict[str, Product]:
    return {p.sku: p for p in db.products.values()}


def columns(product: Product) -> dict[str, object]:
    return {f.name: getattr(product, f.name) for f in dataclasses.fields(Product)}


def counts(report: ImportReport) -> tuple[int, int, int, int]:
    return report.created, report.updated, report.unchanged, len(report.rejected)


# --- reading the file ----------------------------------------------------------------------


def test_read_csv_gives_rows_by_line() -> None:
    data = b"\xef\xbb\xbfSKU , Name,price\nA-1, Lamp ,9.99\n\n , ,\nB-2,Mug,3\n"
    assert list(read_csv(data)) == [
        (2, {"sku": "A-1", "name": "Lamp", "price": "9.99"}),
        (5, {"sku": "B-2", "name": "Mug", "price": "3"}),
    ]


def test_a_record_over_several_lines_is_reported_at_its_first_line() -> None:
    data = b'sku,name,price,description\nA,Lamp,1,"two\nlines"\nB,Mug,2\nC,Cup,3,x\n'
    assert list(read_csv(data)) == [
        (2, {"sku": "A", "name": "Lamp", "price": "1", "description": "two\nlines"}),
        (4, "expected 4 columns, found 3"),
        (5, {"sku": "C", "name": "Cup", "price": "3", "description": "x"}),
    ]


def test_lines_that_cannot_be_read_are_reported_and_the_rest_read() -> None:
    data = b"sku,name,price\nA,Caf\xe9,1\nB,a\x00b,2\nC," + b"x" * 200_000 + b",3\nD,Mug,4\n"
    rows = list(read_csv(data))
    assert rows[0] == (2, "not valid UTF-8 text (save the file as UTF-8)")
    assert rows[1] == (3, "contains a NUL character")
    assert rows[2][0] == 4
    assert "unreadable CSV" in str(rows[2][1])
    assert rows[3] == (5, {"sku": "D", "name": "Mug", "price": "4"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"sku,name\nA,b\n", "missing columns: price"),
        (b"sku,price\n", "missing columns: name"),
        (b"sku,name,price,colour\n", "unknown columns: colour"),
        (b"sku,n\xe4me,price\n", "not UTF-8"),
        (b"sku,name,price,Price\n", "repeated columns: price"),
    ],
)
def test_a_bad_header_refuses_the_whole_file(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        list(read_csv(data))
    assert list(caught.value.errors) == ["file"]
    assert message in caught.value.detail


# --- importing -----------------------------------------------------------------------------


async def test_an_import_creates_products_with_their_category_and_stock(shop: Shop, db: FakeDatabase) -> None:
    ids = await tree(shop)
    progress: list[int] = []
    report = await run_import(
        shop,
        csv_file("L-1,Desk Lamp,19.99,Home > Lighting > Lamps,5", "G-1,Rake,7,garden,0", "X-1,Thing,1,,"),
        progress,
    )
    assert counts(report) == (3, 0, 0, 0)
    assert report.total == 3
    assert sum(progress) == 3
    products = by_sku(db)
    lamp, rake, thing = products["L-1"], products["G-1"], products["X-1"]
    assert (lamp.name, lamp.slug, lamp.price, lamp.category_id, lamp.stock_quantity) == (
        "Desk Lamp",
        "desk-lamp",
        1999,
        ids["Lamps"],
        5,
    )
    assert rake.category_id == ids["Garden"]
    assert thing.category_id is None
    history = await shop.stock.stock_history("L-1", Actor.operator())
    assert [(m.delta, m.reason, m.actor, m.balance_after) for m in history] == [(5, "import", "importer", 5)]
    assert await shop.stock.stock_history("G-1", Actor.operator()) == []


async def test_every_column(shop: Shop, db: FakeDatabase) -> None:
    await tree(shop)
    header = ",".join(PRODUCT_COLUMNS)  # the columns before variants
    row = 'S-1,Lamp,lamp-deluxe,Home,10.50,4.25,12.5,3,https://img.example/l.png,no,"Bright, warm"'
    report = await run_import(shop, csv_file(row, header=header))
    assert counts(report) == (1, 0, 0, 0)
    lamp = by_sku(db)["S-1"]
    assert lamp.slug == "lamp-deluxe"
    assert (lamp.price, lamp.cost_price, lamp.discount_percentage) == (1050, 425, Decimal("12.50"))
    assert lamp.image_url == "https://img.example/l.png"
    assert lamp.is_active is False
    assert lamp.description == "Bright, warm"


async def test_a_second_import_updates_by_sku_and_counts_what_changed(shop: Shop, db: FakeDatabase) -> None:
    await run_import(shop, csv_file("A,Lamp,10,,5", "B,Mug,3,,2", "C,Cup,4,,0"))
    world_clock = shop.ports.clock
    assert isinstance(world_clock, FakeClock)
    created_at = by_sku(db)["A"].created_at
    world_clock.advance(60)

    report = await run_import(shop, csv_file("A,Lamp,12,,5", "B,Mug,3,,7", "C,Cup,4,,0", "D,Bowl,5,,1"))

    assert counts(report) == (1, 2, 1, 0)
    products = by_sku(db)
    assert products["A"].price == 1200
    assert products["A"].created_at == created_at
    assert products["A"].updated_at == world_clock.now()
    assert products["C"].updated_at == created_at
    assert products["B"].stock_quantity == 7
    history = await shop.stock.stock_history("B", Actor.operator())
    assert [(m.delta, m.reason, m.balance_after) for m in history] == [(5, "import", 7), (2, "import", 2)]
    assert len(db.products) == 4


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("B,Mug,abc,,1", "price: 'abc' is not a number"),
        ("B,Mug,-1,,1", "price: Use an amount of zero or more."),
        ("B,Mug,1.999,,1", "price: Use at most 2 decimal places for USD."),
        ("B,Mug,NaN,,1", "price: Use an amount of zero or more."),
        ("B,Mug,1,,-3", "stock_quantity"),
        ("B,Mug,1,,many", "stock_quantity: 'many' is not a whole number"),
        ("B,Mug,1,Nowhere,1", "category: unknown category 'Nowhere'"),
        ("B,Mug,1,Home > Nowhere,1", "category: unknown category 'Home > Nowhere'"),
        ("B,,1,,1", "name"),
        ("has space,Mug,1,,1", "sku"),
    ],
)
async def test_a_bad_row_is_reported_with_its_line_and_the_rest_imported(
    shop: Shop, db: FakeDatabase, row: str, reason: str
) -> None:
    await tree(shop)
    report = await run_import(shop, csv_file("A,Lamp,1,,1", row, "C,Cup,1,,1"))
    assert counts(report) == (2, 0, 0, 1)
    [(line, why)] = report.rejected
    assert line == 3
    assert reason in why
    assert sorted(by_sku(db)) == ["A", "C"]


async def test_bad_values_in_other_columns(shop: Shop, db: FakeDatabase) -> None:
    header = "sku,name,price,discount_percentage,is_active,image_url,cost_price"
    report = await run_import(
        shop,
        csv_file(
            "A,Lamp,1,150,true,,",
            "B,Lamp,1,10.555,true,,",
            "C,Lamp,1,5,maybe,,",
            "D,Lamp,1,5,true,ftp://x,",
            "E,Lamp,1,5,true,,-2",
            "F,Lamp,1,5,yes,,0.5",
            header=header,
        ),
    )
    reasons = dict(report.rejected)
    assert sorted(reasons) == [2, 3, 4, 5, 6]
    assert "discount_percentage" in reasons[2]
    assert reasons[3] == "discount_percentage: Use at most two decimal places."  # the API's words
    assert "is_active: 'maybe' is not true or false" in reasons[4]
    assert "image_url" in reasons[5]
    assert "cost_price" in reasons[6]
    assert list(by_sku(db)) == ["F"]


async def test_a_sku_twice_in_one_file_keeps_the_first(shop: Shop, db: FakeDatabase) -> None:
    report = await run_import(shop, csv_file("A,Lamp,1,,1", "B,Mug,2,,1", "A,Lamp again,3,,1"))
    assert counts(report) == (2, 0, 0, 1)
    assert report.rejected == [(4, "sku: sku 'A' already appears on line 2")]
    assert by_sku(db)["A"].price == 100


async def test_unreadable_lines_are_rejected_not_fatal(shop: Shop, db: FakeDatabase) -> None:
    data = csv_file("A,Lamp,1,,1", "B,Cafe,2,,1", "C,Cup,3,,1", "D,short").replace(b"Cafe", b"Caf\xe9")
    report = await run_import(shop, data)
    assert counts(report) == (2, 0, 0, 2)
    assert report.rejected == [
        (3, "not valid UTF-8 text (save the file as UTF-8)"),
        (5, "expected 5 columns, found 2"),
    ]
    assert sorted(by_sku(db)) == ["A", "C"]


async def test_slugs_are_made_unique_and_an_explicit_clash_is_rejected(shop: Shop, db: FakeDatabase) -> None:
    await shop.catalog.create_product(
        CreateProduct(name="Lamp", sku="OLD", price=Decimal(1)), Actor("staff", is_staff=True)
    )
    header = "sku,name,price,slug"
    report = await run_import(
        shop,
        csv_file("A,Lamp,1,", "B,Lamp,1,", "C,Other,1,lamp", "D,Other,1,fresh", "E,X,1,fresh", header=header),
    )
    assert counts(report) == (3, 0, 0, 2)
    assert [line for line, _ in report.rejected] == [4, 6]
    assert all("slug" in why for _, why in report.rejected)
    slugs = {sku: p.slug for sku, p in by_sku(db).items()}
    assert slugs == {"OLD": "lamp", "A": "lamp-2", "B": "lamp-3", "D": "fresh"}


async def test_a_rejected_row_leaves_an_existing_product_untouched(shop: Shop, db: FakeDatabase) -> None:
    await shop.catalog.create_product(
        CreateProduct(name="Lamp", sku="A", price=Decimal(1)), Actor("staff", is_staff=True)
    )
    await shop.catalog.create_product(
        CreateProduct(name="Mug", sku="B", price=Decimal(2)), Actor("staff", is_staff=True)
    )
    header = "sku,name,price,discount_percentage,slug"
    report = await run_import(
        shop,
        csv_file(
            "A,Renamed,5,150,",  # a discount out of range
            "B,Renamed too,6,0,lamp",  # a slug another product uses
            "C,New,7,0,",
            header=header,
        ),
    )
    assert counts(report) == (1, 0, 0, 2)
    assert report.rejected[1] == (3, "A product with the slug 'lamp' already exists.")  # the API's words
    products = by_sku(db)
    assert (products["A"].name, products["A"].price, products["A"].discount_percentage) == (
        "Lamp",
        100,
        Decimal(0),
    )
    assert (products["B"].name, products["B"].price, products["B"].slug) == ("Mug", 200, "mug")
    assert products["C"].slug == "new"


async def test_rows_are_written_in_batches(
    shop: Shop, db: FakeDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog_import, "BATCH", 3)
    lines = [f"S-{n},Item {n},{n},,{n % 3}" for n in range(1, 11)]
    lines.insert(4, "bad,,1,,1")
    commits_before = db.commits
    progress: list[int] = []
    report = await run_import(shop, csv_file(*lines), progress)
    assert counts(report) == (10, 0, 0, 1)
    # Every row read is reported, the rejected one too: a progress bar reaches its total.
    assert progress == [3, 4, 3, 1]
    assert db.commits - commits_before == 4
    assert len(db.products) == 10


async def test_an_import_is_seen_by_the_next_read(shop: Shop) -> None:
    async def price() -> str:
        shown = msgspec.json.decode(await shop.catalog.get_product(1, staff=False))
        assert [v["price"] for v in shown["variants"]] == [shown["price"]]
        return str(shown["price"])

    await run_import(shop, csv_file("A,Lamp,1,,1"))
    assert await price() == "1.00"
    await run_import(shop, csv_file("A,Lamp,2,,1"))
    assert await price() == "2.00"


# --- export --------------------------------------------------------------------------------


async def export_csv(shop: Shop) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    async for batch in shop.catalog.export_products(Actor.operator()):
        writer.writerows(batch)
    return out.getvalue().encode()


async def test_an_export_imports_back_as_unchanged(shop: Shop, db: FakeDatabase) -> None:
    ids = await tree(shop)
    commands: Sequence[dict[str, object]] = [
        {"name": "Desk Lamp", "sku": "L-1", "price": "19.99", "category": ids["Lamps"], "stock_quantity": 4},
        {
            "name": "Rake, steel",
            "sku": "G-1",
            "price": "7",
            "cost_price": "3.5",
            "discount_percentage": "12.5",
            "category": ids["Garden"],
            "description": 'Say "hello"\nover two lines',
            "image_url": "https://img.example/rake.png",
            "is_active": False,
        },
        {"name": "Plain", "sku": "X-1", "price": "0"},
    ]
    for fields in commands:
        await shop.catalog.create_product(
            msgspec.convert(fields, CreateProduct, strict=False), Actor("staff", is_staff=True)
        )
    exported = await export_csv(shop)
    before = {sku: columns(p) for sku, p in by_sku(db).items()}

    report = await run_import(shop, exported)

    assert counts(report) == (0, 0, 3, 0)
    assert await export_csv(shop) == exported
    assert {sku: columns(p) for sku, p in by_sku(db).items()} == before


async def test_an_export_reads_in_batches(shop: Shop) -> None:
    await run_import(shop, csv_file(*(f"S-{n},Item {n},{n},," for n in range(1, 8))))
    batches = [
        batch async for batch in catalog_import.export_rows(uow=shop.ports.uow, currency="USD", batch=3)
    ]
    assert [len(b) for b in batches] == [3, 3, 1]
    assert [row[0] for batch in batches for row in batch] == [f"S-{n}" for n in range(1, 8)]


# --- a row's problems, in the shop's words --------------------------------------------------


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (",Mug,1,,1", "sku: the sku column is empty, and every product needs one"),
        ("B,,1,,1", "name: the name column is empty, and every product needs one"),
        ("B,Mug,,,1", "price: the price column is empty, and every product needs one"),
        (f"B,{'x' * 201},1,,1", "name: the name column: must have at most 200 characters"),
        ("-B,Mug,1,,1", "sku: the sku column: use letters, digits and . _ / - only"),
        ("B,Mug,1,,3000000000", "stock_quantity: the stock_quantity column: must be at most 2000000000"),
    ],
)
async def test_a_row_missing_a_value_names_the_column_in_the_shops_words(
    shop: Shop, db: FakeDatabase, row: str, reason: str
) -> None:
    report = await run_import(shop, csv_file("A,Lamp,1,,1", row))

    [(line, why)] = report.rejected
    assert line == 3
    assert why.startswith(reason)
    assert "Object" not in why
    assert "Expected" not in why
    assert list(by_sku(db)) == ["A"]


# --- CSV injection ---------------------------------------------------------------------------

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
# Text a CSV cell can hold: anything but NUL and lone surrogates (not UTF-8).
CELL_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=60)


@given(CELL_TEXT)
def test_a_cell_is_never_a_formula_and_reads_back_exactly(text: str) -> None:
    cell = escape_cell(text)
    assert not cell.startswith(DANGEROUS)
    out = io.StringIO(newline="")
    csv.writer(out).writerows([["sku", "name", "price"], ["A", cell, "1"]])
    [(_, row)] = list(read_csv(out.getvalue().encode()))
    assert isinstance(row, dict)
    assert row["name"] == text


async def test_an_export_neutralises_formulas_and_imports_them_back(shop: Shop, db: FakeDatabase) -> None:
    evil = await shop.catalog.create_category(CreateCategory(name="=cmd|' /C calc'!A0"), Actor.operator())
    names = [
        '=HYPERLINK("http://evil.example","click")',
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)",
        "-2+3",
        "'quoted",
    ]
    for n, name in enumerate(names, start=1):
        await shop.catalog.create_product(
            CreateProduct(name=name, sku=f"E-{n}", price=Decimal(1), category=evil.id, description="\tTAB"),
            Actor("staff", is_staff=True),
        )
    exported = await export_csv(shop)

    rows = list(csv.reader(io.StringIO(exported.decode(), newline="")))[1:]
    assert all(not cell.startswith(DANGEROUS) for row in rows for cell in row)
    assert [row[1] for row in rows] == ["'" + name for name in names]
    assert {row[3] for row in rows} == {"'=cmd|' /C calc'!A0"}
    before = {sku: columns(p) for sku, p in by_sku(db).items()}

    report = await run_import(shop, exported)

    assert counts(report) == (0, 0, 5, 0)
    assert {sku: columns(p) for sku, p in by_sku(db).items()} == before


NAMES = CELL_TEXT.map(str.strip).filter(bool)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=NAMES, description=CELL_TEXT)
def test_export_then_import_into_another_shop_keeps_any_text(name: str, description: str) -> None:
    async def round_trip() -> None:
        source, source_db, _ = fake_shop()
        target, target_db, _ = fake_shop()
        await source.catalog.create_product(
            CreateProduct(name=name, sku="T-1", price=Decimal("2.50"), description=description),
            Actor("staff", is_staff=True),
        )
        exported = await export_csv(source)
        rows = list(csv.reader(io.StringIO(exported.decode(), newline="")))
        assert all(not cell.startswith(DANGEROUS) for row in rows for cell in row)

        report = await run_import(target, exported)

        assert counts(report) == (1, 0, 0, 0)
        [stored] = source_db.products.values()
        [product] = target_db.products.values()
        assert (product.name, product.description) == (stored.name, stored.description)
        assert await export_csv(target) == exported

    asyncio.run(round_trip())
