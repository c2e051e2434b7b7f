"""Password hashing, token signing, token revocation and login throttling."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shop_core.domain.tokens import TokenClaims


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool:
        """True when the password matches; never raises for a wrong password."""
        ...

    def verify_nothing(self, password: str) -> None:
        """Spend the time a verify takes, so an unknown account answers as slowly as a known one."""
        ...


class TokenCodec(Protocol):
    def encode(self, claims: TokenClaims) -> str: ...

    def decode(self, token: str) -> TokenClaims:
        """Verify signature, algorithm and expiry; raise AuthenticationFailed otherwise."""
        ...


class TokenStore(Protocol):
    """Revoked tokens and live refresh-token families, shared by every process.

    Entries carry an expiry: once the token could no longer be used anyway, they may vanish.
    """

    async def revoke_token(self, jti: str, expires_at: datetime) -> None: ...

    async def is_token_revoked(self, jti: str) -> bool: ...

    async def check_access(self, jti: str, user_id: int) -> tuple[bool, str | None]:
        """Whether `jti` is revoked, and a stamp of the user's record: a string that changes
        whenever `user_changed(user_id)` is called, or None when this store cannot vouch for one
        (the caller then reads the user from the database). One round trip: every authenticated
        request asks."""
        ...

    async def user_changed(self, user_id: int) -> None:
        """The user's record changed and the change is committed: stamps given out before no
        longer match."""
        ...

    async def start_family(self, family: str, jti: str, expires_at: datetime, *, user_id: int) -> None:
        """Record a new refresh-token family of `user_id`'s whose current token is `jti`."""
        ...

    async def rotate_family(self, family: str, old_jti: str, new_jti: str, expires_at: datetime) -> bool:
        """Atomically replace `old_jti` by `new_jti` as the family's current token.

        False when `old_jti` is not the current token (reused or revoked): the caller then
        treats it as theft.
        """
        ...

    async def revoke_family(self, family: str) -> None: ...

    async def revoke_user_families(self, user_id: int) -> None:
        """Revoke every refresh-token family of the user's (a password reset signs out everywhere)."""
        ...

    async def ping(self) -> None:
        """Raise when the store cannot be reached."""
        ...


class LoginThrottle(Protocol):
    """Sign-in attempts per identifier, whether or not an account exists for it.

    An attempt is counted before its password is checked (`count_attempt`), atomically, so however
    many arrive at once, each sees its own place in the window and no more than the limit are ever
    checked. A successful sign-in resets the count.
    """

    async def attempts(self, key: str) -> tuple[int, int]:
        """The attempts counted within the current window, and the seconds until it ends
        ((0, 0) when no window is open)."""
        ...

    async def count_attempt(self, key: str, window_seconds: int) -> tuple[int, int]:
        """Count one more attempt, atomically (the first one opens a window of `window_seconds`).

        Answers the count including this attempt, and the seconds until the window ends.
        """
        ...

    async def reset(self, key: str) -> None: ...
