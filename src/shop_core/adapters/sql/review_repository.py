"""Reviews, and the rating totals they give their products, with SQLAlchemy Core in the unit of
work's transaction."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import order_lines, orders, products, reviews
from shop_core.adapters.sql.upsert import session_insert
from shop_core.domain.ids import is_possible_id
from shop_core.domain.reviews import Rating, Review
from shop_core.ports.reviews import ReviewFilter

_R = reviews.c
_ORDER = {
    "-created_at": (_R.created_at.desc(), _R.id.desc()),
    "-rating": (_R.rating.desc(), _R.created_at.desc(), _R.id.desc()),
    "rating": (_R.rating, _R.created_at.desc(), _R.id.desc()),
}


class SqlReviewRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, review: Review) -> Review | None:
        # ON CONFLICT DO NOTHING: a racing second review of the same author waits for the first to
        # commit, then inserts nothing (and the transaction stays usable, unlike a failed INSERT).
        insert = session_insert(self._session, reviews).values(self._fields(review))
        found = await self._session.execute(
            insert.on_conflict_do_nothing(index_elements=["product_id", "user_id"]).returning(_R.id)
        )
        review_id = found.scalar_one_or_none()
        if review_id is None:
            return None
        review.id = review_id
        return review

    async def get(self, review_id: int, *, for_update: bool = False) -> Review | None:
        if not is_possible_id(review_id):
            return None
        query = sa.select(reviews).where(_R.id == review_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return None if row is None else _review(row)

    async def save(self, review: Review) -> None:
        assert review.id is not None
        await self._session.execute(
            reviews.update()
            .where(_R.id == review.id)
            .values(
                rating=review.rating,
                title=review.title,
                body=review.body,
                is_published=review.is_published,
                updated_at=review.updated_at,
            )
        )

    async def delete(self, review_id: int) -> None:
        await self._session.execute(reviews.delete().where(_R.id == review_id))

    async def page(self, query: ReviewFilter, *, offset: int, limit: int) -> tuple[list[Review], int]:
        where: list[sa.ColumnElement[bool]] = []
        if query.product_id is not None:
            where.append(_R.product_id == query.product_id)
        if query.user_id is not None:
            where.append(_R.user_id == query.user_id)
        if query.is_published is not None:
            where.append(_R.is_published.is_(query.is_published))
        total = await self._session.scalar(sa.select(sa.func.count()).select_from(reviews).where(*where))
        rows = await self._session.execute(
            sa.select(reviews).where(*where).order_by(*_ORDER[query.ordering]).offset(offset).limit(limit)
        )
        return [_review(row) for row in rows], int(total or 0)

    async def received(self, user_id: int, product_id: int) -> bool:
        delivered = (
            sa.select(sa.literal(1))
            .select_from(order_lines.join(orders, orders.c.id == order_lines.c.order_id))
            .where(
                orders.c.user_id == user_id,
                orders.c.delivered_at.is_not(None),
                order_lines.c.product_id == product_id,
            )
            .limit(1)
        )
        return (await self._session.scalar(delivered)) is not None

    async def add_to_rating(self, product_id: int, change: Rating) -> None:
        if change == Rating():
            return
        await self._session.execute(
            products.update()
            .where(products.c.id == product_id)
            .values(
                rating_count=products.c.rating_count + change.count,
                rating_sum=products.c.rating_sum + change.total,
            )
        )

    @staticmethod
    def _fields(review: Review) -> dict[str, Any]:
        return {
            "product_id": review.product_id,
            "user_id": review.user_id,
            "rating": review.rating,
            "title": review.title,
            "body": review.body,
            "author_name": review.author_name,
            "verified_purchase": review.verified_purchase,
            "is_published": review.is_published,
            "created_at": review.created_at,
            "updated_at": review.updated_at,
        }


def _review(row: Any) -> Review:
    return Review(
        id=row.id,
        product_id=row.product_id,
        user_id=row.user_id,
        rating=row.rating,
        title=row.title,
        body=row.body,
        author_name=row.author_name,
        verified_purchase=row.verified_purchase,
        is_published=row.is_published,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
