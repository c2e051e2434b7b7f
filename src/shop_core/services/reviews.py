"""Product reviews: customers who received a product review it once; the author or staff change
or delete it; staff publish and unpublish (domain/reviews.py holds every rule).

Every change that moves what a published review adds to its product (a new published review, a
published one edited, deleted, published or unpublished) moves the product's `rating_count` and
`rating_sum` in the same transaction, by one atomic `SET x = x + :d`, with the review's row locked
first (`for_update`), so racing changes each see the state the one before left. The catalog
cache is invalidated after the commit, so the products' ratings are never served stale.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeVar

import msgspec

from shop_core.domain.actors import Actor, require_staff
from shop_core.domain.errors import NotFound
from shop_core.domain.ids import MAX_ID
from shop_core.domain.reviews import (
    BODY_MAX,
    RATING_MAX,
    RATING_MIN,
    TITLE_MAX,
    Rating,
    Review,
    ReviewExists,
    ReviewNotAllowed,
    author_name,
    can_see,
    check_may_change,
    check_ordering,
)
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.ports.reviews import ReviewFilter
from shop_core.services import jobs
from shop_core.services.cache_aside import CacheAside
from shop_core.services.catalog_commands import UNSET, Unset
from shop_core.services.commands import Command
from shop_core.services.views import Page

T = TypeVar("T")
Stars = Annotated[int, msgspec.Meta(ge=RATING_MIN, le=RATING_MAX, description="1 to 5 stars.")]
Title = Annotated[str, msgspec.Meta(max_length=TITLE_MAX, description="Plain text, one line.")]
Body = Annotated[str, msgspec.Meta(max_length=BODY_MAX, description="Plain text; line breaks kept.")]


class WriteReview(Command):
    rating: Stars
    title: Title = ""
    body: Body = ""


class EditReview(Command):
    """PATCH: only the fields sent change; `is_published` is staff's alone."""

    rating: Stars | Unset = UNSET
    title: Title | Unset = UNSET
    body: Body | Unset = UNSET
    is_published: bool | Unset = UNSET


class ReviewView(msgspec.Struct, kw_only=True):
    id: int
    product_id: int
    rating: int
    title: str
    body: Annotated[str, msgspec.Meta(description="As written: plain text, to be escaped when shown.")]
    author_name: Annotated[
        str,
        msgspec.Meta(description='The author\'s first name and last initial ("Ada L."), or "A customer".'),
    ]
    verified_purchase: Annotated[bool, msgspec.Meta(description="The author received the product.")]
    is_published: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, review: Review) -> ReviewView:
        assert review.id is not None
        return cls(
            id=review.id,
            product_id=review.product_id,
            rating=review.rating,
            title=review.title,
            body=review.body,
            author_name=review.author_name,
            verified_purchase=review.verified_purchase,
            is_published=review.is_published,
            created_at=review.created_at,
            updated_at=review.updated_at,
        )


class ReviewQuery(msgspec.Struct, kw_only=True):
    """Which reviews a list shows: `product_id`, `is_published` (staff), and the order."""

    product_id: Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)] | None = None
    is_published: bool | None = None
    ordering: str | None = None


