"""The context every log line carries: the HTTP request being served and its user.

The HTTP driver sets `request_id` and `user_id` (context variables, so they follow a request's
awaits and the tasks it starts); `ContextFilter`, on the root handler, copies them onto every
record in the thread that logs. The core never reads them: a use case's lines get them from here.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The id of the HTTP request being served (see shop_http.observability), else None."""
user_id: ContextVar[int | None] = ContextVar("user_id", default=None)
"""The authenticated user of that request, once its bearer token is verified, else None."""


class ContextFilter(logging.Filter):
    """Adds `request_id` and `user_id` (None when unset) to every record, unless given as extras.
    It must run in the thread that logs: it sits on the root handler, before any queue."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.__dict__
        if "request_id" not in fields:
            fields["request_id"] = request_id.get()
        if "user_id" not in fields:
            fields["user_id"] = user_id.get()
        return True
