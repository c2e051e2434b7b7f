"""Product reviews: who may write one, what it may say, who may change it, and the rating a product
shows.

A customer who received a product (an order of theirs holding it, any variant of it, was
delivered: `delivered_at` is set, even if it was returned later) may review it once. Every such
review is a `verified_purchase`. The author may change its rating, title and body, and delete it;
staff may do that too, and publish or unpublish it; nobody else may touch it.

When the shop asks staff to approve reviews (`require_approval`), a new review waits unpublished,
and so does a published review its author changes (its words are no longer what staff approved);
an edit that changes nothing keeps it as it was, and staff's own edits never unpublish.

A product shows the number of its published reviews and their average rating, one decimal, rounded
half-up on the exact fraction (`rating_average(9, 2)` is 4.5, `rating_average(13, 3)` 4.3,
`rating_average(29, 12)` 2.4 from 2.41666…, `rating_average(5, 4)` 1.3 from 1.25).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shop_core.domain.actors import Actor
from shop_core.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied

RATING_MIN, RATING_MAX = 1, 5
TITLE_MAX = 120
BODY_MAX = 5000
AUTHOR_NAME_MAX = 160
ANONYMOUS = "A customer"
ORDERINGS = ("-created_at", "-rating", "rating")
DEFAULT_ORDERING = "-created_at"
_TEXT_BREAKS = frozenset("\n\r\t")


class ReviewNotAllowed(PermissionDenied):
    """The customer never received the product (403): no delivered order of theirs holds it."""

    code = "review_not_allowed"


class ReviewExists(Conflict):
    """The customer reviewed this product already (409): change that review instead."""

    code = "review_exists"


def check_rating(rating: int) -> int:
    if not RATING_MIN <= rating <= RATING_MAX:
        raise InvalidInput.field("rating", f"Rate from {RATING_MIN} to {RATING_MAX}, not {rating}.")
    return rating


def check_text(text: str, field: str, limit: int, *, multiline: bool) -> str:
    """Plain text kept exactly as sent: at most `limit` characters, no control characters but line
    breaks and tabs in a body (none at all in a title); NUL never (PostgreSQL cannot store it)."""
    if len(text) > limit:
        raise InvalidInput.field(field, f"Use at most {limit} characters, not {len(text)}.")
    allowed = _TEXT_BREAKS if multiline else frozenset()
    if any((ord(c) < 32 or 127 <= ord(c) < 160) and c not in allowed for c in text):
        if multiline:
            raise InvalidInput.field(field, "Use plain text: no control characters but line breaks and tabs.")
        raise InvalidInput.field(field, "Use plain text on one line: no line breaks or control characters.")
    return text


def check_ordering(ordering: str | None) -> str:
    chosen = ordering or DEFAULT_ORDERING
    if chosen not in ORDERINGS:
        raise InvalidInput.field("ordering", f"Order by one of: {', '.join(ORDERINGS)}.")
    return chosen


def author_name(first_name: str, last_name: str) -> str:
    """What the public sees of the author: the first name and the last name's initial ("Ada L."),
    the first name alone, or "A customer". Never the email, nor the username (often made from it)."""
    first, last = first_name.strip(), last_name.strip()
    if not first:
        return ANONYMOUS
    name = f"{first} {last[0]}." if last else first
    return name[:AUTHOR_NAME_MAX]


def rating_average(total: int, count: int) -> Decimal | None:
    """`total / count` to one decimal, half-up on the exact fraction; None without reviews."""
    if count <= 0:
        return None
    tenths = (20 * total + count) // (2 * count)  # floor(10 * total / count + 1/2), all in integers
    return Decimal(tenths).scaleb(-1)


@dataclass(frozen=True)
class Rating:
    """What a review adds to its product's totals: one review of `rating` when published."""

    count: int = 0
    total: int = 0

    def __sub__(self, other: Rating) -> Rating:
        return Rating(self.count - other.count, self.total - other.total)


@dataclass(eq=False)
class Review:
    product_id: int
    user_id: int | None
    """None once the author's account is gone; the review stays, with its `author_name`."""
    rating: int
    title: str
    body: str
    author_name: str
    verified_purchase: bool
    is_published: bool
    created_at: datetime
    updated_at: datetime
    id: int | None = None

    @classmethod
    def write(
        cls,
        product_id: int,
        author: Actor,
        author_name: str,
        *,
        rating: int,
        title: str,
        body: str,
        require_approval: bool,
        now: datetime,
    ) -> Review:
        """A new review by a customer who received the product (the caller checked that)."""
        if author.user_id is None:
            raise PermissionDenied("Sign in as the customer who received the product to review it.")
        return cls(
            product_id=product_id,
            user_id=author.user_id,
            rating=check_rating(rating),
            title=check_text(title, "title", TITLE_MAX, multiline=False),
            body=check_text(body, "body", BODY_MAX, multiline=True),
            author_name=author_name,
            verified_purchase=True,
            is_published=not require_approval,
            created_at=now,
            updated_at=now,
        )

    @property
    def counted(self) -> Rating:
        """What it adds to its product's rating now."""
        return Rating(1, self.rating) if self.is_published else Rating()

    def edit(
        self,
        actor: Actor,
        *,
        rating: int | None = None,
        title: str | None = None,
        body: str | None = None,
        is_published: bool | None = None,
        require_approval: bool,
        now: datetime,
    ) -> None:
        """Change what was given (None: keep). The author or staff; `is_published` staff only."""
        check_may_change(self, actor)
        if is_published is not None and not actor.is_staff:
            raise PermissionDenied("Only staff may publish or unpublish a review.")
        new_rating = self.rating if rating is None else check_rating(rating)
        new_title = self.title if title is None else check_text(title, "title", TITLE_MAX, multiline=False)
        new_body = self.body if body is None else check_text(body, "body", BODY_MAX, multiline=True)
        changed = (new_rating, new_title, new_body) != (self.rating, self.title, self.body)
        if changed and require_approval and not actor.is_staff:
            self.is_published = False  # the author's new words wait for staff again
        if is_published is not None:
            self.is_published = is_published
        if changed or is_published is not None:
            self.updated_at = now
        self.rating, self.title, self.body = new_rating, new_title, new_body


def can_see(review: Review, viewer: Actor | None) -> bool:
    """Anyone sees a published review; its author and staff see it unpublished too."""
    if review.is_published:
        return True
    return viewer is not None and (viewer.is_staff or _is_author(review, viewer))


def check_may_change(review: Review, actor: Actor) -> None:
    """The author and staff may change or delete a review. Someone else's review they cannot see
    is NotFound (as a missing one); one they can see (published) is PermissionDenied."""
    if actor.is_staff or _is_author(review, actor):
        return
    if not review.is_published:
        raise NotFound("No such review.")
    raise PermissionDenied("Only the review's author or staff may change it.")


def _is_author(review: Review, actor: Actor) -> bool:
    return actor.user_id is not None and review.user_id == actor.user_id
