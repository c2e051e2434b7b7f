"""Payments as drivers show them, and the commands that start and refund them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from shop_core.domain.money import exponent_of, format_minor
from shop_core.domain.payments import Payment, Refund


class StartPayment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    order_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
    gateway: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None


class RefundPayment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    amount: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    """A decimal string ("10.00"); all that is left when omitted."""
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class RefundView(msgspec.Struct, kw_only=True):
    id: int
    amount: str
    status: str
    reason: str
    gateway_reference: str
    failure: str
    created_at: datetime
    updated_at: datetime


class PaymentView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A payment. `client_secret` (Stripe) and `redirect_url` (SSLCommerz) are what the client
    needs to let the customer pay; `held` payments wait for staff (`hold_reason` says why) and
    never count as paid. `refunded_amount` is what refunds have returned so far."""

    id: int
    order_id: int
    order_number: str
    gateway: str
    status: str
    amount: str
    currency: str
    gateway_reference: str
    refunded_amount: str
    held: bool
    created_at: datetime
    updated_at: datetime
    client_secret: str | None = None
    redirect_url: str | None = None
    hold_reason: str | None = None
    failure: str | None = None
    refunds: list[RefundView] | None = None


def payment_view(payment: Payment, refunds: list[Refund] | None = None) -> PaymentView:
    assert payment.id is not None
    exponent = exponent_of(payment.currency)

    def money(minor: int) -> str:
        return format_minor(minor, exponent)

    return PaymentView(
        id=payment.id,
        order_id=payment.order_id,
        order_number=payment.order_number,
        gateway=payment.gateway.value,
        status=payment.status.value,
        amount=money(payment.amount),
        currency=payment.currency,
        gateway_reference=payment.reference,
        refunded_amount=money(payment.refunded_amount),
        held=bool(payment.hold_reason),
        created_at=payment.created_at,
        updated_at=payment.updated_at,
        client_secret=payment.client_secret or None if payment.is_live else None,
        redirect_url=payment.redirect_url or None if payment.is_live else None,
        hold_reason=payment.hold_reason or None,
        failure=payment.failure or None,
        refunds=None
        if refunds is None
        else [
            RefundView(
                id=r.id or 0,
                amount=money(r.amount),
                status=r.status.value,
                reason=r.reason,
                gateway_reference=r.reference,
                failure=r.failure,
                created_at=r.created_at,
                updated_at=r.updated_at,
            )
            for r in refunds
        ],
    )
