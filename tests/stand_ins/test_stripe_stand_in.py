"""The Stripe stand-in speaks the protocol the real stripe-python SDK (sync and async) expects."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import stripe
from stripe._api_version import _ApiVersion

from tests.stand_ins.stripe_server import IDEMPOTENCY_MISMATCH, StripeStandIn, decode_form

NO_REDIRECTS: Any = {"enabled": True, "allow_redirects": "never"}

# stripe-python's HTTPXClient passes the form body as ``data=<str>``, which httpx 0.28 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning")


@pytest.fixture
def fake() -> Iterator[StripeStandIn]:
    with StripeStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def client(fake: StripeStandIn) -> Iterator[stripe.StripeClient]:
    sdk = stripe.StripeClient(fake.api_key, base_addresses={"api": fake.url}, max_network_retries=2)
    yield sdk
    _http(sdk).close()


@pytest.fixture
async def async_client(fake: StripeStandIn) -> AsyncIterator[stripe.StripeClient]:
    sdk = stripe.StripeClient(fake.api_key, base_addresses={"api": fake.url}, max_network_retries=2)
    yield sdk
    await _http(sdk).close_async()


def _http(sdk: stripe.StripeClient) -> stripe.HTTPClient:
    """The SDK's own HTTP client (requests for sync calls, with an httpx fallback for async ones)."""
    http = sdk._requestor._client
    assert http is not None
    return http


def _create(client: stripe.StripeClient, amount: int = 2500, **extra: Any) -> stripe.PaymentIntent:
    params: dict[str, Any] = {
        "amount": amount,
        "currency": "usd",
        "metadata": {"order_id": "42"},
        "automatic_payment_methods": NO_REDIRECTS,
        **extra,
    }
    return client.v1.payment_intents.create(params)  # type: ignore[arg-type]


def _posts(fake: StripeStandIn, path: str) -> list[Any]:
    return [r for r in fake.requests if r.method == "POST" and r.path == path]


# -- transport --------------------------------------------------------------------------------------------


def test_decode_form_builds_nested_dicts_and_lists() -> None:
    raw = "amount=5&metadata[order_id]=42&metadata[0]=x&a[b][c]=d&expand[0]=x&expand[1]=y&l[]=p&l[]=q&e="
    assert decode_form(raw) == {
        "amount": "5",
        "metadata": {"order_id": "42", "0": "x"},
        "a": {"b": {"c": "d"}},
        "expand": ["x", "y"],
        "l": ["p", "q"],
        "e": "",
    }


def test_sdk_wire_format_is_recorded(fake: StripeStandIn, client: stripe.StripeClient) -> None:
    pi = _create(client, description="Order 42", receipt_email="a@example.com")

    request = _posts(fake, "/v1/payment_intents")[0]
    assert request.headers["authorization"] == f"Bearer {fake.api_key}"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["stripe-version"] == _ApiVersion.CURRENT
    assert request.idempotency_key  # the SDK generates one for every POST
    assert b"metadata[order_id]=42" in request.body
    assert request.params["automatic_payment_methods"] == {"enabled": "true", "allow_redirects": "never"}
    assert request.status == 200
    assert pi.description == "Order 42"
    assert pi.receipt_email == "a@example.com"
    assert pi.last_response is not None
    assert pi.last_response.request_id is not None
    assert pi.last_response.request_id.startswith("req_")
    assert pi.last_response.idempotency_key == request.idempotency_key


def test_unknown_route_and_unknown_parameter(fake: StripeStandIn, client: stripe.StripeClient) -> None:
    answer = httpx.post(f"{fake.url}/v1/x", headers={"Authorization": f"Bearer {fake.api_key}"})
    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == "Unrecognized request URL (POST: /v1/x)."
    assert answer.headers["request-id"].startswith("req_")

    with pytest.raises(stripe.InvalidRequestError) as caught:
        _create(client, metdata={"order_id": "1"})
    assert caught.value.code == "parameter_unknown"
    assert caught.value.param == "metdata"


