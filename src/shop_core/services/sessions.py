"""Use cases on sessions: login, refresh-token rotation with theft detection, logout, and
checking an access token on every request."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from shop_core.domain.errors import AuthenticationFailed, InvalidInput, TooManyAttempts
from shop_core.domain.ids import is_possible_id
from shop_core.domain.tokens import TokenClaims, TokenType
from shop_core.domain.users import User
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.ports.security import LoginThrottle, PasswordHasher, TokenCodec, TokenStore
from shop_core.services.auth_config import AuthConfig
from shop_core.services.commands import Login, Logout, RefreshSession
from shop_core.services.known_users import KnownUsers
from shop_core.services.views import TokenPair, UserView

BAD_CREDENTIALS = "No active account found with the given credentials."
TOO_MANY_FAILED_LOGINS = "Too many failed logins; try again later."
REFRESH_REUSED = "This refresh token was already used; every session of that login is now signed out."


async def login(
    cmd: Login,
    *,
    uow: UnitOfWork,
    hasher: PasswordHasher,
    codec: TokenCodec,
    tokens: TokenStore,
    throttle: LoginThrottle,
    clock: Clock,
    config: AuthConfig,
) -> TokenPair:
    """Check the credentials and open a session (a new refresh-token family).

    Unknown accounts, wrong passwords and inactive users get the same answer in the same time,
    and attempts are counted per identifier, so the lockout reveals nothing either.

    Each attempt is counted (atomically) before its password is checked, and refused once it is
    past the limit: however many guesses arrive at once, no more than `max_failed_logins` of them
    are checked per window. A successful login resets the counts.
    """
    identifier = (cmd.email or cmd.username or "").strip()
    if not identifier:
        raise InvalidInput.field("email", "Send your email (or username) and password.")
    keys = [identifier.lower()]
    await _count_attempt(keys[0], throttle, config)
    async with uow:
        if "@" in identifier:
            user = await uow.users.get_by_email(identifier.lower())
        else:
            user = await uow.users.get_by_username(identifier)
    if user is not None:
        # One account, one counter, whether it is tried by email or by username.
        keys.append(f"user:{user.id}")
        await _count_attempt(keys[1], throttle, config)
    if user is None:
        await asyncio.to_thread(hasher.verify_nothing, cmd.password)
    elif await asyncio.to_thread(hasher.verify, user.password_hash, cmd.password) and user.is_active:
        for key in keys:
            await throttle.reset(key)
        return await _open_session(user, codec=codec, tokens=tokens, clock=clock, config=config)
    raise AuthenticationFailed(BAD_CREDENTIALS)


async def refresh(
    cmd: RefreshSession,
    *,
    uow: UnitOfWork,
    codec: TokenCodec,
    tokens: TokenStore,
    clock: Clock,
    config: AuthConfig,
) -> TokenPair:
    """Swap a refresh token for a new pair. A token that was already swapped revokes its family."""
    claims = _expect(codec.decode(cmd.refresh), TokenType.REFRESH)
    assert claims.family is not None
    await _active_user(claims.subject, uow)
    now = clock.now()
    access, new_refresh = _pair_claims(claims.subject, claims.family, now, config)
    if not await tokens.rotate_family(claims.family, claims.jti, new_refresh.jti, new_refresh.expires_at):
        await tokens.revoke_family(claims.family)
        raise AuthenticationFailed(REFRESH_REUSED)
    return _encode_pair(access, new_refresh, codec, config)


async def logout(cmd: Logout, access: TokenClaims, *, codec: TokenCodec, tokens: TokenStore) -> None:
    """Revoke the access token used and the given refresh token's family, at once.

    The access token is revoked even when the refresh token turns out to be unusable.
    """
    await tokens.revoke_token(access.jti, access.expires_at)
    claims = _expect(codec.decode(cmd.refresh), TokenType.REFRESH)
    if claims.subject != access.subject:
        raise AuthenticationFailed("That refresh token belongs to another session.")
    assert claims.family is not None
    await tokens.revoke_family(claims.family)


async def authenticate(
    claims: TokenClaims,
    *,
    uow: UnitOfWork,
    tokens: TokenStore,
    known: KnownUsers | None = None,
    fresh: bool = False,
) -> UserView:
    """The user behind a verified access token, unless it was revoked or the user deactivated
    or deleted.

    With `known`, a user read before under the same stamp (see KnownUsers) is not read again,
    unless `fresh` asks for the database's word: requests that change something ask for it, so
    a user deleted behind the shop's back (no stamp moved on) cannot write under a remembered
    identity. A user found gone is forgotten, so every later request reads it again (and fails).
    """
    _expect(claims, TokenType.ACCESS)
    revoked, stamp = await tokens.check_access(claims.jti, claims.subject)
    if revoked:
        raise AuthenticationFailed("This token has been revoked.")
    if not fresh and known is not None and stamp is not None and (user := known.get(claims.subject, stamp)):
        return user
    try:
        user = UserView.of(await _active_user(claims.subject, uow))
    except AuthenticationFailed:
        if known is not None:
            known.forget(claims.subject)
        raise
    if known is not None and stamp is not None:
        known.keep(user, stamp)
    return user


USER_GONE = "The user of this token is inactive or gone."


def _expect(claims: TokenClaims, token_type: TokenType) -> TokenClaims:
    if claims.token_type is not token_type or (token_type is TokenType.REFRESH and not claims.family):
        raise AuthenticationFailed(f"Expected a {token_type.value} token.")
    return claims


async def _count_attempt(key: str, throttle: LoginThrottle, config: AuthConfig) -> None:
    """Count this attempt first; refuse it when it is past the limit of the window."""
    attempts, retry_after = await throttle.count_attempt(key, config.failed_login_window)
    if attempts > config.max_failed_logins:
        raise TooManyAttempts(TOO_MANY_FAILED_LOGINS, retry_after)


async def _active_user(user_id: int, uow: UnitOfWork) -> User:
    if not is_possible_id(user_id):
        raise AuthenticationFailed(USER_GONE)
    async with uow:
        user = await uow.users.get_read_only(user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed(USER_GONE)
    return user


async def _open_session(
    user: User, *, codec: TokenCodec, tokens: TokenStore, clock: Clock, config: AuthConfig
) -> TokenPair:
    assert user.id is not None
    access, refresh_claims = _pair_claims(user.id, uuid.uuid4().hex, clock.now(), config)
    assert refresh_claims.family is not None
    await tokens.start_family(
        refresh_claims.family, refresh_claims.jti, refresh_claims.expires_at, user_id=user.id
    )
    return _encode_pair(access, refresh_claims, codec, config)


def _pair_claims(
    user_id: int, family: str, now: datetime, config: AuthConfig
) -> tuple[TokenClaims, TokenClaims]:
    access = TokenClaims(
        subject=user_id,
        token_type=TokenType.ACCESS,
        jti=uuid.uuid4().hex,
        issued_at=now,
        expires_at=now + timedelta(seconds=config.access_ttl),
    )
    refresh_claims = TokenClaims(
        subject=user_id,
        token_type=TokenType.REFRESH,
        jti=uuid.uuid4().hex,
        issued_at=now,
        expires_at=now + timedelta(seconds=config.refresh_ttl),
        family=family,
    )
    return access, refresh_claims


def _encode_pair(
    access: TokenClaims, refresh_claims: TokenClaims, codec: TokenCodec, config: AuthConfig
) -> TokenPair:
    return TokenPair(
        access=codec.encode(access),
        refresh=codec.encode(refresh_claims),
        expires_in=config.access_ttl,
    )


class Sessions:
    """Signing in and out, rotating refresh tokens, and knowing who sent a request."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        codec: TokenCodec,
        tokens: TokenStore,
        throttle: LoginThrottle,
        clock: Clock,
        config: AuthConfig,
        known: KnownUsers,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._codec = codec
        self._tokens = tokens
        self._throttle = throttle
        self._clock = clock
        self.config = config
        self._known = known

    async def login(self, cmd: Login) -> TokenPair:
        return await login(
            cmd,
            uow=self._uow(),
            hasher=self._hasher,
            codec=self._codec,
            tokens=self._tokens,
            throttle=self._throttle,
            clock=self._clock,
            config=self.config,
        )

    async def refresh(self, cmd: RefreshSession) -> TokenPair:
        return await refresh(
            cmd,
            uow=self._uow(),
            codec=self._codec,
            tokens=self._tokens,
            clock=self._clock,
            config=self.config,
        )

    async def logout(self, cmd: Logout, access: TokenClaims) -> None:
        await logout(cmd, access, codec=self._codec, tokens=self._tokens)

    def verify_token(self, token: str) -> TokenClaims:
        """The claims of a token we signed and that has not expired (AuthenticationFailed otherwise)."""
        return self._codec.decode(token)

    async def authenticate(self, claims: TokenClaims, *, fresh: bool = False) -> UserView:
        """`fresh`: read the user from the database even if this process remembers it (writes)."""
        return await authenticate(
            claims, uow=self._uow(), tokens=self._tokens, known=self._known, fresh=fresh
        )

    async def authenticate_bearer(self, token: str, *, fresh: bool = False) -> UserView:
        """The user behind an access token string (for endpoints where auth is optional)."""
        return await self.authenticate(self.verify_token(token), fresh=fresh)
