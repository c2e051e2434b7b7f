"""The users a process keeps: valid under their stamp, for a bounded time, in bounded number."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shop_core.services import known_users
from shop_core.services.known_users import KnownUsers
from shop_core.services.views import UserView


def user(user_id: int) -> UserView:
    return UserView(
        id=user_id,
        email=f"u{user_id}@example.com",
        username=f"u{user_id}",
        first_name="",
        last_name="",
        phone="",
        is_staff=False,
        date_joined=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_a_kept_user_is_served_under_its_stamp_only() -> None:
    known = KnownUsers()
    known.keep(user(1), "e.1")
    assert known.get(1, "e.1") == user(1)
    assert known.get(1, "e.2") is None
    assert known.get(1, "e.1") is None  # a stale entry is dropped, not kept for later
    assert known.get(2, "e.1") is None


def test_a_kept_user_is_forgotten_after_max_age(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(known_users.time, "monotonic", lambda: now[0])
    known = KnownUsers()
    known.keep(user(1), "s")
    now[0] += KnownUsers.MAX_AGE - 1
    assert known.get(1, "s") == user(1)
    now[0] += 2
    assert known.get(1, "s") is None


def test_the_least_recently_kept_users_make_room() -> None:
    known = KnownUsers(size=2)
    for user_id in (1, 2, 3):
        known.keep(user(user_id), "s")
    assert known.get(1, "s") is None
    assert known.get(2, "s") == user(2)
    assert known.get(3, "s") == user(3)
