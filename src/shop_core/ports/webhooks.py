"""Webhook subscriptions and deliveries (kept in the database), and what sends a delivery."""

from __future__ import annotations

from typing import Protocol

from shop_core.domain.webhook_deliveries import Delivery, Outcome, Subscription


class WebhookRepository(Protocol):
    async def add(self, subscription: Subscription) -> Subscription:
        """Store a new subscription; sets its `id`."""
        ...

    async def get(self, subscription_id: int, *, for_update: bool = False) -> Subscription | None: ...

    async def save(self, subscription: Subscription) -> None: ...

    async def remove(self, subscription_id: int) -> bool:
        """Erase it and its deliveries; False when there was none."""
        ...

    async def page(self, *, offset: int, limit: int) -> tuple[list[Subscription], int]:
        """Oldest first, and how many in all."""
        ...

    async def listening(self, event_type: str) -> list[Subscription]:
        """The active subscriptions to this event type, read now (at fan-out)."""
        ...

    async def listened_types(self) -> frozenset[str]:
        """The event types some active subscription listens to, as this process last read them
        (read again at most every few seconds: `SHOP_WEBHOOKS_REFRESH_SECONDS`). Cheap: emitting
        asks it in the hot path."""
        ...

    def listeners_changed(self) -> None:
        """This process changed a subscription: read the listened types again on next use (call
        after the commit)."""
        ...

    async def add_delivery(self, delivery: Delivery) -> Delivery | None:
        """Store an attempt; sets its `id`. None (nothing stored) when this attempt of the event to
        this subscription exists already (a fan-out that ran twice)."""
        ...

    async def get_delivery(self, delivery_id: int) -> Delivery | None: ...

    async def latest_attempt(self, first_attempt_id: int) -> Delivery | None:
        """The last attempt of the series that began with this one (itself when no retry yet)."""
        ...

    async def last_attempt_of(self, subscription_id: int, event_id: str) -> Delivery | None:
        """The latest attempt of this event to this subscription, across redeliveries."""
        ...

    async def save_delivery(self, delivery: Delivery) -> None: ...

    async def deliveries(
        self, subscription_id: int, *, offset: int, limit: int
    ) -> tuple[list[Delivery], int]:
        """The subscription's attempts, newest first, and how many in all."""
        ...


class WebhookSender(Protocol):
    """Sends one signed delivery: POST of the exact body, no redirect followed."""

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        """Never raises for what the receiver (or the network) did: that is the outcome."""
        ...
