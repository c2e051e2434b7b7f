"""The Stripe adapter against the local Stripe stand-in (the real SDK, over real HTTP)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from shop_core.adapters.stripe_gateway import StripeGateway
from shop_core.domain.orders import PaymentMethod
from shop_core.domain.payments import Outcome, Payment, PaymentState, Refund, RefundState
from shop_core.ports.payments import (
    BadWebhook,
    Customer,
    GatewayError,
    PaymentGateway,
    RefundRequest,
    StartRequest,
)
from tests.stand_ins.stripe_server import StripeStandIn

# stripe-python's HTTPXClient passes the form body as ``data=<str>``, which httpx 0.28 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning")

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CUSTOMER = Customer(
    name="Ada Lovelace",
    email="ada@example.com",
    phone="+4420000000",
    line1="1 Analytical St",
    city="London",
    postal_code="N1 1AA",
    country="GB",
)


@pytest.fixture
def stand_in() -> Iterator[StripeStandIn]:
    with StripeStandIn() as server:
        yield server


@pytest.fixture
async def gateway(stand_in: StripeStandIn) -> AsyncIterator[StripeGateway]:
    gw = StripeGateway(stand_in.api_key, stand_in.webhook_secret, api_base=stand_in.url, timeout=5)
    yield gw
    await gw.aclose()


def start_request(
    payment_id: int = 7, *, amount: int = 2500, currency: str = "USD", attempt: int = 1
) -> StartRequest:
    return StartRequest(
        payment_id=payment_id,
        order_id=42,
        order_number="SO-0042",
        attempt=attempt,
        amount=amount,
        currency=currency,
        customer=CUSTOMER,
        item_count=2,
        description="Order SO-0042",
    )


def payment(reference: str, *, amount: int = 2500, currency: str = "USD", payment_id: int = 7) -> Payment:
    return Payment(
        order_id=42,
        user_id=1,
        gateway=PaymentMethod.STRIPE,
        attempt=1,
        status=PaymentState.PENDING,
        amount=amount,
        currency=currency,
        created_at=NOW,
        updated_at=NOW,
        reference=reference,
        id=payment_id,
    )


def refund_request(reference: str, refund_id: int, amount: int, currency: str = "USD") -> RefundRequest:
    return RefundRequest(
        refund_id=refund_id,
        payment_reference=reference,
        amount=amount,
        currency=currency,
        reason="customer changed their mind",
    )


async def paid(gateway: StripeGateway, stand_in: StripeStandIn, **kwargs: Any) -> str:
    started = await gateway.start(start_request(**kwargs))
    assert stand_in.pay(started.reference)["status"] == "succeeded"
    return started.reference


def test_the_adapter_implements_the_port(gateway: StripeGateway) -> None:
    port: PaymentGateway = gateway
    assert port.gateway is PaymentMethod.STRIPE


# -- start ---------------------------------------------------------------------------------------------


async def test_start_creates_a_payment_intent_tied_to_our_ids(
    gateway: StripeGateway, stand_in: StripeStandIn
) -> None:
    started = await gateway.start(start_request())

    assert started.reference.startswith("pi_")
    assert started.client_secret.startswith(f"{started.reference}_secret_")
    pi = stand_in.payment_intent(started.reference)
    assert pi["amount"] == 2500
    assert pi["currency"] == "usd"
    assert pi["metadata"] == {"payment_id": "7", "order_id": "42", "order_number": "SO-0042"}
    assert pi["description"] == "Order SO-0042"
    assert pi["receipt_email"] == "ada@example.com"
    assert pi["automatic_payment_methods"]["allow_redirects"] == "never"
    [create] = [r for r in stand_in.requests if r.method == "POST"]
    assert create.idempotency_key == "payment:7:attempt:1:create"


async def test_a_zero_decimal_currency_is_sent_in_whole_units(
    gateway: StripeGateway, stand_in: StripeStandIn
) -> None:
    started = await gateway.start(start_request(amount=1500, currency="JPY"))  # 1500 yen
    pi = stand_in.payment_intent(started.reference)
    assert (pi["amount"], pi["currency"]) == (1500, "jpy")

    stand_in.pay(started.reference)
    state = await gateway.fetch(payment(started.reference, amount=1500, currency="JPY"))
    assert (state.outcome, state.amount, state.currency) == (Outcome.SUCCEEDED, 1500, "JPY")


async def test_starting_the_same_attempt_twice_makes_one_payment_intent(
    gateway: StripeGateway, stand_in: StripeStandIn
) -> None:
    first = await gateway.start(start_request())
    second = await gateway.start(start_request())

    assert second == first
    assert len(stand_in.payment_intents()) == 1
    another = await gateway.start(start_request(attempt=2))
    assert another.reference != first.reference
    assert len(stand_in.payment_intents()) == 2


async def test_server_errors_are_retried_with_the_same_idempotency_key(
    gateway: StripeGateway, stand_in: StripeStandIn
) -> None:
    stand_in.fail_next(2, 500)

    started = await gateway.start(start_request())

    assert [pi["id"] for pi in stand_in.payment_intents()] == [started.reference]
    posts = [r for r in stand_in.requests if r.method == "POST"]
    assert [r.status for r in posts] == [500, 500, 200]
    assert {r.idempotency_key for r in posts} == {"payment:7:attempt:1:create"}


async def test_server_errors_beyond_the_retries_are_a_gateway_error(
    gateway: StripeGateway, stand_in: StripeStandIn
) -> None:
    stand_in.fail_next(3, 500)

    with pytest.raises(GatewayError, match="HTTP 500"):
        await gateway.start(start_request())
    assert stand_in.payment_intents() == []


async def test_reusing_an_attempt_with_other_parameters_is_a_gateway_error(gateway: StripeGateway) -> None:
    await gateway.start(start_request(amount=2500))

    with pytest.raises(GatewayError, match="IdempotencyError"):
        await gateway.start(start_request(amount=3000))


async def test_an_amount_stripe_refuses_is_a_gateway_error(gateway: StripeGateway) -> None:
    with pytest.raises(GatewayError, match="InvalidRequestError"):
        await gateway.start(start_request(amount=0))


async def test_a_wrong_api_key_is_a_gateway_error_that_hides_the_key(stand_in: StripeStandIn) -> None:
    key = "sk_test_wrong_key_0123456789abcdef"
    gw = StripeGateway(key, stand_in.webhook_secret, api_base=stand_in.url)
    try:
        with pytest.raises(GatewayError) as caught:
            await gw.start(start_request())
    finally:
        await gw.aclose()

    message = str(caught.value)
    assert "AuthenticationError" in message
    assert "HTTP 401" in message
    assert key not in message
    assert stand_in.payment_intents() == []


async def test_an_unreachable_stripe_is_a_gateway_error(stand_in: StripeStandIn) -> None:
    url = stand_in.url
    stand_in.stop()
    gw = StripeGateway(stand_in.api_key, stand_in.webhook_secret, api_base=url, max_network_retries=0)
    try:
        with pytest.raises(GatewayError, match="APIConnectionError"):
            await gw.start(start_request())
    finally:
        await gw.aclose()


async def test_a_closed_gateway_makes_no_more_requests(stand_in: StripeStandIn) -> None:
    gw = StripeGateway(
        stand_in.api_key, stand_in.webhook_secret, api_base=stand_in.url, max_network_retries=0
    )
    await gw.start(start_request())
    await gw.aclose()

    with pytest.raises(GatewayError, match="APIConnectionError"):
        await gw.start(start_request(attempt=2))
    assert len(stand_in.requests) == 1


# -- fetch ---------------------------------------------------------------------------------------------


async def test_fetch_follows_the_payment_intent(gateway: StripeGateway, stand_in: StripeStandIn) -> None:
    started = await gateway.start(start_request())
    state = await gateway.fetch(payment(started.reference))
    assert (state.reference, state.outcome, state.amount) == (started.reference, Outcome.PENDING, None)
    assert state.payment_id == 7

    stand_in.pay(started.reference, "pm_card_visa")
    state = await gateway.fetch(payment(started.reference))

    assert state.outcome is Outcome.SUCCEEDED
    assert (state.amount, state.currency, state.payment_id, state.failure) == (2500, "USD", 7, "")


async def test_a_declined_card_fails_the_payment_until_another_card_pays(
    gateway: StripeGateway, stand_in: StripeStandIn
) -> None:
    started = await gateway.start(start_request())
    assert "error" in stand_in.pay(started.reference, "pm_card_chargeDeclined")

    state = await gateway.fetch(payment(started.reference))
    assert state.outcome is Outcome.FAILED
    assert state.failure == "card_declined/generic_decline: Your card was declined."
    assert state.amount is None

    stand_in.pay(started.reference, "pm_card_visa")
    state = await gateway.fetch(payment(started.reference))
    assert (state.outcome, state.amount, state.failure) == (Outcome.SUCCEEDED, 2500, "")


async def test_a_cancelled_payment_intent_is_cancelled(
    gateway: StripeGateway, stand_in: StripeStandIn
) -> None:
    started = await gateway.start(start_request())
    async with httpx.AsyncClient(base_url=stand_in.url) as http:
        answer = await http.post(
            f"/v1/payment_intents/{started.reference}/cancel",
            headers={"Authorization": f"Bearer {stand_in.api_key}"},
        )
    assert answer.status_code == 200

    state = await gateway.fetch(payment(started.reference))
    assert state.outcome is Outcome.CANCELLED


async def test_fetching_an_unknown_payment_intent_is_a_gateway_error(gateway: StripeGateway) -> None:
    with pytest.raises(GatewayError, match="No such payment_intent"):
        await gateway.fetch(payment("pi_unknown"))


# -- refunds -------------------------------------------------------------------------------------------


async def test_full_and_partial_refunds(gateway: StripeGateway, stand_in: StripeStandIn) -> None:
    reference = await paid(gateway, stand_in)

    partial = await gateway.refund(refund_request(reference, refund_id=1, amount=1000))
    assert partial.state is RefundState.SUCCEEDED
    stored = stand_in.refund(partial.reference)
    assert (stored["amount"], stored["reason"]) == (1000, "requested_by_customer")
    assert stored["metadata"] == {"refund_id": "1"}

    rest = await gateway.refund(refund_request(reference, refund_id=2, amount=1500))
    assert rest.state is RefundState.SUCCEEDED
    assert stand_in.refund(rest.reference)["amount"] == 1500
    assert sum(r["amount"] for r in stand_in.refunds()) == 2500


async def test_a_zero_decimal_refund_is_sent_in_whole_units(
    gateway: StripeGateway, stand_in: StripeStandIn
) -> None:
    reference = await paid(gateway, stand_in, amount=1500, currency="JPY")

    answer = await gateway.refund(refund_request(reference, refund_id=1, amount=500, currency="JPY"))

    assert stand_in.refund(answer.reference)["amount"] == 500


async def test_refunding_more_than_was_paid_is_a_gateway_error(
    gateway: StripeGateway, stand_in: StripeStandIn
) -> None:
    reference = await paid(gateway, stand_in)
    await gateway.refund(refund_request(reference, refund_id=1, amount=2000))

    with pytest.raises(GatewayError, match="greater than unrefunded amount"):
        await gateway.refund(refund_request(reference, refund_id=2, amount=1000))
    assert len(stand_in.refunds()) == 1


async def test_a_refund_is_idempotent_by_its_id(gateway: StripeGateway, stand_in: StripeStandIn) -> None:
    reference = await paid(gateway, stand_in)

    first = await gateway.refund(refund_request(reference, refund_id=9, amount=1000))
    second = await gateway.refund(refund_request(reference, refund_id=9, amount=1000))

    assert second == first
    assert [r["id"] for r in stand_in.refunds()] == [first.reference]
    keys = {r.idempotency_key for r in stand_in.requests if r.path == "/v1/refunds"}
    assert keys == {"refund:9"}


async def test_a_pending_refund_settles_later(gateway: StripeGateway, stand_in: StripeStandIn) -> None:
    reference = await paid(gateway, stand_in)
    stand_in.set_refund_mode("pending")
    ok = await gateway.refund(refund_request(reference, refund_id=1, amount=1000))
    bad = await gateway.refund(refund_request(reference, refund_id=2, amount=1000))
    assert (ok.state, bad.state) == (RefundState.PENDING, RefundState.PENDING)

    def row(refund_id: int, ref: str) -> Refund:
        return Refund(
            payment_id=7,
            amount=1000,
            status=RefundState.PENDING,
            reason="",
            actor="staff:1",
            created_at=NOW,
            updated_at=NOW,
            reference=ref,
            id=refund_id,
        )

    assert (
        await gateway.refund_status(row(1, ok.reference), payment(reference))
    ).state is RefundState.PENDING
    stand_in.settle_refund(ok.reference)
    stand_in.settle_refund(bad.reference, "failed")

    settled = await gateway.refund_status(row(1, ok.reference), payment(reference))
    failed = await gateway.refund_status(row(2, bad.reference), payment(reference))
    assert (settled.reference, settled.state) == (ok.reference, RefundState.SUCCEEDED)
    assert (failed.state, failed.failure) == (RefundState.FAILED, "unknown")
    with pytest.raises(GatewayError):
        await gateway.refund_status(row(3, ""), payment(reference))


async def test_refunding_an_unpaid_payment_is_a_gateway_error(gateway: StripeGateway) -> None:
    started = await gateway.start(start_request())
    with pytest.raises(GatewayError, match="does not have a successful charge"):
        await gateway.refund(refund_request(started.reference, refund_id=1, amount=1000))


# -- webhooks ------------------------------------------------------------------------------------------


async def test_a_payment_succeeded_event(gateway: StripeGateway, stand_in: StripeStandIn) -> None:
    reference = await paid(gateway, stand_in)
    [event] = stand_in.events_of("payment_intent.succeeded")
    body, headers = stand_in.webhook(event)

    parsed = await gateway.parse_webhook(body, headers)

    assert parsed is not None
    assert (parsed.event_id, parsed.kind, parsed.type) == (event["id"], "payment", "payment_intent.succeeded")
    assert parsed.payment is not None
    assert parsed.payment.reference == reference
    assert (parsed.payment.outcome, parsed.payment.amount, parsed.payment.currency) == (
        Outcome.SUCCEEDED,
        2500,
        "USD",
    )
    assert parsed.payment.payment_id == 7


async def test_the_signature_header_is_found_whatever_its_case(
    gateway: StripeGateway, stand_in: StripeStandIn
) -> None:
    await paid(gateway, stand_in)
    body, headers = stand_in.webhook(stand_in.events_of("payment_intent.succeeded")[0])

    parsed = await gateway.parse_webhook(body, {k.lower(): v for k, v in headers.items()})

    assert parsed is not None
    assert parsed.kind == "payment"


async def test_a_payment_failed_event(gateway: StripeGateway, stand_in: StripeStandIn) -> None:
    started = await gateway.start(start_request())
    stand_in.pay(started.reference, "pm_card_chargeDeclinedInsufficientFunds")
    [event] = stand_in.events_of("payment_intent.payment_failed")

    parsed = await gateway.parse_webhook(*stand_in.webhook(event))

    assert parsed is not None
    assert parsed.payment is not None
    assert parsed.payment.outcome is Outcome.FAILED
    assert parsed.payment.failure.startswith("card_declined/insufficient_funds")


async def test_refund_events(gateway: StripeGateway, stand_in: StripeStandIn) -> None:
    reference = await paid(gateway, stand_in)
    answer = await gateway.refund(refund_request(reference, refund_id=1, amount=1000))
    [created] = stand_in.events_of("refund.created")
    [refunded] = stand_in.events_of("charge.refunded")

    parsed = await gateway.parse_webhook(*stand_in.webhook(created))
    assert parsed is not None
    assert (parsed.kind, parsed.type, parsed.refund) == ("refund", "refund.created", answer)

    parsed = await gateway.parse_webhook(*stand_in.webhook(refunded))
    assert parsed is not None
    assert (parsed.kind, parsed.refund, parsed.refund_amount) == ("refund", None, 1000)
    assert parsed.payment is not None
    assert (parsed.payment.reference, parsed.payment.outcome) == (reference, Outcome.SUCCEEDED)
    assert (parsed.payment.amount, parsed.payment.payment_id) == (2500, 7)


async def test_a_refund_that_fails_later(gateway: StripeGateway, stand_in: StripeStandIn) -> None:
    reference = await paid(gateway, stand_in)
    stand_in.set_refund_mode("pending")
    answer = await gateway.refund(refund_request(reference, refund_id=1, amount=1000))
    stand_in.settle_refund(answer.reference, "failed")
    [event] = stand_in.events_of("refund.failed")

    parsed = await gateway.parse_webhook(*stand_in.webhook(event))

    assert parsed is not None
    assert parsed.refund is not None
    assert (parsed.refund.reference, parsed.refund.state) == (answer.reference, RefundState.FAILED)


async def test_events_of_no_payment_of_ours_are_ignored(
    gateway: StripeGateway, stand_in: StripeStandIn
) -> None:
    await paid(gateway, stand_in)
    [event] = stand_in.events_of("payment_intent.succeeded")
    del event["data"]["object"]["metadata"]["payment_id"]
    assert await gateway.parse_webhook(*stand_in.webhook(event)) is None

    [other] = stand_in.events_of("charge.succeeded")
    assert await gateway.parse_webhook(*stand_in.webhook(other)) is None


async def test_bad_webhooks_are_refused(gateway: StripeGateway, stand_in: StripeStandIn) -> None:
    await paid(gateway, stand_in)
    event = stand_in.events_of("payment_intent.succeeded")[0]
    body, headers = stand_in.webhook(event)
    signature = headers["Stripe-Signature"]

    tampered = body.replace(b'"amount_received": 2500', b'"amount_received": 1')
    assert tampered != body
    refused: list[tuple[bytes, dict[str, str]]] = [
        (tampered, headers),
        stand_in.webhook(event, secret="whsec_someone_else"),
        stand_in.webhook(event, timestamp=int(time.time()) - 301),
        (body, {"Content-Type": "application/json"}),
        (body, {"Stripe-Signature": ""}),
        (body, {"Stripe-Signature": "garbage"}),
        (body, {"Stripe-Signature": signature.replace("v1=", "v0=")}),
        (b"garbage", {"Stripe-Signature": stand_in.sign(b"garbage")}),
        (b"[1, 2]", {"Stripe-Signature": stand_in.sign(b"[1, 2]")}),
        (b"{}", {"Stripe-Signature": stand_in.sign(b"{}")}),
        (b"\xff\xfe", {"Stripe-Signature": signature}),
    ]
    for bad_body, bad_headers in refused:
        with pytest.raises(BadWebhook):
            await gateway.parse_webhook(bad_body, bad_headers)

    # The raw bytes are what is signed: the same event re-serialised differently is refused too.
    reserialised = json.dumps(json.loads(body), separators=(",", ":")).encode()
    with pytest.raises(BadWebhook):
        await gateway.parse_webhook(reserialised, headers)
    assert await gateway.parse_webhook(body, headers) is not None
