"""Accounts and sessions: registering, logging in and out, tokens, the profile and password resets.

The reference is served at /api/docs; the API guide is the docs site's API page (docs/api.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, Conflict, InvalidInput, ServiceUnavailable
from shop_core.domain.tokens import TokenClaims
from shop_core.services.commands import (
    ConfirmPasswordReset,
    Login,
    Logout,
    RefreshSession,
    RegisterUser,
    RequestPasswordReset,
    UpdateProfile,
)
from shop_core.services.views import Message, TokenPair, UserView
from shop_http.api_docs.examples import CUSTOMER
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import BEARER, ErrorBody, body, error, example, ok, raises, request_example
from shop_http.security import NO_AUTH, PUBLIC

AuthedRequest = Request[UserView, TokenClaims, Any]

PASSWORD = "correct-horse-battery"  # noqa: S105 - an example in the docs
ACCESS = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIyIiwidHlwZSI6ImFjY2VzcyJ9.8bXk3Hq0sVYc2Jx"
REFRESH = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIyIiwidHlwZSI6InJlZnJlc2gifQ.Q2m9r7yLd0cF4kA"
TOKENS = ok(
    TokenPair,
    "A short-lived access token (`expires_in` seconds) and a rotating refresh token.",
    example(TokenPair(access=ACCESS, refresh=REFRESH, expires_in=900)),
)
ONE_USER = ok(UserView, "The account.", example(CUSTOMER))
REFRESH_BODY = body(request_example(RefreshSession, "The refresh token login gave", refresh=REFRESH))
THROTTLED = error(
    RATE_LIMITED,
    "Too many requests (`throttled`), or too many failed logins for this identifier "
    "(`too_many_attempts`); retry after `Retry-After` seconds.",
    ErrorBody(detail="Too many failed logins; try again later.", code="too_many_attempts"),
    ErrorBody(detail="Too Many Requests.", code="throttled"),
)
BAD_CREDENTIALS = error(
    AuthenticationFailed,
    "Wrong email (or username) or password, or the account is inactive.",
    ErrorBody(detail="No active account found with the given credentials.", code="not_authenticated"),
)
BAD_REFRESH = error(
    AuthenticationFailed,
    "The refresh token is expired, revoked, already rotated, or not a refresh token.",
    ErrorBody(detail="This token has been revoked.", code="not_authenticated"),
)


class AuthController(Controller):
    path = "/api/auth"
    tags = ["Auth"]

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        opt={**PUBLIC, "auth_rate_limit": True},
        security=NO_AUTH,
        operation_id="register",
        summary="Create a customer account",
        responses={
            **ok(UserView, "The new account (never its password).", example(CUSTOMER), status=201),
            **error(
                InvalidInput,
                "A malformed email, or a weak password (the `password` errors name the rules it breaks).",
                ErrorBody(
                    detail="The password is too weak.",
                    code="invalid",
                    errors={"password": ["Use at least 8 characters.", "The password cannot be all digits."]},
                ),
            ),
            **error(
                Conflict,
                "That email (or username) is already registered.",
                ErrorBody(detail="A user with that email already exists.", code="conflict"),
            ),
            **raises(REQUEST_TOO_LARGE, ServiceUnavailable),
            **THROTTLED,
        },
    )
    async def register(
        self,
        shop: NamedDependency[Shop],
        data: Annotated[
            RegisterUser,
            body(
                request_example(
                    RegisterUser,
                    "A new customer",
                    email="ada@example.com",
                    password=PASSWORD,
                    first_name="Ada",
                    last_name="Lovelace",
                ),
                request_example(
                    RegisterUser,
                    "Every field",
                    email="grace@example.com",
                    password=PASSWORD,
                    username="grace",
                    first_name="Grace",
                    last_name="Hopper",
                    phone="+1 202 555 0143",
                ),
            ),
        ],
    ) -> UserView:
        """Passwords need 8+ characters, not all digits, and must differ from the email."""
        return await shop.register(data)

    @post(
        "/login",
        status_code=HTTP_200_OK,
        opt={**PUBLIC, "auth_rate_limit": True},
        security=NO_AUTH,
        operation_id="login",
        summary="Log in with email (or username) and password",
        responses={
            **TOKENS,
            **raises(InvalidInput),
            **BAD_CREDENTIALS,
            **raises(REQUEST_TOO_LARGE, ServiceUnavailable),
            **THROTTLED,
        },
    )
    async def login(
        self,
        shop: NamedDependency[Shop],
        data: Annotated[
            Login,
            body(
                request_example(Login, "By email", email="ada@example.com", password=PASSWORD),
                request_example(Login, "By username", username="ada", password=PASSWORD),
            ),
        ],
    ) -> TokenPair:
        """Returns a short-lived access token and a rotating refresh token. Repeated failures for
        one identifier lock it for a while (429 with Retry-After), whether or not it exists.
        Send the access token as `Authorization: Bearer <access>`."""
        return await shop.login(data)

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        opt={**PUBLIC, "auth_rate_limit": True},
        security=NO_AUTH,
        operation_id="refreshToken",
        summary="Swap a refresh token for a new pair",
        responses={
            **TOKENS,
            **raises(InvalidInput),
            **BAD_REFRESH,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def refresh(
        self, shop: NamedDependency[Shop], data: Annotated[RefreshSession, REFRESH_BODY]
    ) -> TokenPair:
        """The refresh token rotates: the old one stops working. Presenting an already-rotated
        refresh token revokes every token of that login (theft detection)."""
        return await shop.refresh(data)

    @post(
        "/password-reset",
        status_code=HTTP_202_ACCEPTED,
        opt={**PUBLIC, "auth_rate_limit": True},
        security=NO_AUTH,
        operation_id="requestPasswordReset",
        summary="Email a password-reset link",
        responses={
            **ok(
                Message,
                "The same answer whether or not the account exists.",
                example(Message(detail="If that email has an account, a reset link is on its way.")),
                status=HTTP_202_ACCEPTED,
            ),
            **raises(InvalidInput, REQUEST_TOO_LARGE, RATE_LIMITED),
            **error(
                ServiceUnavailable,
                "This shop cannot send email (the `mail` extra is not installed).",
                ErrorBody(
                    detail="Password reset needs the `mail` extra (jinja2) installed.",
                    code="service_unavailable",
                ),
            ),
        },
    )
    async def request_password_reset(
        self,
        shop: NamedDependency[Shop],
        data: Annotated[
            RequestPasswordReset,
            body(request_example(RequestPasswordReset, "The account's email", email="ada@example.com")),
        ],
    ) -> Message:
        """Always 202 with the same body, whether or not an (active) account has that email, so the
        answer reveals nothing. An account gets an email with the link
        `{SHOP_PUBLIC_BASE_URL}/reset-password?token=…`, usable once within `SHOP_PASSWORD_RESET_TTL`
        seconds; the front end shows a new-password form there and posts to the confirm endpoint.
        A new request replaces the links sent before."""
        return Message(detail=await shop.request_password_reset(data))

    @post(
        "/password-reset/confirm",
        status_code=HTTP_204_NO_CONTENT,
        opt={**PUBLIC, "auth_rate_limit": True},
        security=NO_AUTH,
        operation_id="confirmPasswordReset",
        summary="Set a new password with the emailed token",
        responses={
            **error(
                InvalidInput,
                "The token is unknown, used or expired (`invalid_token`), or the password is weak "
                "(`invalid`, naming the rules it breaks).",
                ErrorBody(
                    detail="This password-reset link is invalid, already used or expired; ask for a new one.",
                    code="invalid_token",
                ),
            ),
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def confirm_password_reset(
        self,
        shop: NamedDependency[Shop],
        data: Annotated[
            ConfirmPasswordReset,
            body(
                request_example(
                    ConfirmPasswordReset,
                    "The token from the emailed link, and the new password",
                    token="q8Yw2n5Vd0hR3xJt7LcPzKmA9sBfEuGi",  # noqa: S106 - an example in the docs
                    password="new-horse-battery-staple",  # noqa: S106 - an example in the docs
                )
            ),
        ],
    ) -> None:
        """Every problem with the token (unknown, already used, expired) is a 400 with the code
        `invalid_token`, and nothing changes. A weak password is a 400 naming the rules it breaks,
        and the token stays usable. On success every refresh token of the user's stops working;
        access tokens already issued run out within `SHOP_ACCESS_TOKEN_TTL`."""
        await shop.confirm_password_reset(data)

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        security=BEARER,
        operation_id="logout",
        summary="Revoke the refresh token and the access token used",
        description="Both stop working at once, on every server.",
        responses=raises(InvalidInput, AuthenticationFailed, REQUEST_TOO_LARGE, RATE_LIMITED),
    )
    async def logout(
        self, shop: NamedDependency[Shop], request: AuthedRequest, data: Annotated[Logout, REFRESH_BODY]
    ) -> None:
        await shop.logout(data, request.auth)

    @get(
        "/profile",
        security=BEARER,
        operation_id="getProfile",
        summary="The current user",
        responses={**ONE_USER, **raises(AuthenticationFailed, RATE_LIMITED)},
    )
    async def profile(self, shop: NamedDependency[Shop], request: AuthedRequest) -> UserView:
        return await shop.get_profile(request.user.id)

    @patch(
        "/profile",
        security=BEARER,
        operation_id="updateProfile",
        summary="Change your name or phone",
        description="Only the fields sent change. The email and password are changed elsewhere.",
        responses={**ONE_USER, **raises(InvalidInput, AuthenticationFailed, REQUEST_TOO_LARGE, RATE_LIMITED)},
    )
    async def update_profile(
        self,
        shop: NamedDependency[Shop],
        request: AuthedRequest,
        data: Annotated[
            UpdateProfile,
            body(
                request_example(UpdateProfile, "A new phone number", phone="+44 20 7946 0001"),
                request_example(UpdateProfile, "A new name", first_name="Augusta Ada", last_name="King"),
            ),
        ],
    ) -> UserView:
        return await shop.update_profile(request.user.id, data)