def test_bad_api_key_raises_authentication_error(fake: StripeStandIn) -> None:
    sdk = stripe.StripeClient("sk_test_wrong_key_1234", base_addresses={"api": fake.url})
    with pytest.raises(stripe.AuthenticationError) as caught:
        sdk.v1.payment_intents.create({"amount": 100, "currency": "usd"})
    _http(sdk).close()
    assert caught.value.http_status == 401
    assert "Invalid API Key provided: sk_test_" in str(caught.value.user_message)
    assert str(caught.value.user_message).endswith("1234")
    assert fake.payment_intents() == []

    basic = httpx.get(f"{fake.url}/v1/payment_intents", auth=(fake.api_key, ""))
    assert basic.status_code == 200
    assert basic.json()["object"] == "list"


# -- PaymentIntents ---------------------------------------------------------------------------------------


def test_create_retrieve_confirm_success(fake: StripeStandIn, client: stripe.StripeClient) -> None:
    created = _create(client, currency="USD")
    assert isinstance(created, stripe.PaymentIntent)
    assert created.id.startswith("pi_")
    assert created.status == "requires_payment_method"
    assert (created.client_secret or "").startswith(f"{created.id}_secret_")
    assert created.currency == "usd"
    assert created.metadata.to_dict() == {"order_id": "42"}
    assert created.capture_method == "automatic"
    assert created.livemode is False

    fetched = client.v1.payment_intents.retrieve(created.id)
    assert fetched.id == created.id
    assert fetched.amount == 2500

    paid = client.v1.payment_intents.confirm(created.id, {"payment_method": "pm_card_visa"})
    assert paid.status == "succeeded"
    assert paid.amount_received == 2500
    assert isinstance(paid.latest_charge, str)
    assert paid.latest_charge.startswith("ch_")
    charge = client.v1.charges.retrieve(paid.latest_charge)
    assert isinstance(charge, stripe.Charge)
    assert (charge.status, charge.amount, charge.payment_intent) == ("succeeded", 2500, created.id)

    assert [e["type"] for e in fake.events] == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]
    succeeded = fake.events_of("payment_intent.succeeded")[0]
    assert succeeded["data"]["object"]["amount_received"] == 2500
    assert succeeded["data"]["object"]["metadata"] == {"order_id": "42"}
    assert succeeded["api_version"] == _ApiVersion.CURRENT
    confirm_request = _posts(fake, f"/v1/payment_intents/{created.id}/confirm")[0]
    assert succeeded["request"]["idempotency_key"] == confirm_request.idempotency_key
    # the first event is a snapshot: later changes do not leak into it
    assert fake.events[0]["data"]["object"]["status"] == "requires_payment_method"


def test_missing_payment_intent_is_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.retrieve("pi_missing")
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"
    assert caught.value.param == "id"
    assert caught.value.user_message == "No such payment_intent: 'pi_missing'"


