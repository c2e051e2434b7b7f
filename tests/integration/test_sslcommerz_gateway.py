"""The SSLCommerz adapter against the local SSLCommerz stand-in (PAYMENTS.md §B, §C2)."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import pytest

from shop_core.adapters.sslcommerz_gateway import RISK_HOLD, SslcommerzGateway
from shop_core.domain.orders import PaymentMethod
from shop_core.domain.payments import Outcome, Payment, PaymentState, Refund, RefundState
from shop_core.ports.payments import (
    BadWebhook,
    Customer,
    GatewayError,
    GatewayState,
    ProviderEvent,
    RefundRequest,
    StartRequest,
)
from tests.stand_ins.sslcommerz_server import SslcommerzStandIn

PUBLIC = "https://shop.example.com"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
CUSTOMER = Customer(
    name="Rahim Uddin",
    email="rahim@example.com",
    phone="01700000000",
    line1="House 1, Road 2",
    city="Dhaka",
    postal_code="1207",
    country="Bangladesh",
)


@pytest.fixture
def stand_in() -> Iterator[SslcommerzStandIn]:
    with SslcommerzStandIn() as server:
        yield server


def make_gateway(stand_in: SslcommerzStandIn, **overrides: str) -> SslcommerzGateway:
    return SslcommerzGateway(
        overrides.get("store_id", stand_in.store_id),
        overrides.get("store_password", stand_in.store_password),
        base_url=overrides.get("base_url", stand_in.url),
        public_base_url=PUBLIC,
        timeout=5,
    )


@pytest.fixture
async def gateway(stand_in: SslcommerzStandIn) -> AsyncIterator[SslcommerzGateway]:
    adapter = make_gateway(stand_in)
    yield adapter
    await adapter.aclose()


def start_request(
    amount: int = 1250, attempt: int = 1, order_number: str = "ORD-2026-8K4Q2P7Z", currency: str = "BDT"
) -> StartRequest:
    return StartRequest(
        payment_id=41,
        order_id=7,
        order_number=order_number,
        attempt=attempt,
        amount=amount,
        currency=currency,
        customer=CUSTOMER,
        item_count=2,
        description="Widget, Gadget",
    )


def payment(reference: str, amount: int = 1250) -> Payment:
    return Payment(
        order_id=7,
        user_id=3,
        gateway=PaymentMethod.SSLCOMMERZ,
        attempt=1,
        status=PaymentState.PENDING,
        amount=amount,
        currency="BDT",
        created_at=NOW,
        updated_at=NOW,
        reference=reference,
        id=41,
    )


def body(ipn: dict[str, str]) -> bytes:
    return urlencode(ipn).encode()


HEADERS = {"content-type": "application/x-www-form-urlencoded"}


async def started(gateway: SslcommerzGateway, stand_in: SslcommerzStandIn, attempt: int = 1) -> str:
    """Start a payment; its sessionkey at the stand-in."""
    answer = await gateway.start(start_request(attempt=attempt))
    return stand_in.session_for(answer.reference).sessionkey


async def paid_event(
    gateway: SslcommerzGateway,
    stand_in: SslcommerzStandIn,
    *,
    risk_level: str = "0",
    amount: str | None = None,
    sha2: bool = True,
) -> tuple[ProviderEvent, dict[str, str]]:
    key = await started(gateway, stand_in)
    ipn = stand_in.complete(key, "VALID", risk_level=risk_level, amount=amount, sha2=sha2)
    event = await gateway.parse_webhook(body(ipn), HEADERS)
    assert event is not None
    return event, ipn


def state_of(event: ProviderEvent) -> GatewayState:
    assert event.kind == "payment"
    assert event.payment is not None
    return event.payment


# ----------------------------------------------------------------------------- start


async def test_start_opens_a_session_with_exact_amount_and_our_urls(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    answer = await gateway.start(start_request(amount=1250))

    assert answer.reference == "ORD-2026-8K4Q2P7Z-1"
    session = stand_in.session_for("ORD-2026-8K4Q2P7Z-1")
    assert answer.redirect_url == f"{stand_in.url}/EasyCheckOut/test{session.sessionkey}"
    assert session.amount == "12.50"
    assert session.params["total_amount"] == "12.50"
    assert session.currency == "BDT"
    assert session.ipn_url == f"{PUBLIC}/api/payments/webhook/sslcommerz/"
    assert session.success_url == session.fail_url == session.cancel_url
    assert session.success_url == f"{PUBLIC}/api/payments/sslcommerz/return/"
    assert session.values["value_a"] == "41"
    assert session.values["value_b"] == "ORD-2026-8K4Q2P7Z"
    assert session.customer["cus_phone"] == "01700000000"
    assert session.params["shipping_method"] == "NO"
    assert session.params["num_of_item"] == "2"
    init = [r for r in stand_in.requests if r.path == "/gwprocess/v4/api.php"]
    assert [(r.method, r.content_type) for r in init] == [("POST", "application/x-www-form-urlencoded")]


async def test_start_sends_fallbacks_for_missing_customer_fields(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    bare = Customer(name="", email="a@b.example", phone="", line1="", city="", postal_code="", country="")
    request = start_request()
    await gateway.start(StartRequest(**{**request.__dict__, "customer": bare}))

    customer = stand_in.session_for("ORD-2026-8K4Q2P7Z-1").customer
    assert customer["cus_phone"] == "N/A"
    assert customer["cus_add1"] == "N/A"
    assert customer["cus_name"] == "Customer"
    assert customer["cus_country"] == "Bangladesh"


async def test_bad_credentials_are_a_gateway_error_without_the_password(stand_in: SslcommerzStandIn) -> None:
    adapter = make_gateway(stand_in, store_password="s3cret-Wrong-pw")
    try:
        with pytest.raises(GatewayError, match="Store Credential Error") as raised:
            await adapter.start(start_request())
    finally:
        await adapter.aclose()
    assert "s3cret-Wrong-pw" not in str(raised.value)
    assert stand_in.sessions == {}


async def test_an_amount_under_ten_taka_is_a_gateway_error(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    with pytest.raises(GatewayError, match=r"10\.00 BDT"):
        await gateway.start(start_request(amount=999))
    assert stand_in.sessions == {}


async def test_a_too_long_tran_id_is_refused_before_calling(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    with pytest.raises(GatewayError, match="30"):
        await gateway.start(start_request(order_number="ORD-2026-" + "X" * 30))
    assert stand_in.requests == []


async def test_an_unreachable_gateway_is_a_quick_gateway_error(stand_in: SslcommerzStandIn) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    adapter = SslcommerzGateway(
        stand_in.store_id,
        stand_in.store_password,
        base_url=f"http://127.0.0.1:{port}",
        public_base_url=PUBLIC,
        timeout=0.5,
    )
    began = time.monotonic()
    try:
        with pytest.raises(GatewayError, match="could not be reached") as raised:
            await adapter.start(start_request())
        with pytest.raises(GatewayError, match="could not be reached"):
            await adapter.fetch(payment("ORD-2026-8K4Q2P7Z-1"))
    finally:
        await adapter.aclose()
    assert time.monotonic() - began < 3
    assert stand_in.store_password not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def mocked(answer: httpx.Response) -> SslcommerzGateway:
    """An adapter on an https base URL whose every call gets `answer` (no network)."""
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: answer))
    return SslcommerzGateway(
        "store", "pw-Secret", base_url="https://sandbox.example", public_base_url=PUBLIC, client=client
    )


async def test_an_http_gateway_page_is_refused_when_the_gateway_is_https() -> None:
    page = {"status": "SUCCESS", "GatewayPageURL": "http://sandbox.example/EasyCheckOut/testABC"}
    adapter = mocked(httpx.Response(200, json=page))
    with pytest.raises(GatewayError, match="https"):
        await adapter.start(start_request())
    await adapter.aclose()  # a given client is the caller's to close
    assert not adapter._http.is_closed
    await adapter._http.aclose()


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(503, json={"status": "FAILED"}),
    ],
    ids=["html", "json-list", "http-503"],
)
async def test_odd_answers_are_gateway_errors(answer: httpx.Response) -> None:
    adapter = mocked(answer)
    try:
        with pytest.raises(GatewayError) as raised:
            await adapter.fetch(payment("ORD-2026-8K4Q2P7Z-1"))
    finally:
        await adapter._http.aclose()
    assert "pw-Secret" not in str(raised.value)


# ----------------------------------------------------------------------------- IPN


async def test_a_valid_ipn_is_validated_and_succeeds(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    event, ipn = await paid_event(gateway, stand_in)

    state = state_of(event)
    assert state.outcome is Outcome.SUCCEEDED
    assert state.reference == "ORD-2026-8K4Q2P7Z-1"
    assert state.amount == 1250
    assert state.currency == "BDT"
    assert state.payment_id == 41
    assert state.hold_reason == ""
    assert state.provider_data == {"bank_tran_id": ipn["bank_tran_id"], "val_id": ipn["val_id"]}
    assert event.event_id == f"ipn:{ipn['val_id']}"
    assert event.type == "VALID"
    validations = [r for r in stand_in.requests if r.path == "/validator/api/validationserverAPI.php"]
    assert [r.params["val_id"] for r in validations] == [ipn["val_id"]]


async def test_the_same_ipn_twice_carries_the_same_event_id(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    event, ipn = await paid_event(gateway, stand_in)
    again = await gateway.parse_webhook(body(ipn), HEADERS)

    assert again is not None
    assert again.event_id == event.event_id
    assert state_of(again).outcome is Outcome.SUCCEEDED  # VALIDATED the second time


async def test_a_tampered_amount_is_a_bad_webhook(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    ipn = stand_in.complete(await started(gateway, stand_in), "VALID", tamper={"amount": "1.00"})
    with pytest.raises(BadWebhook, match="signature"):
        await gateway.parse_webhook(body(ipn), HEADERS)
    assert not [r for r in stand_in.requests if r.path == "/validator/api/validationserverAPI.php"]


async def test_an_ipn_signed_with_another_password_is_a_bad_webhook(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    ipn = stand_in.complete(await started(gateway, stand_in), "VALID")
    forged = stand_in.sign({**ipn, "amount": "1000.00"}, store_password="guessed")
    with pytest.raises(BadWebhook):
        await gateway.parse_webhook(body(forged), HEADERS)


async def test_an_ipn_of_another_store_is_a_bad_webhook(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    ipn = stand_in.complete(await started(gateway, stand_in), "VALID")
    other = stand_in.sign({**ipn, "store_id": "otherstore"})  # validly signed, with our password
    with pytest.raises(BadWebhook, match="another store"):
        await gateway.parse_webhook(body(other), HEADERS)


async def test_an_unknown_val_id_is_a_bad_webhook(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    ipn = stand_in.complete(await started(gateway, stand_in), "VALID")
    forged = stand_in.sign({**ipn, "val_id": "260101000000999NotAValId00"})
    with pytest.raises(BadWebhook, match="does not confirm"):
        await gateway.parse_webhook(body(forged), HEADERS)


async def test_a_val_id_of_another_transaction_is_a_bad_webhook(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    first = stand_in.complete(await started(gateway, stand_in), "VALID")
    second_key = await started(gateway, stand_in, attempt=2)
    second = stand_in.complete(second_key, "VALID")
    mixed = stand_in.sign({**second, "val_id": first["val_id"]})
    with pytest.raises(BadWebhook, match="another transaction"):
        await gateway.parse_webhook(body(mixed), HEADERS)


async def test_a_differing_amount_succeeds_with_what_was_paid(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    event, _ = await paid_event(gateway, stand_in, amount="11.00")
    state = state_of(event)
    assert state.outcome is Outcome.SUCCEEDED
    assert state.amount == 1100  # the domain compares it with the order's 1250 and holds it


async def test_a_foreign_currency_reports_what_the_customer_was_asked(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    key = (await gateway.start(start_request(amount=1250, currency="USD"))).reference
    ipn = stand_in.complete(stand_in.session_for(key).sessionkey, "VALID")
    assert ipn["currency"] == "BDT"
    assert ipn["amount"] == "1375.00"

    event = await gateway.parse_webhook(body(ipn), HEADERS)
    assert event is not None
    assert (state_of(event).amount, state_of(event).currency) == (1250, "USD")


async def test_risk_level_one_asks_for_a_hold(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    event, _ = await paid_event(gateway, stand_in, risk_level="1")
    state = state_of(event)
    assert state.outcome is Outcome.SUCCEEDED
    assert state.hold_reason == RISK_HOLD == "SSLCommerz risk_level 1: hold for review"


async def test_an_ipn_without_sha2_passes_on_md5(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    event, ipn = await paid_event(gateway, stand_in, sha2=False)
    assert "verify_sign_sha2" not in ipn
    assert state_of(event).outcome is Outcome.SUCCEEDED


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("FAILED", Outcome.FAILED),
        ("CANCELLED", Outcome.CANCELLED),
        ("UNATTEMPTED", Outcome.CANCELLED),
        ("EXPIRED", Outcome.CANCELLED),
    ],
)
async def test_unpaid_ipns_report_their_outcome(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn, status: str, outcome: Outcome
) -> None:
    ipn = stand_in.complete(await started(gateway, stand_in), status)
    event = await gateway.parse_webhook(body(ipn), HEADERS)

    assert event is not None
    state = state_of(event)
    assert state.outcome is outcome
    assert state.reference == "ORD-2026-8K4Q2P7Z-1"
    assert state.failure == ipn["error"] != ""
    assert event.event_id == f"ipn:ORD-2026-8K4Q2P7Z-1:{status}"
    assert not [r for r in stand_in.requests if r.path == "/validator/api/validationserverAPI.php"]


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe" + b"tran_id=x",
        b"tran_id=%FF%FE",
        b"a=" + b"x" * (64 * 1024),
        b"",
        b'{"tran_id": "x"}',
    ],
    ids=["not-utf8", "escaped-not-utf8", "too-large", "empty", "json"],
)
async def test_malformed_bodies_are_bad_webhooks(gateway: SslcommerzGateway, raw: bytes) -> None:
    with pytest.raises(BadWebhook):
        await gateway.parse_webhook(raw, HEADERS)


async def test_a_field_repeated_with_another_value_is_a_bad_webhook(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    ipn = stand_in.complete(await started(gateway, stand_in), "VALID")
    with pytest.raises(BadWebhook, match="repeats"):
        await gateway.parse_webhook(body(ipn) + b"&amount=1.00", HEADERS)
    same_twice = await gateway.parse_webhook(body(ipn) + b"&amount=" + ipn["amount"].encode(), HEADERS)
    assert same_twice is not None


async def test_a_validation_outage_is_a_gateway_error(stand_in: SslcommerzStandIn) -> None:
    adapter = make_gateway(stand_in)
    try:
        ipn = stand_in.complete(await started(adapter, stand_in), "VALID")
        stand_in.stop()
        with pytest.raises(GatewayError):
            await adapter.parse_webhook(body(ipn), HEADERS)
    finally:
        await adapter.aclose()


# ----------------------------------------------------------------------------- fetch


async def test_fetch_finds_a_payment_whose_ipn_never_came(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    ipn = stand_in.complete(await started(gateway, stand_in), "VALID")  # withheld: never delivered

    state = await gateway.fetch(payment("ORD-2026-8K4Q2P7Z-1"))

    assert state.outcome is Outcome.SUCCEEDED
    assert state.amount == 1250
    assert state.currency == "BDT"
    assert state.payment_id == 41
    assert state.provider_data == {"bank_tran_id": ipn["bank_tran_id"], "val_id": ipn["val_id"]}
    paths = [r.path for r in stand_in.requests]
    assert paths[-2:] == [
        "/validator/api/merchantTransIDvalidationAPI.php",
        "/validator/api/validationserverAPI.php",
    ]


async def test_fetch_prefers_the_paid_element(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    key = await started(gateway, stand_in)
    stand_in.complete(key, "FAILED")
    stand_in.complete(key, "VALID", risk_level="1")
    state = await gateway.fetch(payment("ORD-2026-8K4Q2P7Z-1"))
    assert state.outcome is Outcome.SUCCEEDED
    assert state.hold_reason == RISK_HOLD


async def test_fetch_of_an_unknown_tran_id_is_pending(gateway: SslcommerzGateway) -> None:
    state = await gateway.fetch(payment("ORD-2026-NOSUCHONE-1"))
    assert state.outcome is Outcome.PENDING
    assert state.reference == "ORD-2026-NOSUCHONE-1"


async def test_fetch_of_an_unfinished_session_is_pending(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    await started(gateway, stand_in)
    assert (await gateway.fetch(payment("ORD-2026-8K4Q2P7Z-1"))).outcome is Outcome.PENDING


@pytest.mark.parametrize(
    ("status", "outcome"), [("FAILED", Outcome.FAILED), ("CANCELLED", Outcome.CANCELLED)]
)
async def test_fetch_reports_an_unpaid_attempt(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn, status: str, outcome: Outcome
) -> None:
    stand_in.complete(await started(gateway, stand_in), status)
    state = await gateway.fetch(payment("ORD-2026-8K4Q2P7Z-1"))
    assert state.outcome is outcome
    assert state.failure


async def test_fetch_with_bad_credentials_is_a_gateway_error(stand_in: SslcommerzStandIn) -> None:
    adapter = make_gateway(stand_in, store_password="s3cret-Wrong-pw")
    try:
        with pytest.raises(GatewayError, match="INVALID_REQUEST") as raised:
            await adapter.fetch(payment("ORD-2026-8K4Q2P7Z-1"))
    finally:
        await adapter.aclose()
    assert "s3cret-Wrong-pw" not in str(raised.value)


async def test_the_password_is_redacted_from_httpx_request_logs(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="httpx"):
        await gateway.fetch(payment("ORD-2026-8K4Q2P7Z-1"))
    logged = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert logged
    assert all(stand_in.store_password not in line for line in logged)
    assert any("store_passwd=%2A%2A%2A" in line or "store_passwd=***" in line for line in logged)


# ----------------------------------------------------------------------------- refunds


async def paid_data(gateway: SslcommerzGateway, stand_in: SslcommerzStandIn) -> dict[str, str]:
    event, _ = await paid_event(gateway, stand_in)
    return dict(state_of(event).provider_data)


def refund_request(
    provider_data: dict[str, str], refund_id: int, amount: int, reason: str = ""
) -> RefundRequest:
    return RefundRequest(
        refund_id=refund_id,
        payment_reference="ORD-2026-8K4Q2P7Z-1",
        amount=amount,
        currency="BDT",
        reason=reason,
        provider_data=provider_data,
    )


def refund_of(reference: str, amount: int) -> Refund:
    return Refund(
        payment_id=41,
        amount=amount,
        status=RefundState.PENDING,
        reason="",
        actor="staff:1",
        created_at=NOW,
        updated_at=NOW,
        reference=reference,
        id=5,
    )


async def test_a_full_refund_succeeds(gateway: SslcommerzGateway, stand_in: SslcommerzStandIn) -> None:
    data = await paid_data(gateway, stand_in)
    answer = await gateway.refund(refund_request(data, refund_id=5, amount=1250))

    assert answer.state is RefundState.SUCCEEDED
    refund = stand_in.refunds[answer.reference]
    assert str(refund.amount) == "12.50"
    assert refund.refund_trans_id == "R5"
    assert refund.refe_id == "5"
    assert refund.remarks == "Refund"
    assert refund.bank_tran_id == data["bank_tran_id"]
    status = await gateway.refund_status(refund_of(answer.reference, 1250), payment("ORD-2026-8K4Q2P7Z-1"))
    assert (status.reference, status.state) == (answer.reference, RefundState.SUCCEEDED)


async def test_partial_refunds_add_up_and_an_over_refund_is_refused(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    data = await paid_data(gateway, stand_in)
    first = await gateway.refund(refund_request(data, refund_id=5, amount=500, reason="Damaged box"))
    second = await gateway.refund(refund_request(data, refund_id=6, amount=500))

    assert first.state is second.state is RefundState.SUCCEEDED
    assert first.reference != second.reference
    assert stand_in.refunds[first.reference].remarks == "Damaged box"
    with pytest.raises(GatewayError, match="exceeds"):
        await gateway.refund(refund_request(data, refund_id=7, amount=251))
    assert len(stand_in.refunds) == 2
    last = await gateway.refund(refund_request(data, refund_id=8, amount=250))
    assert last.state is RefundState.SUCCEEDED


async def test_a_refund_is_idempotent_by_refund_id(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    data = await paid_data(gateway, stand_in)
    first = await gateway.refund(refund_request(data, refund_id=5, amount=1250))
    again = await gateway.refund(refund_request(data, refund_id=5, amount=1250))

    assert again == first
    assert len(stand_in.refunds) == 1


async def test_a_processing_refund_is_pending_until_settled(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    data = await paid_data(gateway, stand_in)
    stand_in.set_refund_mode("processing")
    answer = await gateway.refund(refund_request(data, refund_id=5, amount=1250))
    assert answer.state is RefundState.PENDING

    pay = payment("ORD-2026-8K4Q2P7Z-1")
    assert (await gateway.refund_status(refund_of(answer.reference, 1250), pay)).state is RefundState.PENDING
    stand_in.settle_refund(answer.reference)
    settled = await gateway.refund_status(refund_of(answer.reference, 1250), pay)
    assert (settled.reference, settled.state) == (answer.reference, RefundState.SUCCEEDED)


async def test_a_cancelled_refund_has_failed(gateway: SslcommerzGateway, stand_in: SslcommerzStandIn) -> None:
    data = await paid_data(gateway, stand_in)
    stand_in.set_refund_mode("processing")
    answer = await gateway.refund(refund_request(data, refund_id=5, amount=1250))
    stand_in.settle_refund(answer.reference, "cancelled")

    status = await gateway.refund_status(refund_of(answer.reference, 1250), payment("ORD-2026-8K4Q2P7Z-1"))
    assert status.state is RefundState.FAILED
    assert status.failure


async def test_refund_status_of_an_unknown_reference_is_a_gateway_error(gateway: SslcommerzGateway) -> None:
    with pytest.raises(GatewayError, match="Invalid refund_ref_id"):
        await gateway.refund_status(refund_of("RFNOSUCH", 100), payment("ORD-2026-8K4Q2P7Z-1"))


async def test_a_refund_without_bank_tran_id_is_refused_before_calling(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    with pytest.raises(GatewayError, match="bank_tran_id"):
        await gateway.refund(refund_request({}, refund_id=5, amount=100))
    assert stand_in.requests == []


async def test_a_non_bdt_refund_is_refused_before_calling(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    data = await paid_data(gateway, stand_in)
    before = len(stand_in.requests)
    usd = RefundRequest(
        refund_id=5, payment_reference="x", amount=100, currency="USD", reason="", provider_data=data
    )
    with pytest.raises(GatewayError, match="only BDT"):
        await gateway.refund(usd)
    assert len(stand_in.requests) == before
    assert stand_in.refunds == {}


async def test_provider_data_round_trips_through_the_payment_json(
    gateway: SslcommerzGateway, stand_in: SslcommerzStandIn
) -> None:
    data = await paid_data(gateway, stand_in)
    stored = json.loads(json.dumps(data))  # as Payment.provider_data keeps it
    answer = await gateway.refund(refund_request(stored, refund_id=9, amount=100))
    assert answer.state is RefundState.SUCCEEDED
