"""Reviews: a product's published reviews (anyone), writing one (a customer who received it), and
the author's or staff's changes, deletions and moderation.

The routes only; what each operation means, its examples and its documented errors are in
`shop_http.api_docs.reviews` (served at /api/docs).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, InvalidInput
from shop_core.domain.ids import MAX_ID
from shop_core.services.reviews import EditReview, ReviewQuery, ReviewView, WriteReview
from shop_core.services.views import UserView
from shop_http.api_docs import reviews as doc
from shop_http.api_docs.products import OPTIONAL_BEARER
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import BEARER, OPTIONAL_AUTH, page_past_the_end, raises
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize, page_of, window
from shop_http.security import PUBLIC, actor_of, provide_viewer

UserRequest = Request[UserView, Any, Any]
ProductId = Annotated[
    int, Parameter(ge=1, le=MAX_ID, description="The product's id.", examples=[Example(value=1)])
]
ReviewId = Annotated[
    int, Parameter(ge=1, le=MAX_ID, description="The review's id.", examples=[Example(value=1)])
]
Ordering = Annotated[
    str | None, Parameter(max_length=20, description=doc.ORDERING, examples=[Example(value="-rating")])
]


class ProductReviewController(Controller):
    path = "/api/products/{product_id:int}/reviews"
    tags = ["Reviews"]

    @get(
        "/",
        opt=PUBLIC,
        security=OPTIONAL_AUTH,  # as every catalog read: a token sent must be good (it shows no more)
        operation_id="listProductReviews",
        summary="A product's published reviews",
        description=doc.PRODUCT_LIST,
        responses={
            **doc.PAGE,
            **doc.BAD_ORDERING,
            **doc.NO_PRODUCT,
            **page_past_the_end(),
            **raises(RATE_LIMITED),
        },
    )
    async def list_product_reviews(
        self,
        shop: NamedDependency[Shop],
        request: Request[Any, Any, Any],
        product_id: ProductId,
        *,
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
        ordering: Ordering = None,
    ) -> PageOf[ReviewView]:
        await provide_viewer(request)  # 401 for a bad token, as the catalog's other reads
        offset, limit = window(page, page_size)
        found = await shop.reviews.product_reviews(product_id, ordering=ordering, offset=offset, limit=limit)
        return page_of(request, found.items, found.total, page, page_size)

    @post(
        "/",
        status_code=201,
        security=BEARER,
        operation_id="writeProductReview",
        summary="Review a product you received",
        description=doc.WRITE,
        responses={
            **doc.CREATED,
            **doc.BAD_REVIEW,
            **raises(AuthenticationFailed),
            **doc.NOT_RECEIVED,
            **doc.NO_PRODUCT,
            **doc.REVIEWED,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def write_review(
        self,
        shop: NamedDependency[Shop],
        request: UserRequest,
        product_id: ProductId,
        data: Annotated[WriteReview, doc.WRITE_BODY],
    ) -> ReviewView:
        return await shop.reviews.write(product_id, data, actor_of(request.user))


class ReviewController(Controller):
    path = "/api/reviews"
    tags = ["Reviews"]
    security = BEARER

    @get(
        "/",
        operation_id="listReviews",
        summary="Reviews: staff all (the moderation queue), customers their own",
        description=doc.LIST,
        responses={
            **doc.PAGE,
            **doc.BAD_ORDERING,
            **raises(AuthenticationFailed),
            **page_past_the_end(),
            **raises(RATE_LIMITED),
        },
    )
    async def list_reviews(
        self,
        shop: NamedDependency[Shop],
        request: UserRequest,
        *,
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
        product_id: Annotated[
            int | None, Parameter(ge=1, le=MAX_ID, description="Only this product's reviews.")
        ] = None,
        is_published: Annotated[
            bool | None, Parameter(description="Only published (true) or unpublished (false) reviews.")
        ] = None,
        ordering: Ordering = None,
    ) -> PageOf[ReviewView]:
        offset, limit = window(page, page_size)
        query = ReviewQuery(product_id=product_id, is_published=is_published, ordering=ordering)
        found = await shop.reviews.list(query, actor_of(request.user), offset=offset, limit=limit)
        return page_of(request, found.items, found.total, page, page_size)

    @get(
        "/{review_id:int}",
        operation_id="getReview",
        summary="One review",
        description=doc.GET,
        responses={
            **doc.ONE,
            **raises(InvalidInput),
            **OPTIONAL_BEARER,
            **doc.NO_REVIEW,
            **raises(RATE_LIMITED),
        },
    )
    async def get_review(
        self, shop: NamedDependency[Shop], request: Request[Any, Any, Any], review_id: ReviewId
    ) -> ReviewView:
        viewer = await provide_viewer(request)
        return await shop.reviews.get(review_id, None if viewer is None else actor_of(viewer))

    @patch(
        "/{review_id:int}",
        operation_id="editReview",
        summary="Change a review (its author; staff, who may also publish or unpublish it)",
        description=doc.EDIT,
        responses={
            **doc.ONE,
            **doc.BAD_REVIEW,
            **raises(AuthenticationFailed),
            **doc.NOT_YOURS,
            **doc.NO_REVIEW,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def edit_review(
        self,
        shop: NamedDependency[Shop],
        request: UserRequest,
        review_id: ReviewId,
        data: Annotated[EditReview, doc.EDIT_BODY],
    ) -> ReviewView:
        return await shop.reviews.edit(review_id, data, actor_of(request.user))

    @delete(
        "/{review_id:int}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="deleteReview",
        summary="Delete a review (its author, or staff)",
        description=doc.DELETE,
        responses={
            **raises(InvalidInput, AuthenticationFailed),
            **doc.NOT_YOURS,
            **doc.NO_REVIEW,
            **raises(RATE_LIMITED),
        },
    )
    async def delete_review(
        self, shop: NamedDependency[Shop], request: UserRequest, review_id: ReviewId
    ) -> None:
        await shop.reviews.delete(review_id, actor_of(request.user))
