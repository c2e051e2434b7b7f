"""Account use cases on the fakes: register, profile, and user management."""

from __future__ import annotations

import msgspec
import pytest

from shop_core.domain.actors import Actor
from shop_core.domain.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from shop_core.domain.users import Role
from shop_core.services.commands import CreateAdmin, UpdateProfile
from tests.unit.services.conftest import PASSWORD, World


async def test_register_normalises_the_email_and_derives_the_username(world: World) -> None:
    view = await world.register("  Ada.Lovelace@Example.COM ", first_name=" Ada ", phone=" +44 20 ")
    assert view.email == "ada.lovelace@example.com"
    assert view.username == "ada.lovelace"
    assert (view.first_name, view.last_name, view.phone) == ("Ada", "", "+44 20")
    assert view.is_staff is False
    assert view.is_active is True
    assert view.date_joined == world.clock.now()
    stored = world.db.users[view.id]
    assert stored.role is Role.CUSTOMER
    assert stored.password_hash == world.hasher.hash(PASSWORD)
    assert PASSWORD not in stored.password_hash


async def test_register_keeps_an_explicit_username(world: World) -> None:
    view = await world.register(username=" Countess_A ")
    assert view.username == "Countess_A"


async def test_a_derived_username_that_is_taken_gets_a_suffix(world: World) -> None:
    first = await world.register("ada@example.com")
    second = await world.register("ADA@other.example")
    assert first.username == "ada"
    assert second.username != "ada"
    assert second.username.startswith("ada")
    assert second.username[3:].isdigit()


async def test_a_duplicate_email_is_a_conflict(world: World) -> None:
    await world.register("ada@example.com")
    with pytest.raises(Conflict, match="email"):
        await world.register(" ADA@example.com", username="someone_else")
    assert len(world.db.users) == 1


async def test_an_explicit_duplicate_username_is_a_conflict(world: World) -> None:
    await world.register("ada@example.com", username="countess")
    with pytest.raises(Conflict, match="username"):
        await world.register("grace@example.com", username="COUNTESS")
    assert len(world.db.users) == 1


async def test_an_invalid_username_is_refused(world: World) -> None:
    with pytest.raises(InvalidInput) as caught:
        await world.register(username="a@b")
    assert list(caught.value.errors) == ["username"]
    assert world.db.users == {}


async def test_an_invalid_email_is_refused(world: World) -> None:
    with pytest.raises(InvalidInput) as caught:
        await world.register("not-an-email")
    assert list(caught.value.errors) == ["email"]


async def test_a_weak_password_is_refused_with_every_problem_and_nothing_is_stored(world: World) -> None:
    cmd = msgspec.convert({"email": "ada@example.com", "password": "1234"}, type=CreateAdmin)
    with pytest.raises(InvalidInput) as caught:
        await world.shop.accounts.create_admin(cmd, Actor.operator())
    assert caught.value.errors["password"] == [
        "Use at least 8 characters.",
        "The password cannot be all digits.",
    ]
    with pytest.raises(InvalidInput, match="too weak"):
        await world.register("ada@example.com", password="Ada@Example.com")
    assert world.db.users == {}
    assert world.db.commits == 0


async def test_create_admin_makes_a_superuser(world: World) -> None:
    cmd = CreateAdmin(email="Root@Example.com", password=PASSWORD, username="root")
    view = await world.shop.accounts.create_admin(cmd, Actor.operator())
    assert view.is_staff is True
    assert world.db.users[view.id].role is Role.SUPERUSER


async def test_get_profile(world: World) -> None:
    view = await world.register()
    assert await world.shop.accounts.get_profile(view.id) == view
    with pytest.raises(AuthenticationFailed):  # a token whose user is gone: 401
        await world.shop.accounts.get_profile(view.id + 1)


async def test_update_profile_changes_only_the_given_fields(world: World) -> None:
    view = await world.register(first_name="Ada", last_name="Byron", phone="123")
    cmd = msgspec.convert({"last_name": " Lovelace "}, UpdateProfile)
    updated = await world.shop.accounts.update_profile(view.id, cmd)
    assert (updated.first_name, updated.last_name, updated.phone) == ("Ada", "Lovelace", "123")
    assert await world.shop.accounts.get_profile(view.id) == updated
    cleared = await world.shop.accounts.update_profile(view.id, UpdateProfile(phone=""))
    assert (cleared.first_name, cleared.last_name, cleared.phone) == ("Ada", "Lovelace", "")


async def test_update_profile_of_an_unknown_user_is_not_authenticated(world: World) -> None:
    with pytest.raises(AuthenticationFailed):
        await world.shop.accounts.update_profile(42, UpdateProfile(first_name="X"))


async def test_deactivate_user_finds_the_user_by_normalised_email(world: World) -> None:
    view = await world.register("ada@example.com")
    other = await world.register("grace@example.com")
    deactivated = await world.shop.accounts.deactivate_user("  ADA@example.com ", Actor.operator())
    assert deactivated.id == view.id
    assert deactivated.is_active is False
    assert world.db.users[view.id].is_active is False
    assert world.db.users[other.id].is_active is True


async def test_deactivate_an_unknown_user_is_not_found(world: World) -> None:
    with pytest.raises(NotFound, match=r"nobody@example\.com"):
        await world.shop.accounts.deactivate_user("nobody@example.com", Actor.operator())


async def test_list_users_pages_by_id(world: World) -> None:
    ids = [(await world.register(f"user{n}@example.com")).id for n in range(5)]
    page = await world.shop.accounts.list_users(Actor.operator(), offset=1, limit=2)
    assert [u.id for u in page.items] == ids[1:3]
    assert page.total == 5
    everyone = await world.shop.accounts.list_users(Actor.operator())
    assert [u.id for u in everyone.items] == ids
    past_the_end = await world.shop.accounts.list_users(Actor.operator(), offset=5, limit=10)
    assert (past_the_end.items, past_the_end.total) == ([], 5)


async def test_seed_demo_is_idempotent(world: World) -> None:
    first = await world.shop.operations.seed_demo(Actor.operator())
    second = await world.shop.operations.seed_demo(Actor.operator())
    assert sorted(first.created) == ["admin@example.com", "customer@example.com"]
    assert first.existing == []
    assert second.created == []
    assert sorted(second.existing) == ["admin@example.com", "customer@example.com"]
    assert len(world.db.users) == 2
