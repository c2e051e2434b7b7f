"""Use cases on user accounts: register, profile, and the operator's user management."""

from __future__ import annotations

import asyncio
import secrets

import msgspec

from shop_core.domain.errors import AuthenticationFailed, Conflict, NotFound
from shop_core.domain.users import (
    Role,
    User,
    check_password_policy,
    normalize_email,
    normalize_username,
    username_from_email,
)
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork, UserRepository
from shop_core.ports.security import PasswordHasher, TokenStore
from shop_core.services import jobs
from shop_core.services.commands import CreateAdmin, RegisterUser, UpdateProfile
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
