"""Use cases on user accounts: register, profile, and the operator's user management."""

from __future__ import annotations

import asyncio
import secrets

import msgspec

from shop_core.domain.actors import Actor, require_staff
from shop_core.domain.errors import AuthenticationFailed, Conflict, NotFound, ServiceUnavailable
from shop_core.domain.users import (
    Role,
    User,
    check_password_policy,
    normalize_email,
    normalize_username,
    username_from_email,
)
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory, UserRepository
from shop_core.ports.security import LoginThrottle, PasswordHasher, TokenStore
from shop_core.services import jobs, password_reset
from shop_core.services.commands import (
    ConfirmPasswordReset,
    CreateAdmin,
    RegisterUser,
    RequestPasswordReset,
    UpdateProfile,
)
from shop_core.services.known_users import KnownUsers
from shop_core.services.sessions import USER_GONE
from shop_core.services.views import Page, UserView


async def register(cmd: RegisterUser, *, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock) -> UserView:
    """Create a customer account; Conflict when the email or username is taken."""
    return await _create_user(cmd, Role.CUSTOMER, uow=uow, hasher=hasher, clock=clock)


async def create_admin(
    cmd: CreateAdmin, *, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock
) -> UserView:
    """Create a superuser (operators only: the CLI)."""
    return await _create_user(cmd, Role.SUPERUSER, uow=uow, hasher=hasher, clock=clock)


async def _create_user(
    cmd: RegisterUser | CreateAdmin, role: Role, *, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock
) -> UserView:
    email = normalize_email(cmd.email)
    check_password_policy(cmd.password, email=email)
    password_hash = await asyncio.to_thread(hasher.hash, cmd.password)
    async with uow:
        if await uow.users.get_by_email(email) is not None:
            raise Conflict("A user with that email already exists.")
        username = await _pick_username(cmd.username, email, uow.users)
        user = User(
            email=email,
            username=username,
            password_hash=password_hash,
            date_joined=clock.now(),
            role=role,
            first_name=getattr(cmd, "first_name", "").strip(),
            last_name=getattr(cmd, "last_name", "").strip(),
            phone=getattr(cmd, "phone", "").strip(),
        )
        user = await uow.users.add(user)
        if role is Role.CUSTOMER:
            await jobs.record(
                uow,
                jobs.WELCOME_EMAIL,
                f"{jobs.WELCOME_EMAIL}:{user.id}",
                {"user_id": user.id},
                user.date_joined,
            )
        await uow.commit()
    return UserView.of(user)


async def _pick_username(requested: str | None, email: str, users: UserRepository) -> str:
    if requested is not None:
        username = normalize_username(requested)
        if await users.username_taken(username):
            raise Conflict("A user with that username already exists.")
        return username
    base = username_from_email(email)
    username = base
    while await users.username_taken(username):
        username = f"{base}{secrets.randbelow(10_000)}"
    return username


async def get_profile(user_id: int, *, uow: UnitOfWork, known: KnownUsers | None = None) -> UserView:
    """The signed-in user's own record; AuthenticationFailed when it is gone (deleted behind the
    shop's back while its token still verifies), and then no longer remembered in `known`."""
    async with uow:
        user = await uow.users.get(user_id)
    if user is None:
        if known is not None:
            known.forget(user_id)
        raise AuthenticationFailed(USER_GONE)
    return UserView.of(user)


async def find_user(email: str, *, uow: UnitOfWork) -> UserView:
    """The account with this email (any case); NotFound when there is none."""
    async with uow:
        user = await uow.users.get_by_email(normalize_email(email))
    if user is None:
        raise NotFound(f"No user with the email {email.strip()!r}.")
    return UserView.of(user)


async def update_profile(
    user_id: int, cmd: UpdateProfile, *, uow: UnitOfWork, tokens: TokenStore
) -> UserView:
    """Change the user's own name and phone; fields left out stay as they are."""
    async with uow:
        user = await uow.users.get(user_id)
        if user is None:
            raise AuthenticationFailed(USER_GONE)
        for name in ("first_name", "last_name", "phone"):
            value = getattr(cmd, name)
            if value is not msgspec.UNSET:
                setattr(user, name, value.strip())
        await uow.users.save(user)
        await uow.commit()
    await tokens.user_changed(user_id)
    return UserView.of(user)


async def list_users(*, uow: UnitOfWork, offset: int = 0, limit: int = 100) -> Page[UserView]:
    async with uow:
        users, total = await uow.users.list(offset=offset, limit=limit)
    return Page(items=[UserView.of(u) for u in users], total=total)


async def deactivate_user(email: str, *, uow: UnitOfWork, tokens: TokenStore) -> UserView:
    """Stop a user from logging in; tokens already issued stop working at once."""
    async with uow:
        user = await uow.users.get_by_email(normalize_email(email))
        if user is None:
            raise NotFound(f"No user with the email {email.strip()!r}.")
        user.is_active = False
        await uow.users.save(user)
        await uow.commit()
    assert user.id is not None
    await tokens.user_changed(user.id)  # after the commit: a stamp never outruns the database
    return UserView.of(user)


class Accounts:
    """Customers' accounts (registering, their own profile, resetting a forgotten password) and
    staff's management of users."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        tokens: TokenStore,
        throttle: LoginThrottle,
        clock: Clock,
        known: KnownUsers,
        can_send_mail: bool,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._tokens = tokens
        self._throttle = throttle
        self._clock = clock
        self._known = known
        self._can_send_mail = can_send_mail

    async def register(self, cmd: RegisterUser) -> UserView:
        return await register(cmd, uow=self._uow(), hasher=self._hasher, clock=self._clock)

    async def create_admin(self, cmd: CreateAdmin, actor: Actor) -> UserView:
        """A superuser, created by staff (an operator at the `shop` command)."""
        require_staff(actor)
        return await create_admin(cmd, uow=self._uow(), hasher=self._hasher, clock=self._clock)

    async def get_profile(self, user_id: int) -> UserView:
        return await get_profile(user_id, uow=self._uow(), known=self._known)

    async def update_profile(self, user_id: int, cmd: UpdateProfile) -> UserView:
        return await update_profile(user_id, cmd, uow=self._uow(), tokens=self._tokens)

    async def find_user(self, email: str, actor: Actor) -> UserView:
        require_staff(actor)
        return await find_user(email, uow=self._uow())

    async def list_users(self, actor: Actor, *, offset: int = 0, limit: int = 100) -> Page[UserView]:
        require_staff(actor)
        return await list_users(uow=self._uow(), offset=offset, limit=limit)

    async def deactivate_user(self, email: str, actor: Actor) -> UserView:
        require_staff(actor)
        return await deactivate_user(email, uow=self._uow(), tokens=self._tokens)

    async def request_password_reset(self, cmd: RequestPasswordReset) -> str:
        """Always the same answer (the message to show), whether or not the account exists."""
        if not self._can_send_mail:
            raise ServiceUnavailable("Password reset needs the `mail` extra (jinja2) installed.")
        return await password_reset.request_password_reset(cmd, uow=self._uow(), clock=self._clock)

    async def confirm_password_reset(self, cmd: ConfirmPasswordReset) -> None:
        await password_reset.confirm_password_reset(
            cmd,
            uow=self._uow(),
            hasher=self._hasher,
            tokens=self._tokens,
            throttle=self._throttle,
            clock=self._clock,
        )
