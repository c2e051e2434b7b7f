"""Cash on delivery: a gateway with no provider behind it. Staff confirm the money when it is
collected (`shop.payments.confirm_cash`); a refund is money handed back by staff, recorded as made."""

from __future__ import annotations

from collections.abc import Mapping

from shop_core.domain.orders import PaymentMethod
from shop_core.domain.payments import Outcome, Payment, Refund, RefundState
from shop_core.ports.payments import (
    BadWebhook,
    GatewayState,
    ProviderEvent,
    RefundAnswer,
    RefundRequest,
    Started,
    StartRequest,
)


class CashOnDelivery:
    gateway = PaymentMethod.COD

    async def start(self, request: StartRequest) -> Started:
        return Started(reference=f"cod-{request.order_number}-{request.attempt}")

    async def fetch(self, payment: Payment) -> GatewayState:
        return GatewayState(payment.reference, Outcome.PENDING)  # only staff know when cash came

    async def refund(self, request: RefundRequest) -> RefundAnswer:
        return RefundAnswer(f"cod-refund-{request.refund_id}", RefundState.SUCCEEDED)

    async def refund_status(self, refund: Refund, payment: Payment) -> RefundAnswer:
        return RefundAnswer(refund.reference, refund.status)

    async def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
        raise BadWebhook("Cash on delivery has no webhooks.")
