"""A Shop wired to the in-memory fakes, and helpers to drive it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import pytest

from shop_core.bootstrap import Shop
from shop_core.domain.tokens import TokenClaims
from shop_core.services.commands import Login, RegisterUser
from shop_core.services.views import TokenPair, UserView
from shop_core.settings import Environment, Settings
from tests.fakes import FakeClock, FakeDatabase, FakePasswordHasher, fake_shop

PASSWORD = "correct horse battery"
MAX_FAILED_LOGINS = 3
WINDOW = 600


@dataclass
class World:
    shop: Shop
    db: FakeDatabase
    clock: FakeClock

    @property
    def hasher(self) -> FakePasswordHasher:
        hasher = self.shop.ports.hasher
        assert isinstance(hasher, FakePasswordHasher)
        return hasher

    async def register(self, email: str = "ada@example.com", **fields: Any) -> UserView:
        cmd = msgspec.convert({"email": email, "password": PASSWORD, **fields}, RegisterUser)
        return await self.shop.accounts.register(cmd)

    async def login(self, password: str = PASSWORD, **identifier: str) -> TokenPair:
        if not identifier:
            identifier = {"email": "ada@example.com"}
        return await self.shop.sessions.login(msgspec.convert({"password": password, **identifier}, Login))

    def claims(self, token: str) -> TokenClaims:
        return self.shop.ports.codec.decode(token)


@pytest.fixture
def world() -> World:
    settings = Settings(
        env=Environment.TEST, max_failed_logins=MAX_FAILED_LOGINS, failed_login_window=WINDOW
    ).check()
    shop, db, clock = fake_shop(settings)
    return World(shop, db, clock)
