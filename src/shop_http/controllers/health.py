"""Liveness and readiness for load balancers and orchestrators.

`/health/ready` is public: it names each dependency and says `ok` or `unavailable`, never why. The
reason (an exception text naming internal hosts and ports) goes to the log, with the exception.
"""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from shop_core.bootstrap import Shop
from shop_core.services.health import UNAVAILABLE, DependencyStatus, HealthReport
from shop_http.openapi import example, ok
from shop_http.security import NO_AUTH, PUBLIC

HEALTHY = HealthReport(
    ok=True, dependencies={"database": DependencyStatus(ok=True), "redis": DependencyStatus(ok=True)}
)
SICK = HealthReport(
    ok=False,
    dependencies={
        "database": DependencyStatus(ok=True),
        "redis": DependencyStatus(ok=False, detail=UNAVAILABLE),
    },
)


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
        description="Answers as long as the process serves requests; it asks no dependency.",
        responses=ok(dict[str, str], "Alive.", example({"status": "ok"})),
    )
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get(
        "/ready",
        operation_id="ready",
        summary="The database (and Redis, when configured) answer",
        description="Asks every dependency, each within 2 seconds; `dependencies` says whether each "
        "answered (`ok`) or not (`unavailable`). Why one did not is in the server's log, not here.",
        responses={
            **ok(HealthReport, "Every dependency answered.", example(HEALTHY)),
            **ok(
                HealthReport,
                "Some dependency did not answer; take this instance out of rotation.",
                example(SICK),
                status=503,
            ),
        },
    )
    async def ready(self, shop: NamedDependency[Shop]) -> Response[HealthReport]:
        report = (await shop.operations.check_health()).public()  # the reasons were logged
        return Response(report, status_code=200 if report.ok else 503)
