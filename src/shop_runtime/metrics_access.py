"""Who may scrape a process's metrics: with `SHOP_METRICS_TOKEN` set, only a request that sends it
as `Authorization: Bearer <token>`. The API's /metrics and the worker's metrics port both ask here."""

from __future__ import annotations

import hashlib
import hmac

CHALLENGE = 'Bearer realm="metrics"'
REFUSAL = "Send the metrics token as 'Authorization: Bearer <token>'."


class MetricsAccess:
    def __init__(self, token: str | None) -> None:
        # Digests, so comparing them takes the same time whatever the length of what was sent.
        self._digest = hashlib.sha256(token.encode()).digest() if token else None

    @property
    def open(self) -> bool:
        """No token is set: anyone who reaches the port may scrape it."""
        return self._digest is None

    def allows(self, authorization: str | None) -> bool:
        """Whether a request with this Authorization header may scrape."""
        if self._digest is None:
            return True
        scheme, _, presented = (authorization or "").partition(" ")
        digest = hashlib.sha256(presented.strip().encode()).digest()
        # `Basic <token>`, `Token <token>` or a bare token are refused: Bearer only, in any case.
        return hmac.compare_digest(digest, self._digest) and scheme.lower() == "bearer"
