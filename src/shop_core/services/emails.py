"""What the shop's emails say: subjects here, bodies in `email_templates/`.

Each builder takes plain data and the `EmailRenderer` port, and returns an `Email` with a
plain-text body (`<name>.txt`) and an HTML alternative (`<name>.html`, which extends `base.html`
and escapes everything it inserts). To change the wording, edit the templates and `SUBJECTS`; the
values each template receives are listed on its builder.

Every template gets `store` (the shop's name); order templates also get `order` (an `OrderView`:
its `items`, money as decimal strings in `order.currency`, `shipping_address`...) and
`has_discount`. An item names its variant after the product, "T-shirt (M / Red)", when it has a
`variant_name` (as `domain.variants.line_title` does on the invoice).

Shipping emails also get `shipments` (the order's fulfilments, `FulfillmentView`s, each with its
`carrier` and `tracking_number`, both staff-entered: the HTML escapes them like everything else)
and `titles` (each item's title by its `id`, to name a shipment's lines).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from shop_core.ports.mail import Attachment, Email, EmailRenderer
from shop_core.services.order_views import FulfillmentView, OrderView
from shop_core.services.returns import ReturnView

TEMPLATES_DIR = Path(__file__).with_name("email_templates")

SUBJECTS = {
    "welcome": "Welcome to {store}",
    "order_confirmation": "Your order {number} is confirmed — {store}",
    "payment_received": "Payment received for order {number} — {store}",
    "order_shipped": "Your order {number} is on its way — {store}",
    "order_partly_shipped": "Part of your order {number} is on its way — {store}",
    "return_received": "We received your return for order {number} — {store}",
    "return_refunded": "Your return for order {number} is refunded — {store}",
    "order_cancelled": "Your order {number} has been cancelled — {store}",
    "order_cancelled_refunded": "Your order {number} has been cancelled and refunded — {store}",
    "password_reset": "Reset your password — {store}",
    "low_stock": "Low stock: {sku} has {stock} left — {store}",
    "back_in_stock": "Back in stock: {title} — {store}",
}


def _one_line(value: str) -> str:
    """Header values are one line: a newline in a name must not start a new header."""
    return " ".join(value.split())


def _email(
    templates: EmailRenderer,
    name: str,
    to: str,
    subject: str,
    context: dict[str, object],
    *,
    attachments: tuple[Attachment, ...] = (),
) -> Email:
    return Email(
        to=to,
        subject=_one_line(subject),
        text=templates.render(f"{name}.txt", context),
        html=templates.render(f"{name}.html", context),
        attachments=attachments,
    )


def _order_context(store: str, order: OrderView) -> dict[str, object]:
    return {"store": store, "order": order, "has_discount": Decimal(order.discount_amount) != 0}


def welcome(store: str, user_email: str, name: str, *, templates: EmailRenderer) -> Email:
    """Templates get `store`, `name` (may be empty) and `email`."""
    context: dict[str, object] = {"store": store, "name": name, "email": user_email}
    return _email(templates, "welcome", user_email, SUBJECTS["welcome"].format(store=store), context)


def order_confirmation(store: str, to: str, order_view: OrderView, *, templates: EmailRenderer) -> Email:
    subject = SUBJECTS["order_confirmation"].format(number=order_view.order_number, store=store)
    return _email(templates, "order_confirmation", to, subject, _order_context(store, order_view))


def payment_received(
    store: str,
    to: str,
    order_view: OrderView,
    invoice_pdf: bytes | None,
    invoice_number: str | None,
    *,
    templates: EmailRenderer,
) -> Email:
    """Attaches the invoice as `invoice-<number>.pdf` when there is one (named after the order
    when the invoice has no number). Templates also get `invoice_number` and `has_invoice`."""
    context = _order_context(store, order_view)
    context |= {"invoice_number": invoice_number, "has_invoice": invoice_pdf is not None}
    attachments: tuple[Attachment, ...] = ()
    if invoice_pdf is not None:
        stem = _filename_safe(invoice_number or order_view.order_number)
        attachments = (Attachment(f"invoice-{stem}.pdf", invoice_pdf, "application/pdf"),)
    subject = SUBJECTS["payment_received"].format(number=order_view.order_number, store=store)
    return _email(templates, "payment_received", to, subject, context, attachments=attachments)


def order_shipped(
    store: str,
    to: str,
    order_view: OrderView,
    *,
    templates: EmailRenderer,
    shipments: Sequence[FulfillmentView] = (),
) -> Email:
    """`shipments`: the order's fulfilments, whose tracking numbers the email lists."""
    subject = SUBJECTS["order_shipped"].format(number=order_view.order_number, store=store)
    context = _order_context(store, order_view) | _shipment_context(order_view, shipments)
    return _email(templates, "order_shipped", to, subject, context)


