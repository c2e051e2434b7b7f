"""Readiness: ask every dependency whether it answers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import msgspec

from shop_core.ports.health import Probe

log = logging.getLogger("shop.health")

OK = "ok"
UNAVAILABLE = "unavailable"


class DependencyStatus(msgspec.Struct):
    ok: bool
    detail: str = OK


class HealthReport(msgspec.Struct):
    ok: bool
    dependencies: dict[str, DependencyStatus]

    def public(self) -> HealthReport:
        """The report for anyone who asks over the network: each component and whether it answers
        (`ok` or `unavailable`), never why not. The reasons (exception texts, which name internal
        hosts and ports) stay in the report for the operator and in the log."""
        return HealthReport(
            ok=self.ok,
            dependencies={
                name: DependencyStatus(ok=status.ok, detail=OK if status.ok else UNAVAILABLE)
                for name, status in self.dependencies.items()
            },
        )


async def check_health(*, probes: Mapping[str, Probe], seconds: float = 2.0) -> HealthReport:
    """Ask every probe at once, each within `seconds`. A failure is logged (one warning line naming
    the exception and its message, no traceback: probes repeat every few seconds during an outage)
    and reported with its reason; `HealthReport.public()` leaves the reasons out."""

    async def one(name: str, probe: Probe) -> DependencyStatus:
        try:
            await asyncio.wait_for(probe.ping(), seconds)
        except TimeoutError:
            reason = f"no answer within {seconds:g}s"
            log.warning("health: %s is unavailable: %s", name, reason)
            return DependencyStatus(ok=False, detail=reason)
        except Exception as exc:  # noqa: BLE001 - any failure makes the dependency red; its reason is logged
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            log.warning("health: %s is unavailable: %s", name, reason)
            return DependencyStatus(ok=False, detail=reason)
        return DependencyStatus(ok=True)

    names = list(probes)
    results = await asyncio.gather(*(one(n, probes[n]) for n in names))
    deps = dict(zip(names, results, strict=True))
    return HealthReport(ok=all(d.ok for d in results), dependencies=deps)
