"""Readiness: ask every dependency whether it answers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import msgspec

from shop_core.ports.health import Probe


class DependencyStatus(msgspec.Struct):
    ok: bool
    detail: str = "ok"


class HealthReport(msgspec.Struct):
    ok: bool
    dependencies: dict[str, DependencyStatus]


async def check_health(*, probes: Mapping[str, Probe], seconds: float = 2.0) -> HealthReport:
    async def one(probe: Probe) -> DependencyStatus:
        try:
            await asyncio.wait_for(probe.ping(), seconds)
        except TimeoutError:
            return DependencyStatus(ok=False, detail=f"no answer within {seconds:g}s")
        except Exception as exc:  # noqa: BLE001 - any failure makes the dependency red, with its reason
            return DependencyStatus(ok=False, detail=f"{type(exc).__name__}: {exc}"[:200])
        return DependencyStatus(ok=True)

    names = list(probes)
    results = await asyncio.gather(*(one(probes[n]) for n in names))
    deps = dict(zip(names, results, strict=True))
    return HealthReport(ok=all(d.ok for d in results), dependencies=deps)
