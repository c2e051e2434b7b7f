"""Orders as drivers show them: money as decimal strings in the order's currency."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from shop_core.domain.addresses import Address
from shop_core.domain.fulfilment import Fulfilment
from shop_core.domain.money import exponent_of, format_minor
from shop_core.domain.orders import Order, OrderEvent
from shop_core.domain.pricing import final_unit_price
from shop_core.domain.tax import rate_text


class AddressView(msgspec.Struct, kw_only=True):
    full_name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str
    phone: str
    region: Annotated[
        str | msgspec.UnsetType,
        msgspec.Meta(description="State, province or division; left out when the address has none."),
    ] = msgspec.UNSET


class OrderItemView(msgspec.Struct, kw_only=True):
    """One line, priced at placement and frozen: `unit_price` is the product's list price and
    `line_total` is `unit_price * quantity`; `discount_amount` is what the product's discount took
    off the line (so the customer paid `line_total - discount_amount`, the cart's price), and
    `tax_amount` the line's tax on that. `final_unit_price` is one unit after the discount: what
    the cart showed as its `unit_price`."""

    id: Annotated[
        int,
        msgspec.Meta(
            description="The line's id: what a fulfilment names as its `item_id` "
            "(`POST /api/orders/{id}/fulfillments/`)."
        ),
    ] = 0
    product_id: int
    variant_id: Annotated[
        int | None,
        msgspec.Meta(
            description="The variant the line was taken from (null for orders placed before variants)."
        ),
    ] = None
    variant_name: Annotated[
        str,
        msgspec.Meta(
            description='The variant\'s option values, "M / Red"; "" for a product without options.'
        ),
    ] = ""
    product_name: str
    sku: str
    unit_price: Annotated[
        str,
        msgspec.Meta(
            description="The product's list price per unit, before its discount (the cart's "
            "`list_unit_price`)."
        ),
    ]
    quantity: int
    line_total: Annotated[
        str, msgspec.Meta(description="`unit_price * quantity`: the line at list price, before its discount.")
    ]
    discount_amount: Annotated[
        str,
        msgspec.Meta(
            description="What discounts took off the whole line: the product's own discount (or a "
            "sale's), plus the line's share of the order's voucher (`voucher_discount`)."
        ),
    ]
    voucher_discount: Annotated[
        str,
        msgspec.Meta(
            description="The line's share of the voucher's discount (part of `discount_amount`): the "
            "voucher's discount spread over the lines it applies to in proportion to their value, "
            "the rounding remainder going to the largest line; the lines' shares add up to the "
            "order's `voucher_discount` exactly."
        ),
    ] = "0"
    tax_amount: Annotated[
        str,
        msgspec.Meta(
            description="The line's tax, on `line_total - discount_amount` (with prices that include "
            "tax, the tax they held: then every amount of the line is net)."
        ),
    ]
    tax_rate: Annotated[
        str | None,
        msgspec.Meta(
            description='The rate applied, "0.2000" for 20% (null on orders from before rates were kept).'
        ),
    ] = None
    tax_name: Annotated[str | None, msgspec.Meta(description='What the rate is called, "VAT".')] = None
    final_unit_price: Annotated[
        str,
        msgspec.Meta(
            description="One unit after the product's discount (the cart's `unit_price`): `(line_total - "
            "discount_amount + voucher_discount) / quantity`, rounded half-up to the currency's minor "
            "unit. A product's discount is taken per unit, so this is exact: `final_unit_price * "
            "quantity = line_total - discount_amount + voucher_discount`."
        ),
    ]


class ShippingMethodView(msgspec.Struct, kw_only=True):
    """The shipping method the order was placed with, as it was then."""

    id: Annotated[int | None, msgspec.Meta(description="Null once the method is deleted.")]
    name: str
    price: Annotated[
        str,
        msgspec.Meta(
            description="Its list price then (the order's `shipping_cost` may be less: free from its "
            "threshold or with a voucher)."
        ),
    ]


class OrderEventView(msgspec.Struct, kw_only=True):
    at: datetime
    actor: str
    action: str
    from_status: str
    to_status: str
    note: str


class OrderView(msgspec.Struct, kw_only=True):
    """An order. `subtotal` is the sum of the lines' `line_total`, `discount_amount` of their
    discounts, `tax_amount` of their tax; `total_price = subtotal - discount_amount + tax_amount +
    shipping_cost`, exactly, in `currency`."""

    id: int
    order_number: str
    user_id: int
    status: str
    payment_status: str
    payment_method: str
    currency: str
    items: list[OrderItemView]
    subtotal: str
    discount_amount: str
    tax_amount: str
    shipping_cost: str
    total_price: str
    shipping_address: AddressView
    billing_address: AddressView
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None
    delivered_at: datetime | None
    voucher_code: Annotated[
        str | None, msgspec.Meta(description="The voucher used at checkout (its code then), or null.")
    ] = None
    voucher_discount: Annotated[
        str, msgspec.Meta(description="The voucher's part of `discount_amount` (0 without a voucher).")
    ] = "0"
    shipping_method: Annotated[
        ShippingMethodView | None,
        msgspec.Meta(description="The shipping method chosen; null with the shop's flat shipping."),
    ] = None
    shipping_tax: Annotated[
        str, msgspec.Meta(description="The shipping's part of `tax_amount` (0 when shipping is not taxed).")
    ] = "0"
    tax_rate: Annotated[
        str | None,
        msgspec.Meta(
            description='The tax rate applied, "0.2000" for 20% (null on orders from before rates were kept).'
        ),
    ] = None
    tax_name: Annotated[str | None, msgspec.Meta(description='What the rate is called, "VAT".')] = None
    refunded_amount: Annotated[
        str,
        msgspec.Meta(description="What its payments gave back so far (refunds, returns included)."),
    ] = "0"
    prices_include_tax: Annotated[
        bool,
        msgspec.Meta(
            description="Catalog prices included tax: the amounts shown are net and `tax_amount` is "
            "the tax they held; `total_price` is what the shelf prices added up to."
        ),
    ] = False
    fulfillment_status: Annotated[
        str,
        msgspec.Meta(
            description="How much has shipped: `unfulfilled`, `partial` or `fulfilled` (see the order's "
            "fulfillments); `status` becomes `shipped` once everything has."
        ),
    ] = "unfulfilled"
    events: list[OrderEventView] | msgspec.UnsetType = msgspec.UNSET
    """The audit trail: shown to staff only."""


def address_view(address: Address) -> AddressView:
    return AddressView(**address.as_dict())


def order_view(order: Order, events: list[OrderEvent] | None = None) -> OrderView:
    assert order.id is not None
    exponent = exponent_of(order.currency)

    def money(minor: int) -> str:
        return format_minor(minor, exponent)

    return OrderView(
        id=order.id,
        order_number=order.number,
        user_id=order.user_id,
        status=order.status.value,
        payment_status=order.payment_status.value,
        payment_method=order.payment_method.value,
        currency=order.currency,
        items=[
            OrderItemView(
                id=line.id if line.id is not None else 0,
                product_id=line.product_id,
                variant_id=line.variant_id,
                variant_name=line.variant_name,
                product_name=line.product_name,
                sku=line.sku,
                unit_price=money(line.unit_price),
                quantity=line.quantity,
                line_total=money(line.line_total),
                discount_amount=money(line.discount_amount),
                tax_amount=money(line.tax_amount),
                final_unit_price=money(
                    final_unit_price(
                        line.line_total, line.discount_amount - line.voucher_discount, line.quantity
                    )
                ),
                voucher_discount=money(line.voucher_discount),
                tax_rate=None if line.tax_rate is None else rate_text(line.tax_rate),
                tax_name=line.tax_name,
            )
            for line in order.lines
        ],
        subtotal=money(order.subtotal),
        refunded_amount=money(order.refunded_amount),
        discount_amount=money(order.discount_amount),
        tax_amount=money(order.tax_amount),
        shipping_cost=money(order.shipping_cost),
        total_price=money(order.total_price),
        shipping_address=address_view(order.shipping_address),
        billing_address=address_view(order.billing_address),
        created_at=order.created_at,
        updated_at=order.updated_at,
        paid_at=order.paid_at,
        delivered_at=order.delivered_at,
        voucher_code=order.voucher_code,
        voucher_discount=money(order.voucher_discount),
        shipping_method=None
        if order.shipping_method is None
        else ShippingMethodView(
            id=order.shipping_method.method_id,
            name=order.shipping_method.name,
            price=money(order.shipping_method.price),
        ),
        shipping_tax=money(order.shipping_tax),
        tax_rate=None if order.tax_rate is None else rate_text(order.tax_rate),
        tax_name=order.tax_name,
        prices_include_tax=order.prices_include_tax,
        fulfillment_status=order.fulfillment_status.value,
        events=msgspec.UNSET
        if events is None
        else [
            OrderEventView(
                at=e.at,
                actor=e.actor,
                action=e.action,
                from_status=e.from_status,
                to_status=e.to_status,
                note=e.note,
            )
            for e in events
        ],
    )


class FulfillmentLineView(msgspec.Struct, kw_only=True):
    item_id: Annotated[int, msgspec.Meta(description="The order line's `id` (one of the order's `items`).")]
    quantity: int


class FulfillmentView(msgspec.Struct, kw_only=True):
    """One parcel of an order: which lines left, how many of each, and how to follow it."""

    id: int
    order_id: int
    lines: list[FulfillmentLineView]
    carrier: str | None
    tracking_number: str | None
    created_at: datetime


def fulfillment_view(fulfilment: Fulfilment) -> FulfillmentView:
    assert fulfilment.id is not None
    return FulfillmentView(
        id=fulfilment.id,
        order_id=fulfilment.order_id,
        lines=[
            FulfillmentLineView(item_id=line.order_line_id, quantity=line.quantity)
            for line in fulfilment.lines
        ],
        carrier=fulfilment.carrier,
        tracking_number=fulfilment.tracking_number,
        created_at=fulfilment.created_at,
    )
