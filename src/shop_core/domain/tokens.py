"""What a session token says, and the rules for when it is acceptable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class TokenType(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True)
class TokenClaims:
    """The claims we sign. `family` ties every refresh token of one login together."""

    subject: int
    token_type: TokenType
    jti: str
    issued_at: datetime
    expires_at: datetime
    family: str | None = None
