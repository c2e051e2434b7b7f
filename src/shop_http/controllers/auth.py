"""Accounts and sessions: registering, logging in and out, tokens, the profile and password resets.

The reference is served at /api/docs; the API guide is the docs site's API page (docs/api.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, InvalidInput, ServiceUnavailable
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
from shop_http.api_docs import auth as doc
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import BEARER, raises
from shop_http.security import NO_AUTH, PUBLIC

AuthedRequest = Request[UserView, TokenClaims, Any]


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
            **doc.REGISTERED,
            **doc.WEAK_PASSWORD,
            **doc.EMAIL_TAKEN,
            **raises(REQUEST_TOO_LARGE, ServiceUnavailable),
            **doc.THROTTLED,
        },
    )
    async def register(
        self,
        shop: NamedDependency[Shop],
        data: Annotated[RegisterUser, doc.REGISTER_BODY],
    ) -> UserView:
        """Passwords need 8+ characters, not all digits, and must differ from the email."""
        return await shop.accounts.register(data)

    @post(
        "/login",
        status_code=HTTP_200_OK,
        opt={**PUBLIC, "auth_rate_limit": True},
        security=NO_AUTH,
        operation_id="login",
        summary="Log in with email (or username) and password",
        responses={
            **doc.TOKENS,
            **raises(InvalidInput),
            **doc.BAD_CREDENTIALS,
            **raises(REQUEST_TOO_LARGE, ServiceUnavailable),
            **doc.THROTTLED,
        },
    )
    async def login(
        self,
        shop: NamedDependency[Shop],
        data: Annotated[Login, doc.LOGIN_BODY],
    ) -> TokenPair:
        """Returns a short-lived access token and a rotating refresh token. Repeated failures for
        one identifier lock it for a while (429 with Retry-After), whether or not it exists.
        Send the access token as `Authorization: Bearer <access>`."""
        return await shop.sessions.login(data)

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        opt={**PUBLIC, "auth_rate_limit": True},
        security=NO_AUTH,
        operation_id="refreshToken",
        summary="Swap a refresh token for a new pair",
        responses={
            **doc.TOKENS,
            **raises(InvalidInput),
            **doc.BAD_REFRESH,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def refresh(
        self, shop: NamedDependency[Shop], data: Annotated[RefreshSession, doc.REFRESH_BODY]
    ) -> TokenPair:
        """The refresh token rotates: the old one stops working. Presenting an already-rotated
        refresh token revokes every token of that login (theft detection)."""
        return await shop.sessions.refresh(data)

    @post(
        "/password-reset",
        status_code=HTTP_202_ACCEPTED,
        opt={**PUBLIC, "auth_rate_limit": True},
        security=NO_AUTH,
        operation_id="requestPasswordReset",
        summary="Email a password-reset link",
        responses={
            **doc.RESET_REQUESTED,
            **raises(InvalidInput, REQUEST_TOO_LARGE, RATE_LIMITED),
            **doc.NO_MAIL,
        },
    )
    async def request_password_reset(
        self,
        shop: NamedDependency[Shop],
        data: Annotated[RequestPasswordReset, doc.RESET_BODY],
    ) -> Message:
        """Always 202 with the same body, whether or not an (active) account has that email, so the
        answer reveals nothing. An account gets an email with the link
        `{SHOP_PUBLIC_BASE_URL}/reset-password?token=…`, usable once within `SHOP_PASSWORD_RESET_TTL`
        seconds; the front end shows a new-password form there and posts to the confirm endpoint.
        A new request replaces the links sent before."""
        return Message(detail=await shop.accounts.request_password_reset(data))

    @post(
        "/password-reset/confirm",
        status_code=HTTP_204_NO_CONTENT,
        opt={**PUBLIC, "auth_rate_limit": True},
        security=NO_AUTH,
        operation_id="confirmPasswordReset",
        summary="Set a new password with the emailed token",
        responses={
            **doc.BAD_RESET,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def confirm_password_reset(
        self,
        shop: NamedDependency[Shop],
        data: Annotated[ConfirmPasswordReset, doc.CONFIRM_RESET_BODY],
    ) -> None:
        """Every problem with the token (unknown, already used, expired) is a 400 with the code
        `invalid_token`, and nothing changes. A weak password is a 400 naming the rules it breaks,
        and the token stays usable. On success every refresh token of the user's stops working;
        access tokens already issued run out within `SHOP_ACCESS_TOKEN_TTL`."""
        await shop.accounts.confirm_password_reset(data)

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        security=BEARER,
        operation_id="logout",
        summary="Revoke the refresh token and the access token used",
        description=doc.LOGOUT,
        responses=raises(InvalidInput, AuthenticationFailed, REQUEST_TOO_LARGE, RATE_LIMITED),
    )
    async def logout(
        self, shop: NamedDependency[Shop], request: AuthedRequest, data: Annotated[Logout, doc.REFRESH_BODY]
    ) -> None:
        await shop.sessions.logout(data, request.auth)

    @get(
        "/profile",
        security=BEARER,
        operation_id="getProfile",
        summary="The current user",
        responses={**doc.ONE_USER, **raises(AuthenticationFailed, RATE_LIMITED)},
    )
    async def profile(self, shop: NamedDependency[Shop], request: AuthedRequest) -> UserView:
        return await shop.accounts.get_profile(request.user.id)

    @patch(
        "/profile",
        security=BEARER,
        operation_id="updateProfile",
        summary="Change your name or phone",
        description=doc.UPDATE_PROFILE,
        responses={
            **doc.ONE_USER,
            **raises(InvalidInput, AuthenticationFailed, REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def update_profile(
        self,
        shop: NamedDependency[Shop],
        request: AuthedRequest,
        data: Annotated[UpdateProfile, doc.UPDATE_PROFILE_BODY],
    ) -> UserView:
        return await shop.accounts.update_profile(request.user.id, data)
