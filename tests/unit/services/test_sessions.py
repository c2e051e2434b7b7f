"""Session use cases on the fakes: login, lockout, refresh rotation, logout, authenticate."""

from __future__ import annotations

import re

import msgspec
import pytest

from shop_core.domain.actors import Actor
from shop_core.domain.errors import AuthenticationFailed, InvalidInput, TooManyAttempts
from shop_core.domain.tokens import TokenType
from shop_core.services.commands import Login, Logout, RefreshSession, UpdateProfile
from shop_core.services.sessions import BAD_CREDENTIALS, REFRESH_REUSED
from tests.fakes import FakeTokenStore
from tests.unit.services.conftest import MAX_FAILED_LOGINS, PASSWORD, WINDOW, World


def token_store(world: World) -> FakeTokenStore:
    tokens = world.shop.ports.tokens
    assert isinstance(tokens, FakeTokenStore)
    return tokens


async def fail_logins(world: World, times: int, **identifier: str) -> None:
    for _ in range(times):
        with pytest.raises(AuthenticationFailed):
            await world.login("wrong password", **identifier)


# --- login ---------------------------------------------------------------------------------


async def test_login_by_email_opens_a_session(world: World) -> None:
    user = await world.register("ada@example.com")
    pair = await world.login(email="  ADA@Example.com ")
    access, refresh = world.claims(pair.access), world.claims(pair.refresh)
    assert (access.subject, access.token_type, access.family) == (user.id, TokenType.ACCESS, None)
    assert (refresh.subject, refresh.token_type) == (user.id, TokenType.REFRESH)
    assert refresh.family is not None
    assert token_store(world).families[refresh.family][0] == refresh.jti
    assert access.jti != refresh.jti
    assert pair.expires_in == world.shop.settings.access_token_ttl
    assert pair.token_type == "Bearer"


async def test_login_by_username(world: World) -> None:
    user = await world.register("ada@example.com", username="countess")
    pair = await world.login(username=" countess ")
    assert world.claims(pair.access).subject == user.id


async def test_login_without_an_identifier_is_invalid(world: World) -> None:
    with pytest.raises(InvalidInput):
        await world.shop.sessions.login(Login(password=PASSWORD))
    with pytest.raises(InvalidInput):
        await world.shop.sessions.login(Login(password=PASSWORD, email="   "))


async def test_wrong_password_and_unknown_user_get_the_same_answer(world: World) -> None:
    await world.register("ada@example.com")
    with pytest.raises(AuthenticationFailed) as wrong_password:
        await world.login("wrong password", email="ada@example.com")
    assert world.hasher.wasted == 0
    with pytest.raises(AuthenticationFailed) as unknown_user:
        await world.login(PASSWORD, email="ghost@example.com")
    assert world.hasher.wasted == 1, "an unknown account must still spend a hash verification"
    with pytest.raises(AuthenticationFailed) as unknown_username:
        await world.login(PASSWORD, username="ghost")
    assert world.hasher.wasted == 2
    assert wrong_password.value.detail == unknown_user.value.detail == unknown_username.value.detail
    assert wrong_password.value.detail == BAD_CREDENTIALS


async def test_an_inactive_user_cannot_log_in_even_with_the_right_password(world: World) -> None:
    await world.register("ada@example.com")
    await world.shop.accounts.deactivate_user("ada@example.com", Actor.operator())
    with pytest.raises(AuthenticationFailed, match=re.escape(BAD_CREDENTIALS)):
        await world.login()
    assert token_store(world).families == {}


async def test_failed_logins_lock_the_identifier_out(world: World) -> None:
    await world.register("ada@example.com")
    await fail_logins(world, MAX_FAILED_LOGINS, email="ada@example.com")
    world.clock.advance(100)
    with pytest.raises(TooManyAttempts) as caught:
        await world.login(PASSWORD, email="Ada@Example.com")
    assert caught.value.retry_after == WINDOW - 100


async def test_the_lockout_is_per_account_whichever_identifier_is_tried(world: World) -> None:
    await world.register("ada@example.com", username="ada")
    await world.register("grace@example.com")
    await fail_logins(world, MAX_FAILED_LOGINS, email="ada@example.com")
    with pytest.raises(TooManyAttempts):
        await world.login()
    with pytest.raises(TooManyAttempts):
        await world.login(username="ada")
    await world.login(email="grace@example.com")


