"""Shopify's product CSV read into drafts: grouping by handle, Shopify's quirks, bad rows by line."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import TypeAlias

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop_core.domain.errors import InvalidInput
from shop_core.services.shopify_csv import (
    OptionDraft,
    ProductDraft,
    ShopifyReport,
    ShopifyVariant,
    html_to_text,
    read_shopify_csv,
)

FIXTURE = Path(__file__).parents[2] / "fixtures" / "shopify_products.csv"
CDN = "https://cdn.shopify.com/s/files/1/0001/products/"


def read(*rows: list[str], exponent: int = 2, max_rows: int = 100_000) -> ShopifyReport:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return read_shopify_csv(out.getvalue().encode(), exponent=exponent, max_rows=max_rows)


def variant(
    line: int,
    sku: str | None,
    price: str,
    *,
    options: dict[str, str] | None = None,
    compare_at_price: Decimal | None = None,
    stock_quantity: int | None = None,
    weight_grams: int | None = None,
) -> ShopifyVariant:
    return ShopifyVariant(
        line, sku, options or {}, Decimal(price), compare_at_price, stock_quantity, weight_grams
    )


def tee(size: str, color: str, material: str) -> dict[str, str]:
    return {"Size": size, "Color": color, "Material": material}


@pytest.fixture(scope="module")
def report() -> ShopifyReport:
    return read_shopify_csv(FIXTURE.read_bytes(), exponent=2)


def test_a_product_with_three_options_keeps_its_good_variants_and_images(report: ShopifyReport) -> None:
    assert report.products[0] == ProductDraft(
        line=2,
        handle="classic-tee",
        title="Classic Tee",
        description="Soft & breathable cotton.\n\nMachine wash\ncold.",
        vendor="Acme Apparel",
        product_type="T-Shirts",
        tags=("summer", "cotton", "basics"),
        visible=True,
        options=(
            OptionDraft("Size", ("S", "M")),
            OptionDraft("Color", ("Red", "Blue")),
            OptionDraft("Material", ("Cotton", "Polyester")),
        ),
        variants=(
            variant(
                2,
                "TEE-S-RED-COT",
                "19.99",
                options=tee("S", "Red", "Cotton"),
                compare_at_price=Decimal("24.99"),
                stock_quantity=10,
                weight_grams=181,  # 180.5 rounded half up
            ),
            variant(
                4,
                "TEE-M-RED-COT",
                "19.99",
                options=tee("M", "Red", "Cotton"),
                compare_at_price=Decimal("24.99"),
                stock_quantity=None,  # empty inventory: leave stock as it is
                weight_grams=180,
            ),
            variant(
                5,
                "TEE-M-BLU-POL",
                "21.50",
                options=tee("M", "Blue", "Polyester"),
                stock_quantity=3,
                weight_grams=175,
            ),
        ),
        images=(CDN + "tee-front.jpg", CDN + "tee-back.jpg"),  # line 6 carries only an image
    )


def test_a_default_title_product_has_no_options_and_one_variant(report: ShopifyReport) -> None:
    assert report.products[1] == ProductDraft(
        line=11,
        handle="gift-mug",
        title="Gift Mug",
        description='For <3 "coffee" lovers\u2026\n350 ml\nDishwasher safe\n\nMade in Portugal',
        vendor="Acme Home",
        product_type="Mugs",
        tags=("gift",),
        visible=True,  # Published "true" in lower case, no Status: active
        options=(),
        variants=(variant(11, "MUG-1", "12.00", stock_quantity=25, weight_grams=351),),
        images=(CDN + "mug.jpg", CDN + "mug-side.jpg"),  # the image repeated on line 16 counts once
    )


def test_draft_archived_and_unpublished_products_are_read_but_not_visible(report: ShopifyReport) -> None:
    hoodie, cap, socks = report.products[2:5]
    assert (hoodie.handle, hoodie.visible) == ("hoodie", False)  # Status draft
    assert hoodie.options == (OptionDraft("Size", ("S", "M")), OptionDraft("Color", ("Black",)))
    assert hoodie.variants == (
        variant(
            17,
            "HOOD-S-BLK",
            "49",
            options={"Size": "S", "Color": "Black"},
            stock_quantity=5,
            weight_grams=600,
        ),
        variant(
            18,
            "HOOD-M-BLK",
            "49",
            options={"Size": "M", "Color": "Black"},
            compare_at_price=Decimal(59),
            stock_quantity=0,
            weight_grams=620,
        ),
    )
    assert cap == ProductDraft(
        line=21,
        handle="old-cap",
        title="Old Cap",
        description="",
        vendor="Acme Apparel",
        product_type="Caps",
        tags=(),
        visible=False,  # Status "Archived"
        options=(),
        variants=(variant(21, "CAP-1", "9.99"),),
        images=(),
    )
    assert socks == ProductDraft(  # no body, vendor, type or tags: empty, not an error
        line=22,
        handle="secret-socks",
        title="Secret Socks",
        description="",
        vendor="",
        product_type="",
        tags=(),
        visible=False,  # Published FALSE, Status "ACTIVE"
        options=(OptionDraft("Size", ("One size",)),),
        variants=(
            variant(22, "SOCK-1", "5", options={"Size": "One size"}, stock_quantity=100, weight_grams=0),
        ),
        images=(),
    )
    assert len(report.products) == 6


def test_a_variant_may_have_no_sku_and_the_rows_are_counted(report: ShopifyReport) -> None:
    shirt = report.products[5]
    assert (shirt.handle, shirt.product_type, shirt.description) == (
        "linen-shirt",
        "Shirts",
        "Cool linen, cut loose.",
    )
    assert shirt.variants == (
        variant(
            27,
            "LIN-S",
            "40.00",
            options={"Size": "S"},
            compare_at_price=Decimal(50),
            stock_quantity=4,
            weight_grams=200,
        ),
        variant(
            28,
            None,
            "48.00",
            options={"Size": "M"},
            compare_at_price=Decimal(60),
            stock_quantity=2,
            weight_grams=210,
        ),
    )
    assert report.rows == 23  # every record (a quoted body may span lines), the rejected ones too


def test_every_bad_row_is_reported_by_its_line_and_the_rest_goes_in(report: ShopifyReport) -> None:
    assert report.rejected == (
        (7, "Variant Price 'abc' is not a number"),
        (8, "product 'classic-tee' already has a variant m / red / cotton"),
        (9, "Variant Price '12.999' has more than 2 decimal places"),
        (10, "Variant Inventory Qty 'ten' is not a whole number"),
        (19, "Option3 Value 'Fleece' is given, but the product declares no Option3 Name"),
        (20, "Variant SKU 'TEE-S-RED-COT' already appears on line 2"),
        (23, "Variant Price '-5' is negative"),
        (23, "product 'broken-bag' has no valid variant: not imported"),
        (24, "Option1 Value 'Large' is given, but the product declares no Option1 Name"),
        (25, "the Handle column is empty"),
        (26, "handle 'ghost' has no product row (one with a Title) before this row"),
    )


def test_the_fewest_columns_with_names_in_any_case_and_spacing() -> None:
    got = read([" HANDLE ", "title", "Variant Price ", "Some App Column"], ["pen", " Pen ", "1.5", "x"])
    assert got == ShopifyReport(
        products=(
            ProductDraft(
                line=2,
                handle="pen",
                title="Pen",
                description="",
                vendor="",
                product_type="",
                tags=(),
                visible=True,
                options=(),
                variants=(variant(2, None, "1.5"),),  # no SKU column: None
                images=(),
            ),
        ),
        rejected=(),
        rows=1,
    )


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (["Title", "Variant Price"], "missing columns: handle"),
        (["Handle", "Variant Price"], "missing columns: title"),
    ],
)
def test_a_file_without_handle_or_title_is_not_a_shopify_file(header: list[str], reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        read(header, ["pen", "1"])


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(InvalidInput, match="empty"):
        read_shopify_csv(b"", exponent=2)


def test_more_rows_than_the_cap_refuse_the_file() -> None:
    header = ["Handle", "Title", "Variant Price"]
    rows = [[f"p{i}", "P", "1"] for i in range(3)]
    with pytest.raises(InvalidInput, match="more than 2 rows"):
        read(header, *rows, max_rows=2)
    assert len(read(header, *rows, max_rows=3).products) == 3


def test_a_fourth_option_refuses_the_product_and_its_other_rows() -> None:
    header = [
        "Handle",
        "Title",
        *(f"Option{n} {p}" for n in range(1, 5) for p in ("Name", "Value")),
        "Variant Price",
    ]
    got = read(
        header,
        ["shirt", "Shirt", "Size", "S", "Color", "Red", "Fit", "Slim", "Cut", "Long", "10"],
        ["shirt", "", "", "M", "", "Red", "", "Slim", "", "Long", "10"],
    )
    assert got.products == ()
    assert got.rejected == (
        (2, "a product has at most 3 options"),
        (3, "the product row of handle 'shirt' (line 2) was rejected"),
    )


@pytest.mark.parametrize(
    ("product", "reason"),
    [
        (["Size", "S", "size", "M", "", ""], "two options of the product have the same name"),
        (["Size", "S", "", "", "maybe", ""], "Published 'maybe' is neither TRUE nor FALSE"),
        (["Size", "S", "", "", "", "deleted"], "Status 'deleted' is not one of active, draft, archived"),
        (["Size", "", "", "", "", ""], "Option1 Value is empty: the variant needs a Size"),
    ],
)
def test_a_bad_product_row_is_reported_precisely(product: list[str], reason: str) -> None:
    header = ["Handle", "Title", "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value"]
    got = read([*header, "Published", "Status", "Variant Price"], ["hat", "Hat", *product, "5"])
    assert got.rejected[0] == (2, reason)


def test_a_second_default_variant_is_a_duplicate_combination() -> None:
    header = ["Handle", "Title", "Option1 Name", "Option1 Value", "Variant SKU", "Variant Price"]
    got = read(
        header,
        ["mug", "Mug", "Title", "Default Title", "M1", "5"],
        ["mug", "", "", "Default Title", "M2", "6"],
    )
    assert [v.sku for v in got.products[0].variants] == ["M1"]
    assert got.rejected == ((3, "product 'mug' already has a variant the default variant"),)


@pytest.mark.parametrize(
    ("exponent", "cell", "price", "reason"),
    [
        (0, "1000.00", Decimal(1000), None),  # Shopify writes two places even for yen
        (0, "1000.5", None, "Variant Price '1000.5' has more than 0 decimal places"),
        (3, "1.234", Decimal("1.234"), None),
        (2, ".5", Decimal("0.5"), None),
        (2, "0", Decimal(0), None),
        (2, "", None, "Variant Price is empty"),
        (2, "1e3", None, "Variant Price '1e3' is not a number"),
        (2, "1_000", None, "Variant Price '1_000' is not a number"),
        (2, "12,50", None, "Variant Price '12,50' is not a number"),
        (2, "NaN", None, "Variant Price 'NaN' is not a number"),
        (2, "-0.01", None, "Variant Price '-0.01' is negative"),
        (2, "1" + "0" * 13, None, "Variant Price '10000000000000' is more than 1000000000000"),
    ],
)
def test_prices_follow_the_currency(
    exponent: int, cell: str, price: Decimal | None, reason: str | None
) -> None:
    got = read(
        ["Handle", "Title", "Variant SKU", "Variant Price"], ["pen", "Pen", "P1", cell], exponent=exponent
    )
    if price is None:
        assert got.rejected[0] == (2, reason)
    else:
        assert got.products[0].variants[0].price == price
        assert got.rejected == ()


def test_the_compare_at_price_is_checked_like_the_price() -> None:
    header = ["Handle", "Title", "Variant SKU", "Variant Price", "Variant Compare At Price"]
    got = read(header, ["a", "A", "A1", "5", "7.5"], ["b", "B", "B1", "5", "x"])
    assert got.products[0].variants[0].compare_at_price == Decimal("7.5")
    assert got.rejected[0] == (3, "Variant Compare At Price 'x' is not a number")


@pytest.mark.parametrize(
    ("grams", "expected"),
    [("0.5", 1), ("1.49", 1), ("2.5", 3), ("12", 12), ("", None), ("-1", "Variant Grams '-1' is negative")],
)
def test_fractional_grams_round_half_up(grams: str, expected: int | str | None) -> None:
    got = read(["Handle", "Title", "Variant Price", "Variant Grams"], ["pen", "Pen", "1", grams])
    if isinstance(expected, str):
        assert got.rejected[0] == (2, expected)
    else:
        assert got.products[0].variants[0].weight_grams == expected


@pytest.mark.parametrize(
    ("qty", "expected"),
    [
        ("007", 7),
        ("0", 0),
        ("", None),
        ("-3", "Variant Inventory Qty '-3' is negative"),
        ("2.0", "not a whole"),
    ],
)
def test_inventory_is_a_whole_number_or_left_alone(qty: str, expected: int | str | None) -> None:
    got = read(["Handle", "Title", "Variant Price", "Variant Inventory Qty"], ["pen", "Pen", "1", qty])
    if isinstance(expected, str):
        assert expected in got.rejected[0][1]
        assert got.rejected[0][0] == 2
    else:
        assert got.products[0].variants[0].stock_quantity == expected


def test_bad_bytes_and_unreadable_records_are_reported_and_the_rest_read() -> None:
    too_long = "x" * (csv.field_size_limit() + 1)
    data = (
        "\ufeffHandle,Title,Variant Price\r\n"  # a byte order mark, as Excel saves
        "a,A,1\r\n"
        "b,B\xff,1\r\n"
        f'c,"{too_long}",1\r\n'
        "d,D,1,surplus\r\n"
        "e,E\r\n"  # a short row lacks only empty cells: a product row without a variant
        "f,F,2,\r\n"  # an empty surplus cell is harmless
    ).encode("utf-8", errors="surrogateescape")
    data = data.replace("\xff".encode(), b"\xff")
    got = read_shopify_csv(data, exponent=2)
    assert [p.handle for p in got.products] == ["a", "f"]
    assert got.rejected == (
        (3, "not valid UTF-8 text (save the file as UTF-8)"),
        (4, f"unreadable CSV: field larger than field limit ({csv.field_size_limit()})"),
        (5, "expected 3 columns, found 4"),
        (6, "product 'e' has no valid variant: not imported"),
    )


def test_a_variant_missing_a_declared_option_is_refused() -> None:
    header = [
        "Handle",
        "Title",
        "Option1 Name",
        "Option1 Value",
        "Option2 Name",
        "Option2 Value",
        "Variant Price",
    ]
    got = read(header, ["cap", "Cap", "Size", "S", "Color", "Red", "5"], ["cap", "", "", "M", "", "", "5"])
    assert got.rejected == ((3, "Option2 Value is empty: the variant needs a Color"),)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("Line<br>next<br/>last", "Line\nnext\nlast"),
        ("<ul><li>a</li><li>b</li></ul>", "a\nb"),
        ("<div>x</div><div>y</div>", "x\ny"),
        ("a<script>alert('<p>')</script>b<style>p{}</style>c", "abc"),
        ("Fish &amp; chips &lt;3 &#x263A;&nbsp;&eacute;", "Fish & chips <3 \u263a \u00e9"),
        ("  lots   of\n\n   space  ", "lots of space"),
        ("<p>a</p>\n\n\n<p></p><p></p><br><br><br><p>b</p>", "a\n\nb"),
        ("<!-- note --><b>bold</b>", "bold"),
        ("plain text", "plain text"),
    ],
)
def test_html_bodies_become_plain_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


Tree: TypeAlias = "str | tuple[str, list[Tree]]"
_WORDS = st.text(alphabet="abcXYZ 019.,!", min_size=1, max_size=8)
_RAW_TEXT = st.tuples(st.sampled_from(["script", "style"]), st.lists(_WORDS, max_size=2))  # text only inside
_TREES = st.recursive(
    _WORDS | _RAW_TEXT,
    lambda inner: st.tuples(
        st.sampled_from(["p", "b", "div", "li", "span", "em", "br", "h2"]),
        st.lists(inner, max_size=4),
    ),
    max_leaves=20,
)


def _html(tree: Tree) -> str:
    if isinstance(tree, str):
        return tree
    tag, children = tree
    return f"<{tag} class='x'>" + "".join(_html(c) for c in children) + f"</{tag}>"


def _visible_words(tree: Tree) -> list[str]:
    if isinstance(tree, str):
        return tree.split()
    tag, children = tree
    return [] if tag in ("script", "style") else [w for c in children for w in _visible_words(c)]


@given(_TREES)
def test_stripping_a_tree_leaves_no_markup_and_no_blank_runs(tree: Tree) -> None:
    text = html_to_text(_html(tree))
    assert "<" not in text
    assert ">" not in text
    assert "\n\n\n" not in text
    assert text == text.strip()
    words = _visible_words(tree)
    assert "".join(text.split()) == "".join(words)


@given(st.text(max_size=200))
def test_stripping_any_text_never_raises(html: str) -> None:
    assert isinstance(html_to_text(html), str)
