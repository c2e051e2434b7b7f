"""Users, their roles, and the rules for emails, usernames and passwords."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shop_core.domain.errors import InvalidInput

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_USERNAME = re.compile(r"^[A-Za-z0-9_.+-]{3,150}$")


class Role(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    SUPERUSER = "superuser"


@dataclass(eq=False)
class User:
    email: str
    username: str
    password_hash: str
    date_joined: datetime
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    role: Role = Role.CUSTOMER
    is_active: bool = True
    id: int | None = field(default=None)

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.STAFF, Role.SUPERUSER)


def normalize_email(raw: str) -> str:
    """Trim and lower-case an email, or raise InvalidInput when it is not one."""
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput.field("email", "Enter a valid email address.")
    return email


def normalize_username(raw: str) -> str:
    username = raw.strip()
    if not _USERNAME.match(username) or "@" in username:
        raise InvalidInput.field("username", "Use 3 to 150 letters, digits and . _ + - (no @).")
    return username


def username_from_email(email: str) -> str:
    """A default username: the email's local part, made valid."""
    local = re.sub(r"[^A-Za-z0-9_.+-]", "", email.split("@", 1)[0])[:140]
    return local.ljust(3, "_")


def check_password_policy(password: str, *, email: str) -> None:
    """Raise InvalidInput (field `password`) listing every rule the password breaks."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    if password.isdigit():
        problems.append("The password cannot be all digits.")
    if password.strip().lower() == email.strip().lower():
        problems.append("The password cannot be your email address.")
    if problems:
        raise InvalidInput("The password is too weak.", {"password": problems})
