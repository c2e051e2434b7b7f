"""Security headers on every response.

Added by the ASGI wrapper around the whole app (shop_http.observability.RequestContext) rather
than by a middleware: route middleware never sees the answers Litestar builds outside it (router
404/405, the auth middleware's 401, the rate limiter's 429), and those need the headers as much
as any other.
"""

from __future__ import annotations

from litestar.types import Scope

API_CSP = "default-src 'none'; frame-ancestors 'none'"
# The docs page loads Swagger UI's files from the app itself (/api/docs/assets/) and has no inline
# script. Swagger UI sets inline styles and draws its icons as data: URIs.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"

_CSP = b"content-security-policy"
_HSTS = b"strict-transport-security"
# Set on every response, in place of any the handler set (raw ASGI names: lower case).
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_REPLACED = frozenset(name for name, _ in _ALWAYS) | {_HSTS}
_API_CSP = (_CSP, API_CSP.encode())
_DOCS_CSP = (_CSP, DOCS_CSP.encode())
_HSTS_HEADER = (_HSTS, HSTS.encode())


def security_headers(headers: list[tuple[bytes, bytes]], scope: Scope) -> list[tuple[bytes, bytes]]:
    """A response start's raw ASGI headers with the security headers (in place of any the handler
    set; its Content-Security-Policy is kept). Raw pairs: Litestar's MutableScopeHeaders decodes
    and compares every header for each one set, ~8 us of CPU per request on the cached reads."""
    has_csp = False
    kept: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered in _REPLACED:
            continue
        has_csp = has_csp or lowered == _CSP
        kept.append((name, value))
    kept.extend(_ALWAYS)
    if not has_csp:
        path: str = scope["path"]
        kept.append(_DOCS_CSP if path.startswith(("/api/docs", "/api/schema")) else _API_CSP)
    if scope.get("scheme") == "https":
        kept.append(_HSTS_HEADER)
    return kept
