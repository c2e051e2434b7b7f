"""The webhook rules: event types, where a webhook may go, the Standard Webhooks signature, the
retry schedule, and how an attempt's outcome is recorded."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop_core.domain.errors import InvalidInput
from shop_core.domain.webhook_deliveries import (
    ATTEMPTS,
    EXCERPT_MAX,
    Delivery,
    DeliveryStatus,
    ListenerSnapshot,
    Outcome,
    next_retry_at,
)
from shop_core.domain.webhooks import (
    EVENT_TYPES,
    check_url,
    new_event_id,
    new_secret,
    non_public,
    parse_events,
    sign,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_the_issue_s_event_types_are_known_and_others_refused() -> None:
    assert {
        "order.created",
        "order.paid",
        "order.cancelled",
        "order.fulfilled",
        "order.refunded",
        "product.updated",
        "stock.low",
    } <= set(EVENT_TYPES)
    assert parse_events(["order.paid", "stock.low", "order.paid"]) == ["order.paid", "stock.low"]
    with pytest.raises(InvalidInput, match=r"order\.teleported"):
        parse_events(["order.paid", "order.teleported"])
    with pytest.raises(InvalidInput):
        parse_events([])


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.31.255.255",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address refused, not bound
        "224.0.0.251",
        "255.255.255.255",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:192.168.1.1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2001:db8::1",  # documentation
    ],
)
def test_addresses_that_are_not_public_are_refused(address: str) -> None:
    assert non_public(ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(InvalidInput) as refused:
        check_url(f"https://{host}/hooks", allow_private=False)
    assert "url" in refused.value.errors
    assert check_url(f"https://{host}/hooks", allow_private=True) == f"https://{host}/hooks"


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_and_names_are_allowed(address: str) -> None:
    assert not non_public(ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    assert check_url(f" http://{host}:8080/h?x=1 ", allow_private=False) == f"http://{host}:8080/h?x=1"
    assert check_url("https://erp.example.com/hooks", allow_private=False) == "https://erp.example.com/hooks"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://erp.example.com/",
        "erp.example.com/hooks",
        "https://user@erp.example.com/",
        "https://user:pw@erp.example.com/",
        "https://",
        "https://erp.example.com:0/",
        "https://erp.example.com:70000/",
        "https://erp.example.com/a\nb",
        "https://localhost/",
        "https://api.localhost/",
        "",
    ],
)
def test_urls_that_cannot_receive_webhooks(url: str) -> None:
    with pytest.raises(InvalidInput):
        check_url(url, allow_private=False)


def spec_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks algorithm, written out."""
    key = base64.b64decode(secret.split("_", 1)[1])
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


@given(st.binary(max_size=2000), st.integers(min_value=0, max_value=2**40))
def test_the_signature_is_the_spec_s(body: bytes, timestamp: int) -> None:
    secret, msg_id = new_secret(), new_event_id()
    assert sign(secret, msg_id, timestamp, body) == spec_signature(secret, msg_id, timestamp, body)


def test_secrets_and_ids_are_fresh_and_shaped() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32
    assert secret != new_secret()
    assert new_event_id().startswith("msg_")
    assert new_event_id() != new_event_id()


def test_retries_wait_twice_as_long_each_time() -> None:
    assert next_retry_at(NOW, 10, 1) == NOW + timedelta(seconds=10)
    assert next_retry_at(NOW, 10, 2) == NOW + timedelta(seconds=20)
    assert next_retry_at(NOW, 10, 5) == NOW + timedelta(seconds=160)
    assert next_retry_at(NOW, 10, 30) == NOW + timedelta(hours=1)


def attempt() -> Delivery:
    return Delivery(1, "msg_1", "order.paid", "{}", 1, NOW, id=10)


def test_an_attempt_records_success_a_retry_or_the_end() -> None:
    ok = attempt()
    ok.record(Outcome(204, 12, "x" * 1000), NOW, retry_at=NOW + timedelta(seconds=5))
    assert (ok.status, ok.next_retry_at, len(ok.response_excerpt)) == (
        DeliveryStatus.SUCCEEDED,
        None,
        EXCERPT_MAX,
    )

    failing = attempt()
    failing.record(Outcome(500, 3, "no", "HTTP 500"), NOW, retry_at=NOW + timedelta(seconds=5))
    assert (failing.status, failing.next_retry_at) == (DeliveryStatus.RETRYING, NOW + timedelta(seconds=5))
    after = failing.retry(NOW)
    assert (after.attempt, after.first_attempt_id, after.status) == (2, 10, DeliveryStatus.PENDING)
    assert after.retry(NOW).first_attempt_id == 10

    last = attempt()
    last.record(Outcome(None, 3, error="timed out"), NOW, retry_at=None)
    assert last.status is DeliveryStatus.FAILED

    refused = attempt()
    refused.record(Outcome(None, 0, error="refused", final=True), NOW, retry_at=NOW)
    assert (refused.status, refused.next_retry_at) == (DeliveryStatus.FAILED, None)
    assert Outcome(302, 1, error="redirect").succeeded is False
    assert ATTEMPTS >= 5


def test_the_listener_snapshot_is_read_again_when_old_or_told() -> None:
    snapshot = ListenerSnapshot(max_age=5)
    assert not snapshot.fresh(100.0)
    snapshot.update(frozenset({"order.paid"}), 100.0)
    assert snapshot.fresh(104.9)
    assert not snapshot.fresh(105.0)
    snapshot.invalidate()
    assert not snapshot.fresh(100.1)
    assert not ListenerSnapshot(max_age=0).fresh(0.0)
