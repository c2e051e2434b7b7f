"""Signing and verifying our tokens with PyJWT (HS256 only)."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt

from shop_core.domain.errors import AuthenticationFailed
from shop_core.domain.tokens import TokenClaims, TokenType

ALGORITHM = "HS256"
REQUIRED = ["exp", "iat", "sub", "jti", "type"]


class JwtTokenCodec:
    def __init__(self, secret: str) -> None:
        self._secret = secret

    def encode(self, claims: TokenClaims) -> str:
        payload: dict[str, object] = {
            "sub": str(claims.subject),
            "type": claims.token_type.value,
            "jti": claims.jti,
            "iat": int(claims.issued_at.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
        }
        if claims.family is not None:
            payload["fam"] = claims.family
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str) -> TokenClaims:
        try:
            payload = jwt.decode(token, self._secret, algorithms=[ALGORITHM], options={"require": REQUIRED})
            return claims_from_payload(payload)
        except (jwt.InvalidTokenError, ValueError, TypeError, KeyError) as exc:
            raise AuthenticationFailed("The token is invalid or expired.") from exc


def claims_from_payload(payload: dict[str, object]) -> TokenClaims:
    """Our claims from a verified payload; ValueError when one is malformed."""
    family = payload.get("fam")
    return TokenClaims(
        subject=int(str(payload["sub"])),
        token_type=TokenType(str(payload["type"])),
        jti=str(payload["jti"]),
        issued_at=datetime.fromtimestamp(int(str(payload["iat"])), UTC),
        expires_at=datetime.fromtimestamp(int(str(payload["exp"])), UTC),
        family=str(family) if family is not None else None,
    )
