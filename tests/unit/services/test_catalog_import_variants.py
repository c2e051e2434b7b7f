"""The native CSV with variants, on the fakes: one row per variant, options on the product's first
row, updates by sku and variant_sku, bad variant rows reported by line, export and round trip."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.domain.catalog import Product
from shop_core.domain.variants import Variant
from shop_core.services import catalog_import
from shop_core.services.catalog_commands import CreateProduct, OptionInput
from shop_core.services.catalog_import import (
    COLUMNS,
    ImportReport,
    join_values,
    products_in,
    read_csv,
    split_values,
)
from shop_core.services.catalog_variants import AddVariant, UpdateVariant
from tests.fakes import FakeDatabase, FakeVariantRepository, fake_shop

STAFF = Actor("staff", is_staff=True)
IMPORTER = Actor("importer", is_staff=True)
HEADER = (
    "sku,name,price,stock_quantity,option1_name,option1_values,option2_name,option2_values,"
    "variant_sku,option1_value,option2_value,variant_price,variant_stock,variant_weight_grams,variant_active"
)
TEE = [
    "TEE,Tee,20,,Size,S | M,Color,Red | Blue,TEE-S-RED,S,Red,,5,180,",
    "TEE,,,,,,,,TEE-M-RED,M,Red,22.50,3,,",
    "TEE,,,,,,,,TEE-M-BLU,M,Blue,,0,,false",
]
MUG = ["MUG,Mug,7,12,,,,,,,,,,,"]


@pytest.fixture
def world() -> tuple[Shop, FakeDatabase]:
    shop, db, _ = fake_shop()
    return shop, db


@pytest.fixture
def shop(world: tuple[Shop, FakeDatabase]) -> Shop:
    return world[0]


@pytest.fixture
def db(world: tuple[Shop, FakeDatabase]) -> FakeDatabase:
    return world[1]


def csv_file(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join((header, *lines)) + "\n").encode()


async def run_import(shop: Shop, data: bytes, progress: list[int] | None = None) -> ImportReport:
    seen = progress if progress is not None else []
    return await shop.catalog.import_products(read_csv(data), IMPORTER, progress=seen.append)


def counts(report: ImportReport) -> tuple[int, int, int, int]:
    return report.created, report.updated, report.unchanged, len(report.rejected)


def product(db: FakeDatabase, sku: str) -> Product:
    return next(p for p in db.products.values() if p.sku == sku)


def variants(
    db: FakeDatabase, sku: str
) -> list[tuple[str, dict[str, str], int | None, int, int | None, bool]]:
    """The product's variants by id: sku, values, own price, stock, weight, active."""
    product_id = product(db, sku).id
    return [
        (v.sku, v.options, v.price, v.stock_quantity, v.weight_grams, v.is_active)
        for _, v in sorted(db.variants.items())
        if v.product_id == product_id
    ]


def the_variant(db: FakeDatabase, sku: str) -> Variant:
    return next(v for v in db.variants.values() if v.sku == sku)


async def export_csv(shop: Shop) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    async for batch in shop.catalog.export_products(Actor.operator()):
        writer.writerows(batch)
    return out.getvalue().encode()


def exported_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode(), newline="")))


# --- importing variants ----------------------------------------------------------------------


async def test_one_row_per_variant_creates_the_product_its_options_and_variants(
    shop: Shop, db: FakeDatabase
) -> None:
    progress: list[int] = []
    report = await run_import(shop, csv_file(*TEE, *MUG), progress)

    assert counts(report) == (2, 0, 0, 0)
    assert sum(progress) == 4
    tee = product(db, "TEE")
    assert tee.options == [
        {"name": "Size", "values": ["S", "M"]},
        {"name": "Color", "values": ["Red", "Blue"]},
    ]
    assert (tee.price, tee.stock_quantity) == (2000, 8)  # stock over the active variants
    assert variants(db, "TEE") == [
        ("TEE-S-RED", {"Size": "S", "Color": "Red"}, None, 5, 180, True),
        ("TEE-M-RED", {"Size": "M", "Color": "Red"}, 2250, 3, None, True),
        ("TEE-M-BLU", {"Size": "M", "Color": "Blue"}, None, 0, None, False),
    ]
    assert variants(db, "MUG") == [("MUG", {}, None, 12, None, True)]  # its default variant
    history = await shop.stock.stock_history("TEE", Actor.operator())
    assert sorted((m.delta, m.reason, m.actor) for m in history) == [
        (3, "initial", "importer"),
        (5, "import", "importer"),
    ]


