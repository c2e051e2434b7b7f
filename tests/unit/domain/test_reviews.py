"""The review rules, without a database: ratings, text, the public author name, the average's
rounding, who may change a review, and what approval does to an author's edit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from shop_core.domain.actors import Actor
from shop_core.domain.errors import InvalidInput, NotFound, PermissionDenied
from shop_core.domain.reviews import (
    Rating,
    Review,
    author_name,
    can_see,
    check_ordering,
    check_text,
    rating_average,
)

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
ADA = Actor.user(1, "ada@example.com", is_staff=False)
EVE = Actor.user(2, "eve@example.com", is_staff=False)
STAFF = Actor.user(3, "staff@example.com", is_staff=True)


def review(*, published: bool = True, rating: int = 4) -> Review:
    made = Review.write(
        1, ADA, "Ada L.", rating=rating, title="T", body="B", require_approval=not published, now=NOW
    )
    made.id = 1
    return made


@pytest.mark.parametrize(
    ("total", "count", "shown"),
    [
        (5, 1, "5.0"),
        (9, 2, "4.5"),
        (13, 3, "4.3"),
        (29, 12, "2.4"),
        (5, 4, "1.3"),
        (7, 2, "3.5"),
        (43, 12, "3.6"),
        (1, 3, "0.3"),
        (11, 8, "1.4"),
        (9, 8, "1.1"),
    ],
)
def test_the_average_is_one_decimal_rounded_half_up(total: int, count: int, shown: str) -> None:
    assert rating_average(total, count) == Decimal(shown)
    assert str(rating_average(total, count)) == shown


def test_the_average_matches_half_up_on_the_exact_fraction_everywhere() -> None:
    for count in range(1, 200):
        for total in range(count, 5 * count + 1):
            exact = Fraction(total, count) * 10
            expected = int(exact) + (1 if exact - int(exact) >= Fraction(1, 2) else 0)
            assert rating_average(total, count) == Decimal(expected).scaleb(-1), (total, count)


def test_no_reviews_no_average() -> None:
    assert rating_average(0, 0) is None


@pytest.mark.parametrize(
    ("first", "last", "shown"),
    [
        ("Ada", "Lovelace", "Ada L."),
        ("Ada", "", "Ada"),
        ("", "Lovelace", "A customer"),
        ("  ", "", "A customer"),
    ],
)
def test_the_public_author_name(first: str, last: str, shown: str) -> None:
    assert author_name(first, last) == shown


def test_text_is_kept_exactly_or_refused() -> None:
    assert check_text("  <b>x</b>\r\n\t ", "body", 50, multiline=True) == "  <b>x</b>\r\n\t "
    for bad in ("a\x00", "a\x1b[31m", "a\x7f", "a\x85"):
        with pytest.raises(InvalidInput):
            check_text(bad, "body", 50, multiline=True)
    with pytest.raises(InvalidInput):
        check_text("two\nlines", "title", 50, multiline=False)
    with pytest.raises(InvalidInput) as too_long:
        check_text("x" * 51, "title", 50, multiline=False)
    assert too_long.value.errors == {"title": ["Use at most 50 characters, not 51."]}


def test_ratings_out_of_range_are_refused() -> None:
    for rating in (0, 6, -3):
        with pytest.raises(InvalidInput):
            review(rating=rating)
    with pytest.raises(InvalidInput):
        review().edit(ADA, rating=9, require_approval=False, now=NOW)


def test_orderings() -> None:
    assert check_ordering(None) == "-created_at"
    assert check_ordering("rating") == "rating"
    with pytest.raises(InvalidInput):
        check_ordering("created_at")


def test_who_may_change_a_review() -> None:
    published, hidden = review(), review(published=False)
    with pytest.raises(PermissionDenied):
        published.edit(EVE, rating=1, require_approval=False, now=NOW)
    with pytest.raises(NotFound):
        hidden.edit(EVE, rating=1, require_approval=False, now=NOW)
    with pytest.raises(PermissionDenied):
        published.edit(ADA, is_published=False, require_approval=False, now=NOW)
    assert (published.rating, published.is_published) == (4, True)
    hidden.edit(STAFF, is_published=True, require_approval=True, now=NOW)
    assert hidden.is_published
    assert can_see(review(published=False), ADA)
    assert not can_see(review(published=False), EVE)
    assert not can_see(review(published=False), None)
    assert can_see(review(), None)


def test_with_approval_an_authors_change_waits_again_but_staffs_does_not() -> None:
    item = review()
    later = NOW + timedelta(minutes=5)
    item.edit(ADA, rating=4, title="T", body="B", require_approval=True, now=later)
    assert (item.is_published, item.updated_at) == (True, NOW)  # nothing changed
    item.edit(STAFF, title="Fixed", require_approval=True, now=later)
    assert item.is_published
    item.edit(ADA, body="New words", require_approval=True, now=later)
    assert (item.is_published, item.updated_at) == (False, later)
    other = review()
    other.edit(ADA, rating=1, require_approval=False, now=later)
    assert other.is_published


def test_what_a_review_adds_to_its_product() -> None:
    item = review(rating=3)
    before = item.counted
    assert before == Rating(1, 3)
    item.edit(STAFF, rating=5, is_published=False, require_approval=False, now=NOW)
    assert item.counted - before == Rating(-1, -3)
    assert review(published=False).counted == Rating()
