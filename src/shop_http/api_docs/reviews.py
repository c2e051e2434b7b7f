"""The documentation of `controllers.reviews`: customers who received a product review it; the
author or staff change or delete the review; staff publish and unpublish."""

from __future__ import annotations

from functools import partial

from shop_core.domain.errors import InvalidInput, NotFound, PermissionDenied
from shop_core.domain.reviews import (
    ORDERINGS,
    TITLE_MAX,
    ReviewExists,
    ReviewNotAllowed,
    check_ordering,
    check_text,
)
from shop_core.services.reviews import EditReview, ReviewView, WriteReview
from shop_http.api_docs.examples import AT
from shop_http.openapi import body, error, example, ok, refusal, request_example, sample
from shop_http.pagination import PageOf

PUBLISHED = ReviewView(
    id=1,
    product_id=1,
    rating=5,
    title="Bright and steady",
    body="Lights the whole desk.\nThe arm holds where you leave it.",
    author_name="Ada L.",
    verified_purchase=True,
    is_published=True,
    created_at=AT,
    updated_at=AT,
)
WAITING = ReviewView(
    **{**{f: getattr(PUBLISHED, f) for f in PUBLISHED.__struct_fields__}, "is_published": False}
)

# --- answers ---------------------------------------------------------------------------------------

CREATED = ok(
    ReviewView,
    "The review: published at once, or waiting for staff when `SHOP_REVIEWS_REQUIRE_APPROVAL` is on.",
    example(PUBLISHED, "Published"),
    example(WAITING, "Waiting for approval"),
    status=201,
)
ONE = ok(ReviewView, "The review.", example(PUBLISHED, "Published"), example(WAITING, "Unpublished"))
PAGE = ok(
    PageOf[ReviewView],
    "A page of reviews.",
    example(PageOf(count=1, next=None, previous=None, results=[PUBLISHED]), "One review"),
)

# --- errors ----------------------------------------------------------------------------------------

BAD_REVIEW = error(
    InvalidInput,
    "A field is missing, of the wrong type or out of range: `rating` not a whole number from 1 to 5, "
    "`title` over 120 characters or holding a control character, `body` over 5000 characters or "
    "holding a control character other than line breaks and tabs, a field this operation does not "
    "know. Nothing was stored.",
    sample(InvalidInput("The request is not valid.", {"rating": ["Expected `int` >= 1."]})),
    sample(
        refusal(partial(check_text, multiline=False), "two\nlines", "title", TITLE_MAX, kind=InvalidInput)
    ),
)
BAD_ORDERING = error(
    InvalidInput,
    "A parameter is invalid, such as an unknown `ordering`.",
    sample(refusal(check_ordering, "stars", kind=InvalidInput)),
)
NOT_RECEIVED = error(
    ReviewNotAllowed,
    f"`{ReviewNotAllowed.code}`: no delivered order of yours holds this product (never bought, or "
    "not delivered yet). Nothing was stored.",
    sample(ReviewNotAllowed("Only a customer who received this product may review it.")),
)
REVIEWED = error(
    ReviewExists,
    f"`{ReviewExists.code}`: you have reviewed this product already (change that review instead).",
    sample(ReviewExists("You have reviewed this product already; change that review instead.")),
)
NOT_YOURS = error(
    PermissionDenied,
    "Someone else's published review (only its author or staff may change it), or `is_published` "
    "sent by a customer (staff's alone). Nothing changed.",
    sample(PermissionDenied("Only the review's author or staff may change it.")),
    sample(PermissionDenied("Only staff may publish or unpublish a review.")),
)
NO_PRODUCT = error(
    NotFound, "No such product, or it is not on sale (inactive).", sample(NotFound("No such product."))
)
NO_REVIEW = error(
    NotFound, "No such review, or an unpublished one of someone else's.", sample(NotFound("No such review."))
)

# --- descriptions, parameters and request bodies ----------------------------------------------------

ORDERING = f"One of {', '.join(ORDERINGS)} (default -created_at: newest first)."
PRODUCT_LIST = (
    "Anyone. The product's published reviews, newest first unless `ordering` says otherwise; ties "
    "newest first. An inactive or unknown product is 404."
)
WRITE = (
    "A customer who received the product (an order of theirs holding it, any variant of it, was "
    "delivered) reviews it, once: `verified_purchase` is true. Title and body are plain text, stored "
    "and returned exactly as sent (escape them wherever you render them). With "
    "`SHOP_REVIEWS_REQUIRE_APPROVAL` on, the review waits unpublished until staff publish it. A "
    "published review counts in the product's `rating_count` and `rating_average` at once."
)
WRITE_BODY = body(
    request_example(WriteReview, "Five stars", rating=5, title="Bright and steady", body="Lights the desk."),
    request_example(WriteReview, "A rating alone", rating=4),
)
LIST = (
    "Staff: every review, filtered by `product_id` and `is_published` (`is_published=false` is the "
    "moderation queue); customers: their own reviews. Newest first unless `ordering` says otherwise."
)
GET = "Any signed-in user sees a published review; its author and staff see it unpublished too."
EDIT = (
    "The author changes `rating`, `title` or `body`; staff may change those and `is_published`. With "
    "`SHOP_REVIEWS_REQUIRE_APPROVAL` on, an author's change to a published review unpublishes it "
    "until staff publish it again (an edit that changes nothing keeps it published). The product's "
    "rating follows at once."
)
EDIT_BODY = body(
    request_example(EditReview, "A new rating", rating=4),
    request_example(EditReview, "Publish (staff)", is_published=True),
)
DELETE = "The author or staff delete a review; a published one leaves the product's rating at once."