class Reviews:
    """Writing, reading, changing and moderating reviews."""

    def __init__(
        self, *, uow: UnitOfWorkFactory, cache: CacheAside, clock: Clock, require_approval: bool
    ) -> None:
        self._uow = uow
        self._cache = cache
        self._clock = clock
        self.require_approval = require_approval

    async def product_reviews(
        self, product_id: int, *, ordering: str | None = None, offset: int = 0, limit: int = 20
    ) -> Page[ReviewView]:
        """The published reviews of an active product (anyone); NotFound for any other product."""
        query = ReviewFilter(product_id=product_id, is_published=True, ordering=check_ordering(ordering))
        async with self._uow() as uow:
            await _active_product(uow, product_id)
            found, total = await uow.reviews.page(query, offset=offset, limit=limit)
        return Page(items=[ReviewView.of(r) for r in found], total=total)

    async def write(self, product_id: int, cmd: WriteReview, author: Actor) -> ReviewView:
        """A customer who received the product reviews it: NotFound (inactive or unknown product),
        ReviewNotAllowed (403, never received it), ReviewExists (409, reviewed it already)."""
        async with self._uow() as uow:
            await _active_product(uow, product_id)
            user = None if author.user_id is None else await uow.users.get(author.user_id)
            if user is None or user.id is None or not await uow.reviews.received(user.id, product_id):
                raise ReviewNotAllowed("Only a customer who received this product may review it.")
            review = Review.write(
                product_id,
                author,
                author_name(user.first_name, user.last_name),
                rating=cmd.rating,
                title=cmd.title,
                body=cmd.body,
                require_approval=self.require_approval,
                now=self._clock.now(),
            )
            stored = await uow.reviews.add(review)
            if stored is None:
                raise ReviewExists("You have reviewed this product already; change that review instead.")
            await uow.reviews.add_to_rating(product_id, stored.counted)
            await _alert_if_waiting(uow, stored, "new")
            await uow.commit()
        await self._rating_moved(stored.counted)
        return ReviewView.of(stored)

    async def get(self, review_id: int, viewer: Actor | None) -> ReviewView:
        """Anyone sees a published review; its author and staff an unpublished one too."""
        async with self._uow() as uow:
            review = await uow.reviews.get(review_id)
        if review is None or not can_see(review, viewer):
            raise NotFound("No such review.")
        return ReviewView.of(review)

    async def list(
        self, query: ReviewQuery, viewer: Actor, *, offset: int = 0, limit: int = 20
    ) -> Page[ReviewView]:
        """Staff: every review (the moderation queue with `is_published=false`); customers their own."""
        flt = ReviewFilter(
            product_id=query.product_id,
            user_id=None if viewer.is_staff else (viewer.user_id or -1),
            is_published=query.is_published,
            ordering=check_ordering(query.ordering),
        )
        async with self._uow() as uow:
            found, total = await uow.reviews.page(flt, offset=offset, limit=limit)
        return Page(items=[ReviewView.of(r) for r in found], total=total)

    async def edit(self, review_id: int, cmd: EditReview, actor: Actor) -> ReviewView:
        """The author changes rating, title or body (with approval required, a published review
        then waits for staff again); staff may change those and `is_published`."""
        async with self._uow() as uow:
            review = await _locked(uow, review_id, actor)
            before = review.counted
            review.edit(
                actor,
                rating=_given(cmd.rating),
                title=_given(cmd.title),
                body=_given(cmd.body),
                is_published=_given(cmd.is_published),
                require_approval=self.require_approval,
                now=self._clock.now(),
            )
            await uow.reviews.save(review)
            await uow.reviews.add_to_rating(review.product_id, review.counted - before)
            if before.count and not review.is_published and not actor.is_staff:
                await _alert_if_waiting(uow, review, review.updated_at.isoformat())  # new words wait
            await uow.commit()
        await self._rating_moved(review.counted - before)
        return ReviewView.of(review)

    async def set_published(self, review_id: int, published: bool, actor: Actor) -> ReviewView:
        """Staff publish or unpublish a review (what the CLI's publish and unpublish do)."""
        require_staff(actor, "Only staff may publish or unpublish a review.")
        return await self.edit(review_id, EditReview(is_published=published), actor)

    async def delete(self, review_id: int, actor: Actor) -> None:
        """The author or staff delete a review; a published one leaves its product's rating."""
        async with self._uow() as uow:
            review = await _locked(uow, review_id, actor)
            assert review.id is not None
            await uow.reviews.delete(review.id)
            gone = Rating() - review.counted
            await uow.reviews.add_to_rating(review.product_id, gone)
            await uow.commit()
        await self._rating_moved(gone)

    async def _rating_moved(self, change: Rating) -> None:
        if change != Rating():
            await self._cache.invalidate()  # the products' rating_count and rating_average changed


async def _alert_if_waiting(uow: UnitOfWork, review: Review, change: str) -> None:
    """Staff are emailed (a job, after the commit) about a review that waits for them; once per
    `change` of the review."""
    if review.is_published:
        return
    assert review.id is not None
    key = f"{jobs.REVIEW_WAITING_ALERT}:{review.id}:{change}"
    await jobs.record(uow, jobs.REVIEW_WAITING_ALERT, key, {"review_id": review.id}, review.updated_at)


async def _active_product(uow: UnitOfWork, product_id: int) -> None:
    product = await uow.products.get(product_id)
    if product is None or not product.is_active:
        raise NotFound("No such product.")


async def _locked(uow: UnitOfWork, review_id: int, actor: Actor) -> Review:
    """The review, its row locked until the commit, if `actor` may change it."""
    review = await uow.reviews.get(review_id, for_update=True)
    if review is None:
        raise NotFound("No such review.")
    check_may_change(review, actor)
    return review


def _given(value: T | Unset) -> T | None:
    return None if isinstance(value, Unset) else value
