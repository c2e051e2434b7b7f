"""Invoice PDFs with fpdf2 (the `invoices` extra: fpdf2, and uharfbuzz for text shaping).

Fonts: product names and addresses may hold any script, and fpdf2's core fonts (Helvetica, ...)
encode a single code page only. So the renderer embeds fonts shipped with the package, in
`shop_core/fonts/` (with their SIL Open Font License): Noto Sans (Latin, Greek, Cyrillic, the
currency signs) and, as fpdf2's fallback font, Noto Sans Bengali, since the shop sells in BDT
through SSLCommerz. With uharfbuzz installed, text is shaped by HarfBuzz (`set_text_shaping`), so
Bengali conjuncts and vowel signs are drawn as they should be; without it, a warning is logged
once and Bengali comes out unshaped (still legible, still extractable).

CJK and emoji: no reasonably small font covers them (Noto Sans CJK is tens of megabytes, emoji
fonts are colour bitmaps fpdf2 cannot embed), so none is shipped. Any of `SYSTEM_FALLBACKS` that
is installed (Debian: `fonts-droid-fallback` or `fonts-wqy-microhei` for CJK, `fonts-symbola`
for emoji, `fonts-dejavu-core` for more symbols) is added as a further fallback. A character
that no font covers is printed as U+FFFD "�", so the reader sees something was there, and the
rest of the line always renders.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import TTFFont

from shop_core.domain.invoices import InvoiceDocument

log = logging.getLogger("shop.invoices")

FONTS_DIR = Path(__file__).resolve().parent.parent / "fonts"
MAIN_FAMILY = "NotoSans"
# (family, regular, bold), tried in this order for a character the main font lacks.
SHIPPED_FALLBACKS: Sequence[tuple[str, Path, Path]] = (
    ("NotoSansBengali", FONTS_DIR / "NotoSansBengali-Regular.ttf", FONTS_DIR / "NotoSansBengali-Bold.ttf"),
)
# Used when installed (never required): fonts for what the shipped ones lack. TrueType files only
# (fpdf2 reads no .ttc collection).
SYSTEM_FALLBACKS: Sequence[tuple[str, Path]] = (
    ("DroidSansFallback", Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")),
    ("Symbola", Path("/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf")),
    ("DejaVuSans", Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")),
)
MISSING = "\ufffd"

LINE_HEADINGS = ("Description", "SKU", "Qty", "Unit price", "Discount", "Tax", "Line total")
LINE_WIDTHS = (62, 28, 12, 22, 22, 22, 22)  # millimetres, 190 in all: A4 less 10 mm margins
LINE_ALIGN = ("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT")


@functools.cache
def _shaping() -> bool:
    if importlib.util.find_spec("uharfbuzz") is None:  # fpdf2 imports it itself when shaping
        log.warning(
            "uharfbuzz is not installed: invoice text is not shaped (Bengali conjuncts come out "
            "unjoined); install the shop's `invoices` extra"
        )
        return False
    return True


def _installed_fallbacks() -> list[tuple[str, Path]]:
    return [(family, path) for family, path in SYSTEM_FALLBACKS if path.is_file()]


def _add_fonts(pdf: FPDF, needed: set[int]) -> set[int]:
    """Embed the shipped fonts, and the installed system fallbacks only when `needed` holds a
    character the shipped ones lack (parsing those large fonts takes most of a render's time,
    about 0.3 s). Returns the code points some font covers."""
    pdf.add_font(MAIN_FAMILY, "", FONTS_DIR / "NotoSans-Regular.ttf")
    pdf.add_font(MAIN_FAMILY, "B", FONTS_DIR / "NotoSans-Bold.ttf")
    fallbacks = []
    for family, regular, bold in SHIPPED_FALLBACKS:
        pdf.add_font(family, "", regular)
        pdf.add_font(family, "B", bold)
        fallbacks.append(family)
    covered: set[int] = set()
    for font in pdf.fonts.values():
        if isinstance(font, TTFFont):
            covered.update(font.cmap)
    if not needed <= covered:
        for family, path in _installed_fallbacks():
            pdf.add_font(family, "", path)
            fallbacks.append(family)
            covered.update(cast(TTFFont, pdf.fonts[family.lower()]).cmap)
    pdf.set_fallback_fonts(fallbacks, exact_match=False)
    return covered


def _code_points(document: InvoiceDocument) -> set[int]:
    """Every character the document's own text holds (the renderer's labels are ASCII)."""
    texts = [
        document.shop_name,
        document.title,
        document.order_number,
        document.currency,
        document.payment_method,
        document.payment_status,
        *document.billing_address,
        *document.shipping_address,
        document.shipping_method or "",
        *(label for label, _ in document.tax_lines or ()),
    ]
    for item in document.lines:
        texts += [item.description, item.sku, item.unit_price, item.discount, item.tax, item.line_total]
    return {ord(c) for text in texts for c in text if c not in "\n\t"}


def _utc_date(moment: datetime) -> str:
    if moment.tzinfo is None:  # naive datetimes are taken to be UTC already
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date().isoformat()


class FpdfInvoiceRenderer:
    def render(self, document: InvoiceDocument) -> bytes:
        pdf = FPDF(format="A4")
        pdf.set_margins(10, 10, 10)
        pdf.set_auto_page_break(auto=True, margin=15)
        covered = _add_fonts(pdf, _code_points(document))
        if _shaping():
            pdf.set_text_shaping(True)
        family = MAIN_FAMILY

        def text(value: str) -> str:
            """`value` with each character no font covers shown as U+FFFD."""
            return "".join(
                c if ord(c) in covered or c in "\n\t" or unicodedata.category(c) == "Cf" else MISSING
                for c in value
            )

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

        # One row per address line, never one multi-line cell: fpdf2 (2.8) draws the line after a
        # shaped fallback-font line (Bengali) with the wrong font's glyphs inside a multi-line cell.
        billing, shipping = document.billing_address, document.shipping_address
        with pdf.table(
            borders_layout="NONE", first_row_as_headings=True, line_height=5, text_align="LEFT"
        ) as addresses:
            addresses.row(["Billing address", "Shipping address"])
            for number in range(max(len(billing), len(shipping))):
                addresses.row(
                    [
                        text(billing[number]) if number < len(billing) else "",
                        text(shipping[number]) if number < len(shipping) else "",
                    ]
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
        taxes = [("Tax", document.tax)] if not document.tax_lines else document.tax_lines
        for label, amount, style in (
            ("Subtotal", document.subtotal, ""),
            (
                f"Discount (voucher {document.voucher_code})" if document.voucher_code else "Discount",
                document.discount,
                "",
            ),
            *((label, amount, "") for label, amount in taxes),
            (
                f"Shipping ({document.shipping_method})" if document.shipping_method else "Shipping",
                document.shipping,
                "",
            ),
            ("Total", document.total, "B"),
        ):
            pdf.set_font(family, style, 10)
            pdf.cell(w=150, h=6, text=label, align="R")
            pdf.cell(w=40, h=6, text=text(f"{amount} {currency}"), align="R")
            pdf.ln()
        pdf.ln(4)
        pdf.set_font(family, "", 10)
        if document.prices_include_tax:
            pdf.cell(
                text="Prices included tax: the amounts above are net of it.",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
        pdf.cell(text=text(f"Payment method: {document.payment_method}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.cell(text=text(f"Payment status: {document.payment_status}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return bytes(pdf.output())
