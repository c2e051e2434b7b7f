"""Prometheus metrics at `GET /metrics`: the API's requests, and the shop's own metrics.

- Requests are counted and timed by method, route template (`/api/products/{product_id}`, never
  the raw path, so the number of series stays bounded; a request no route matches, a 404 or 405
  from the router, is `unmatched`) and status. The count is taken by the ASGI wrapper around the
  whole application (`observer`, called by shop_http.observability.RequestContext), so it sees
  every answer: the router's 404/405, the auth middleware's 401, the rate limiter's 429 and the
  500s the exception handlers make. Per request it costs one lookup of the already-labelled series.
- The shop's metrics (catalog cache lookups, job attempts, settled payments, the database pool's
  gauges, read at scrape time) come from the registry the composition root built for the shop.

`SHOP_METRICS_ENABLED=false` removes the endpoint (404) and the request counting.
`SHOP_METRICS_TOKEN`, when set, must come as `Authorization: Bearer <token>` (the scheme in any
case, no other scheme; the token compared in constant time; 401 otherwise). Unset, the endpoint is
open: keep it off the public internet (the deployment's nginx refuses `/metrics`, `/metrics/` and
every other spelling from outside). Production refuses to start that way unless
`SHOP_METRICS_PUBLIC=true` (see `Settings.check`).

The metrics are those of the process that answers the scrape: with uvicorn `--workers N`, each
worker counts only its own requests, and successive scrapes may reach different workers. Run
one process per replica (as the compose file does) and scrape every replica; Prometheus sums them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import HTTPRouteHandler
from litestar.types import Scope
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from shop_core.bootstrap import Shop
from shop_core.settings import Settings
from shop_http.security import NO_AUTH, PUBLIC
from shop_runtime.metrics_access import CHALLENGE, REFUSAL, MetricsAccess

PATH = "/metrics"
UNMATCHED = "unmatched"
OTHER_METHOD = "other"
# Any other method a client makes up is counted as `other`: label values must stay few.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Cached catalog reads answer in about a millisecond; writes and checkouts in tens of them.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpMetrics:
    """The API's request metrics (in a registry of this app's own) and the `/metrics` endpoint."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.metrics_enabled
        self.access = MetricsAccess(settings.metrics_token)
        self.registry = CollectorRegistry()
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        if not self.enabled:
            return
        # No `<name>_created` series beside every counter and histogram: they would double the
        # series Prometheus stores and tell it nothing a restart does not. (For the process.)
        disable_created_metrics()  # type: ignore[no-untyped-call]
        labels = ["method", "route", "status"]
        self._requests = Counter(
            "http_requests",
            "HTTP requests answered, by method, route template and status code.",
            labels,
            namespace="shop",
            registry=self.registry,
        )
        self._latency = Histogram(
            "http_request_duration_seconds",
            "Time to answer HTTP requests (until the response is sent), by method, route template "
            "and status code.",
            labels,
            namespace="shop",
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )

    @property
    def routes(self) -> list[HTTPRouteHandler]:
        """`GET /metrics`, or nothing when metrics are off."""
        return [self._endpoint()] if self.enabled else []

    @property
    def observer(self) -> Callable[[Scope, int, float], None] | None:
        """What counts each request answered (its scope, status and seconds), or None when
        metrics are off."""
        return self.observe if self.enabled else None

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        method: str = scope.get("method", OTHER_METHOD)  # type: ignore[assignment]
        if method not in METHODS:
            method = OTHER_METHOD
        route: str = scope.get("path_template", UNMATCHED)  # set by the router once a route matched
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            values = (method, route, str(status))
            series = self._series[key] = (self._requests.labels(*values), self._latency.labels(*values))
        series[0].inc()
        series[1].observe(seconds)

    def authorized(self, header: str | None) -> bool:
        """Whether a scrape with this Authorization header may read the metrics."""
        return self.access.allows(header)

    def exposition(self, shop: Shop | None) -> bytes:
        """The text format of the API's metrics followed by the shop's."""
        text = generate_latest(self.registry)
        registry = shop.operations.metrics_registry if shop is not None else None
        if isinstance(registry, CollectorRegistry):
            text += generate_latest(registry)
        return text

    def _endpoint(self) -> HTTPRouteHandler:
        metrics = self

        @get(
            PATH,
            opt=PUBLIC,
            security=NO_AUTH,
            include_in_schema=False,
            sync_to_thread=False,
        )
        def scrape(request: Request[Any, Any, Any]) -> Response[bytes]:
            if not metrics.authorized(request.headers.get("Authorization")):
                raise NotAuthorizedException(REFUSAL, headers={"WWW-Authenticate": CHALLENGE})
            shop: Shop | None = getattr(request.app.state, "shop", None)
            # As a header: a `text/` media type would get a second charset appended.
            return Response(metrics.exposition(shop), headers={"content-type": CONTENT_TYPE_LATEST})

        return scrape
