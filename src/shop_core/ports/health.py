from __future__ import annotations

from typing import Protocol


class Probe(Protocol):
    """A dependency that can say whether it is reachable."""

    async def ping(self) -> None:
        """Return when the dependency answers; raise otherwise."""
        ...