@pytest.mark.parametrize(("amount", "code"), [(0, "parameter_invalid_integer"), (None, "parameter_missing")])
def test_invalid_amount_is_rejected_and_not_stored(
    fake: StripeStandIn, client: stripe.StripeClient, amount: int | None, code: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(
            {"amount": amount, "currency": "usd"},  # type: ignore[typeddict-item]
            options={"idempotency_key": "bad-amount"},
        )
    assert caught.value.code == code
    assert caught.value.param == "amount"
    # a validation failure is not stored, so the key is still free for a corrected request
    pi = client.v1.payment_intents.create(
        {"amount": 100, "currency": "usd"}, options={"idempotency_key": "bad-amount"}
    )
    assert pi.amount == 100
    assert len(fake.payment_intents()) == 1


@pytest.mark.parametrize(
    ("payment_method", "code", "decline_code"),
    [
        ("pm_card_visa_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
        ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc"),
    ],
)
def test_decline_raises_card_error_then_a_new_card_succeeds(
    fake: StripeStandIn, client: stripe.StripeClient, payment_method: str, code: str, decline_code: str
) -> None:
    pi = _create(client)
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_intents.confirm(pi.id, {"payment_method": payment_method})
    error = caught.value
    assert error.http_status == 402
    assert error.code == code
    assert error.error is not None
    assert error.error.type == "card_error"
    assert error.error.decline_code == decline_code
    assert error.error.charge is not None
    assert error.error.charge.startswith("ch_")
    assert error.error.payment_intent is not None
    assert error.error.payment_intent.id == pi.id
    assert error.error.payment_intent.status == "requires_payment_method"

    state = fake.payment_intent(pi.id)
    assert state["status"] == "requires_payment_method"
    assert state["last_payment_error"]["decline_code"] == decline_code
    assert client.v1.payment_intents.retrieve(pi.id).last_payment_error.code == code  # type: ignore[union-attr]
    failed = fake.events_of("payment_intent.payment_failed")
    assert len(failed) == 1
    assert failed[0]["data"]["object"]["last_payment_error"]["code"] == code
    assert len(fake.events_of("charge.failed")) == 1

    paid = client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_mastercard"})
    assert paid.status == "succeeded"
    assert paid.last_payment_error is None


def test_three_d_secure_requires_action(fake: StripeStandIn, client: stripe.StripeClient) -> None:
    pi = _create(client)
    pending = client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_authenticationRequired"})
    assert pending.status == "requires_action"
    assert pending.next_action is not None
    assert pending.next_action.type == "use_stripe_sdk"
    assert fake.events_of("payment_intent.requires_action")

    done = fake.complete_action(pi.id)
    assert done["status"] == "succeeded"
    assert client.v1.payment_intents.retrieve(pi.id).amount_received == 2500


def test_return_url_rule(fake: StripeStandIn, client: stripe.StripeClient) -> None:
    # no automatic_payment_methods given: the current API version turns them on, redirects allowed
    pi = client.v1.payment_intents.create({"amount": 900, "currency": "eur"})
    assert pi.automatic_payment_methods is not None
    assert pi.automatic_payment_methods.allow_redirects == "always"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"})
    assert caught.value.param == "return_url"
    assert "A `return_url` must be specified" in str(caught.value.user_message)
    assert fake.payment_intent(pi.id)["status"] == "requires_payment_method"

    paid = client.v1.payment_intents.confirm(
        pi.id, {"payment_method": "pm_card_visa", "return_url": "https://shop.test/return"}
    )
    assert paid.status == "succeeded"

    cards_only = client.v1.payment_intents.create(
        {
            "amount": 900,
            "currency": "eur",
            "allowed_payment_method_types": ["card"],
            "confirm": True,
            "payment_method": "pm_card_visa",
        }
    )
    assert cards_only.status == "succeeded"
    assert cards_only.automatic_payment_methods is None
    assert cards_only.payment_method_types == ["card"]


def test_payment_method_types_is_gone_on_the_pinned_api_version(
    fake: StripeStandIn, client: stripe.StripeClient
) -> None:
    legacy: Any = {"amount": 900, "currency": "eur", "payment_method_types": ["card"]}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(legacy)
    assert caught.value.code == "payment_method_types_no_longer_supported"
    assert caught.value.param == "payment_method_types"
    # an older pinned version still accepts it
    old = client.v1.payment_intents.create(legacy, options={"stripe_version": "2025-09-30.clover"})
    assert old.payment_method_types == ["card"]
    assert old.automatic_payment_methods is None
    assert fake.requests[-1].headers["stripe-version"] == "2025-09-30.clover"


def test_cancel(fake: StripeStandIn, client: stripe.StripeClient) -> None:
    pi = _create(client)
    canceled = client.v1.payment_intents.cancel(pi.id, {"cancellation_reason": "requested_by_customer"})
    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "requested_by_customer"
    assert canceled.canceled_at is not None
    assert len(fake.events_of("payment_intent.canceled")) == 1
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.cancel(pi.id)
    assert caught.value.code == "payment_intent_unexpected_state"
    with pytest.raises(stripe.InvalidRequestError) as confirm_caught:
        client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"})
    assert confirm_caught.value.code == "payment_intent_unexpected_state"


def test_pay_is_the_browser_confirm(fake: StripeStandIn, client: stripe.StripeClient) -> None:
    pi = _create(client)
    declined = fake.pay(pi.id, "pm_card_chargeDeclined")
    assert declined["error"]["decline_code"] == "generic_decline"
    paid = fake.pay(pi.id)
    assert paid["status"] == "succeeded"
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"
    assert fake.events_of("payment_intent.succeeded")[0]["data"]["object"]["id"] == pi.id


# -- idempotency --------------------------------------------------------------------------------------------


def test_same_idempotency_key_replays_the_same_payment_intent(
    fake: StripeStandIn, client: stripe.StripeClient
) -> None:
    params: Any = {"amount": 2500, "currency": "usd", "metadata": {"order_id": "42"}}
    first = client.v1.payment_intents.create(params, options={"idempotency_key": "order:42:pi-create"})
    second = client.v1.payment_intents.create(params, options={"idempotency_key": "order:42:pi-create"})
    assert second.id == first.id
    assert second.client_secret == first.client_secret
    assert len(fake.payment_intents()) == 1
    assert len(fake.events_of("payment_intent.created")) == 1
    assert second.last_response is not None
    assert second.last_response.headers["idempotent-replayed"] == "true"
    assert first.last_response is not None
    assert "idempotent-replayed" not in first.last_response.headers


def test_reusing_a_key_with_other_parameters_raises_idempotency_error(
    fake: StripeStandIn, client: stripe.StripeClient
) -> None:
    client.v1.payment_intents.create({"amount": 2500, "currency": "usd"}, options={"idempotency_key": "k-1"})
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.payment_intents.create(
            {"amount": 2600, "currency": "usd"}, options={"idempotency_key": "k-1"}
        )
    assert caught.value.http_status == 400
    assert caught.value.user_message == IDEMPOTENCY_MISMATCH.format(key="k-1")
    assert len(fake.payment_intents()) == 1


def test_declines_are_stored_and_replayed(fake: StripeStandIn, client: stripe.StripeClient) -> None:
    pi = _create(client)
    options: Any = {"idempotency_key": "confirm-1"}
    for _ in range(2):
        with pytest.raises(stripe.CardError):
            client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_chargeDeclined"}, options)
    assert len(fake.events_of("charge.failed")) == 1  # executed once, replayed once


def test_server_errors_are_retried_with_one_idempotency_key(
    fake: StripeStandIn, client: stripe.StripeClient
) -> None:
    fake.fail_next(2)
    pi = client.v1.payment_intents.create({"amount": 700, "currency": "usd"})
    attempts = _posts(fake, "/v1/payment_intents")
    assert [r.status for r in attempts] == [500, 500, 200]
    assert len({r.idempotency_key for r in attempts}) == 1
    assert attempts[0].idempotency_key is not None
    assert [p["id"] for p in fake.payment_intents()] == [pi.id]


def test_should_retry_false_stops_the_sdk(fake: StripeStandIn, client: stripe.StripeClient) -> None:
    fake.fail_next(1, 503, should_retry=False)
    with pytest.raises(stripe.APIError) as caught:
        client.v1.payment_intents.create({"amount": 700, "currency": "usd"})
    assert caught.value.http_status == 503
    assert len(_posts(fake, "/v1/payment_intents")) == 1
    assert fake.payment_intents() == []


def test_concurrent_requests_with_one_key_create_one_payment_intent(
    fake: StripeStandIn, client: stripe.StripeClient
) -> None:
    fake.delay_next(0.3)  # the first request is still executing when the second one arrives

    def create(_: int) -> str:
        pi = client.v1.payment_intents.create(
            {"amount": 1200, "currency": "usd"}, options={"idempotency_key": "race"}
        )
        return pi.id

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = set(pool.map(create, range(4)))
    assert len(ids) == 1
    assert len(fake.payment_intents()) == 1
    assert len(fake.events_of("payment_intent.created")) == 1


# -- refunds ------------------------------------------------------------------------------------------------


def _paid(client: stripe.StripeClient, amount: int = 2500) -> stripe.PaymentIntent:
    return _create(client, amount, confirm=True, payment_method="pm_card_visa")


def test_full_refund(fake: StripeStandIn, client: stripe.StripeClient) -> None:
    pi = _paid(client)
    assert pi.status == "succeeded"
    refund = client.v1.refunds.create(
        {"payment_intent": pi.id, "reason": "requested_by_customer", "metadata": {"order_id": "42"}}
    )
    assert isinstance(refund, stripe.Refund)
    assert refund.id.startswith("re_")
    assert (refund.amount, refund.status, refund.reason) == (2500, "succeeded", "requested_by_customer")
    assert refund.metadata is not None
    assert refund.metadata.to_dict() == {"order_id": "42"}
    assert refund.charge == pi.latest_charge
    assert client.v1.refunds.retrieve(refund.id).payment_intent == pi.id

    charge_event = fake.events_of("charge.refunded")[0]["data"]["object"]
    assert charge_event["object"] == "charge"
    assert (charge_event["payment_intent"], charge_event["amount_refunded"]) == (pi.id, 2500)
    assert charge_event["refunded"] is True
    assert fake.events_of("refund.created")[0]["data"]["object"]["id"] == refund.id

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create({"payment_intent": pi.id, "amount": 1})
    assert caught.value.code == "charge_already_refunded"


def test_partial_refunds_and_over_refund(fake: StripeStandIn, client: stripe.StripeClient) -> None:
    pi = _paid(client)
    client.v1.refunds.create({"payment_intent": pi.id, "amount": 1000})
    assert isinstance(pi.latest_charge, str)
    second = client.v1.refunds.create({"charge": pi.latest_charge, "amount": 500})
    assert second.amount == 500
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (1500, False)

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create({"payment_intent": pi.id, "amount": 1001})
    assert caught.value.code == "amount_too_large"
    assert caught.value.param == "amount"

    rest = client.v1.refunds.create({"payment_intent": pi.id})
    assert rest.amount == 1000
    assert [e["data"]["object"]["amount_refunded"] for e in fake.events_of("charge.refunded")] == [
        1000,
        1500,
        2500,
    ]


def test_refund_needs_a_succeeded_payment(client: stripe.StripeClient) -> None:
    pi = _create(client)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create({"payment_intent": pi.id})
    assert caught.value.code == "charge_not_refundable"


def test_pending_refund_then_settle(fake: StripeStandIn, client: stripe.StripeClient) -> None:
    pi = _paid(client)
    fake.set_refund_mode("pending")
    refund = client.v1.refunds.create({"payment_intent": pi.id, "amount": 400})
    assert refund.status == "pending"
    assert fake.events_of("charge.refunded") == []

    settled = fake.settle_refund(refund.id)
    assert settled["status"] == "succeeded"
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"
    updated = fake.events_of("refund.updated")
    assert len(updated) == 1
    assert updated[0]["data"]["object"]["status"] == "succeeded"
    assert updated[0]["data"]["previous_attributes"] == {"status": "pending"}
    assert fake.events_of("charge.refunded")[0]["data"]["object"]["amount_refunded"] == 400

    failing = client.v1.refunds.create({"payment_intent": pi.id, "amount": 100})
    fake.settle_refund(failing.id, "failed")
    assert fake.refund(failing.id)["status"] == "failed"
    assert len(fake.events_of("refund.failed")) == 1
    assert isinstance(pi.latest_charge, str)
    assert fake.charge(pi.latest_charge)["amount_refunded"] == 400


# -- events and webhooks ------------------------------------------------------------------------------------


def test_events_api(fake: StripeStandIn, client: stripe.StripeClient) -> None:
    pi = _paid(client)
    listed = client.v1.events.list()
    assert [e.id for e in listed.data] == [e["id"] for e in reversed(fake.events)]
    assert listed.has_more is False
    only = client.v1.events.list({"type": "payment_intent.succeeded"})
    assert [e.type for e in only.data] == ["payment_intent.succeeded"]
    event = client.v1.events.retrieve(only.data[0].id)
    assert isinstance(event, stripe.Event)
    assert event.data.object["id"] == pi.id
    listed_pis = client.v1.payment_intents.list()
    assert [p.id for p in listed_pis.data] == [pi.id]


def test_webhook_verifies_with_the_sdk(fake: StripeStandIn, client: stripe.StripeClient) -> None:
    pi = _paid(client)
    event = fake.events_of("payment_intent.succeeded")[0]
    body, headers = fake.webhook(event)
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["User-Agent"].startswith("Stripe/1.0")

    verified = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], fake.webhook_secret)
    assert isinstance(verified, stripe.Event)
    assert verified.id == event["id"]
    assert verified.type == "payment_intent.succeeded"
    assert verified.data.object["id"] == pi.id
    assert client.construct_event(body, headers["Stripe-Signature"], fake.webhook_secret).id == event["id"]

    now = int(time.time())
    assert fake.sign(body, timestamp=now) == stripe.WebhookSignature.generate_signature_header(
        body.decode(), fake.webhook_secret, timestamp=now
    )


