"""The `Metrics` port on prometheus_client, and the database pool's gauges.

Every `PrometheusMetrics` has a `CollectorRegistry` of its own (never the global default one), so
any number of shops can be bootstrapped in one process (the tests do) without their metrics
clashing; the HTTP driver serves this registry at `GET /metrics`.

The values live in the process that records them: with several worker processes (uvicorn
`--workers N`), each one counts its own requests, and a scrape sees only the process that answers
it. Run one process per replica (as the compose file does) and let Prometheus sum the replicas.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

NAMESPACE = "shop"
# Jobs send mail and render invoices: from milliseconds to their 120 s timeout.
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class PrometheusMetrics:
    """Counters and histograms of the core's events, in `registry`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        lookups = Counter(
            "catalog_cache_lookups",
            "Catalog cache lookups, by whether the cache had the value (hit) or not (miss).",
            ["result"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        # Bound once: a lookup is on the path of every catalog read.
        self._hit = lookups.labels("hit")
        self._miss = lookups.labels("miss")
        self._job_attempts = Counter(
            "job_attempts",
            "Attempts at background jobs, by job name and how the attempt ended.",
            ["name", "status"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self._job_seconds = Histogram(
            "job_attempt_duration_seconds",
            "How long attempts at background jobs ran, by job name and how the attempt ended.",
            ["name", "status"],
            namespace=NAMESPACE,
            registry=self.registry,
            buckets=JOB_BUCKETS,
        )
        self._payments = Counter(
            "payments_settled",
            "Payments settled, by gateway and outcome (succeeded, failed, cancelled, held).",
            ["gateway", "outcome"],
            namespace=NAMESPACE,
            registry=self.registry,
        )

    def watch_pool(self, engine: AsyncEngine) -> None:
        """Report `engine`'s connection pool, read at each scrape."""
        self.registry.register(PoolCollector(engine))

    def cache_lookup(self, hit: bool) -> None:
        (self._hit if hit else self._miss).inc()

    def job_attempt(self, name: str, status: str, seconds: float) -> None:
        self._job_attempts.labels(name, status).inc()
        self._job_seconds.labels(name, status).observe(seconds)

    def payment_settled(self, gateway: str, outcome: str) -> None:
        self._payments.labels(gateway, outcome).inc()


class PoolCollector(Collector):
    """The SQLAlchemy pool's occupancy, read when Prometheus scrapes (nothing per request).

    The engine's pool is looked up at each scrape, since disposing of the engine replaces it. A
    pool that keeps no count (SQLite's in-memory `StaticPool`, a `NullPool`) reports nothing.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        pool = self._engine.pool
        if not isinstance(pool, QueuePool):
            return
        gauges = (
            ("db_pool_size", "Connections the pool keeps open (its configured size).", pool.size()),
            ("db_pool_connections_in_use", "Connections checked out of the pool now.", pool.checkedout()),
            ("db_pool_connections_idle", "Open connections waiting in the pool now.", pool.checkedin()),
            ("db_pool_overflow", "Connections open now beyond the pool's size.", max(pool.overflow(), 0)),
        )
        for name, documentation, value in gauges:
            yield GaugeMetricFamily(f"{NAMESPACE}_{name}", documentation, value=value)
