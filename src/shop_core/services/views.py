"""What the use cases answer with: plain, encodable views of domain objects."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

import msgspec

from shop_core.domain.users import User

T = TypeVar("T")


class UserView(msgspec.Struct, kw_only=True):
    id: int
    email: str
    username: str
    first_name: str
    last_name: str
    phone: str
    is_staff: bool
    date_joined: datetime
    is_active: bool = msgspec.field(default=True)

    @classmethod
    def of(cls, user: User) -> UserView:
        assert user.id is not None
        return cls(
            id=user.id,
            email=user.email,
            username=user.username,
            first_name=user.first_name,
            last_name=user.last_name,
            phone=user.phone,
            is_staff=user.is_staff,
            date_joined=user.date_joined,
            is_active=user.is_active,
        )


class TokenPair(msgspec.Struct, kw_only=True):
    access: str
    refresh: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_in: int


class Message(msgspec.Struct, kw_only=True):
    detail: str


class Page(msgspec.Struct, Generic[T], kw_only=True):
    items: list[T]
    total: int