def test_webhook_signature_failures(fake: StripeStandIn, client: stripe.StripeClient) -> None:
    _paid(client)
    event = fake.events[-1]
    stale_body, stale = fake.webhook(event, timestamp=int(time.time()) - 301)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(stale_body, stale["Stripe-Signature"], fake.webhook_secret)

    body, wrong = fake.webhook(event, secret="whsec_someone_else")
    with pytest.raises(stripe.SignatureVerificationError, match="No signatures found matching"):
        stripe.Webhook.construct_event(body, wrong["Stripe-Signature"], fake.webhook_secret)

    _, good = fake.webhook(event)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body + b" ", good["Stripe-Signature"], fake.webhook_secret)


def test_rotated_secrets_and_v0_noise_still_verify(fake: StripeStandIn) -> None:
    body = b'{"id": "evt_1", "object": "event", "type": "charge.refunded", "data": {"object": {}}}'
    header = fake.sign(body, extra_v0=True, second_v1_secret="whsec_new")
    assert header.count("v1=") == 2
    assert ",v0=" in header
    for secret in (fake.webhook_secret, "whsec_new"):
        assert stripe.Webhook.construct_event(body, header, secret).id == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, "whsec_other")


# -- async client (httpx) ---------------------------------------------------------------------------------


async def test_async_client_flow(fake: StripeStandIn, async_client: stripe.StripeClient) -> None:
    pi = await async_client.v1.payment_intents.create_async(
        {"amount": 3100, "currency": "gbp", "automatic_payment_methods": NO_REDIRECTS},
        options={"idempotency_key": "async-1"},
    )
    again = await async_client.v1.payment_intents.create_async(
        {"amount": 3100, "currency": "gbp", "automatic_payment_methods": NO_REDIRECTS},
        options={"idempotency_key": "async-1"},
    )
    assert again.id == pi.id
    assert (await async_client.v1.payment_intents.retrieve_async(pi.id)).status == "requires_payment_method"

    with pytest.raises(stripe.CardError) as caught:
        await async_client.v1.payment_intents.confirm_async(
            pi.id, {"payment_method": "pm_card_chargeDeclinedInsufficientFunds"}
        )
    assert caught.value.error is not None
    assert caught.value.error.decline_code == "insufficient_funds"

    paid = await async_client.v1.payment_intents.confirm_async(pi.id, {"payment_method": "pm_card_visa"})
    assert paid.status == "succeeded"
    refund = await async_client.v1.refunds.create_async({"payment_intent": pi.id, "amount": 100})
    assert refund.status == "succeeded"
    assert [e["type"] for e in fake.events][-2:] == ["refund.created", "charge.refunded"]


async def test_async_client_retries_with_one_key(
    fake: StripeStandIn, async_client: stripe.StripeClient
) -> None:
    fake.fail_next(1, 500, should_retry=True)
    pi = await async_client.v1.payment_intents.create_async({"amount": 500, "currency": "usd"})
    attempts = _posts(fake, "/v1/payment_intents")
    assert [r.status for r in attempts] == [500, 200]
    assert attempts[0].idempotency_key == attempts[1].idempotency_key
    assert [p["id"] for p in fake.payment_intents()] == [pi.id]

    bad = stripe.StripeClient("sk_test_nope", base_addresses={"api": fake.url})
    try:
        with pytest.raises(stripe.AuthenticationError):
            await bad.v1.payment_intents.retrieve_async(pi.id)
    finally:
        await _http(bad).close_async()