async def test_the_same_file_again_changes_nothing(shop: Shop, db: FakeDatabase) -> None:
    data = csv_file(*TEE, *MUG)
    await run_import(shop, data)
    before = variants(db, "TEE")
    movements = len(db.movements)

    report = await run_import(shop, data)

    assert counts(report) == (0, 0, 2, 0)
    assert variants(db, "TEE") == before
    assert len(db.movements) == movements


async def test_a_changed_variant_updates_its_product_and_records_the_stock(
    shop: Shop, db: FakeDatabase
) -> None:
    await run_import(shop, csv_file(*TEE, *MUG))
    changed = [TEE[0], TEE[1].replace("22.50,3", ",7"), TEE[2], *MUG]

    report = await run_import(shop, csv_file(*changed))

    assert counts(report) == (0, 1, 1, 0)
    assert the_variant(db, "TEE-M-RED").price is None
    assert the_variant(db, "TEE-M-RED").stock_quantity == 7
    assert product(db, "TEE").stock_quantity == 12
    latest = (await shop.stock.stock_history("TEE", Actor.operator()))[0]
    assert (latest.delta, latest.reason, latest.balance_after) == (4, "import", 7)


async def test_a_variant_is_found_by_its_values_when_its_sku_changed(shop: Shop, db: FakeDatabase) -> None:
    await run_import(shop, csv_file(*TEE))
    renamed = [TEE[0], TEE[1].replace("TEE-M-RED", "TEE-M-RED-2"), TEE[2]]

    report = await run_import(shop, csv_file(*renamed))

    assert counts(report) == (0, 1, 0, 0)
    assert [v[0] for v in variants(db, "TEE")] == ["TEE-S-RED", "TEE-M-RED-2", "TEE-M-BLU"]


async def test_a_new_value_in_a_row_joins_its_option_when_values_are_not_listed(
    shop: Shop, db: FakeDatabase
) -> None:
    rows = [
        "TEE,Tee,20,,Size,,Color,,TEE-S-RED,S,Red,,1,,",
        "TEE,,,,,,,,TEE-L-RED,L,Red,,1,,",
        "TEE,,,,,,,,TEE-S-GRN,S,Green,,1,,",
    ]
    await run_import(shop, csv_file(*rows))
    assert product(db, "TEE").options == [
        {"name": "Size", "values": ["S", "L"]},
        {"name": "Color", "values": ["Red", "Green"]},
    ]

    # Later, a file that lists only a new variant: the stored values stay, the new one is added.
    report = await run_import(shop, csv_file("TEE,Tee,20,,Size,,Color,,TEE-M-RED,M,Red,,1,,"))

    assert counts(report) == (0, 1, 0, 0)
    assert product(db, "TEE").options[0] == {"name": "Size", "values": ["S", "L", "M"]}
    assert len(variants(db, "TEE")) == 4  # the import removes no variant


async def test_product_columns_repeated_on_every_row_are_accepted(shop: Shop, db: FakeDatabase) -> None:
    repeated = [
        "TEE,Tee,20,,Size,S | M,Color,Red | Blue,TEE-S-RED,S,Red,,5,180,",
        "TEE,Tee,20,,Size,S | M,Color,Red | Blue,TEE-M-RED,M,Red,22.50,3,,",
        "TEE,Tea,20,,Size,S | M,Color,Red | Blue,TEE-M-BLU,M,Blue,,0,,false",
    ]

    report = await run_import(shop, csv_file(*repeated))

    assert counts(report) == (1, 0, 0, 1)
    assert report.rejected == [
        (
            4,
            "name: differs from the product's first row (line 2): give a product's columns on its "
            "first row only, or the same on each of its rows",
        )
    ]
    assert [v[0] for v in variants(db, "TEE")] == ["TEE-S-RED", "TEE-M-RED"]


async def test_a_partial_file_changes_only_its_columns(shop: Shop, db: FakeDatabase) -> None:
    await run_import(shop, csv_file(*TEE))
    header = "sku,name,price,variant_sku,variant_stock"
    data = csv_file("TEE,Tee,20,TEE-S-RED,9", "TEE,,,TEE-M-BLU,1", header=header)

    report = await run_import(shop, data)

    assert counts(report) == (0, 1, 0, 0)
    assert variants(db, "TEE") == [
        ("TEE-S-RED", {"Size": "S", "Color": "Red"}, None, 9, 180, True),
        ("TEE-M-RED", {"Size": "M", "Color": "Red"}, 2250, 3, None, True),
        ("TEE-M-BLU", {"Size": "M", "Color": "Blue"}, None, 1, None, False),
    ]
    assert product(db, "TEE").options[1] == {"name": "Color", "values": ["Red", "Blue"]}


