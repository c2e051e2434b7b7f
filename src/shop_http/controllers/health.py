"""Liveness and readiness for load balancers and orchestrators.

`/health/ready` is public: it names each dependency and says `ok` or `unavailable`, never why. The
reason (an exception text naming internal hosts and ports) goes to the log, with the exception.
"""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from shop_core.bootstrap import Shop
from shop_core.services.health import HealthReport
from shop_http.api_docs import health as doc
from shop_http.security import NO_AUTH, PUBLIC


class HealthController(Controller):
    """Not rate limited, and no credentials needed."""

    path = "/health"
    tags = ["Health"]
    opt = PUBLIC
    security = NO_AUTH

    @get(
        "/live",
        operation_id="live",
        summary="The process is up",
        description=doc.LIVE,
        responses=doc.ALIVE,
    )
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get(
        "/ready",
        operation_id="ready",
        summary="The database (and Redis, when configured) answer",
        description=doc.READY,
        responses=doc.READINESS,
    )
    async def ready(self, shop: NamedDependency[Shop]) -> Response[HealthReport]:
        report = (await shop.operations.check_health()).public()  # the reasons were logged
        return Response(report, status_code=200 if report.ok else 503)
