"""Outgoing webhooks: which events there are, where they may go, how they are signed and retried.

Signing follows the Standard Webhooks specification: the signed content is
`{webhook-id}.{webhook-timestamp}.{body}`, the key is the base64-decoded part of the subscription's
`whsec_` secret, and `webhook-signature` is `v1,` followed by the base64 HMAC-SHA256.

Targets: http(s) only, no user:password, a host; an IP address that is not public (loopback,
private, link-local, multicast, reserved, unspecified, shared, and IPv4 mapped into IPv6) is refused
unless the shop allows private targets. Host names are checked again, after resolution, at each
delivery (see the delivery adapter).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from shop_core.domain.errors import InvalidInput
from shop_core.domain.jobs import retry_delay

ORDER_CREATED = "order.created"
ORDER_PAID = "order.paid"
ORDER_CANCELLED = "order.cancelled"
ORDER_FULFILLED = "order.fulfilled"
ORDER_SHIPPED = "order.shipped"
ORDER_DELIVERED = "order.delivered"
ORDER_REFUNDED = "order.refunded"
RETURN_REQUESTED = "return.requested"
PRODUCT_UPDATED = "product.updated"
STOCK_LOW = "stock.low"

EVENT_TYPES: tuple[str, ...] = (
    ORDER_CREATED,
    ORDER_PAID,
    ORDER_CANCELLED,
    ORDER_FULFILLED,
    ORDER_SHIPPED,
    ORDER_DELIVERED,
    ORDER_REFUNDED,
    RETURN_REQUESTED,
    PRODUCT_UPDATED,
    STOCK_LOW,
)

URL_MAX = 2000
DESCRIPTION_MAX = 500
EXCERPT_MAX = 256
"""At most this many characters of a receiver's answer are kept."""
ERROR_MAX = 500
ATTEMPTS = 12
"""Attempts of one delivery (the first and its retries) before it is `failed`."""
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
EVENT_ID_PREFIX = "msg_"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    """Waiting to be sent."""
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    """This attempt failed; the next one is recorded (pending) and due at `next_retry_at`."""
    FAILED = "failed"
    """This attempt failed and no other follows."""


FINISHED = frozenset({DeliveryStatus.SUCCEEDED, DeliveryStatus.RETRYING, DeliveryStatus.FAILED})


def parse_events(raw: list[str]) -> list[str]:
    """The event types named, each once, in the order sent; InvalidInput for an unknown one."""
    unknown = [name for name in raw if name not in EVENT_TYPES]
    if unknown:
        message = f"Unknown event type {unknown[0]!r}; choose among {', '.join(EVENT_TYPES)}."
        raise InvalidInput.field("events", message)
    if not raw:
        raise InvalidInput.field("events", "Name at least one event type.")
    return list(dict.fromkeys(raw))


