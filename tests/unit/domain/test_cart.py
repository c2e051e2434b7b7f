"""Cart rules: quantities, merges, expiry and guest tokens, without any store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop_core.domain.cart import (
    CartLimits,
    StockShortage,
    check_quantity,
    check_stock,
    customer_owner,
    guest_owner,
    guest_owner_of,
    has_room_for,
    is_expired,
    limit_error,
    merged_quantity,
    new_guest_token,
    within_line_maximum,
)
from shop_core.domain.errors import Conflict, InvalidInput

LIMITS = CartLimits(max_quantity=5, max_lines=2)
SECRET = "a-secret-that-is-long-enough-0123456789"


def test_default_limits_are_the_documented_ones() -> None:
    assert CartLimits() == CartLimits(max_quantity=99, max_lines=100, ttl=timedelta(days=30))


@pytest.mark.parametrize("quantity", [1, 3, 5])
def test_quantities_from_one_to_the_maximum_pass(quantity: int) -> None:
    check_quantity(quantity, LIMITS)


@pytest.mark.parametrize("quantity", [0, -1, 6, 10**9])
def test_quantities_outside_the_range_are_invalid(quantity: int) -> None:
    with pytest.raises(InvalidInput) as bad:
        check_quantity(quantity, LIMITS)
    assert "quantity" in bad.value.errors
    assert "1 to 5" in str(bad.value)


def test_zero_is_allowed_only_when_asked() -> None:
    check_quantity(0, LIMITS, allow_zero=True)
    with pytest.raises(InvalidInput):
        check_quantity(-1, LIMITS, allow_zero=True)


def test_stock_shortage_names_what_is_available() -> None:
    check_stock(7, 4, 4)
    with pytest.raises(StockShortage) as short:
        check_stock(7, 5, 4)
    assert isinstance(short.value, Conflict)
    assert (short.value.product_id, short.value.available, short.value.code) == (7, 4, "insufficient_stock")


@pytest.mark.parametrize(
    ("guest", "customer", "available", "expected"),
    [
        (1, 2, 10, 3),  # the sum
        (3, 3, 4, 4),  # capped by stock
        (4, 4, 100, 5),  # capped by the line maximum
        (2, 0, 0, 0),  # nothing in stock
        (2, 0, -3, 0),  # never negative
    ],
)
def test_merged_quantity(guest: int, customer: int, available: int, expected: int) -> None:
    assert merged_quantity(guest, customer, available, LIMITS) == expected


def test_a_cart_expires_exactly_ttl_after_its_last_change() -> None:
    then = datetime(2030, 1, 1, tzinfo=UTC)
    assert not is_expired(then, then + LIMITS.ttl - timedelta(microseconds=1), LIMITS)
    assert is_expired(then, then + LIMITS.ttl, LIMITS)


def test_owners_of_customers_and_guests_differ() -> None:
    assert customer_owner(7) == "user:7"
    assert guest_owner("7") == "guest:7"


def test_a_guest_token_names_the_same_owner_every_time() -> None:
    token = new_guest_token(SECRET)
    owner = guest_owner_of(token, SECRET)
    assert owner.startswith("guest:")
    assert guest_owner_of(f" {token} ", SECRET) == owner
    assert guest_owner_of(new_guest_token(SECRET), SECRET) != owner


def test_a_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(InvalidInput) as bad:
        guest_owner_of(new_guest_token("another-secret-entirely-0123456789abc"), SECRET)
    assert "X-Cart-Token" in bad.value.errors


@pytest.mark.parametrize(
    "forged",
    [
        "",
        ".",
        "abc",
        "abc.",
        ".abc",
        "abc.def",
        "ünïcödé.sïgnätürë",
        "x" * 300,
    ],
)
def test_forged_tokens_are_invalid_input(forged: str) -> None:
    with pytest.raises(InvalidInput):
        guest_owner_of(forged, SECRET)


def test_a_tampered_token_is_refused() -> None:
    cart_id, _, signature = new_guest_token(SECRET).partition(".")
    with pytest.raises(InvalidInput):
        guest_owner_of(f"{cart_id}x.{signature}", SECRET)
    with pytest.raises(InvalidInput):
        guest_owner_of(f"{cart_id}.{signature[:-1]}", SECRET)
    with pytest.raises(InvalidInput):
        guest_owner_of(f"{cart_id}.{signature}é", SECRET)


# --- the limits every cart store applies -----------------------------------------------------------


@given(quantity=st.integers(min_value=-5, max_value=200), maximum=st.integers(min_value=1, max_value=99))
def test_a_line_holds_at_most_the_maximum(quantity: int, maximum: int) -> None:
    assert within_line_maximum(quantity, CartLimits(max_quantity=maximum)) is (quantity <= maximum)


@given(held=st.integers(min_value=0, max_value=10), has_line=st.booleans())
def test_a_new_line_needs_room_and_an_existing_line_always_changes(held: int, has_line: bool) -> None:
    fits = has_room_for(held, has_line=has_line, limits=LIMITS)
    assert fits is (has_line or held < LIMITS.max_lines)


def test_the_limit_messages_name_the_limit() -> None:
    full = limit_error(LIMITS, lines=True)
    assert type(full) is Conflict
    assert full.detail == "The cart is full: at most 2 different products."
    too_many = limit_error(LIMITS, lines=False)
    assert isinstance(too_many, InvalidInput)
    assert too_many.errors == {"quantity": ["At most 5 of one product per cart."]}
