"""`shop reviews list|show|publish|unpublish|delete`: product reviews, for operators (staff)."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.paging import JSON, PAGE, PAGE_SIZE, check_page, footer, print_page, window
from shop_cli.runner import OPERATOR, YES, confirm, console, fail, print_json, run, when
from shop_core.domain.ids import MAX_ID
from shop_core.services.reviews import ReviewQuery, ReviewView
from shop_core.services.views import Page

app = typer.Typer(
    help="Product reviews: list (the moderation queue with --unpublished), inspect, publish, "
    "unpublish, delete.",
    no_args_is_help=True,
)

REVIEW_ID = typer.Argument(..., metavar="REVIEW", help="The review's id (from `shop reviews list`).")
TITLE_SHOWN = 40  # characters of a title the table shows


@app.command("list")
def list_reviews(
    *,
    product: int | None = typer.Option(None, "--product", help="Only this product's reviews (its id)."),
    unpublished: bool = typer.Option(
        False, "--unpublished", help="Only reviews waiting for staff (not published)."
    ),
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """Every review, newest first, and how many there are in all."""
    if product is not None and not 1 <= product <= MAX_ID:
        fail(f"--product: a product id is from 1 to {MAX_ID}, not {product}.")
    query = ReviewQuery(product_id=product, is_published=False if unpublished else None)
    offset, limit = window(page, page_size)
    found: Page[ReviewView] = run(lambda shop: shop.reviews.list(query, OPERATOR, offset=offset, limit=limit))
    check_page(page, page_size, found.total)
    if as_json:
        print_page(found.items, page=page, page_size=page_size, total=found.total)
        return
    if found.items:
        table = Table(title="Reviews (newest first)")
        for column in ("id", "product", "date", "rating", "published", "author", "title"):
            table.add_column(column, overflow="fold")
        for review in found.items:
            table.add_row(
                str(review.id),
                str(review.product_id),
                when(review.created_at),
                _stars(review.rating),
                "yes" if review.is_published else "no",
                escape(review.author_name),
                escape(_short(review.title)),
            )
        console.print(table)
    footer("review", page, page_size, found.total, len(found.items))


@app.command()
def show(review_id: int = REVIEW_ID, as_json: bool = JSON) -> None:
    """One review, in full."""
    review: ReviewView = run(lambda shop: shop.reviews.get(review_id, OPERATOR))
    if as_json:
        print_json(review)
        return
    _report(review)
    if review.title:
        _say(f"title: {escape(review.title)}")
    if review.body:
        _say(escape(review.body))


@app.command()
def publish(review_id: int = REVIEW_ID) -> None:
    """Publish a review: it shows on the product and counts in its rating."""
    _report(run(lambda shop: shop.reviews.set_published(review_id, True, OPERATOR)))


@app.command()
def unpublish(review_id: int = REVIEW_ID) -> None:
    """Hide a review: it leaves the product's page and rating (its author still sees it)."""
    _report(run(lambda shop: shop.reviews.set_published(review_id, False, OPERATOR)))


@app.command()
def delete(review_id: int = REVIEW_ID, yes: bool = YES) -> None:
    """Delete a review for good (a published one leaves the product's rating)."""
    confirm(f"Delete review {review_id}?", yes=yes)
    run(lambda shop: shop.reviews.delete(review_id, OPERATOR))
    console.print(f"Deleted review {review_id}.", highlight=False)


def _report(review: ReviewView) -> None:
    state = "published" if review.is_published else "not published"
    _say(
        f"Review #{review.id} of product {review.product_id} by {escape(review.author_name)}: "
        f"{_stars(review.rating)} ({state}, {when(review.created_at)})."
    )


def _stars(rating: int) -> str:
    return f"{rating}/5"


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_SHOWN else line[: TITLE_SHOWN - 1] + "…"


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)