async def test_failures_by_email_and_by_username_add_up(world: World) -> None:
    await world.register("ada@example.com", username="ada")
    await fail_logins(world, MAX_FAILED_LOGINS - 1, email="ada@example.com")
    await fail_logins(world, 1, username="ada")
    with pytest.raises(TooManyAttempts):
        await world.login()


async def test_the_lockout_applies_to_unknown_identifiers_too(world: World) -> None:
    await fail_logins(world, MAX_FAILED_LOGINS, email="ghost@example.com")
    assert world.hasher.wasted == MAX_FAILED_LOGINS
    with pytest.raises(TooManyAttempts) as caught:
        await world.login(email="ghost@example.com")
    assert caught.value.retry_after == WINDOW
    assert world.hasher.wasted == MAX_FAILED_LOGINS


async def test_a_successful_login_resets_the_failure_count(world: World) -> None:
    await world.register("ada@example.com")
    await fail_logins(world, MAX_FAILED_LOGINS - 1, email="ada@example.com")
    await world.login()
    await fail_logins(world, MAX_FAILED_LOGINS - 1, email="ada@example.com")
    await world.login()


async def test_the_lockout_ends_with_its_window(world: World) -> None:
    await world.register("ada@example.com")
    await fail_logins(world, MAX_FAILED_LOGINS, email="ada@example.com")
    world.clock.advance(WINDOW - 1)
    with pytest.raises(TooManyAttempts) as caught:
        await world.login()
    assert caught.value.retry_after == 1
    world.clock.advance(1)
    await world.login()  # (its tokens are dated in the fake future, so not decoded here)
    await fail_logins(world, MAX_FAILED_LOGINS - 1, email="ada@example.com")
    await world.login()


# --- refresh -------------------------------------------------------------------------------


async def test_refresh_rotates_the_refresh_token(world: World) -> None:
    user = await world.register()
    first = await world.login()
    second = await world.shop.sessions.refresh(RefreshSession(refresh=first.refresh))
    old, new = world.claims(first.refresh), world.claims(second.refresh)
    assert new.family == old.family
    assert new.jti != old.jti
    assert new.subject == world.claims(second.access).subject == user.id
    assert new.family is not None
    assert token_store(world).families[new.family][0] == new.jti
    third = await world.shop.sessions.refresh(RefreshSession(refresh=second.refresh))
    assert world.claims(third.refresh).family == old.family


async def test_reusing_a_rotated_refresh_token_revokes_the_family(world: World) -> None:
    await world.register()
    first = await world.login()
    second = await world.shop.sessions.refresh(RefreshSession(refresh=first.refresh))
    with pytest.raises(AuthenticationFailed, match=re.escape(REFRESH_REUSED)):
        await world.shop.sessions.refresh(RefreshSession(refresh=first.refresh))
    with pytest.raises(AuthenticationFailed, match=re.escape(REFRESH_REUSED)):
        await world.shop.sessions.refresh(RefreshSession(refresh=second.refresh))


async def test_other_sessions_survive_a_stolen_family(world: World) -> None:
    await world.register()
    stolen, other = await world.login(), await world.login()
    await world.shop.sessions.refresh(RefreshSession(refresh=stolen.refresh))
    with pytest.raises(AuthenticationFailed):
        await world.shop.sessions.refresh(RefreshSession(refresh=stolen.refresh))
    await world.shop.sessions.refresh(RefreshSession(refresh=other.refresh))


async def test_an_access_token_is_not_a_refresh_token(world: World) -> None:
    await world.register()
    pair = await world.login()
    with pytest.raises(AuthenticationFailed, match="Expected a refresh token"):
        await world.shop.sessions.refresh(RefreshSession(refresh=pair.access))
    with pytest.raises(AuthenticationFailed, match="Expected a refresh token"):
        await world.shop.sessions.logout(Logout(refresh=pair.access), world.claims(pair.access))


async def test_a_refresh_token_is_not_an_access_token(world: World) -> None:
    await world.register()
    pair = await world.login()
    with pytest.raises(AuthenticationFailed, match="Expected a access token"):
        await world.shop.sessions.authenticate(world.claims(pair.refresh))


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
async def test_refresh_refuses_a_malformed_token(world: World, token: str) -> None:
    with pytest.raises(AuthenticationFailed):
        await world.shop.sessions.refresh(RefreshSession(refresh=token))


