"""What the use cases report for monitoring: cache lookups, job attempts, settled payments.

The use cases call these on their hot paths, so an implementation must be cheap and must never
raise or block. `NullMetrics` (the default everywhere) records nothing; the composition root binds
the Prometheus adapter when metrics are on.
"""

from __future__ import annotations

from typing import Protocol


class Metrics(Protocol):
    def cache_lookup(self, hit: bool) -> None:
        """The catalog cache was asked for a value: `hit` when it had it (locally or shared)."""
        ...

    def job_attempt(self, name: str, status: str, seconds: float) -> None:
        """One attempt at a job of kind `name` ended `status` (complete, retrying or failed) after
        `seconds` of running its handler."""
        ...

    def payment_settled(self, gateway: str, outcome: str) -> None:
        """A payment through `gateway` was settled: `outcome` is what it became (succeeded, failed,
        cancelled) or `held` for staff."""
        ...


class NullMetrics:
    """Records nothing: for the core alone, tests, and deployments with metrics off."""

    __slots__ = ()

    def cache_lookup(self, hit: bool) -> None:
        pass

    def job_attempt(self, name: str, status: str, seconds: float) -> None:
        pass

    def payment_settled(self, gateway: str, outcome: str) -> None:
        pass


NULL_METRICS: Metrics = NullMetrics()
