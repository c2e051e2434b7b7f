"""Staff hear of a review that waits for their approval (`SHOP_REVIEWS_REQUIRE_APPROVAL`): a job
recorded with the review's change, run after the commit. The review's text goes into the email as
written; the HTML part escapes it (the templates autoescape), the plain-text part is plain text."""

from __future__ import annotations

import logging

from shop_core.domain.reviews import Review
from shop_core.ports.mail import Email, EmailRenderer, MailError
from shop_core.services.notifications import NotificationContext
from shop_core.services.reviews import ReviewView

log = logging.getLogger("shop.notifications")

SUBJECT = "A review of {sku} waits for approval — {store}"


def review_waiting(
    store: str, to: str, review: Review, product: str, sku: str, *, templates: EmailRenderer
) -> Email:
    """To staff. Templates get `store`, `review` (a `ReviewView`), `product` (its name) and `sku`."""
    context: dict[str, object] = {
        "store": store,
        "review": ReviewView.of(review),
        "product": product,
        "sku": sku,
    }
    return Email(
        to=to,
        subject=" ".join(SUBJECT.format(sku=sku, store=store).split()),
        text=templates.render("review_waiting.txt", context),
        html=templates.render("review_waiting.html", context),
    )


async def alert_review_waiting(review_id: int, *, ctx: NotificationContext) -> None:
    """Tell every active staff member, unless the review was published or deleted meanwhile. As the
    low-stock alert: the job fails (and is tried again) only when nobody got the email."""
    async with ctx.uow() as uow:
        review = await uow.reviews.get(review_id)
        product = None if review is None else await uow.products.get(review.product_id)
        staff = await uow.users.staff_emails()
    if review is None or product is None or review.is_published:
        return
    failed: list[tuple[str, MailError]] = []
    for to in staff:
        email = review_waiting(ctx.store, to, review, product.name, product.sku, templates=ctx.templates)
        try:
            await ctx.mailer.send(email)
        except MailError as exc:
            failed.append((to, exc))
    if failed and len(failed) == len(staff):
        raise failed[0][1]
    for to, error in failed:
        log.error("could not send the waiting-review alert for review %s to %s: %s", review_id, to, error)
