"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from shop_core.bootstrap import Shop
from shop_core.services.health import HealthReport
from shop_http.security import NO_AUTH, PUBLIC


class HealthController(Controller):
    path = "/health"
    tags = ["Health"]
    opt = PUBLIC
    security = NO_AUTH

    @get("/live", operation_id="live", summary="The process is up")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", operation_id="ready", summary="The database (and Redis, when configured) answer")
    async def ready(self, shop: NamedDependency[Shop]) -> Response[HealthReport]:
        report = await shop.check_health()
        return Response(report, status_code=200 if report.ok else 503)