def order_partly_shipped(
    store: str, to: str, order_view: OrderView, shipment: FulfillmentView, *, templates: EmailRenderer
) -> Email:
    """One parcel of an order that has not shipped whole. Templates also get `shipment`."""
    subject = SUBJECTS["order_partly_shipped"].format(number=order_view.order_number, store=store)
    context = _order_context(store, order_view) | _shipment_context(order_view, [shipment])
    context["shipment"] = shipment
    return _email(templates, "order_partly_shipped", to, subject, context)


def return_email(
    name: str, store: str, to: str, order_view: OrderView, item: ReturnView, *, templates: EmailRenderer
) -> Email:
    """`return_received` or `return_refunded`: templates also get `item` (the return, its
    `refund_amount` set once refunded) and `titles` (each item's title by its `id`)."""
    subject = SUBJECTS[name].format(number=order_view.order_number, store=store)
    context = _order_context(store, order_view) | _shipment_context(order_view, [])
    context["item"] = item
    return _email(templates, name, to, subject, context)


def _shipment_context(order: OrderView, shipments: Sequence[FulfillmentView]) -> dict[str, object]:
    titles = {
        item.id: f"{item.product_name} ({item.variant_name})" if item.variant_name else item.product_name
        for item in order.items
    }
    return {"shipments": list(shipments), "titles": titles}


def order_cancelled(
    store: str, to: str, order_view: OrderView, refunded: bool, *, templates: EmailRenderer
) -> Email:
    """Templates also get `refunded`."""
    key = "order_cancelled_refunded" if refunded else "order_cancelled"
    subject = SUBJECTS[key].format(number=order_view.order_number, store=store)
    context = _order_context(store, order_view) | {"refunded": refunded}
    return _email(templates, "order_cancelled", to, subject, context)


def password_reset(store: str, to: str, link: str, valid_minutes: int, *, templates: EmailRenderer) -> Email:
    """Templates get `store`, `link` and `valid_minutes`. The link must be http(s)."""
    if urlsplit(link).scheme not in {"http", "https"}:
        raise ValueError("a password-reset link must be an http(s) URL")
    context: dict[str, object] = {"store": store, "link": link, "valid_minutes": valid_minutes}
    return _email(templates, "password_reset", to, SUBJECTS["password_reset"].format(store=store), context)


def low_stock(
    store: str, to: str, sku: str, name: str, *, stock: int, threshold: int, templates: EmailRenderer
) -> Email:
    """To staff. Templates get `store`, `sku`, `name`, `stock` and `threshold`."""
    context: dict[str, object] = {
        "store": store,
        "sku": sku,
        "name": name,
        "stock": stock,
        "threshold": threshold,
    }
    subject = SUBJECTS["low_stock"].format(sku=sku, stock=stock, store=store)
    return _email(templates, "low_stock", to, subject, context)


def back_in_stock(store: str, to: str, title: str, *, stock: int, templates: EmailRenderer) -> Email:
    """To a customer who asked (a wishlist entry's `notify`). Templates get `store`, `title` (the
    product's name, with the variant's after it: "T-shirt (M / Red)") and `stock`."""
    context: dict[str, object] = {"store": store, "title": title, "stock": stock}
    subject = SUBJECTS["back_in_stock"].format(title=title, store=store)
    return _email(templates, "back_in_stock", to, subject, context)


def _filename_safe(value: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in value)
