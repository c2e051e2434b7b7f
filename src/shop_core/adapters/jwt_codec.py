"""Signing and verifying our tokens with PyJWT (HS256 only)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import jwt

from shop_core.domain.errors import AuthenticationFailed
from shop_core.domain.tokens import TokenClaims, TokenType

ALGORITHM = "HS256"
REQUIRED = ["exp", "iat", "sub", "jti", "type"]


class JwtTokenCodec:
    """Verified tokens are remembered until they expire (up to `remembered` of them).

    A client sends the same access token with every request for its whole life, and verifying it
    (base64, JSON, HMAC and claim checks) costs more than the rest of an authenticated read. The
    same bytes verify the same way every time, so only the expiry needs checking again; revocation
    is not the codec's business and is still checked on every request.
    """

    def __init__(self, secret: str, *, remembered: int = 10_000) -> None:
        self._secret = secret
        self._remembered = remembered
        self._verified: dict[str, TokenClaims] = {}

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
        claims = self._verified.get(token)
        if claims is not None:
            if claims.expires_at.timestamp() > time.time():
                return claims
            del self._verified[token]
        try:
            payload = jwt.decode(token, self._secret, algorithms=[ALGORITHM], options={"require": REQUIRED})
            claims = claims_from_payload(payload)
        except (jwt.InvalidTokenError, ValueError, TypeError, KeyError) as exc:
            raise AuthenticationFailed("The token is invalid or expired.") from exc
        if len(self._verified) >= self._remembered:
            del self._verified[next(iter(self._verified))]  # the oldest remembered
        self._verified[token] = claims
        return claims


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
