"""Webhook subscriptions and delivery attempts: how an attempt's outcome is recorded, when the next
one is due, and each process's snapshot of the event types some subscription listens to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from shop_core.domain.jobs import retry_delay

EXCERPT_MAX = 256
"""At most this many characters of a receiver's answer are kept."""
ERROR_MAX = 500
ATTEMPTS = 12
"""Attempts of one delivery (the first and its retries) before it is `failed`."""


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    """Waiting to be sent."""
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    """This attempt failed; the next one is recorded (pending) and due at `next_retry_at`."""
    FAILED = "failed"
    """This attempt failed and no other follows."""


def excerpt(text: str) -> str:
    """What is kept of a receiver's answer: its first EXCERPT_MAX characters."""
    return text[:EXCERPT_MAX]


def next_retry_at(now: datetime, base_delay: float, attempts_made: int) -> datetime:
    """When the retry after `attempts_made` failed attempts is due: the job queue's doubling delay
    (`base_delay` seconds, doubling each time, at most an hour)."""
    return now + timedelta(seconds=retry_delay(base_delay, attempts_made))


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
