"""Security headers on every response.

A `before_send` hook rather than a middleware: route middleware never sees the answers Litestar
builds outside it (router 404/405, the auth middleware's 401, the rate limiter's 429), and those
need the headers as much as any other.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

API_CSP = "default-src 'none'; frame-ancestors 'none'"
# The docs page loads Swagger UI's files from the app itself (/api/docs/assets/) and has no inline
# script. Swagger UI sets inline styles and draws its icons as data: URIs.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


async def security_headers(message: Message, scope: Scope) -> None:
    """Add the headers to the start of every HTTP response (async: a sync hook runs in a thread)."""
    if message["type"] != "http.response.start":
        return
    path: str = scope["path"]
    headers = MutableScopeHeaders.from_message(message)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers.setdefault(
        "Content-Security-Policy", DOCS_CSP if path.startswith(("/api/docs", "/api/schema")) else API_CSP
    )
    if scope.get("scheme") == "https":
        headers["Strict-Transport-Security"] = HSTS
