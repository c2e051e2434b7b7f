"""The Stripe payment gateway: PaymentIntents, Refunds and webhooks through stripe-python 16 (async).

Amounts: the shop keeps every amount in the currency's ISO 4217 minor unit (cents, whole yen), and
Stripe's `amount` is in the currency's smallest unit too (zero-decimal currencies such as JPY in whole
units). Every amount still goes through `to_stripe_units`/`from_stripe_units`, the one place the
two may differ (Stripe's special cases, e.g. ISK sent as a two-decimal amount), so a 1500 JPY order is
sent as `amount=1500`, never 150000.

Idempotency: every POST carries a key derived from our own stored rows, never a random one, so a retried
call (ours, the service's after a crash, or the SDK's own retries) finds the object the first call made:
  * `payment:{payment_id}:attempt:{attempt}:create` creates the PaymentIntent of one payment attempt;
  * `refund:{refund_id}` creates one Refund.
Stripe replays the first answer to a key (even a 500) and refuses the same key with other parameters
(`IdempotencyError` → GatewayError). Keys may be pruned after 24 hours: a later retry must use a new
attempt, not the same key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import stripe

from shop_core.domain.errors import InvalidInput
from shop_core.domain.money import CURRENCY_EXPONENTS
from shop_core.domain.orders import PaymentMethod
from shop_core.domain.payments import Outcome, Payment, Refund, RefundState
from shop_core.ports.payments import (
    BadWebhook,
    GatewayError,
    GatewayState,
    PaymentDeclined,
    ProviderEvent,
    RefundAnswer,
    RefundRequest,
    Started,
    StartRequest,
)

WEBHOOK_TOLERANCE: Final = 300  # seconds; older signed timestamps are refused (replay protection)
PAYMENT_EVENTS: Final = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.processing",
        "payment_intent.requires_action",
    }
)
REFUND_EVENTS: Final = frozenset({"refund.created", "refund.updated", "refund.failed"})
_REFUND_STATES: Final = {
    "succeeded": RefundState.SUCCEEDED,
    "failed": RefundState.FAILED,
    "canceled": RefundState.FAILED,
}  # anything else (pending, requires_action) is still pending


def to_stripe_units(amount: int, currency: str) -> int:
    """The amount to send Stripe for `amount` in the shop's minor unit of `currency`.

    The shop keeps every amount in the minor unit of its currency as ISO 4217 defines it (cents,
    whole yen, fils), which is Stripe's unit too, zero-decimal currencies included, with two
    exceptions: Stripe counts ISK in hundredths though it has none, and charges in a
    three-decimal currency (KWD, BHD...) must end in 0.
    """
    code = currency.upper()
    if code in _STRIPE_TWO_DECIMAL_OVER_ISO_ZERO:
        return amount * 100
    if CURRENCY_EXPONENTS.get(code) == 3 and amount % 10:
        raise InvalidInput(f"Stripe charges {code} only in multiples of 0.010; {amount} fils cannot be sent.")
    return amount


def from_stripe_units(amount: int, currency: str) -> int:
    """An amount Stripe reports, in the shop's minor unit of `currency`."""
    if currency.upper() in _STRIPE_TWO_DECIMAL_OVER_ISO_ZERO:
        return amount // 100
    return amount


_STRIPE_TWO_DECIMAL_OVER_ISO_ZERO = frozenset({"ISK"})