async def test_a_file_without_variant_columns_imports_as_before_and_keeps_the_variants(
    shop: Shop, db: FakeDatabase
) -> None:
    await run_import(shop, csv_file(*TEE, *MUG))
    old = "sku,name,price,stock_quantity"

    report = await run_import(
        shop, csv_file("TEE,Tee shirt,21,", "MUG,Mug,7,15", "TEE,Again,1,", "NEW,New,1,2", header=old)
    )

    assert counts(report) == (1, 2, 0, 1)
    assert report.rejected == [(4, "sku: sku 'TEE' already appears on line 2")]
    assert (product(db, "TEE").name, product(db, "TEE").price) == ("Tee shirt", 2100)
    assert len(variants(db, "TEE")) == 3
    assert variants(db, "MUG") == [("MUG", {}, None, 15, None, True)]

    # The stock of a product with option variants is theirs: a total that differs is refused.
    refused = await run_import(shop, csv_file("TEE,Tee shirt,21,99", "TEE-2,Other,1,8", header=old))
    assert refused.rejected == [
        (
            2,
            "stock_quantity: this product's stock lives on its variants: give it in variant_stock on "
            "their rows and leave stock_quantity empty",
        )
    ]
    assert product(db, "TEE").stock_quantity == 8
    assert counts(await run_import(shop, csv_file("TEE,Tee shirt,21,8", header=old))) == (0, 0, 1, 0)


@pytest.mark.parametrize(
    ("rows", "rejected"),
    [
        (
            [TEE[0], "TEE,,,,,,,,TEE-M-RED,M,Red,,,,", "TEE,,,,,,,,TEE-M-RED,M,Blue,,,,"],
            [(4, "variant_sku: 'TEE-M-RED' already appears on line 3")],
        ),
        (
            [TEE[0], "TEE,,,,,,,,TEE-X,S,Red,,,,"],
            [(3, "The product already has a variant 'S / Red'.")],
        ),
        (
            [TEE[0], "TEE,,,,,,,,TEE-X,XL,Red,,,,"],
            [(3, "options: 'XL' is not a value of 'Size'; one of S, M.")],
        ),
        (
            [TEE[0], "TEE,,,,,,,,,M,Red,,,,"],
            [(3, "variant_sku: the variant_sku column is empty, and a new variant needs one")],
        ),
        (
            [TEE[0], "TEE,,,,,,,,TEE-X,M,,,,,"],
            [(3, "options: Give a value for Color.")],
        ),
        (
            [TEE[0], "TEE,,,,,,,,TEE-X,M,Red,cheap,,,"],
            [(3, "variant_price: 'cheap' is not a number")],
        ),
        (
            [TEE[0], "TEE,,,,,,,,TEE-X,M,Red,,-1,,"],
            [(3, "variant_stock: the variant_stock column: must be at least 0")],
        ),
        (
            [TEE[0], "TEE,,,,,,,,TEE X,M,Red,,,,"],
            [
                (
                    3,
                    "variant_sku: the variant_sku column: use letters, digits and . _ / - only, "
                    "starting with a letter or digit",
                )
            ],
        ),
        (
            [TEE[0], "TEE,,,,,,,,,,,,,,"],
            [(3, "sku: sku 'TEE' already appears on line 2, and this row has no variant")],
        ),
        (
            [TEE[0], *MUG, "TEE,,,,,,,,TEE-X,M,Red,,,,"],
            [(4, "sku: sku 'TEE' already appears on line 2; a product's rows must follow each other")],
        ),
        (
            ["MUG,Mug,7,12,,,,,MUG,,,,,,", "MUG,,,,,,,,MUG-2,,,,,,"],
            [(3, "a product without options has one variant: declare its options (option1_name) for more")],
        ),
        (
            ["MUG,Mug,7,12,,,,,MUG-1,,,,,,"],
            [
                (
                    2,
                    "variant_sku: a product without options has one variant, and its sku is the "
                    "product's (the sku column)",
                )
            ],
        ),
        (
            ["MUG,Mug,7,,,,,,,,,,4,,"],
            [(2, "variant_stock: a product without options keeps its stock in stock_quantity")],
        ),
        (
            ["MUG,Mug,7,,,,,,MUG,Big,,,,,"],
            [(2, "option1_value: 'Big' is given, but the product has no option 1 (option1_name)")],
        ),
    ],
    ids=[
        "variant-sku-twice",
        "same-values-twice",
        "value-not-listed",
        "new-variant-without-sku",
        "a-value-missing",
        "bad-price",
        "negative-stock",
        "bad-variant-sku",
        "a-further-row-without-variant",
        "rows-apart",
        "second-variant-without-options",
        "other-sku-without-options",
        "variant-stock-without-options",
        "a-value-without-option",
    ],
)
async def test_a_bad_variant_row_is_reported_by_line_and_the_rest_goes_in(
    shop: Shop, db: FakeDatabase, rows: list[str], rejected: list[tuple[int, str]]
) -> None:
    report = await run_import(shop, csv_file(*rows))

    assert report.rejected == rejected
    assert report.created == len({row.split(",")[0] for row in rows})
    assert not any(v.sku == "TEE-X" for v in db.variants.values())


