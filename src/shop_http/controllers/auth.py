"""The Auth table of API.md."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from shop_core.bootstrap import Shop
from shop_core.domain.tokens import TokenClaims
from shop_core.services.commands import Login, Logout, RefreshSession, RegisterUser, UpdateProfile
from shop_core.services.views import TokenPair, UserView
from shop_http.openapi import responses
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
        responses=responses(400, 409, 413, 429),
    )
    async def register(self, shop: NamedDependency[Shop], data: JSONBody[RegisterUser]) -> UserView:
        """Passwords need 8+ characters, not all digits, and must differ from the email."""
        return await shop.register(data)

    @post(
        "/login",
        status_code=HTTP_200_OK,
        opt={**PUBLIC, "auth_rate_limit": True},
        security=NO_AUTH,
        operation_id="login",
        summary="Log in with email (or username) and password",
        responses=responses(400, 401, 429),
    )
    async def login(self, shop: NamedDependency[Shop], data: JSONBody[Login]) -> TokenPair:
        """Returns a short-lived access token and a rotating refresh token. Repeated failures for
        one identifier lock it for a while (429 with Retry-After), whether or not it exists."""
        return await shop.login(data)

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        opt={**PUBLIC, "auth_rate_limit": True},
        security=NO_AUTH,
        operation_id="refreshToken",
        summary="Swap a refresh token for a new pair",
        responses=responses(400, 401, 429),
    )
    async def refresh(self, shop: NamedDependency[Shop], data: JSONBody[RefreshSession]) -> TokenPair:
        """The refresh token rotates: the old one stops working. Presenting an already-rotated
        refresh token revokes every token of that login (theft detection)."""
        return await shop.refresh(data)

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="logout",
        summary="Revoke the refresh token and the access token used",
        responses=responses(400, 401),
    )
    async def logout(
        self, shop: NamedDependency[Shop], request: AuthedRequest, data: JSONBody[Logout]
    ) -> None:
        await shop.logout(data, request.auth)

    @get("/profile", operation_id="getProfile", summary="The current user", responses=responses(401))
    async def profile(self, shop: NamedDependency[Shop], request: AuthedRequest) -> UserView:
        return await shop.get_profile(request.user.id)

    @patch(
        "/profile",
        operation_id="updateProfile",
        summary="Change your name or phone",
        responses=responses(400, 401),
    )
    async def update_profile(
        self, shop: NamedDependency[Shop], request: AuthedRequest, data: JSONBody[UpdateProfile]
    ) -> UserView:
        return await shop.update_profile(request.user.id, data)
