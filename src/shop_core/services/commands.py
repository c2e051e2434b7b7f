"""Commands: what a driver asks the core to do, validated when built with `msgspec.convert`."""

from __future__ import annotations

from typing import Annotated

import msgspec

NO_NUL = r"^[^\x00]*$"  # PostgreSQL cannot store (or even compare) a NUL character in text
Name = Annotated[str, msgspec.Meta(max_length=150, pattern=NO_NUL, description="Up to 150 characters.")]
Phone = Annotated[
    str,
    msgspec.Meta(max_length=32, pattern=r"^[0-9+() .-]*$", description="Digits, spaces and + ( ) . -"),
]
Email = Annotated[
    str, msgspec.Meta(min_length=3, max_length=254, pattern=NO_NUL, examples=["ada@example.com"])
]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Username = Annotated[str, msgspec.Meta(min_length=1, max_length=150, pattern=NO_NUL)]


class Command(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every command: unknown fields are an error, not silently dropped."""


class RegisterUser(Command):
    email: Email
    password: Password
    username: Username | None = None
    first_name: Name = ""
    last_name: Name = ""
    phone: Phone = ""


class Login(Command):
    password: Password
    email: Annotated[str, msgspec.Meta(max_length=254, pattern=NO_NUL)] | None = None
    username: Annotated[str, msgspec.Meta(max_length=254, pattern=NO_NUL)] | None = None


class RequestPasswordReset(Command):
    # Any string: a malformed address gets the same 202 as an unknown one.
    email: Annotated[str, msgspec.Meta(max_length=1000, examples=["ada@example.com"])]


class ConfirmPasswordReset(Command):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200, description="From the emailed link.")]
    password: Password


class RefreshSession(Command):
    refresh: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


class Logout(Command):
    refresh: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


class UpdateProfile(Command):
    first_name: Name | msgspec.UnsetType = msgspec.UNSET
    last_name: Name | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | msgspec.UnsetType = msgspec.UNSET


class CreateAdmin(Command):
    email: Email
    password: Password
    username: Username | None = None
