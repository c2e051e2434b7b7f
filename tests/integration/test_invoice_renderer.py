"""The fpdf2 invoice renderer, read back with pypdf."""

from __future__ import annotations

import io
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


def test_renders_the_invoice_with_unicode_text() -> None:
    lines = [line(1, "Café crème ☕ Łódź edition"), line(2, "মিষ্টি দই (sweet yoghurt) 🍨"), line(3)]

    reader, text = read(FpdfInvoiceRenderer().render(document(lines)))

    assert len(reader.pages) == 1
    for expected in ("Corner Shop", "INV-2025-000042", "ORD-7F3K9Q", "1328.22 EUR", "2025-03-02"):
        assert expected in text
    for item in lines:
        assert item.sku in text
    if fpdf_invoice_renderer.find_unicode_font() is not None:
        assert any("DejaVuSans" in font for font in fonts(reader))
        assert "Café crème" in text
        assert "Łódź" in text


def test_many_lines_run_over_several_pages() -> None:
    lines = [line(n) for n in range(1, 151)]

    reader, text = read(FpdfInvoiceRenderer().render(document(lines)))

    assert len(reader.pages) > 1
    assert "SKU-0150" in text
    assert "SKU-0001" in text
    assert "1328.22 EUR" in reader.pages[-1].extract_text()
    assert "Description" in reader.pages[1].extract_text(), "the table heading repeats on each page"


def test_without_a_unicode_font_falls_back_to_helvetica(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fpdf_invoice_renderer, "FONT_SEARCH_PATHS", ())
    assert fpdf_invoice_renderer.find_unicode_font() is None
    lines = [line(1, "মিষ্টি দই 🍨"), line(2, "Café crème €"), line(3)]

    reader, text = read(FpdfInvoiceRenderer().render(document(lines)))

    assert "ORD-7F3K9Q" in text
    assert "Café crème €" in text
    assert "SKU-0001" in text
    assert "?????? ?? ?" in text, "what Windows-1252 cannot encode becomes '?'"
    assert fonts(reader) == {"/Helvetica", "/Helvetica-Bold"}
