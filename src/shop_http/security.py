"""Bearer-token auth through Litestar's JWT middleware, and the guards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import AuthenticationResult
from litestar.openapi.spec import SecurityRequirement
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.domain.errors import AuthenticationFailed
from shop_core.services.views import UserView
from shop_core.settings import Settings
from shop_runtime.log_context import user_id

PUBLIC = {"exclude_from_auth": True}
# "No credentials at all": written `security: []` by shop_http.openapi.ShopOpenAPI (Litestar drops `[]`).
NO_AUTH: list[SecurityRequirement] = [{}]


BEARER_ONLY = "Use an 'Authorization: Bearer <access>' header."
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header (the scheme in any case).

    Any other scheme (`Basic`, `Token`, none at all) is a 401, never read as a bearer token.
    """
    scheme, _, token = (header or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise NotAuthorizedException(BEARER_ONLY)
    return token


def writes(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether the request may change something: its user is then read from the database, not
    taken from what this process remembers (a user deleted behind the shop's back is refused)."""
    return connection.scope.get("method", "GET") not in SAFE_METHODS


CONFIRMS_USER = "confirms_user"
"""A route's `opt` flag: its use case checks that the user is still active in its own statement
(`Orders.place_order(confirm_user=True)`), so a write to it does not read the user first. The
token's revocation is checked here all the same, on every request."""


def confirms_user(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    handler = connection.scope.get("route_handler")
    return handler is not None and bool(handler.opt.get(CONFIRMS_USER, False))


class BearerMiddleware(JWTAuthenticationMiddleware):
    """Litestar's bearer middleware, verifying with the shop's own token codec (one decoding, one
    cache of verified tokens, for protected and optional-auth endpoints alike). `request.auth` is
    the token's TokenClaims.

    Litestar's own middleware takes whatever follows the first space, whatever the scheme word;
    this one accepts the `Bearer` scheme only."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = connection.headers.get(self.auth_header)
        if not header:
            raise NotAuthorizedException("No JWT token found in request header")
        token = bearer_token(header)
        return await self.authenticate_token(encoded_token=token, connection=connection)

    async def authenticate_token(
        self, encoded_token: str, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        shop: Shop = connection.app.state.shop
        try:
            claims = shop.sessions.verify_token(encoded_token)
            fresh = writes(connection) and not confirms_user(connection)
            user = await shop.sessions.authenticate(claims, fresh=fresh)
        except AuthenticationFailed as exc:  # revoked, expired, forged, or the user is gone
            raise NotAuthorizedException(str(exc)) from exc
        user_id.set(
            claims.subject
        )  # on every log line of the request from here (see shop_runtime.log_context)
        return AuthenticationResult(user=user, auth=claims)


async def _unused_retrieve_user(_token: Token, _connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """JWTAuth wants a user handler; BearerMiddleware does that work itself."""
    raise NotImplementedError


def jwt_auth(settings: Settings) -> JWTAuth[UserView, Token]:
    return JWTAuth[UserView, Token](
        retrieve_user_handler=_unused_retrieve_user,
        authentication_middleware_class=BearerMiddleware,
        token_secret=settings.secret_key,
        algorithm="HS256",
        default_token_expiration=timedelta(seconds=settings.access_token_ttl),
        require_claims=["exp", "iat", "jti", "type"],
        exclude_opt_key="exclude_from_auth",
        exclude=["^/api/schema", "^/api/docs", "^/health"],
        description="An access token from POST /api/auth/login/, sent as `Authorization: Bearer <access>`.",
    )


def requires_staff(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    user: UserView | None = connection.user if "user" in connection.scope else None
    if user is None or not user.is_staff:
        raise PermissionDeniedException("Only staff may do this.")


def authorization(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The (first) Authorization header, found in the raw ASGI headers: building Litestar's Headers
    for one look costs more than the scan on the anonymous public reads."""
    for name, value in connection.scope["headers"]:
        if name.lower() == b"authorization":
            return value.decode("latin-1")
    return None


async def provide_viewer(request: ASGIConnection[Any, Any, Any, Any]) -> UserView | None:
    """The user on a public endpoint when a bearer token is sent (401 if it is bad), else None."""
    header = authorization(request)
    if header is None:
        return None
    shop: Shop = request.app.state.shop
    return await shop.sessions.authenticate_bearer(bearer_token(header), fresh=writes(request))


async def viewer_is_staff(request: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether a public read is made by staff (401 for a bad token; False without one).

    Called inline rather than as a dependency: two independent dependencies make Litestar start
    a task group per request, which costs the hot catalog reads more than the call itself.
    """
    viewer = await provide_viewer(request)
    return viewer is not None and viewer.is_staff


def actor_of(user: UserView) -> Actor:
    """Who acts, as the use cases check it and audit events and stock movements record it."""
    return Actor.user(user.id, user.email, is_staff=user.is_staff)
