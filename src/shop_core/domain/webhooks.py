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
from urllib.parse import urlsplit

from shop_core.domain.errors import InvalidInput

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
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
EVENT_ID_PREFIX = "msg_"


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