class StripeGateway:
    gateway = PaymentMethod.STRIPE

    def __init__(
        self,
        secret_key: str,
        webhook_secret: str,
        *,
        api_base: str | None = None,
        timeout: float = 20.0,
        max_network_retries: int = 2,
    ) -> None:
        self._secret_key = secret_key
        self._webhook_secret = webhook_secret
        # Our own httpx-backed client: async calls go through httpx with our timeout (the SDK default is
        # 80 s), and since we own it we can close it through its public close methods. Sync calls are
        # disabled on purpose: a blocking call on the event loop fails loudly instead of stalling it.
        self._http = stripe.HTTPXClient(timeout=timeout, allow_sync_methods=False)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            # Explicit: StripeClient retries nothing by default (the legacy global API retried twice).
            # The SDK retries connection errors, 409 and 5xx with backoff, reusing the same
            # Idempotency-Key, so a retry can never create a second object.
            max_network_retries=max_network_retries,
            http_client=self._http,
        )

    async def aclose(self) -> None:
        """Close the HTTP connections. `StripeClient` has no close of its own; we passed it the
        `HTTPXClient`, so we close that through its public `close`/`close_async` (`close` is a no-op
        here as sync calls are disabled, kept so enabling them cannot leak a client)."""
        self._http.close()  # type: ignore[no-untyped-call]
        await self._http.close_async()  # type: ignore[no-untyped-call]

    # -- payments ------------------------------------------------------------------------------------

    async def start(self, request: StartRequest) -> Started:
        params: stripe.params.PaymentIntentCreateParams = {
            "amount": to_stripe_units(request.amount, request.currency),
            "currency": request.currency.lower(),
            # Stripe echoes metadata back in every PaymentIntent, Charge and event: it ties them to us.
            "metadata": {
                "payment_id": str(request.payment_id),
                "order_id": str(request.order_id),
                "order_number": request.order_number,
            },
            # Cards and wallets only confirm in the page: no redirect-based methods, so no return_url.
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
        if request.description:
            params["description"] = request.description
        if request.customer.email:
            params["receipt_email"] = request.customer.email
        key = f"payment:{request.payment_id}:attempt:{request.attempt}:create"
        try:
            pi = await self._client.v1.payment_intents.create_async(params, options={"idempotency_key": key})
        except stripe.CardError as exc:
            raise PaymentDeclined(self._scrub(exc.user_message or "The card was declined.")) from exc
        except stripe.StripeError as exc:
            raise self._error("creating the payment", exc) from exc
        return Started(reference=pi.id, client_secret=pi.client_secret or "")

    async def fetch(self, payment: Payment) -> GatewayState:
        try:
            pi = await self._client.v1.payment_intents.retrieve_async(payment.reference)
        except stripe.StripeError as exc:
            raise self._error(f"reading payment {payment.reference}", exc) from exc
        return _payment_state(pi)

    # -- refunds -------------------------------------------------------------------------------------

    async def refund(self, request: RefundRequest) -> RefundAnswer:
        params: stripe.params.RefundCreateParams = {
            "payment_intent": request.payment_reference,
            "amount": to_stripe_units(request.amount, request.currency),
            "reason": "requested_by_customer",
            "metadata": {"refund_id": str(request.refund_id)},
        }
        try:
            refund = await self._client.v1.refunds.create_async(
                params, options={"idempotency_key": f"refund:{request.refund_id}"}
            )
        except stripe.StripeError as exc:
            raise self._error(f"refunding payment {request.payment_reference}", exc) from exc
        return _refund_answer(refund)

    async def refund_status(self, refund: Refund, payment: Payment) -> RefundAnswer:
        if not refund.reference:
            # Replaying the create would be the only way to find it, and it could refund again once
            # Stripe has pruned the idempotency key; leave it to staff instead.
            raise GatewayError(f"Refund {refund.id} has no Stripe reference to look up.")
        try:
            found = await self._client.v1.refunds.retrieve_async(refund.reference)
        except stripe.StripeError as exc:
            raise self._error(f"reading refund {refund.reference}", exc) from exc
        return _refund_answer(found)

    # -- webhooks ------------------------------------------------------------------------------------

    async def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
        signature = next((v for k, v in headers.items() if k.lower() == "stripe-signature"), None)
        if not signature:
            raise BadWebhook("The Stripe-Signature header is missing.")
        try:
            # Verifies the HMAC over the raw bytes (never re-serialised) and the timestamp, then parses.
            event = self._client.construct_event(body, signature, self._webhook_secret, WEBHOOK_TOLERANCE)
        except stripe.SignatureVerificationError as exc:
            raise BadWebhook(f"The Stripe signature does not check out: {exc.user_message}") from None
        except (ValueError, AttributeError, TypeError):
            # Signed, but not a v1 event: not UTF-8, not JSON, not a JSON object, or a thin v2 event.
            raise BadWebhook("The webhook body is not a Stripe event.") from None
        event_id, type_ = getattr(event, "id", None), getattr(event, "type", None)
        data = getattr(event, "data", None)
        obj = getattr(data, "object", None) if data is not None else None
        if not isinstance(event_id, str) or not isinstance(type_, str) or obj is None:
            raise BadWebhook("The webhook body is not a Stripe event.")
        if type_ in PAYMENT_EVENTS and isinstance(obj, stripe.PaymentIntent):
            state = _payment_state(obj)
            if state.payment_id is None:
                return None  # a PaymentIntent some other integration made
            return ProviderEvent(event_id=event_id, kind="payment", payment=state, type=type_)
        if type_ in REFUND_EVENTS and isinstance(obj, stripe.Refund):
            return ProviderEvent(event_id=event_id, kind="refund", refund=_refund_answer(obj), type=type_)
        if type_ == "charge.refunded" and isinstance(obj, stripe.Charge):
            return _charge_refunded(event_id, type_, obj)
        return None

    # -- errors --------------------------------------------------------------------------------------

    def _error(self, doing: str, exc: stripe.StripeError) -> GatewayError:
        status = f" (HTTP {exc.http_status})" if exc.http_status else ""
        detail = exc.user_message or "no details"
        return GatewayError(self._scrub(f"Stripe failed {doing}: {type(exc).__name__}{status}: {detail}"))

    def _scrub(self, message: str) -> str:
        """Stripe masks keys in its messages; make sure ours never carries the secret either."""
        return message.replace(self._secret_key, "sk_***") if self._secret_key else message


def _payment_state(pi: stripe.PaymentIntent) -> GatewayState:
    currency = pi.currency.upper()
    amount: int | None = None
    failure = ""
    if pi.status == "succeeded":
        outcome = Outcome.SUCCEEDED
        amount = from_stripe_units(pi.amount_received, currency)
    elif pi.status == "canceled":
        outcome = Outcome.CANCELLED
    elif pi.status == "requires_payment_method" and pi.last_payment_error is not None:
        # Declined (or 3-D Secure failed); the customer may still pay this PaymentIntent with another card.
        outcome = Outcome.FAILED
        failure = _failure(pi.last_payment_error)
    else:
        outcome = Outcome.PENDING
    return GatewayState(
        reference=pi.id,
        outcome=outcome,
        amount=amount,
        currency=currency,
        payment_id=_our_id(pi.metadata, "payment_id"),
        failure=failure,
    )


def _failure(error: stripe.PaymentIntent.LastPaymentError) -> str:
    """`card_declined/insufficient_funds: Your card has insufficient funds.` (parts present only)."""
    codes = "/".join(c for c in (error.code, getattr(error, "decline_code", None)) if c)
    message = getattr(error, "message", None) or ""
    return f"{codes}: {message}" if codes and message else codes or message or "declined"


def _refund_answer(refund: stripe.Refund) -> RefundAnswer:
    state = _REFUND_STATES.get(refund.status or "", RefundState.PENDING)
    failure = (refund.failure_reason or refund.status or "failed") if state is RefundState.FAILED else ""
    return RefundAnswer(reference=refund.id, state=state, failure=failure)


def _charge_refunded(event_id: str, type_: str, charge: stripe.Charge) -> ProviderEvent | None:
    """A refund of a charge, ours or made in the Stripe dashboard (then there is no Refund row of ours):
    the total refunded so far lets the service reconcile either way."""
    payment_id = _our_id(charge.metadata, "payment_id")  # Stripe copies the PaymentIntent's metadata
    pi = charge.payment_intent
    reference = pi if isinstance(pi, str) else pi.id if pi is not None else None
    if payment_id is None or reference is None:
        return None
    currency = charge.currency.upper()
    payment = GatewayState(
        reference=reference,
        outcome=Outcome.SUCCEEDED,
        amount=from_stripe_units(charge.amount, currency),
        currency=currency,
        payment_id=payment_id,
    )
    refunded = from_stripe_units(charge.amount_refunded, currency)
    return ProviderEvent(
        event_id=event_id, kind="refund", payment=payment, refund_amount=refunded, type=type_
    )


def _our_id(metadata: Any, key: str) -> int | None:
    """Our integer id from Stripe metadata, or None when absent or not ours."""
    value = metadata[key] if metadata is not None and key in metadata else None
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None
