"""Webhook subscriptions (staff): subscribe URLs to events, change, pause or remove them, read
their deliveries and redeliver one. The secret is answered once, when the subscription is made.

How events are recorded and delivered is in `webhook_events`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import msgspec

from shop_core.domain.actors import Actor, require_staff
from shop_core.domain.errors import Conflict, NotFound
from shop_core.domain.webhook_deliveries import Delivery, DeliveryStatus, Subscription
from shop_core.domain.webhooks import (
    DESCRIPTION_MAX,
    EVENT_TYPES,
    URL_MAX,
    check_url,
    new_secret,
    parse_events,
)
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWorkFactory
from shop_core.services.commands import NO_NUL, Command
from shop_core.services.views import Page
from shop_core.services.webhook_events import record_attempt

STAFF_ONLY = "Only staff can manage webhooks."
Url = Annotated[
    str, msgspec.Meta(min_length=1, max_length=URL_MAX, examples=["https://erp.example.com/hooks/shop"])
]
Events = Annotated[
    list[Annotated[str, msgspec.Meta(max_length=64)]],
    msgspec.Meta(
        min_length=1,
        max_length=len(EVENT_TYPES),
        description="Event types: " + ", ".join(f"`{t}`" for t in EVENT_TYPES) + ".",
        examples=[["order.paid", "order.cancelled"]],
    ),
]
Description = Annotated[str, msgspec.Meta(max_length=DESCRIPTION_MAX, pattern=NO_NUL)]


class CreateSubscription(Command):
    url: Url
    events: Events
    description: Description = ""
    is_active: bool = True


class UpdateSubscription(Command):
    """Only the fields sent change."""

    url: Url | msgspec.UnsetType = msgspec.UNSET
    events: Events | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET


class SubscriptionView(msgspec.Struct, kw_only=True):
    id: int
    url: str
    events: list[str]
    description: str
    is_active: Annotated[bool, msgspec.Meta(description="A paused subscription receives nothing.")]
    created_at: datetime
    updated_at: datetime


class CreatedSubscriptionView(SubscriptionView, kw_only=True):
    secret: Annotated[
        str,
        msgspec.Meta(
            description="`whsec_` and the base64 signing key. Shown in this answer only: keep it now."
        ),
    ]


class DeliveryView(msgspec.Struct, kw_only=True):
    id: int
    subscription_id: int
    event_id: Annotated[str, msgspec.Meta(description="The `webhook-id` header: one per event.")]
    event_type: str
    attempt: Annotated[int, msgspec.Meta(description="1 for the first attempt of the event here.")]
    status: Annotated[str, msgspec.Meta(description="pending, succeeded, retrying or failed.")]
    response_status: Annotated[int | None, msgspec.Meta(description="The receiver's HTTP status.")]
    duration_ms: int | None
    response_excerpt: Annotated[str, msgspec.Meta(description="At most 256 characters of the answer.")]
    error: str | None
    next_retry_at: Annotated[
        datetime | None, msgspec.Meta(description="When the next attempt is due (status retrying).")
    ]
    created_at: datetime
    finished_at: datetime | None


def subscription_view(s: Subscription) -> SubscriptionView:
    assert s.id is not None
    return SubscriptionView(
        id=s.id,
        url=s.url,
        events=list(s.events),
        description=s.description,
        is_active=s.is_active,
        created_at=s.created_at,
        updated_at=s.updated_at,
    )


def delivery_view(d: Delivery) -> DeliveryView:
    assert d.id is not None
    return DeliveryView(
        id=d.id,
        subscription_id=d.subscription_id,
        event_id=d.event_id,
        event_type=d.event_type,
        attempt=d.attempt,
        status=d.status.value,
        response_status=d.response_status,
        duration_ms=d.duration_ms,
        response_excerpt=d.response_excerpt,
        error=d.error,
        next_retry_at=d.next_retry_at,
        created_at=d.created_at,
        finished_at=d.finished_at,
    )


@dataclass(frozen=True)
class Webhooks:
    """Staff's webhook subscriptions and their deliveries."""

    uow: UnitOfWorkFactory
    clock: Clock
    allow_private: bool

    async def create(self, cmd: CreateSubscription, actor: Actor) -> CreatedSubscriptionView:
        """400 for an unknown event type or a URL that may not receive webhooks."""
        require_staff(actor, STAFF_ONLY)
        url = check_url(cmd.url, allow_private=self.allow_private)
        now = self.clock.now()
        secret = new_secret()
        made = Subscription(url, parse_events(cmd.events), secret, now, now, cmd.description, cmd.is_active)
        async with self.uow() as uow:
            await uow.webhooks.add(made)
            await uow.commit()
            uow.webhooks.listeners_changed()
        shown = subscription_view(made)
        return CreatedSubscriptionView(**msgspec.structs.asdict(shown), secret=secret)

    async def list(self, actor: Actor, *, offset: int = 0, limit: int = 20) -> Page[SubscriptionView]:
        require_staff(actor, STAFF_ONLY)
        async with self.uow() as uow:
            found, total = await uow.webhooks.page(offset=offset, limit=limit)
        return Page(items=[subscription_view(s) for s in found], total=total)

    async def get(self, subscription_id: int, actor: Actor) -> SubscriptionView:
        require_staff(actor, STAFF_ONLY)
        async with self.uow() as uow:
            return subscription_view(_found(await uow.webhooks.get(subscription_id)))

    async def update(self, subscription_id: int, cmd: UpdateSubscription, actor: Actor) -> SubscriptionView:
        require_staff(actor, STAFF_ONLY)
        url = (
            None
            if isinstance(cmd.url, msgspec.UnsetType)
            else check_url(cmd.url, allow_private=self.allow_private)
        )
        events = None if isinstance(cmd.events, msgspec.UnsetType) else parse_events(cmd.events)
        async with self.uow() as uow:
            found = _found(await uow.webhooks.get(subscription_id, for_update=True))
            found.url = url or found.url
            found.events = events or found.events
            if not isinstance(cmd.description, msgspec.UnsetType):
                found.description = cmd.description
            if not isinstance(cmd.is_active, msgspec.UnsetType):
                found.is_active = cmd.is_active
            found.updated_at = self.clock.now()
            await uow.webhooks.save(found)
            await uow.commit()
            uow.webhooks.listeners_changed()
        return subscription_view(found)

    async def remove(self, subscription_id: int, actor: Actor) -> None:
        """Erase the subscription and its deliveries; its pending attempts are never sent."""
        require_staff(actor, STAFF_ONLY)
        async with self.uow() as uow:
            if not await uow.webhooks.remove(subscription_id):
                raise NotFound("No such webhook subscription.")
            await uow.commit()
            uow.webhooks.listeners_changed()

    async def deliveries(
        self, subscription_id: int, actor: Actor, *, offset: int = 0, limit: int = 20
    ) -> Page[DeliveryView]:
        """Every attempt, newest first."""
        require_staff(actor, STAFF_ONLY)
        async with self.uow() as uow:
            _found(await uow.webhooks.get(subscription_id))
            found, total = await uow.webhooks.deliveries(subscription_id, offset=offset, limit=limit)
        return Page(items=[delivery_view(d) for d in found], total=total)

    async def redeliver(
        self, delivery_id: int, actor: Actor, *, subscription_id: int | None = None
    ) -> DeliveryView:
        """A new attempt of the delivery's event (same `webhook-id`, same body), sent by a job after
        the commit. NotFound unless the delivery exists (and belongs to `subscription_id`, when
        given); 409 when its subscription is paused or an attempt of the event is waiting."""
        require_staff(actor, STAFF_ONLY)
        async with self.uow() as uow:
            delivery = await uow.webhooks.get_delivery(delivery_id)
            if delivery is None or subscription_id not in (None, delivery.subscription_id):
                where = "" if subscription_id is None else f" of webhook subscription {subscription_id}"
                raise NotFound(f"No delivery {delivery_id}{where}.")
            subscription_id = delivery.subscription_id
            subscription = _found(await uow.webhooks.get(subscription_id, for_update=True))
            if not subscription.is_active:
                raise Conflict(f"Webhook subscription {subscription_id} is paused; resume it first.")
            last = await uow.webhooks.last_attempt_of(subscription_id, delivery.event_id)
            assert last is not None
            if last.status is DeliveryStatus.PENDING:
                raise Conflict(
                    f"Attempt {last.attempt} of {delivery.event_id} is waiting to be sent already."
                )
            again = Delivery(
                subscription_id,
                delivery.event_id,
                delivery.event_type,
                delivery.payload,
                last.attempt + 1,
                self.clock.now(),
            )
            stored = await record_attempt(uow, again)
            if stored is None:
                raise Conflict("Another redelivery of this event was made meanwhile; reload and try again.")
            await uow.commit()
        return delivery_view(stored)


def _found(subscription: Subscription | None) -> Subscription:
    if subscription is None:
        raise NotFound("No such webhook subscription.")
    return subscription
