"""Use cases of a forgotten password: email a single-use link, then set a new password with it.

The link carries a random token (`secrets.token_urlsafe(32)`); only its SHA-256 digest is stored,
with the user, its expiry and when it was used. Setting a password with it revokes every
refresh-token family of the user's. Access tokens already issued are not revoked: they expire
within `SHOP_ACCESS_TOKEN_TTL` (15 minutes by default).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from urllib.parse import quote

from shop_core.domain.errors import InvalidInput, InvalidToken
from shop_core.domain.users import check_password_policy, normalize_email
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork
from shop_core.ports.security import LoginThrottle, PasswordHasher, TokenStore
from shop_core.services import jobs
from shop_core.services.commands import ConfirmPasswordReset, RequestPasswordReset

REQUESTED = "If that email has an account, a reset link is on its way."
INVALID_TOKEN = "This password-reset link is invalid, already used or expired; ask for a new one."  # noqa: S105 - a message, not a secret


@dataclass(frozen=True)
class ResetConfig:
    store_name: str
    public_base_url: str
    ttl: int  # seconds a link stays usable

    def link(self, token: str) -> str:
        """The front end's page that shows the new-password form and posts to the confirm endpoint."""
        return f"{self.public_base_url.rstrip('/')}/reset-password?token={quote(token, safe='')}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def request_password_reset(cmd: RequestPasswordReset, *, uow: UnitOfWork, clock: Clock) -> str:
    """Email a reset link to an active account with this email; answer the same either way.

    The email is a job (see `notifications.send_password_reset`, which makes the token), recorded
    here and sent after the answer: the answer's timing does not depend on the mail server. One
    request per account and minute makes an email; more in the same minute are dropped (the
    job's key), so the endpoint cannot be used to flood someone's inbox.
    """
    try:
        email = normalize_email(cmd.email)
    except InvalidInput:
        email = None
    now = clock.now()
    async with uow:
        user = await uow.users.get_by_email(email) if email is not None else None
        if user is None or not user.is_active:
            return REQUESTED
        name = jobs.PASSWORD_RESET_EMAIL
        minute = int(now.timestamp()) // 60
        await jobs.record(uow, name, f"{name}:{user.id}:{minute}", {"user_id": user.id}, now)
        await uow.commit()
    return REQUESTED


async def confirm_password_reset(
    cmd: ConfirmPasswordReset,
    *,
    uow: UnitOfWork,
    hasher: PasswordHasher,
    tokens: TokenStore,
    throttle: LoginThrottle,
    clock: Clock,
) -> None:
    """Set the new password with a reset token; InvalidToken (nothing changes) when the token is
    unknown, used or expired, InvalidInput (the token stays usable) when the password is weak.

    The token is marked used in the same transaction as the new password, with a conditional
    write, so of two concurrent confirmations exactly one succeeds.
    """
    async with uow:
        user_id = await uow.password_resets.consume(digest(cmd.token), clock.now())
        user = await uow.users.get(user_id) if user_id is not None else None
        if user is None or not user.is_active:
            raise InvalidToken(INVALID_TOKEN)
        check_password_policy(cmd.password, email=user.email)  # raising rolls the mark back
        user.password_hash = await asyncio.to_thread(hasher.hash, cmd.password)
        await uow.users.save(user)
        await uow.commit()
    assert user.id is not None
    # After the commit: the token store writes on connections of its own.
    await tokens.revoke_user_families(user.id)
    await tokens.user_changed(user.id)
    for key in (user.email, f"user:{user.id}"):  # the login lockout's counters (see sessions.login)
        await throttle.reset(key)
