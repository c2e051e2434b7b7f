"""What each kind of job (`jobs.SPECS`) runs: one use case, given the ids the job recorded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from shop_core.services import back_in_stock_email, jobs, notifications, review_notifications, webhook_events

NotificationUseCase = Callable[..., Awaitable[None]]


def job_handlers(
    context: Callable[[], notifications.NotificationContext],
    *,
    webhooks: Callable[[], webhook_events.WebhookContext],
) -> Mapping[str, jobs.Handler]:
    """The handler of every job kind. `context` builds the notifications' context when a job runs
    (it raises ServiceUnavailable, failing the attempt, when sending email is not possible);
    `webhooks` the webhook jobs' (the same, without httpx)."""

    def notify(case: NotificationUseCase, arg: str) -> jobs.Handler:
        async def handler(payload: dict[str, Any]) -> None:
            await case(int(payload[arg]), ctx=context())

        return handler

    n = notifications
    return {
        jobs.WELCOME_EMAIL: notify(n.send_welcome, "user_id"),
        jobs.PASSWORD_RESET_EMAIL: notify(n.send_password_reset, "user_id"),
        jobs.ORDER_CONFIRMATION_EMAIL: notify(n.send_order_confirmation, "order_id"),
        jobs.PAYMENT_RECEIVED_EMAIL: notify(n.send_payment_received, "order_id"),
        jobs.ORDER_SHIPPED_EMAIL: notify(n.send_order_shipped, "order_id"),
        jobs.ORDER_PARTLY_SHIPPED_EMAIL: notify(n.send_order_partly_shipped, "fulfillment_id"),
        jobs.RETURN_RECEIVED_EMAIL: notify(n.send_return_received, "return_id"),
        jobs.RETURN_REFUNDED_EMAIL: notify(n.send_return_refunded, "return_id"),
        jobs.ORDER_CANCELLED_EMAIL: notify(n.send_order_cancelled, "order_id"),
        jobs.ISSUE_INVOICE: notify(n.issue_invoice, "order_id"),
        jobs.LOW_STOCK_ALERT: notify(n.alert_low_stock, "product_id"),
        jobs.BACK_IN_STOCK_EMAIL: notify(back_in_stock_email.send_back_in_stock, "wishlist_item_id"),
        **webhook_events.job_handlers(webhooks),
        jobs.REVIEW_WAITING_ALERT: notify(review_notifications.alert_review_waiting, "review_id"),
    }
