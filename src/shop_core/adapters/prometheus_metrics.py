"""The `Metrics` port on prometheus_client, and the database pools' gauges.

Every `PrometheusMetrics` has a `CollectorRegistry` of its own (never the global default one), so
any number of shops can be bootstrapped in one process (the tests do) without their metrics
clashing; the HTTP driver serves this registry at `GET /metrics`.

The values live in the process that records them: with several worker processes (uvicorn
`--workers N`), each one counts its own requests, and a scrape sees only the process that answers
it. Run one process per replica (as the compose file does) and let Prometheus sum the replicas.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

if TYPE_CHECKING:
    from shop_core.adapters.sql.pg_reads import PgReads

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

    def watch_pool(self, engine: AsyncEngine, reads: PgReads | None = None) -> None:
        """Report `engine`'s connection pool (`pool="main"`) and the catalog reader's own pool on
        PostgreSQL (`reads`, `pool="reads"`), read at each scrape."""
        self.registry.register(PoolCollector(engine, reads))

    def cache_lookup(self, hit: bool) -> None:
        (self._hit if hit else self._miss).inc()

    def job_attempt(self, name: str, status: str, seconds: float) -> None:
        self._job_attempts.labels(name, status).inc()
        self._job_seconds.labels(name, status).observe(seconds)

    def payment_settled(self, gateway: str, outcome: str) -> None:
        self._payments.labels(gateway, outcome).inc()


class PoolCollector(Collector):
    """The database pools' occupancy, read when Prometheus scrapes (nothing per request), labelled
    by pool: `main`, the engine's (SQLAlchemy's), and `reads`, the catalog reader's own asyncpg
    connections on PostgreSQL (`pg_reads`).

    The engine's pool is looked up at each scrape, since disposing of the engine replaces it. A
    pool that keeps no count (SQLite's in-memory `StaticPool`, a `NullPool`) reports nothing. The
    read pool never opens more than its size: it has no overflow gauge.
    """

    def __init__(self, engine: AsyncEngine, reads: PgReads | None = None) -> None:
        self._engine = engine
        self._reads = reads

    def collect(self) -> Iterator[Metric]:
        size = _gauge("db_pool_size", "The pool's configured size (the read pool opens that many at most).")
        in_use = _gauge("db_pool_connections_in_use", "Connections checked out of the pool now.")
        idle = _gauge("db_pool_connections_idle", "Open connections waiting in the pool now.")
        overflow = _gauge("db_pool_overflow", "Connections open now beyond the pool's size.")
        pool = self._engine.pool
        if isinstance(pool, QueuePool):
            size.add_metric(["main"], pool.size())
            in_use.add_metric(["main"], pool.checkedout())
            idle.add_metric(["main"], pool.checkedin())
            overflow.add_metric(["main"], max(pool.overflow(), 0))
        if (reads := self._reads) is not None:
            size.add_metric(["reads"], reads.size)
            in_use.add_metric(["reads"], reads.in_use)
            idle.add_metric(["reads"], reads.idle)
        for gauge in (size, in_use, idle, overflow):
            if gauge.samples:
                yield gauge


def _gauge(name: str, documentation: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{NAMESPACE}_{name}", documentation, labels=["pool"])