def non_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a webhook must not go to this address (unless private targets are allowed)."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return non_public(mapped)
    return (
        not address.is_global
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check_url(url: str, *, allow_private: bool) -> str:
    """The subscription's URL, stripped, or InvalidInput saying what is wrong with it."""
    text = url.strip()

    def refuse(why: str) -> InvalidInput:
        return InvalidInput.field("url", f"{why} ({text[:100]!r}).")

    if not text or len(text) > URL_MAX or any(ord(c) < 33 or ord(c) == 127 for c in text):
        raise refuse(f"A URL of 1 to {URL_MAX} characters without spaces or control characters is needed")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise refuse("Not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise refuse("Only http and https URLs can receive webhooks")
    if "@" in parts.netloc:
        raise refuse("A webhook URL may not carry a user name or password")
    host = parts.hostname or ""
    if not host or port == 0:
        raise refuse("The URL names no host (or port 0)")
    if allow_private:
        return text
    if host == "localhost" or host.endswith((".localhost", ".local")):
        raise refuse("Webhooks may not go to this machine or the local network")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return text  # a name: checked after resolution, at each delivery
    if non_public(address):
        raise refuse("Webhooks may not go to a loopback, private, link-local or reserved address")
    return text


# --- secrets and signatures --------------------------------------------------------------------------


def new_secret() -> str:
    """A subscription's signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def new_event_id() -> str:
    """An event's id (`webhook-id`): the same for every subscription and every attempt."""
    return EVENT_ID_PREFIX + secrets.token_hex(16)


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header for one attempt."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    content = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def excerpt(text: str) -> str:
    """What is kept of a receiver's answer: its first EXCERPT_MAX characters."""
    return text[:EXCERPT_MAX]


def next_retry_at(now: datetime, base_delay: float, attempts_made: int) -> datetime:
    """When the retry after `attempts_made` failed attempts is due: the job queue's doubling delay
    (`base_delay` seconds, doubling each time, at most an hour)."""
    return now + timedelta(seconds=retry_delay(base_delay, attempts_made))


# --- records -----------------------------------------------------------------------------------------


@dataclass
class Subscription:
    url: str
    events: list[str]
    secret: str = field(repr=False)
    created_at: datetime
    updated_at: datetime
    description: str = ""
    is_active: bool = True
    id: int | None = None

    def listens_to(self, event_type: str) -> bool:
        return self.is_active and event_type in self.events


@dataclass(frozen=True)
class Outcome:
    """How one attempt went: the receiver's status code (None when none came), the time it took,
    the start of its answer, and what went wrong (None: it succeeded). `final` failures (the
    target is refused) are not retried."""

    status_code: int | None
    duration_ms: int
    excerpt: str = ""
    error: str | None = None
    final: bool = False

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class Delivery:
    """One attempt to deliver one event to one subscription. A retry is a new row: same event id,
    the next attempt number, `first_attempt_id` naming the first attempt of its series."""

    subscription_id: int
    event_id: str
    event_type: str
    payload: str
    attempt: int
    created_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    response_status: int | None = None
    duration_ms: int | None = None
    response_excerpt: str = ""
    error: str | None = None
    next_retry_at: datetime | None = None
    finished_at: datetime | None = None
    first_attempt_id: int | None = None
    id: int | None = None

    def record(self, outcome: Outcome, now: datetime, *, retry_at: datetime | None) -> None:
        """The attempt's outcome; `retry_at` when another attempt follows a failure."""
        self.response_status = outcome.status_code
        self.duration_ms = outcome.duration_ms
        self.response_excerpt = excerpt(outcome.excerpt)
        self.error = None if outcome.error is None else outcome.error[:ERROR_MAX]
        self.finished_at = now
        if outcome.succeeded:
            self.status = DeliveryStatus.SUCCEEDED
        elif retry_at is not None and not outcome.final:
            self.status, self.next_retry_at = DeliveryStatus.RETRYING, retry_at
        else:
            self.status = DeliveryStatus.FAILED

    def give_up(self, why: str, now: datetime) -> None:
        self.status, self.error, self.finished_at = DeliveryStatus.FAILED, why[:ERROR_MAX], now

    def retry(self, now: datetime) -> Delivery:
        """The next attempt of this series (pending)."""
        return Delivery(
            subscription_id=self.subscription_id,
            event_id=self.event_id,
            event_type=self.event_type,
            payload=self.payload,
            attempt=self.attempt + 1,
            created_at=now,
            first_attempt_id=self.first_attempt_id or self.id,
        )


@dataclass
class ListenerSnapshot:
    """The event types with an active subscription, as one process last read them: emitting an
    event no subscription listens to costs nothing. Read again when older than `max_age` seconds,
    and at once after this process changed a subscription."""

    max_age: float
    types: frozenset[str] = frozenset()
    read_at: float | None = None

    def fresh(self, now: float) -> bool:
        return self.read_at is not None and now - self.read_at < self.max_age

    def update(self, types: frozenset[str], now: float) -> None:
        self.types, self.read_at = types, now

    def invalidate(self) -> None:
        self.read_at = None
