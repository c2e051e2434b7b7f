"""Webhook subscriptions and their delivery attempts, with SQLAlchemy Core in the unit of work's
transaction; and this process's snapshot of the event types some subscription listens to."""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import webhook_deliveries, webhook_subscriptions
from shop_core.adapters.sql.pg_fast_path import pg_fast_path
from shop_core.adapters.sql.upsert import session_insert
from shop_core.domain.webhook_deliveries import Delivery, DeliveryStatus, ListenerSnapshot, Subscription

subs, deliveries = webhook_subscriptions, webhook_deliveries
_LISTENED = sa.select(subs.c.events).where(subs.c.is_active)


def _subscription(row: sa.RowMapping) -> Subscription:
    return Subscription(
        id=row["id"],
        url=row["url"],
        events=list(json.loads(row["events"])),
        secret=row["secret"],
        description=row["description"],
        is_active=bool(row["is_active"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _delivery(row: sa.RowMapping) -> Delivery:
    return Delivery(
        id=row["id"],
        subscription_id=row["subscription_id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        payload=row["payload"],
        attempt=row["attempt"],
        first_attempt_id=row["first_attempt_id"],
        status=DeliveryStatus(row["status"]),
        response_status=row["response_status"],
        duration_ms=row["duration_ms"],
        response_excerpt=row["response_excerpt"],
        error=row["error"],
        next_retry_at=row["next_retry_at"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
    )


class SqlWebhookRepository:
    def __init__(self, session: AsyncSession, listeners: ListenerSnapshot) -> None:
        self._session = session
        self._listeners = listeners

    # --- subscriptions ---------------------------------------------------------------------------

    async def add(self, subscription: Subscription) -> Subscription:
        subscription.id = (
            await self._session.execute(subs.insert().values(self._fields(subscription)).returning(subs.c.id))
        ).scalar_one()
        return subscription

    async def get(self, subscription_id: int, *, for_update: bool = False) -> Subscription | None:
        query = sa.select(subs).where(subs.c.id == subscription_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).mappings().first()
        return None if row is None else _subscription(row)

    async def save(self, subscription: Subscription) -> None:
        assert subscription.id is not None
        await self._session.execute(
            subs.update().where(subs.c.id == subscription.id).values(self._fields(subscription))
        )

    async def remove(self, subscription_id: int) -> bool:
        # Deliveries first: SQLite only cascades with its foreign keys switched on.
        await self._session.execute(
            deliveries.delete().where(deliveries.c.subscription_id == subscription_id)
        )
        result = await self._session.execute(subs.delete().where(subs.c.id == subscription_id))
        return bool(getattr(result, "rowcount", 0))

    async def page(self, *, offset: int, limit: int) -> tuple[list[Subscription], int]:
        total = (await self._session.execute(sa.select(sa.func.count()).select_from(subs))).scalar_one()
        rows = await self._session.execute(sa.select(subs).order_by(subs.c.id).offset(offset).limit(limit))
        return [_subscription(r) for r in rows.mappings()], int(total)

    async def listening(self, event_type: str) -> list[Subscription]:
        rows = await self._session.execute(sa.select(subs).where(subs.c.is_active).order_by(subs.c.id))
        found = [_subscription(r) for r in rows.mappings()]
        return [s for s in found if s.listens_to(event_type)]

    async def listened_types(self) -> frozenset[str]:
        now = time.monotonic()
        if not self._listeners.fresh(now):
            # On PostgreSQL on its own, outside any transaction (one is not begun for it): the
            # order placement reads this before it decides to place an order at once.
            fast = await pg_fast_path(self._session)
            if fast is not None:
                listening = await fast.listened_events()
            else:
                listening = [events for (events,) in await self._session.execute(_LISTENED)]
            types = frozenset(t for events in listening for t in json.loads(events))
            self._listeners.update(types, now)
        return self._listeners.types

    def listeners_changed(self) -> None:
        self._listeners.invalidate()

    @staticmethod
    def _fields(subscription: Subscription) -> dict[str, Any]:
        return {
            "url": subscription.url,
            "events": json.dumps(subscription.events),
            "secret": subscription.secret,
            "description": subscription.description,
            "is_active": subscription.is_active,
            "created_at": subscription.created_at,
            "updated_at": subscription.updated_at,
        }

    # --- deliveries ------------------------------------------------------------------------------

    async def add_delivery(self, delivery: Delivery) -> Delivery | None:
        row = {
            "subscription_id": delivery.subscription_id,
            "event_id": delivery.event_id,
            "event_type": delivery.event_type,
            "payload": delivery.payload,
            "attempt": delivery.attempt,
            "first_attempt_id": delivery.first_attempt_id,
            "created_at": delivery.created_at,
            **self._outcome(delivery),
        }
        insert = session_insert(self._session, deliveries).values(row)
        found = await self._session.scalar(
            insert.on_conflict_do_nothing(
                index_elements=["subscription_id", "event_id", "attempt"]
            ).returning(deliveries.c.id)
        )
        if found is None:
            return None
        delivery.id = int(found)
        return delivery

    async def get_delivery(self, delivery_id: int) -> Delivery | None:
        found = await self._where(deliveries.c.id == delivery_id, limit=1)
        return found[0] if found else None

    async def latest_attempt(self, first_attempt_id: int) -> Delivery | None:
        series = sa.or_(
            deliveries.c.id == first_attempt_id, deliveries.c.first_attempt_id == first_attempt_id
        )
        found = await self._where(series, limit=1)
        return found[0] if found else None

    async def last_attempt_of(self, subscription_id: int, event_id: str) -> Delivery | None:
        found = await self._where(
            sa.and_(deliveries.c.subscription_id == subscription_id, deliveries.c.event_id == event_id),
            limit=1,
        )
        return found[0] if found else None

    async def save_delivery(self, delivery: Delivery) -> None:
        assert delivery.id is not None
        await self._session.execute(
            deliveries.update().where(deliveries.c.id == delivery.id).values(self._outcome(delivery))
        )

    async def deliveries(
        self, subscription_id: int, *, offset: int, limit: int
    ) -> tuple[list[Delivery], int]:
        mine = deliveries.c.subscription_id == subscription_id
        total = (
            await self._session.execute(sa.select(sa.func.count()).select_from(deliveries).where(mine))
        ).scalar_one()
        return await self._where(mine, offset=offset, limit=limit), int(total)

    async def _where(
        self, condition: sa.ColumnElement[bool], *, offset: int = 0, limit: int = 1
    ) -> list[Delivery]:
        rows = await self._session.execute(
            sa.select(deliveries)
            .where(condition)
            .order_by(deliveries.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [_delivery(r) for r in rows.mappings()]

    @staticmethod
    def _outcome(delivery: Delivery) -> dict[str, Any]:
        return {
            "status": delivery.status.value,
            "response_status": delivery.response_status,
            "duration_ms": delivery.duration_ms,
            "response_excerpt": delivery.response_excerpt,
            "error": delivery.error,
            "next_retry_at": delivery.next_retry_at,
            "finished_at": delivery.finished_at,
        }
