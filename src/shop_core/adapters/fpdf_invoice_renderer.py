"""Invoice PDFs with fpdf2 (the `invoices` extra).

Fonts: fpdf2's core fonts (Helvetica, ...) only encode a single-byte code page and raise on
anything else, while product names and addresses may hold any character. So the renderer embeds
the first Unicode TrueType font of `FONT_SEARCH_PATHS` found on the system (DejaVu Sans, shipped
by most Linux distributions; no font file is bundled with the project). DejaVu covers Latin,
Greek, Cyrillic and more, but not every script: a character it lacks (Bengali, most emoji) is
drawn as an empty glyph and fpdf2 logs a warning, it never raises.

When no such font is installed it falls back to Helvetica with the Windows-1252 code page (Latin-1
plus "€" and typographic quotes), replacing every character that code page cannot encode with
"?". Either way a document always renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from shop_core.domain.invoices import InvoiceDocument

# (regular, bold) TrueType files, tried in order; a missing bold file reuses the regular one.
FONT_SEARCH_PATHS: Sequence[tuple[str, str]] = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
    ("/usr/local/share/fonts/DejaVuSans.ttf", "/usr/local/share/fonts/DejaVuSans-Bold.ttf"),
    ("/Library/Fonts/DejaVuSans.ttf", "/Library/Fonts/DejaVuSans-Bold.ttf"),
)

UNICODE_FAMILY = "InvoiceSans"
FALLBACK_FAMILY = "Helvetica"
FALLBACK_ENCODING = "windows-1252"

LINE_HEADINGS = ("Description", "SKU", "Qty", "Unit price", "Discount", "Tax", "Line total")
LINE_WIDTHS = (62, 28, 12, 22, 22, 22, 22)  # millimetres, 190 in all: A4 less 10 mm margins
LINE_ALIGN = ("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT")


def find_unicode_font() -> tuple[Path, Path] | None:
    """The first installed (regular, bold) pair of `FONT_SEARCH_PATHS`, or None."""
    for regular, bold in FONT_SEARCH_PATHS:
        if Path(regular).is_file():
            return Path(regular), Path(bold) if Path(bold).is_file() else Path(regular)
    return None


def _utc_date(moment: datetime) -> str:
    if moment.tzinfo is None:  # naive datetimes are taken to be UTC already
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date().isoformat()


class FpdfInvoiceRenderer:
    def render(self, document: InvoiceDocument) -> bytes:
        pdf = FPDF(format="A4")
        pdf.set_margins(10, 10, 10)
        pdf.set_auto_page_break(auto=True, margin=15)
        font = find_unicode_font()
        if font is None:
            pdf.core_fonts_encoding = FALLBACK_ENCODING
            family = FALLBACK_FAMILY

            def text(value: str) -> str:
                return value.encode(FALLBACK_ENCODING, "replace").decode(FALLBACK_ENCODING)
        else:
            pdf.add_font(UNICODE_FAMILY, "", font[0])
            pdf.add_font(UNICODE_FAMILY, "B", font[1])
            family = UNICODE_FAMILY

            def text(value: str) -> str:
                return value

        pdf.set_title(text(f"{document.title} {document.order_number}"))
        pdf.add_page()

        pdf.set_font(family, "B", 18)
        pdf.cell(text=text(document.shop_name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(family, "B", 14)
        pdf.cell(text=text(document.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(family, "", 10)
        if document.proforma:
            pdf.cell(
                text="Not a tax invoice: the invoice is numbered and issued once the order is paid.",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
        for label, value in (
            ("Order number", document.order_number),
            ("Issue date", _utc_date(document.issued_at)),
            ("Order date", _utc_date(document.order_date)),
        ):
            pdf.cell(text=text(f"{label}: {value}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(4)

        with pdf.table(borders_layout="NONE", first_row_as_headings=True, line_height=5) as addresses:
            addresses.row(["Billing address", "Shipping address"])
            addresses.row(
                [text("\n".join(document.billing_address)), text("\n".join(document.shipping_address))]
            )
        pdf.ln(4)

        with pdf.table(
            col_widths=LINE_WIDTHS, text_align=LINE_ALIGN, line_height=6, repeat_headings=1
        ) as table:
            table.row(LINE_HEADINGS)
            for line in document.lines:
                table.row(
                    [
                        text(line.description),
                        text(line.sku),
                        str(line.quantity),
                        text(line.unit_price),
                        text(line.discount),
                        text(line.tax),
                        text(line.line_total),
                    ]
                )
        pdf.ln(4)

        currency = document.currency
        for label, amount, style in (
            ("Subtotal", document.subtotal, ""),
            ("Discount", document.discount, ""),
            ("Tax", document.tax, ""),
            ("Shipping", document.shipping, ""),
            ("Total", document.total, "B"),
        ):
            pdf.set_font(family, style, 10)
            pdf.cell(w=150, h=6, text=label, align="R")
            pdf.cell(w=40, h=6, text=text(f"{amount} {currency}"), align="R")
            pdf.ln()
        pdf.ln(4)
        pdf.set_font(family, "", 10)
        pdf.cell(text=text(f"Payment method: {document.payment_method}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.cell(text=text(f"Payment status: {document.payment_status}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return bytes(pdf.output())