async def test_rows_after_a_rejected_first_row_are_rejected_with_it(shop: Shop, db: FakeDatabase) -> None:
    rows = [TEE[0].replace("Tee,20", "Tee,free"), TEE[1], TEE[2], *MUG]

    report = await run_import(shop, csv_file(*rows))

    assert counts(report) == (1, 0, 0, 3)
    assert report.rejected == [
        (2, "price: 'free' is not a number"),
        (3, "the first row of sku 'TEE' (line 2) was rejected"),
        (4, "the first row of sku 'TEE' (line 2) was rejected"),
    ]
    assert [p.sku for p in db.products.values()] == ["MUG"]


async def test_a_variant_sku_of_another_product_is_refused(shop: Shop, db: FakeDatabase) -> None:
    await run_import(shop, csv_file(*MUG))

    report = await run_import(
        shop, csv_file(TEE[0], "TEE,,,,,,,,MUG,M,Red,,,,", "TEE-S-RED,Clash,1,,,,,,,,,,,,")
    )

    assert sorted(report.rejected) == [
        (3, "The sku 'MUG' is already in use."),  # a stored product's
        (4, "sku: sku 'TEE-S-RED' is the variant_sku on line 2"),  # a variant's earlier in the file
    ]
    assert [v[0] for v in variants(db, "TEE")] == ["TEE-S-RED"]
    assert variants(db, "MUG") == [("MUG", {}, None, 12, None, True)]


async def test_options_that_stored_variants_would_not_fit_refuse_the_product(
    shop: Shop, db: FakeDatabase
) -> None:
    await run_import(shop, csv_file(*TEE))

    report = await run_import(shop, csv_file("TEE,Tee,20,,Size,S | M,Color,Red,TEE-S-RED,S,Red,,,,"))

    assert report.rejected == [
        (
            2,
            "option1_name: the variant 'TEE-M-BLU' would not fit the options: 'Blue' is not a value of "
            "'Color'; one of Red.",
        )
    ]
    assert product(db, "TEE").options[1]["values"] == ["Red", "Blue"]


async def test_a_product_s_rows_are_never_split_between_batches(
    shop: Shop, db: FakeDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog_import, "BATCH", 2)
    commits = db.commits
    progress: list[int] = []

    rows = [*MUG, *TEE, "CUP,Cup,1,1,,,,,,,,,,,", "DISH,Dish,1,1,,,,,,,,,,,"]

    report = await run_import(shop, csv_file(*rows), progress)

    assert counts(report) == (4, 0, 0, 0)
    assert progress == [4, 2]  # Mug and the Tee's three rows, then the rest
    assert db.commits - commits == 2
    assert len(variants(db, "TEE")) == 3


# --- option values in one cell --------------------------------------------------------------


def test_values_are_split_on_bars_and_a_backslash_keeps_one() -> None:
    assert split_values("S | M |L") == ["S", "M", "L"]
    assert split_values(r"A\|B | C\\D | C:\dir") == ["A|B", "C\\D", "C:\\dir"]
    assert join_values(["A|B", "C\\D", "x"]) == r"A\|B | C\\D | x"


@given(st.lists(st.text(min_size=1).map(str.strip).filter(bool), min_size=1, max_size=5))
def test_joined_values_split_back_exactly(values: list[str]) -> None:
    assert split_values(join_values(values)) == values


# --- export --------------------------------------------------------------------------------


