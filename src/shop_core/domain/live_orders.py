"""The rules of live order status (Server-Sent Events): what a stream sends, how a client says where
it got to, and the tickets a browser opens a stream with."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from shop_core.domain.errors import InvalidInput
from shop_core.domain.ids import MAX_ID

CHANGED = "order.updated"
"""The SSE event name of a change: one per audit event of the order (every change of its status,
payment or fulfilment writes at least one), in the order they were written."""
STATE = "order.state"
"""The SSE event name of the baseline a stream opened without Last-Event-ID starts with."""
RETRY_MS = 3000
"""The reconnection delay a stream suggests to EventSource clients."""
TICKET_TTL_SECONDS = 60
MAX_REPLAY_BATCH = 100
_TICKET = re.compile(r"[A-Za-z0-9_-]{16,128}")
_EVENT_ID = re.compile(r"[0-9]{1,10}")


def parse_last_event_id(raw: str | None) -> int | None:
    """The audit event id a reconnecting client last received (`Last-Event-ID`, or
    `?last_event_id=`); None when not given; InvalidInput when it is not one of our ids."""
    if raw is None:
        return None
    text = raw.strip()
    if not _EVENT_ID.fullmatch(text) or int(text) > MAX_ID:
        raise InvalidInput.field("last_event_id", "Last-Event-ID must be an event id this stream sent.")
    return int(text)


def ticket_key(ticket: str) -> str | None:
    """What a ticket is stored under: its SHA-256 (the ticket itself is never stored); None for a
    string that cannot be one of our tickets."""
    if not _TICKET.fullmatch(ticket):
        return None
    return hashlib.sha256(ticket.encode()).hexdigest()


@dataclass(frozen=True)
class StreamGrant:
    """Who may open a stream on which order: the user, and the access token it came with (the
    stream ends when that token is revoked)."""

    user_id: int
    jti: str
    order_id: int | None = None
    expires_at: datetime | None = None
    """For a ticket: when it stops being accepted."""

    def admits(self, order_id: int, now: datetime) -> bool:
        """Whether a ticket carrying this grant opens a stream on `order_id` at `now`."""
        return self.order_id == order_id and self.expires_at is not None and now < self.expires_at
