"""The documentation of `controllers.health`: liveness and readiness."""

from __future__ import annotations

from shop_core.services.health import UNAVAILABLE, DependencyStatus, HealthReport
from shop_http.openapi import example, ok

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
ALIVE = ok(dict[str, str], "Alive.", example({"status": "ok"}))
LIVE = "Answers as long as the process serves requests; it asks no dependency."
READY = (
    "Asks every dependency, each within 2 seconds; `dependencies` says whether each "
    "answered (`ok`) or not (`unavailable`). Why one did not is in the server's log, not here."
)
READINESS = {
    **ok(HealthReport, "Every dependency answered.", example(HEALTHY)),
    **ok(
        HealthReport,
        "Some dependency did not answer; take this instance out of rotation.",
        example(SICK),
        status=503,
    ),
}