async def made_catalog(shop: Shop) -> None:
    """A catalog made through the staff use cases: declared values in an order the variants do not
    follow, one value no variant uses, a deactivated variant, a default variant with a weight of its
    own, options without variants yet, and values that need escaping."""
    tee = await shop.catalog.create_product(
        CreateProduct(
            name="Tee",
            sku="TEE",
            price=Decimal(20),
            options=[
                OptionInput(name="Size", values=["S", "M", "L"]),
                OptionInput(name="Color", values=["Red", "Blue|Green", "=1+1"]),
            ],
        ),
        STAFF,
    )
    for sku, size, color, price, stock in (
        ("TEE-M-BG", "M", "Blue|Green", None, 4),
        ("TEE-S-RED", "S", "Red", Decimal("18.50"), 2),
        ("TEE-S-EQ", "S", "=1+1", None, 0),
    ):
        await shop.catalog.add_variant(
            tee.id,
            AddVariant(sku=sku, options={"Size": size, "Color": color}, price=price, stock_quantity=stock),
            STAFF,
        )
    [*_, odd] = await shop.catalog.list_variants(tee.id, STAFF)
    await shop.catalog.update_variant(tee.id, odd.id, UpdateVariant(is_active=False, weight_grams=90), STAFF)
    poster = await shop.catalog.create_product(
        CreateProduct(name="Poster", sku="POSTER", price=Decimal(5), stock_quantity=3), STAFF
    )
    [default] = await shop.catalog.list_variants(poster.id, STAFF)
    await shop.catalog.update_variant(poster.id, default.id, UpdateVariant(weight_grams=250), STAFF)
    await shop.catalog.create_product(
        CreateProduct(
            name="Cap",
            sku="CAP",
            price=Decimal(9),
            stock_quantity=6,
            options=[OptionInput(name="Size", values=["One size"])],
        ),
        STAFF,
    )
    await shop.catalog.create_product(CreateProduct(name="Mug", sku="MUG", price=Decimal(7)), STAFF)


async def test_the_export_writes_a_row_per_variant_with_the_product_on_the_first(shop: Shop) -> None:
    await made_catalog(shop)

    exported = await export_csv(shop)

    rows = exported_rows(exported)
    variant_columns = ["variant_sku", "option1_value", "option2_value", "variant_price", "variant_stock"]
    assert [[r["sku"], r["name"], r["stock_quantity"], *(r[c] for c in variant_columns)] for r in rows] == [
        ["TEE", "Tee", "", "TEE-M-BG", "M", "Blue|Green", "", "4"],
        ["TEE", "", "", "TEE-S-RED", "S", "Red", "18.50", "2"],
        ["TEE", "", "", "TEE-S-EQ", "S", "'=1+1", "", "0"],
        ["POSTER", "Poster", "3", "POSTER", "", "", "", ""],
        ["CAP", "Cap", "6", "", "", "", "", ""],
        ["MUG", "Mug", "0", "", "", "", "", ""],
    ]
    assert rows[0]["option1_values"] == "S | M | L"
    assert rows[0]["option2_values"] == r"Red | Blue\|Green | =1+1"
    assert (rows[2]["variant_active"], rows[2]["variant_weight_grams"]) == ("false", "90")
    assert (rows[3]["variant_weight_grams"], rows[3]["variant_active"]) == ("250", "true")
    assert rows[4]["option1_name"] == "Size"
    assert all(not any(r[c] for c in COLUMNS[18:]) for r in rows[4:])
    assert products_in([list(r.values()) for r in rows]) == 4


async def test_export_then_import_into_an_empty_shop_round_trips(shop: Shop, db: FakeDatabase) -> None:
    await made_catalog(shop)
    exported = await export_csv(shop)
    target, target_db, _ = fake_shop()

    report = await run_import(target, exported)

    assert counts(report) == (4, 0, 0, 0)
    assert await export_csv(target) == exported
    assert variants(target_db, "TEE") == variants(db, "TEE")
    assert product(target_db, "TEE").options == product(db, "TEE").options
    assert counts(await run_import(target, exported)) == (0, 0, 4, 0)
    assert counts(await run_import(shop, exported)) == (0, 0, 4, 0)  # and into the shop it came from


async def test_the_export_loads_variants_once_per_batch(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    await made_catalog(shop)
    calls: list[int] = []
    real = FakeVariantRepository.for_products

    async def counted(self: FakeVariantRepository, product_ids: Sequence[int]) -> dict[int, list[Variant]]:
        calls.append(len(product_ids))
        return await real(self, product_ids)

    async def one_by_one(
        self: FakeVariantRepository, product_id: int, *, for_update: bool = False
    ) -> list[Variant]:
        raise AssertionError("the export loads variants per batch, not per product")

    monkeypatch.setattr(FakeVariantRepository, "for_products", counted)
    monkeypatch.setattr(FakeVariantRepository, "for_product", one_by_one)

    batches = [
        batch async for batch in catalog_import.export_rows(uow=shop.ports.uow, currency="USD", batch=3)
    ]

    assert calls == [3, 1]
    assert [products_in(b) for b in batches] == [3, 1]
    assert [len(b) for b in batches] == [5, 1]
