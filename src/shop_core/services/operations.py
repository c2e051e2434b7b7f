"""Running the shop: its health, what a database outage means to a caller, its metrics, and the
demo data set."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shop_core.domain.actors import Actor, require_staff
from shop_core.domain.errors import ServiceUnavailable
from shop_core.ports.clock import Clock
from shop_core.ports.health import Probe
from shop_core.ports.metrics import Metrics
from shop_core.ports.persistence import UnitOfWorkFactory
from shop_core.ports.security import PasswordHasher
from shop_core.services import demo, health

DATABASE_DOWN = "The database is unavailable right now; try again shortly."


class Operations:
    """What operators and the drivers' plumbing ask of the shop as a whole."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        clock: Clock,
        probes: Mapping[str, Probe],
        metrics: Metrics,
        database_unreachable: Callable[[BaseException], bool],
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._probes = probes
        self._metrics = metrics
        self._database_unreachable = database_unreachable

    async def check_health(self) -> health.HealthReport:
        return await health.check_health(probes=self._probes)

    def database_outage(self, exc: BaseException) -> ServiceUnavailable | None:
        """The error to answer with when `exc` says the database could not be reached (a 503 to
        retry); None when it does not (then it is a bug: a 500)."""
        if self._database_unreachable(exc):
            return ServiceUnavailable(DATABASE_DOWN, retry_after=5)
        return None

    @property
    def metrics_registry(self) -> Any:
        """The `prometheus_client.CollectorRegistry` holding this shop's metrics (its use cases' and
        its database pool's), for a driver to expose; None when metrics are off."""
        return getattr(self._metrics, "registry", None)

    async def seed_demo(self, actor: Actor) -> demo.DemoReport:
        """The demo admin and customer (`shop demo`), unless they exist."""
        require_staff(actor)
        return await demo.seed_demo(uow=self._uow, hasher=self._hasher, clock=self._clock)
