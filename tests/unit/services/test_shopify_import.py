"""Shopify's product CSV written into the catalog, on the fakes: what maps to what, products by
handle and variants by SKU (or values), re-imports, and what is refused."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.domain.catalog import Product
from shop_core.domain.errors import InvalidInput
from shop_core.domain.money import percent_off
from shop_core.services import shopify_import
from shop_core.services.catalog_commands import CreateCategory, CreateProduct, OptionInput
from shop_core.services.catalog_import import ImportReport
from shop_core.services.catalog_variants import AddVariant
from shop_core.services.shopify_import import read_shopify_file
from tests.fakes import FakeDatabase, fake_shop

FIXTURE = Path(__file__).parents[2] / "fixtures" / "shopify_products.csv"
STAFF = Actor("staff", is_staff=True)
HEADER = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Type",
    "Published",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Variant SKU",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Inventory Qty",
    "Variant Grams",
    "Image Src",
    "Status",
]


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


def shopify(*rows: dict[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADER, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def tee(size: str, color: str, sku: str, price: str, **more: str) -> dict[str, str]:
    """A variant row of the tee (its first one with `Title=...` in `more`)."""
    return {"Handle": "tee", "Option1 Value": size, "Option2 Value": color, "Variant SKU": sku} | {
        "Variant Price": price,
        **more,
    }


FIRST = {"Title": "Tee", "Option1 Name": "Size", "Option2 Name": "Color", "Body (HTML)": "<p>Soft</p>"}
TEE = [
    tee("S", "Red", "TEE-S-R", "20.00", **FIRST, **{"Variant Inventory Qty": "5"}),
    tee("M", "Red", "TEE-M-R", "22.00", **{"Variant Inventory Qty": "3", "Variant Grams": "180.5"}),
    tee("M", "Blue", "", "20.00"),
]


async def run(shop: Shop, data: bytes) -> ImportReport:
    return await shop.catalog.import_shopify(read_shopify_file(data, "USD"), STAFF)


def counts(report: ImportReport) -> tuple[int, int, int, int]:
    return report.created, report.updated, report.unchanged, len(report.rejected)


def product(db: FakeDatabase, slug: str) -> Product:
    return next(p for p in db.products.values() if p.slug == slug)


def variants(db: FakeDatabase, slug: str) -> list[tuple[str, dict[str, str], int | None, int, int | None]]:
    product_id = product(db, slug).id
    return [
        (v.sku, v.options, v.price, v.stock_quantity, v.weight_grams)
        for _, v in sorted(db.variants.items())
        if v.product_id == product_id
    ]


# --- the fixture ---------------------------------------------------------------------------


async def test_the_fixture_goes_in_with_its_bad_rows_reported(shop: Shop, db: FakeDatabase) -> None:
    progress: list[int] = []
    drafts = read_shopify_file(FIXTURE.read_bytes(), "USD")

    report = await shop.catalog.import_shopify(drafts, STAFF, progress=progress.append)

    assert counts(report) == (6, 0, 0, 11)
    assert report.rejected == list(drafts.rejected)  # the reader's, nothing more
    assert sum(progress) == 6
    assert sorted(p.slug for p in db.products.values()) == [
        "classic-tee",
        "gift-mug",
        "hoodie",
        "linen-shirt",
        "old-cap",
        "secret-socks",
    ]
    shirt = product(db, "classic-tee")
    assert (shirt.sku, shirt.name, shirt.price, shirt.stock_quantity, shirt.is_active) == (
        "CLASSIC-TEE",
        "Classic Tee",
        1999,
        13,
        True,
    )
    assert shirt.description == "Soft & breathable cotton.\n\nMachine wash\ncold."
    assert shirt.image_url == "https://cdn.shopify.com/s/files/1/0001/products/tee-front.jpg"
    assert [o["name"] for o in shirt.options] == ["Size", "Color", "Material"]
    assert variants(db, "classic-tee") == [
        ("TEE-S-RED-COT", {"Size": "S", "Color": "Red", "Material": "Cotton"}, None, 10, 181),
        ("TEE-M-RED-COT", {"Size": "M", "Color": "Red", "Material": "Cotton"}, None, 0, 180),
        ("TEE-M-BLU-POL", {"Size": "M", "Color": "Blue", "Material": "Polyester"}, 2150, 3, 175),
    ]
    mug = product(db, "gift-mug")
    assert (mug.sku, mug.options, mug.stock_quantity) == ("MUG-1", [], 25)  # Default Title: no options
    assert variants(db, "gift-mug") == [("MUG-1", {}, None, 25, 351)]
    assert [product(db, s).is_active for s in ("hoodie", "old-cap", "secret-socks")] == [False] * 3
    linen = product(db, "linen-shirt")  # 20 % off every variant's Compare At Price
    assert (linen.price, linen.discount_percentage, linen.final_price) == (5000, Decimal("20.00"), 4000)
    assert variants(db, "linen-shirt") == [
        ("LIN-S", {"Size": "S"}, None, 4, 200),
        ("LINEN-SHIRT-M", {"Size": "M"}, 6000, 2, 210),  # no SKU in the file: one is made
    ]
    history = await shop.stock.stock_history("CLASSIC-TEE", Actor.operator())
    assert sorted((m.delta, m.reason, m.actor) for m in history) == [
        (3, "initial", "staff"),
        (10, "import", "staff"),
    ]


async def test_importing_the_fixture_again_changes_nothing(shop: Shop, db: FakeDatabase) -> None:
    await run(shop, FIXTURE.read_bytes())
    before = {p.slug: variants(db, p.slug) for p in db.products.values()}
    movements, updated = len(db.movements), {p.id: p.updated_at for p in db.products.values()}

    report = await run(shop, FIXTURE.read_bytes())

    assert counts(report) == (0, 0, 6, 11)
    assert {p.slug: variants(db, p.slug) for p in db.products.values()} == before
    assert len(db.movements) == movements
    assert {p.id: p.updated_at for p in db.products.values()} == updated


async def test_a_price_and_stock_change_updates_only_that_product(shop: Shop, db: FakeDatabase) -> None:
    await run(shop, shopify(*TEE))
    changed = [TEE[0], tee("M", "Red", "TEE-M-R", "24.00", **{"Variant Inventory Qty": "1"}), TEE[2]]

    report = await run(shop, shopify(*changed))

    assert counts(report) == (0, 1, 0, 0)
    assert variants(db, "tee")[1] == ("TEE-M-R", {"Size": "M", "Color": "Red"}, 2400, 1, 181)
    latest = (await shop.stock.stock_history("TEE", Actor.operator()))[0]
    assert (latest.delta, latest.reason, latest.balance_after) == (-2, "import", 1)


# --- mapping -------------------------------------------------------------------------------


async def test_prices_the_base_and_a_variant_without_sku(shop: Shop, db: FakeDatabase) -> None:
    report = await run(shop, shopify(*TEE))

    assert counts(report) == (1, 0, 0, 0)
    tee_product = product(db, "tee")
    assert (tee_product.sku, tee_product.price, tee_product.discount_percentage) == (
        "TEE",
        2000,
        Decimal("0.00"),
    )
    assert tee_product.description == "Soft"
    assert variants(db, "tee") == [
        ("TEE-S-R", {"Size": "S", "Color": "Red"}, None, 5, None),
        ("TEE-M-R", {"Size": "M", "Color": "Red"}, 2200, 3, 181),
        ("TEE-M-BLUE", {"Size": "M", "Color": "Blue"}, None, 0, None),
    ]
    # A row without SKU is found again by its values: no duplicate on a second import.
    assert counts(await run(shop, shopify(*TEE))) == (0, 0, 1, 0)


@pytest.mark.parametrize(
    ("compare", "prices", "discount"),
    [
        (("25.00", "50.00"), ("20.00", "40.00"), Decimal("20.00")),
        (("25.00", "50.00"), ("20.00", "45.00"), Decimal(0)),  # 20 % and 10 %: not the same
        (("25.00", ""), ("20.00", "40.00"), Decimal(0)),  # not on every variant
        (("25.00", "40.00"), ("20.00", "40.00"), Decimal(0)),  # not above the price
    ],
    ids=["the-same-for-all", "different", "one-missing", "not-above"],
)
async def test_compare_at_price_is_a_discount_only_when_the_same_for_every_variant(
    shop: Shop, db: FakeDatabase, compare: tuple[str, str], prices: tuple[str, str], discount: Decimal
) -> None:
    rows = [
        tee("S", "Red", "A-1", prices[0], **FIRST, **{"Variant Compare At Price": compare[0]}),
        tee("M", "Red", "A-2", prices[1], **{"Variant Compare At Price": compare[1]}),
    ]

    await run(shop, shopify(*rows))

    found = product(db, "tee")
    assert found.discount_percentage == discount
    own = [found.price if v[2] is None else v[2] for v in variants(db, "tee")]
    if discount:  # the Compare At Prices are ours, and the discount takes them to Shopify's prices
        assert own == [2500, 5000]
    else:
        assert own == [round(Decimal(p) * 100) for p in prices]
    assert [percent_off(price, discount) for price in own] == [round(Decimal(p) * 100) for p in prices]


async def test_a_product_type_names_an_existing_category(shop: Shop, db: FakeDatabase) -> None:
    home = await shop.catalog.create_category(CreateCategory(name="Home"), STAFF)
    mugs = await shop.catalog.create_category(CreateCategory(name="Mugs", parent=home.id), STAFF)
    rows = [
        {"Handle": "a", "Title": "A", "Type": "mugs", "Variant Price": "1"},
        {"Handle": "b", "Title": "B", "Type": "Home > Mugs", "Variant Price": "1"},
        {"Handle": "c", "Title": "C", "Type": "Vases", "Variant Price": "1"},
    ]

    await run(shop, shopify(*rows))

    assert [product(db, s).category_id for s in "abc"] == [mugs.id, mugs.id, None]


async def test_a_handle_is_made_a_slug_and_two_handles_cannot_share_one(shop: Shop, db: FakeDatabase) -> None:
    rows = [
        {"Handle": "Café-Mug", "Title": "Mug", "Variant Price": "1", "Variant SKU": "M-1"},
        {"Handle": "cafe-mug", "Title": "Other", "Variant Price": "1", "Variant SKU": "M-2"},
        {"Handle": "§§", "Title": "Odd", "Variant Price": "1"},
    ]

    report = await run(shop, shopify(*rows))

    assert counts(report) == (1, 0, 0, 2)
    assert report.rejected == [
        (
            3,
            "product 'cafe-mug' left out: its Handle gives the slug 'cafe-mug', as the Handle "
            "'Café-Mug' does",
        ),
        (4, "product '§§' left out: its Handle '§§' has no letter or digit to make a slug of"),
    ]
    assert product(db, "cafe-mug").sku == "M-1"


# --- the shop's own products ---------------------------------------------------------------


async def test_a_sku_another_product_has_leaves_that_variant_out(shop: Shop, db: FakeDatabase) -> None:
    await shop.catalog.create_product(CreateProduct(name="Lamp", sku="TEE-M-R", price=Decimal(1)), STAFF)
    await shop.catalog.create_product(CreateProduct(name="Vase", sku="TEE", price=Decimal(1)), STAFF)

    report = await run(
        shop, shopify(*TEE, {"Handle": "solo", "Title": "Solo", "Variant SKU": "TEE", "Variant Price": "1"})
    )

    assert report.rejected == [
        (3, "Variant SKU 'TEE-M-R' is another product's"),
        (5, "Variant SKU 'TEE' is another product's"),
        (5, "product 'solo' left out: none of its variants can be imported"),
    ]
    assert product(db, "tee").sku == "TEE-S-R"  # TEE is taken: its first variant's SKU
    assert [v[0] for v in variants(db, "tee")] == ["TEE-S-R", "TEE-S-R-M-BLUE"]


async def test_a_product_of_the_shop_with_that_slug_is_updated_and_keeps_its_variants(
    shop: Shop, db: FakeDatabase
) -> None:
    made = await shop.catalog.create_product(
        CreateProduct(
            name="Old tee",
            sku="OWN-TEE",
            slug="tee",
            price=Decimal(9),
            options=[
                OptionInput(name="Size", values=["S", "XL"]),
                OptionInput(name="Color", values=["Red"]),
            ],
        ),
        STAFF,
    )
    await shop.catalog.add_variant(
        made.id, AddVariant(sku="OWN-XL", options={"Size": "XL", "Color": "Red"}, stock_quantity=2), STAFF
    )

    report = await run(shop, shopify(*TEE))

    assert counts(report) == (0, 1, 0, 0)
    found = product(db, "tee")
    assert (found.sku, found.name) == ("OWN-TEE", "Tee")  # a stored product keeps its sku
    assert found.options == [
        {"name": "Size", "values": ["S", "M", "XL"]},  # the file's values, then the shop's others
        {"name": "Color", "values": ["Red", "Blue"]},
    ]
    assert [v[0] for v in variants(db, "tee")] == ["OWN-XL", "TEE-S-R", "TEE-M-R", "OWN-TEE-M-BLUE"]
    assert found.stock_quantity == 2 + 5 + 3


async def test_options_the_shop_s_variants_would_not_fit_leave_the_product_out(
    shop: Shop, db: FakeDatabase
) -> None:
    await run(shop, shopify(*TEE))
    no_colors = [
        {"Handle": "tee", "Title": "Tee", "Option1 Name": "Size", "Option1 Value": "S", "Variant Price": "1"},
    ]

    report = await run(shop, shopify(*no_colors))

    [(line, reason)] = report.rejected
    assert line == 2
    assert reason.startswith(
        "product 'tee' left out: the shop's variant 'TEE-S-R' would not fit its options:"
    )
    assert product(db, "tee").price == 2000


def test_a_file_that_is_not_utf8_is_refused_naming_the_line() -> None:
    data = shopify(*TEE).replace(b"Soft", "Caf\u00e9".encode("latin-1"))
    with pytest.raises(InvalidInput, match=r"not UTF-8 text \(line 2\)"):
        read_shopify_file(data, "USD")
    with pytest.raises(InvalidInput, match=r"not UTF-8 text \(line 1\)"):
        read_shopify_file(shopify(*TEE).decode().encode("utf-16"), "USD")


async def test_many_products_are_written_in_batches(
    shop: Shop, db: FakeDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shopify_import, "BATCH", 4)
    rows = [*TEE, *({"Handle": f"p{n}", "Title": f"P{n}", "Variant Price": "1"} for n in range(5))]
    commits = db.commits
    progress: list[int] = []

    report = await shop.catalog.import_shopify(
        read_shopify_file(shopify(*rows), "USD"), STAFF, progress.append
    )

    assert counts(report) == (6, 0, 0, 0)
    assert progress == [2, 4]  # the tee and one more (4 variants), then the rest
    assert db.commits - commits == 2