async def test_refresh_refuses_a_token_signed_with_another_key(world: World) -> None:
    from shop_core.adapters.jwt_codec import JwtTokenCodec

    await world.register()
    claims = world.claims((await world.login()).refresh)
    forged = JwtTokenCodec("another-secret-key-0123456789abcdef").encode(claims)
    with pytest.raises(AuthenticationFailed, match="invalid or expired"):
        await world.shop.sessions.refresh(RefreshSession(refresh=forged))


async def test_refresh_refuses_a_deactivated_user(world: World) -> None:
    await world.register()
    pair = await world.login()
    await world.shop.accounts.deactivate_user("ada@example.com", Actor.operator())
    with pytest.raises(AuthenticationFailed, match="inactive"):
        await world.shop.sessions.refresh(RefreshSession(refresh=pair.refresh))


# --- logout and authenticate ---------------------------------------------------------------


async def test_logout_revokes_the_family_and_the_access_token(world: World) -> None:
    await world.register()
    pair = await world.login()
    access = world.claims(pair.access)
    assert (await world.shop.sessions.authenticate(access)).email == "ada@example.com"
    await world.shop.sessions.logout(Logout(refresh=pair.refresh), access)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        await world.shop.sessions.authenticate(access)
    with pytest.raises(AuthenticationFailed, match=re.escape(REFRESH_REUSED)):
        await world.shop.sessions.refresh(RefreshSession(refresh=pair.refresh))


async def test_logout_leaves_other_sessions_alone(world: World) -> None:
    await world.register()
    mine, other = await world.login(), await world.login()
    await world.shop.sessions.logout(Logout(refresh=mine.refresh), world.claims(mine.access))
    await world.shop.sessions.authenticate(world.claims(other.access))
    await world.shop.sessions.refresh(RefreshSession(refresh=other.refresh))


async def test_logout_with_someone_elses_refresh_token_is_refused(world: World) -> None:
    await world.register("ada@example.com")
    await world.register("grace@example.com")
    ada, grace = await world.login(), await world.login(email="grace@example.com")
    with pytest.raises(AuthenticationFailed, match="another session"):
        await world.shop.sessions.logout(Logout(refresh=grace.refresh), world.claims(ada.access))
    await world.shop.sessions.refresh(RefreshSession(refresh=grace.refresh))
    # Ada asked to log out: the access token she used is revoked all the same.
    with pytest.raises(AuthenticationFailed):
        await world.shop.sessions.authenticate(world.claims(ada.access))


async def test_authenticate_returns_the_user(world: World) -> None:
    user = await world.register()
    pair = await world.login()
    assert await world.shop.sessions.authenticate(world.claims(pair.access)) == user


async def test_authenticate_refuses_a_revoked_token(world: World) -> None:
    await world.register()
    access = world.claims((await world.login()).access)
    await token_store(world).revoke_token(access.jti, access.expires_at)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        await world.shop.sessions.authenticate(access)


async def test_authenticate_refuses_a_deactivated_user_at_once(world: World) -> None:
    await world.register()
    access = world.claims((await world.login()).access)
    await world.shop.sessions.authenticate(access)  # the user is known to this process now
    await world.shop.accounts.deactivate_user("ada@example.com", Actor.operator())
    with pytest.raises(AuthenticationFailed, match="inactive"):
        await world.shop.sessions.authenticate(access)


async def test_authenticate_refuses_a_deleted_user(world: World) -> None:
    user = await world.register()
    access = world.claims((await world.login()).access)
    del world.db.users[user.id]
    with pytest.raises(AuthenticationFailed, match="gone"):
        await world.shop.sessions.authenticate(access)


def test_login_commands_are_validated_when_converted() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"email": "ada@example.com"}, Login)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"email": "ada@example.com", "password": "x", "extra": 1}, Login)


async def test_authenticate_reads_the_user_again_only_after_a_change(world: World) -> None:
    user = await world.register()
    access = world.claims((await world.login()).access)
    assert (await world.shop.sessions.authenticate(access)).first_name == ""
    world.db.users[user.id].first_name = "Behind the shop's back"  # not through a use case
    assert (await world.shop.sessions.authenticate(access)).first_name == ""  # the user kept from before
    await world.shop.accounts.update_profile(user.id, UpdateProfile(first_name="Ada"))
    assert (await world.shop.sessions.authenticate(access)).first_name == "Ada"
