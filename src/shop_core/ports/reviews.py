"""Where product reviews are kept, with the rating totals they give their products."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shop_core.domain.reviews import Rating, Review


@dataclass(frozen=True)
class ReviewFilter:
    """Which reviews a list holds (None: any), and in which order (`domain.reviews.ORDERINGS`)."""

    product_id: int | None = None
    user_id: int | None = None
    is_published: bool | None = None
    ordering: str = "-created_at"


class ReviewRepository(Protocol):
    async def add(self, review: Review) -> Review | None:
        """Store a new review and set its `id`; None, and nothing stored, when its author has
        reviewed the product already (however many add it at once, one is stored)."""
        ...

    async def get(self, review_id: int, *, for_update: bool = False) -> Review | None:
        """With `for_update`, its row stays locked until the transaction ends."""
        ...

    async def save(self, review: Review) -> None:
        """Store its rating, text, publication and `updated_at`."""
        ...

    async def delete(self, review_id: int) -> None: ...

    async def page(self, query: ReviewFilter, *, offset: int, limit: int) -> tuple[list[Review], int]:
        """A page of the reviews `query` names, and how many there are in all."""
        ...

    async def received(self, user_id: int, product_id: int) -> bool:
        """Whether an order of the user that holds the product (any variant) was delivered."""
        ...

    async def add_to_rating(self, product_id: int, change: Rating) -> None:
        """Move the product's rating totals by `change`, in one statement (never read, then written):
        racing changes all count."""
        ...
