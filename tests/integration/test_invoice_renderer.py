"""The fpdf2 invoice renderer, read back with pypdf."""

from __future__ import annotations

import dataclasses
import io
import re
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from shop_core.adapters import fpdf_invoice_renderer
from shop_core.adapters.fpdf_invoice_renderer import FpdfInvoiceRenderer
from shop_core.domain.invoices import InvoiceDocument, InvoiceLine


def line(n: int, description: str | None = None) -> InvoiceLine:
    return InvoiceLine(
        description=description or f"Widget number {n}",
        sku=f"SKU-{n:04d}",
        quantity=n % 5 + 1,
        unit_price="12.50",
        discount="0.00",
        tax="2.38",
        line_total="14.88",
    )


def document(lines: list[InvoiceLine]) -> InvoiceDocument:
    return InvoiceDocument(
        shop_name="Corner Shop",
        invoice_number="INV-2025-000042",
        order_number="ORD-7F3K9Q",
        issued_at=datetime(2025, 3, 2, 23, 30, tzinfo=UTC),
        order_date=datetime(2025, 3, 1, 9, 15, tzinfo=UTC),
        currency="EUR",
        billing_address=["Zofia Kowalska", "ul. Piotrkowska 1", "90-001 Łódź", "Poland"],
        shipping_address=["রহিম উদ্দিন", "House 12, Road 5", "ঢাকা 1205 (Dhaka)", "Bangladesh"],
        lines=lines,
        subtotal="1234.56",
        discount="10.00",
        tax="98.76",
        shipping="4.90",
        total="1328.22",
        payment_method="card",
        payment_status="paid",
    )


def read(data: bytes) -> tuple[PdfReader, str]:
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def fonts(reader: PdfReader) -> set[str]:
    used = reader.pages[0]["/Resources"]["/Font"].get_object()
    return {str(font.get_object()["/BaseFont"]) for font in used.values()}


def words(text: str) -> str:
    """The extracted text with its runs of white space made one space, and without control
    characters: pypdf prints the raw code of a glyph that the font's ToUnicode map leaves out
    (fpdf2 maps a shaped cluster's text to one of its glyphs, not each)."""
    shown = "".join(c for c in text if c in "\n\t " or unicodedata.category(c) != "Cc")
    return " ".join(shown.split())


def test_renders_the_invoice_with_unicode_text() -> None:
    lines = [line(1, "Café crème Łódź edition"), line(2, "Ωmega Привет"), line(3)]

    reader, text = read(FpdfInvoiceRenderer().render(document(lines)))

    assert len(reader.pages) == 1
    for expected in ("Corner Shop", "INV-2025-000042", "ORD-7F3K9Q", "1328.22 EUR", "2025-03-02"):
        assert expected in text
    for item in lines:
        assert item.sku in text
    assert "Café crème Łódź edition" in text
    assert "Ωmega Привет" in text
    assert any("NotoSans" in font for font in fonts(reader))


def test_bengali_names_and_addresses_are_printed_and_shaped() -> None:
    # Conjuncts (ষ্ট, ক্ষ, দ্দ), pre-base vowel signs (ি, ে) and the taka sign.
    name = "জামদানি শাড়ি মিষ্টি দই ক্ষীর"
    lines = [line(1, f"{name} (Jamdani)"), line(2, "Plain lamp")]

    reader, text = read(FpdfInvoiceRenderer().render(document(lines)))

    flat = words(text)
    assert name in flat
    assert "(Jamdani)" in flat
    assert "রহিম উদ্দিন" in flat  # the shipping address
    assert "House 12, Road 5" in flat  # the Latin line right after the Bengali one
    assert "ঢাকা 1205 (Dhaka)" in flat
    assert "Zofia Kowalska" in flat
    assert "Plain lamp" in flat
    assert "1328.22 EUR" in flat
    used = fonts(reader)
    assert any("NotoSansBengali" in font for font in used), used
    assert any(font.endswith("+NotoSans") or "NotoSans-" in font for font in used), used


def test_every_line_of_an_address_that_mixes_bengali_and_latin_is_printed() -> None:
    """Each address line after a Bengali one, Latin or mixed, keeps its own letters (a multi-line
    cell drew them with the fallback font's glyph numbers: "House 12" came out as "&hcva %Q")."""
    address = ["রহিম উদ্দিন", "House 12", "1205 ঢাকা", "BD"]
    invoice = dataclasses.replace(document([line(1)]), billing_address=address, shipping_address=address)

    _, text = read(FpdfInvoiceRenderer().render(invoice))

    shown = [" ".join(row.split()) for row in words_by_line(text)]
    for address_line in address:
        assert shown.count(f"{address_line} {address_line}") == 1, shown


def words_by_line(text: str) -> list[str]:
    return [words(row) for row in text.splitlines()]


def test_bengali_is_shaped_into_conjunct_glyphs() -> None:
    """With HarfBuzz, ক + ্ + ষ is drawn as one glyph (ক্ষ), which the PDF maps back to the three
    code points; unshaped, each code point would be a glyph of its own."""
    reader, text = read(FpdfInvoiceRenderer().render(document([line(1, "ক্ষীর")])))

    assert "ক্ষীর" in words(text)
    (bengali,) = [
        f.get_object()
        for f in reader.pages[0]["/Resources"]["/Font"].values()
        if "Bengali" in str(f.get_object()["/BaseFont"])
    ]
    to_unicode = bengali["/ToUnicode"].get_object().get_data().decode().upper()
    assert re.search(r"<[0-9A-F]{4}> <099509CD09B7", to_unicode), to_unicode


def test_characters_no_font_covers_leave_the_rest_of_the_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fpdf_invoice_renderer, "SYSTEM_FALLBACKS", ())
    lines = [line(1, "茶杯 Tea cup 😀 large"), line(2, "মিষ্টি 🍨 dessert")]

    _, text = read(FpdfInvoiceRenderer().render(document(lines)))

    flat = words(text)
    assert "Tea cup" in flat
    assert "large" in flat
    assert "dessert" in flat
    assert "মিষ্টি" in flat
    assert "\ufffd" in flat  # shown as "�": something was there
    assert "SKU-0001" in flat


def test_many_lines_run_over_several_pages() -> None:
    lines = [line(n) for n in range(1, 151)]

    reader, text = read(FpdfInvoiceRenderer().render(document(lines)))

    assert len(reader.pages) > 1
    assert "SKU-0150" in text
    assert "SKU-0001" in text
    assert "1328.22 EUR" in reader.pages[-1].extract_text()
    assert "Description" in reader.pages[1].extract_text(), "the table heading repeats on each page"


def test_a_pro_forma_has_no_invoice_number() -> None:
    proforma = InvoiceDocument(**{**document([line(1)]).__dict__, "invoice_number": "", "proforma": True})

    _, text = read(FpdfInvoiceRenderer().render(proforma))

    assert "Pro-forma invoice" in text
    assert "Not a tax invoice" in text
    assert "INV-" not in text


def test_the_discount_names_the_voucher_it_came_from() -> None:
    plain = document([line(1)])
    _, with_voucher = read(FpdfInvoiceRenderer().render(replace(plain, voucher_code="XMAS-15")))
    _, without = read(FpdfInvoiceRenderer().render(plain))
    assert "Discount (voucher XMAS-15)" in words(with_voucher)
    assert "voucher" not in words(without)
