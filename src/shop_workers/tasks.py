"""The tasks: each a few lines that call one use case on the Shop in `ctx`.

`run_job` serves every kind of recorded job (see `shop_core.services.jobs.SPECS`, which sets each
kind's timeout and attempts); the rest are the cron jobs.
"""

from __future__ import annotations

import logging
from typing import Any

from shop_core.bootstrap import Shop
from shop_core.services.payments import RECONCILE_AFTER

log = logging.getLogger("shop.workers")


def _shop(ctx: dict[str, Any]) -> Shop:
    shop: Shop = ctx["shop"]
    return shop


async def run_job(ctx: dict[str, Any], *, ledger_id: int) -> str | None:
    """One attempt at a recorded job; raises (SAQ retries) when it failed."""
    status = await _shop(ctx).jobs.run_job(ledger_id)
    return None if status is None else status.value


async def relay_jobs(ctx: dict[str, Any]) -> int:
    """Hand over jobs recorded but never relayed (their process died after the commit)."""
    return await _shop(ctx).jobs.relay_jobs()


async def expire_unpaid_orders(ctx: dict[str, Any]) -> int:
    expired = await _shop(ctx).orders.expire_unpaid_orders()
    if expired:
        log.info("expired %d unpaid order(s)", expired)
    return expired


async def reconcile_payments(ctx: dict[str, Any]) -> dict[str, int]:
    report = await _shop(ctx).payments.reconcile_payments(RECONCILE_AFTER)
    return {
        "checked": report.checked,
        "settled": report.settled,
        "still_pending": report.still_pending,
        "failed_to_ask": report.failed_to_ask,
        "refunds_settled": report.refunds_settled,
    }


async def purge(ctx: dict[str, Any]) -> dict[str, int]:
    """Forget expired database carts, day-old Idempotency-Keys and long-finished jobs."""
    shop = _shop(ctx)
    return {
        "carts": await shop.cart.purge_expired_carts(),
        "idempotency_keys": await shop.orders.purge_idempotency_keys(),
        "jobs": await shop.jobs.purge_jobs(),
    }


async def heartbeat(ctx: dict[str, Any]) -> dict[str, Any]:
    """Prove the worker is alive and its dependencies answer; logs and returns the report."""
    report = await _shop(ctx).operations.check_health()
    log.info("heartbeat: %s", "ok" if report.ok else "degraded")
    return {"ok": report.ok, "dependencies": {k: v.ok for k, v in report.dependencies.items()}}
