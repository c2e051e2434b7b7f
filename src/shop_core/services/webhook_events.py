"""Webhook events: recorded with the change that causes them, fanned out, delivered, retried.

1. `emit` runs inside the use case's transaction. When no active subscription listens to the type
   (this process's snapshot, read again at most every `SHOP_WEBHOOKS_REFRESH_SECONDS`), it does
   nothing at all: no statement. Otherwise it records one `webhook.event` job (the outbox) holding
   the event's id and its exact JSON body: a rolled-back change records nothing.
2. The `webhook.event` job reads the subscriptions active for the type NOW (a removed or paused one
   gets nothing) and records, for each, its first delivery attempt and a `webhook.deliver` job.
3. `webhook.deliver` sends the attempt, signed, and records how it went. A failure records the next
   attempt (pending, due at `next_retry_at`) and fails the job, which the queue runs again after
   its doubling delay; after `ATTEMPTS` attempts (or a refused target) the delivery is `failed`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from shop_core.domain.webhook_deliveries import ATTEMPTS, Delivery, DeliveryStatus, Outcome, next_retry_at
from shop_core.domain.webhooks import new_event_id, sign
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.ports.webhooks import WebhookSender
from shop_core.services import jobs

log = logging.getLogger("shop.webhooks")


class DeliveryAttemptFailed(Exception):
    """An attempt failed and another is due: the job fails, and the queue runs it again."""


@dataclass(frozen=True)
class WebhookContext:
    uow: UnitOfWorkFactory
    clock: Clock
    sender: WebhookSender
    retry_delay: float
    """The job queue's base retry delay (seconds), to say when the next attempt is due."""


async def emit(uow: UnitOfWork, event_type: str, data: Callable[[], Any], now: datetime) -> None:
    """Record the event for delivery once this transaction commits; `data()` (the event's `data`,
    e.g. the order as staff see it) is only built when some subscription listens."""
    if event_type not in await uow.webhooks.listened_types():
        return
    event_id = new_event_id()
    body = msgspec.json.encode({"type": event_type, "timestamp": now, "data": data()})
    payload = {"id": event_id, "type": event_type, "body": body.decode()}
    await jobs.record(uow, jobs.WEBHOOK_EVENT, f"{jobs.WEBHOOK_EVENT}:{event_id}", payload, now)


async def record_attempt(uow: UnitOfWork, delivery: Delivery) -> Delivery | None:
    """Store a pending attempt that begins a series, and the job that sends it; None when it
    existed already."""
    stored = await uow.webhooks.add_delivery(delivery)
    if stored is not None and stored.id is not None:
        key = f"{jobs.WEBHOOK_DELIVER}:{stored.id}"
        await jobs.record(uow, jobs.WEBHOOK_DELIVER, key, {"delivery_id": stored.id}, delivery.created_at)
    return stored


async def fan_out(event_id: str, event_type: str, body: str, ctx: WebhookContext) -> int:
    """One first attempt per subscription listening now; how many (again: none more)."""
    now = ctx.clock.now()
    made = 0
    async with ctx.uow() as uow:
        for subscription in await uow.webhooks.listening(event_type):
            assert subscription.id is not None
            first = Delivery(subscription.id, event_id, event_type, body, 1, now)
            made += await record_attempt(uow, first) is not None
        await uow.commit()
    return made


async def deliver(first_attempt_id: int, ctx: WebhookContext) -> None:
    """Send the series' pending attempt (if any: a job run twice sends nothing more) and record
    how it went. Raises DeliveryAttemptFailed when another attempt is due."""
    async with ctx.uow() as uow:
        current = await uow.webhooks.latest_attempt(first_attempt_id)
        if current is None or current.status is not DeliveryStatus.PENDING:
            return
        subscription = await uow.webhooks.get(current.subscription_id)
        if subscription is None or not subscription.is_active:
            current.give_up("the subscription was paused or removed", ctx.clock.now())
            await uow.webhooks.save_delivery(current)
            await uow.commit()
            return
    timestamp = int(ctx.clock.now().timestamp())
    body = current.payload.encode()
    headers = {
        "content-type": "application/json",
        "webhook-id": current.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(subscription.secret, current.event_id, timestamp, body),
    }
    outcome = await ctx.sender.send(subscription.url, body, headers)
    await _record(current, outcome, first_attempt_id, ctx)


async def _record(current: Delivery, outcome: Outcome, first_attempt_id: int, ctx: WebhookContext) -> None:
    now = ctx.clock.now()
    made = current.attempt - (await _first_attempt_number(first_attempt_id, current, ctx)) + 1
    retry_at = None if made >= ATTEMPTS else next_retry_at(now, ctx.retry_delay, made)
    current.record(outcome, now, retry_at=retry_at)
    async with ctx.uow() as uow:
        await uow.webhooks.save_delivery(current)
        if current.status is DeliveryStatus.RETRYING:
            await uow.webhooks.add_delivery(current.retry(now))
        await uow.commit()
    if current.status is DeliveryStatus.RETRYING:
        raise DeliveryAttemptFailed(f"attempt {current.attempt} of {current.event_id}: {current.error}")
    if current.status is DeliveryStatus.FAILED:
        log.warning(
            "webhook %s to subscription %s failed: %s",
            current.event_id,
            current.subscription_id,
            current.error,
        )


async def _first_attempt_number(first_attempt_id: int, current: Delivery, ctx: WebhookContext) -> int:
    if current.id == first_attempt_id:
        return current.attempt
    async with ctx.uow() as uow:
        first = await uow.webhooks.get_delivery(first_attempt_id)
    return current.attempt if first is None else first.attempt


def job_handlers(context: Callable[[], WebhookContext]) -> dict[str, jobs.Handler]:
    """The `webhook.event` and `webhook.deliver` jobs."""

    async def on_event(payload: dict[str, Any]) -> None:
        await fan_out(str(payload["id"]), str(payload["type"]), str(payload["body"]), context())

    async def on_deliver(payload: dict[str, Any]) -> None:
        await deliver(int(payload["delivery_id"]), context())

    return {jobs.WEBHOOK_EVENT: on_event, jobs.WEBHOOK_DELIVER: on_deliver}
