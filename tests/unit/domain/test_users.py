"""Rules for emails, usernames, passwords and roles."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop_core.domain.errors import InvalidInput
from shop_core.domain.users import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    Role,
    User,
    check_password_policy,
    normalize_email,
    normalize_username,
    username_from_email,
)

EMAIL = "ada@example.com"


def password_problems(password: str, email: str = EMAIL) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        check_password_policy(password, email=email)
    assert list(caught.value.errors) == ["password"]
    return caught.value.errors["password"]


# --- email ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  Ada.Lovelace@Example.COM \n", "ada.lovelace@example.com"),
        ("a+tag@sub.example.co.uk", "a+tag@sub.example.co.uk"),
    ],
)
def test_normalize_email_trims_and_lowercases(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada@@example.com",
        "ada @example.com",
        "ada@-example.com",
        "a" * 250 + "@example.com",
    ],
)
def test_normalize_email_rejects_what_is_not_an_email(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_email(raw)
    assert caught.value.errors == {"email": ["Enter a valid email address."]}


emails = st.emails().map(str)


@given(emails)
def test_normalize_email_is_idempotent(raw: str) -> None:
    once = normalize_email(raw)
    assert normalize_email(once) == once
    assert once == once.strip().lower()


@given(emails, st.sampled_from(["", " ", "\t", "  \n"]))
def test_normalize_email_ignores_case_and_surrounding_space(raw: str, pad: str) -> None:
    assert normalize_email(f"{pad}{raw.upper()}{pad}") == normalize_email(raw)


# --- username ------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [(" ada_l ", "ada_l"), ("A.b+c-d", "A.b+c-d"), ("abc", "abc")])
def test_normalize_username_trims_and_keeps_case(raw: str, expected: str) -> None:
    assert normalize_username(raw) == expected


@pytest.mark.parametrize("raw", ["ab", "", "ada lovelace", "ada@example", "a" * 151, "ada!", "ädä"])
def test_normalize_username_rejects_bad_names(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_username(raw)
    assert list(caught.value.errors) == ["username"]


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("ada@example.com", "ada"),
        ("ada.lovelace+shop@example.com", "ada.lovelace+shop"),
        ("a@example.com", "a__"),
        ("o'brien@example.com", "obrien"),
        ("x" * 200 + "@example.com", "x" * 140),
    ],
)
def test_username_from_email_derives_a_valid_username(email: str, expected: str) -> None:
    username = username_from_email(email)
    assert username == expected
    assert normalize_username(username) == username


@given(emails)
def test_username_from_any_valid_email_is_a_valid_username(raw: str) -> None:
    username = username_from_email(normalize_email(raw))
    assert normalize_username(username) == username


# --- password policy -----------------------------------------------------------------------


@pytest.mark.parametrize("password", ["correct horse", "abcdefgh", "1234567a", "x" * MAX_PASSWORD_LENGTH])
def test_password_policy_accepts_reasonable_passwords(password: str) -> None:
    check_password_policy(password, email=EMAIL)


def test_password_policy_refuses_short_passwords() -> None:
    assert password_problems("abc1234") == ["Use at least 8 characters."]


def test_password_policy_refuses_long_passwords() -> None:
    assert password_problems("x" * (MAX_PASSWORD_LENGTH + 1)) == [
        f"Use at most {MAX_PASSWORD_LENGTH} characters."
    ]


def test_password_policy_refuses_all_digits() -> None:
    assert password_problems("12345678") == ["The password cannot be all digits."]


@pytest.mark.parametrize("password", [EMAIL, " ADA@example.com ", "Ada@Example.Com"])
def test_password_policy_refuses_the_email(password: str) -> None:
    assert password_problems(password) == ["The password cannot be your email address."]


def test_password_policy_lists_every_problem() -> None:
    assert password_problems("1234", email="1234") == [
        "Use at least 8 characters.",
        "The password cannot be all digits.",
        "The password cannot be your email address.",
    ]


@given(st.text(alphabet="0123456789", min_size=1, max_size=200))
def test_password_policy_never_accepts_an_all_digit_password(password: str) -> None:
    assert "The password cannot be all digits." in password_problems(password)


@given(
    st.text(min_size=MIN_PASSWORD_LENGTH, max_size=MAX_PASSWORD_LENGTH).filter(
        lambda p: not p.isdigit() and p.strip().lower() != EMAIL
    )
)
def test_password_policy_only_refuses_the_email_among_long_enough_non_digit_passwords(password: str) -> None:
    check_password_policy(password, email=EMAIL)
    assert password_problems(password, email=password) == ["The password cannot be your email address."]


# --- roles ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "is_staff"), [(Role.CUSTOMER, False), (Role.STAFF, True), (Role.SUPERUSER, True)]
)
def test_is_staff_follows_the_role(role: Role, is_staff: bool) -> None:
    user = User(email=EMAIL, username="ada", password_hash="x", date_joined=datetime.now(UTC), role=role)
    assert user.is_staff is is_staff


def test_a_new_user_is_an_active_customer() -> None:
    user = User(email=EMAIL, username="ada", password_hash="x", date_joined=datetime.now(UTC))
    assert (user.role, user.is_active, user.is_staff, user.id) == (Role.CUSTOMER, True, False, None)
