"""The email builders, rendered with the real Jinja2 templates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser

import msgspec
import pytest

from shop_core.adapters.jinja_templates import JinjaEmailRenderer
from shop_core.ports.mail import Email
from shop_core.services import emails
from shop_core.services.order_views import AddressView, OrderItemView, OrderView

STORE = "Corner Shop"
TO = "ada@example.com"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
templates = JinjaEmailRenderer()


def order(product_name: str = "Blue Widget", discount: str = "0.00", variant_name: str = "") -> OrderView:
    address = AddressView(
        full_name="Ada Lovelace",
        line1="12 Analytical Row",
        line2="",
        city="London",
        postal_code="EC1A 1BB",
        country="GB",
        phone="+44 20 7946 0000",
    )
    return OrderView(
        id=7,
        order_number="ORD-2026-0042",
        user_id=3,
        status="pending",
        payment_status="pending",
        payment_method="card",
        currency="USD",
        items=[
            OrderItemView(
                product_id=1,
                variant_id=4,
                variant_name=variant_name,
                product_name=product_name,
                sku="BW-1",
                unit_price="12.50",
                quantity=2,
                line_total="25.00",
                discount_amount=discount,
                tax_amount="2.00",
                final_unit_price=str((Decimal("25.00") - Decimal(discount)) / 2),
            )
        ],
        subtotal="25.00",
        discount_amount=discount,
        tax_amount="2.00",
        shipping_cost="5.00",
        total_price="32.00",
        shipping_address=address,
        billing_address=address,
        created_at=NOW,
        updated_at=NOW,
        paid_at=None,
        delivered_at=None,
    )


def html_text(html: str) -> str:
    """The text a mail client shows for `html` (entities decoded, tags dropped)."""
    chunks: list[str] = []

    class Collector(HTMLParser):
        def handle_data(self, data: str) -> None:
            chunks.append(data)

    Collector().feed(html)
    return " ".join(" ".join(chunks).split())


def assert_in_both(email: Email, *needles: str) -> None:
    assert email.html is not None
    shown = html_text(email.html)
    for needle in needles:
        assert needle in email.text, needle
        assert needle in shown, needle


def test_welcome() -> None:
    email = emails.welcome(STORE, TO, "Ada", templates=templates)
    assert email.to == TO
    assert email.subject == "Welcome to Corner Shop"
    assert email.text.startswith("Hello Ada,\n\n")
    assert_in_both(email, "Hello Ada,", TO, STORE)
    assert email.attachments == ()


def test_welcome_without_a_name() -> None:
    email = emails.welcome(STORE, TO, "", templates=templates)
    assert email.text.startswith("Hello,\n")


def test_order_confirmation() -> None:
    email = emails.order_confirmation(STORE, TO, order(), templates=templates)
    assert email.to == TO
    assert email.subject == "Your order ORD-2026-0042 is confirmed — Corner Shop"
    assert_in_both(email, "ORD-2026-0042", "Blue Widget", "BW-1", "25.00", "32.00 USD", "12 Analytical Row")
    assert "Discount" not in email.text


def test_order_confirmation_shows_a_discount() -> None:
    email = emails.order_confirmation(STORE, TO, order(discount="3.00"), templates=templates)
    assert_in_both(email, "Discount", "-3.00")


def test_every_order_email_names_the_voucher_of_the_discount() -> None:
    with_voucher = msgspec.structs.replace(
        order(discount="3.00"), voucher_code="SAVE10", voucher_discount="3.00"
    )
    for build in (emails.order_confirmation, emails.order_shipped):
        email = build(STORE, TO, with_voucher, templates=templates)
        assert_in_both(email, "Discount (voucher SAVE10)", "-3.00")
    plain = emails.order_confirmation(STORE, TO, order(discount="3.00"), templates=templates)
    assert "voucher" not in plain.text


def test_payment_received_attaches_the_invoice() -> None:
    pdf = b"%PDF-1.7 invoice bytes"
    email = emails.payment_received(STORE, TO, order(), pdf, "INV-2026-0001", templates=templates)
    assert email.subject == "Payment received for order ORD-2026-0042 — Corner Shop"
    assert_in_both(email, "ORD-2026-0042", "32.00 USD", "INV-2026-0001 is attached")
    [attachment] = email.attachments
    assert attachment.filename == "invoice-INV-2026-0001.pdf"
    assert attachment.content == pdf
    assert attachment.mime_type == "application/pdf"


def test_payment_received_without_an_invoice() -> None:
    email = emails.payment_received(STORE, TO, order(), None, None, templates=templates)
    assert email.attachments == ()
    assert "attached" not in email.text


def test_payment_received_names_an_unnumbered_invoice_after_the_order() -> None:
    email = emails.payment_received(STORE, TO, order(), b"%PDF", None, templates=templates)
    assert [a.filename for a in email.attachments] == ["invoice-ORD-2026-0042.pdf"]


def test_order_shipped() -> None:
    email = emails.order_shipped(STORE, TO, order(), templates=templates)
    assert email.subject == "Your order ORD-2026-0042 is on its way — Corner Shop"
    assert_in_both(email, "ORD-2026-0042", "has shipped", "Ada Lovelace", "London")


@pytest.mark.parametrize("refunded", [False, True])
def test_order_cancelled(refunded: bool) -> None:
    email = emails.order_cancelled(STORE, TO, order(), refunded, templates=templates)
    assert email.subject == (
        "Your order ORD-2026-0042 has been cancelled and refunded — Corner Shop"
        if refunded
        else "Your order ORD-2026-0042 has been cancelled — Corner Shop"
    )
    assert_in_both(email, "ORD-2026-0042", "has been cancelled")
    assert ("We have refunded 32.00 USD" in email.text) is refunded
    assert email.html is not None
    assert ("We have refunded 32.00 USD" in html_text(email.html)) is refunded


def test_password_reset() -> None:
    link = "https://shop.example.com/reset?token=abc&user=1"
    email = emails.password_reset(STORE, TO, link, 30, templates=templates)
    assert email.subject == "Reset your password — Corner Shop"
    assert_in_both(email, link, "30 minutes")
    assert email.html is not None
    assert 'href="https://shop.example.com/reset?token=abc&amp;user=1"' in email.html


def test_password_reset_refuses_a_non_http_link() -> None:
    with pytest.raises(ValueError, match="http"):
        emails.password_reset(STORE, TO, "javascript:alert(1)", 30, templates=templates)


def test_html_escapes_hostile_content() -> None:
    hostile = '<script>alert("x")</script>'
    email = emails.order_confirmation(
        "Shop & <b>Co</b>", TO, order(product_name=hostile), templates=templates
    )
    assert email.html is not None
    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html
    assert "<b>Co</b>" not in email.html
    assert hostile in html_text(email.html)  # shown as text, not run
    assert hostile in email.text  # plain text stays as it is


@pytest.mark.parametrize(
    "build",
    [
        lambda view: emails.order_confirmation(STORE, TO, view, templates=templates),
        lambda view: emails.order_shipped(STORE, TO, view, templates=templates),
        lambda view: emails.payment_received(STORE, TO, view, None, None, templates=templates),
        lambda view: emails.order_cancelled(STORE, TO, view, False, templates=templates),
    ],
    ids=["confirmation", "shipped", "payment", "cancelled"],
)
def test_order_emails_name_the_variant(build: Callable[[OrderView], Email]) -> None:
    email = build(order(product_name="Camp T-shirt", variant_name="M / Red"))
    assert_in_both(email, "Camp T-shirt (M / Red)")
    plain = build(order(product_name="Camp T-shirt"))
    assert_in_both(plain, "Camp T-shirt")
    assert "Camp T-shirt (BW-1)" in plain.text  # no variant: the product, then its sku


def test_a_variant_name_is_escaped_like_other_text() -> None:
    hostile = "<img src=x onerror=alert(1)>"
    email = emails.order_confirmation(STORE, TO, order(variant_name=hostile), templates=templates)
    assert email.html is not None
    assert "<img" not in email.html
    assert f"Blue Widget ({hostile})" in html_text(email.html)
    assert f"Blue Widget ({hostile})" in email.text


def test_a_newline_in_the_store_name_cannot_add_a_header() -> None:
    email = emails.welcome("Shop\r\nBcc: victim@example.com", TO, "Ada", templates=templates)
    assert email.subject == "Welcome to Shop Bcc: victim@example.com"
