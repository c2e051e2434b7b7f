"""The tasks. Each sets its own timeout and retries where it is registered (see `worker.py`)."""

from __future__ import annotations

import logging
from typing import Any

from shop_core.bootstrap import Shop

log = logging.getLogger("shop.workers")


async def heartbeat(ctx: dict[str, Any]) -> dict[str, Any]:
    """Prove the worker is alive and its dependencies answer; logs and returns the report."""
    shop: Shop = ctx["shop"]
    report = await shop.check_health()
    log.info("heartbeat: %s", "ok" if report.ok else "degraded")
    return {"ok": report.ok, "dependencies": {k: v.ok for k, v in report.dependencies.items()}}
