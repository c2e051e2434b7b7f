"""`shop webhooks list|add|deliveries|redeliver|disable|enable|remove`: outgoing webhooks, for
operators (staff)."""

from __future__ import annotations

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.paging import JSON, PAGE, PAGE_SIZE, check_page, footer, print_page, window
from shop_cli.runner import OPERATOR, as_options, console, print_json, run, when
from shop_core.domain.webhooks import EVENT_TYPES
from shop_core.services.views import Page
from shop_core.services.webhooks import (
    CreatedSubscriptionView,
    CreateSubscription,
    DeliveryView,
    SubscriptionView,
    UpdateSubscription,
)

app = typer.Typer(
    help="Outgoing webhooks: subscribe URLs to the shop's events, read and redeliver deliveries.",
    no_args_is_help=True,
)

SUBSCRIPTION_ID = typer.Argument(
    ..., metavar="SUBSCRIPTION", help="The subscription's id (`shop webhooks list`)."
)
EVENTS = typer.Option(
    ..., "--event", "-e", help=f"An event type (repeat the option): {', '.join(EVENT_TYPES)}."
)
DELIVERY_ID = typer.Argument(..., metavar="DELIVERY", help="The delivery's id (`shop webhooks deliveries`).")


@app.command("list")
def list_subscriptions(*, page: int = PAGE, page_size: int = PAGE_SIZE, as_json: bool = JSON) -> None:
    """Every subscription, oldest first (never its secret)."""
    offset, limit = window(page, page_size)
    found: Page[SubscriptionView] = run(lambda shop: shop.webhooks.list(OPERATOR, offset=offset, limit=limit))
    check_page(page, page_size, found.total)
    if as_json:
        print_page(found.items, page=page, page_size=page_size, total=found.total)
        return
    if found.items:
        table = Table(title="Webhook subscriptions")
        for column in ("id", "url", "events", "active", "description"):
            table.add_column(column, overflow="fold")
        for item in found.items:
            table.add_row(
                str(item.id),
                escape(item.url),
                ", ".join(item.events),
                "yes" if item.is_active else "paused",
                escape(item.description),
            )
        console.print(table)
    footer("subscription", page, page_size, found.total, len(found.items))


@app.command()
def add(
    url: str = typer.Argument(..., help="Where to POST the events (http or https)."),
    events: list[str] = EVENTS,
    description: str = typer.Option("", "--description", help="What it is for (at most 500 characters)."),
    as_json: bool = JSON,
) -> None:
    """Subscribe a URL to events; prints the signing secret, once: keep it now."""
    fields = {"url": url, "events": events, "description": description}
    made: CreatedSubscriptionView = run(
        as_options(
            lambda shop: shop.webhooks.create(msgspec.convert(fields, CreateSubscription), OPERATOR),
            {"events": "--event", "url": "URL"},
        )
    )
    if as_json:
        print_json(made)
        return
    _say(f"Subscription #{made.id}: {escape(made.url)} hears {', '.join(made.events)}.")
    _say(f"Signing secret (shown this once): {made.secret}")


@app.command()
def deliveries(
    subscription_id: int = SUBSCRIPTION_ID,
    *,
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """A subscription's delivery attempts, newest first."""
    offset, limit = window(page, page_size)
    found: Page[DeliveryView] = run(
        lambda shop: shop.webhooks.deliveries(subscription_id, OPERATOR, offset=offset, limit=limit)
    )
    check_page(page, page_size, found.total)
    if as_json:
        print_page(found.items, page=page, page_size=page_size, total=found.total)
        return
    if found.items:
        table = Table(title=f"Deliveries of subscription #{subscription_id} (newest first)")
        for column in ("id", "event", "type", "attempt", "status", "code", "ms", "when", "error"):
            table.add_column(column, overflow="fold")
        for d in found.items:
            table.add_row(
                str(d.id),
                d.event_id,
                d.event_type,
                str(d.attempt),
                d.status + (f" (next {when(d.next_retry_at, seconds=True)})" if d.next_retry_at else ""),
                "" if d.response_status is None else str(d.response_status),
                "" if d.duration_ms is None else str(d.duration_ms),
                when(d.finished_at or d.created_at, seconds=True),
                escape(d.error or ""),
            )
        console.print(table)
    footer("delivery", page, page_size, found.total, len(found.items), plural="deliveries")


@app.command()
def redeliver(delivery_id: int = DELIVERY_ID) -> None:
    """Send a delivery's event again (same webhook-id and body) as a new attempt."""
    made: DeliveryView = run(lambda shop: shop.webhooks.redeliver(delivery_id, OPERATOR))
    _say(f"Attempt {made.attempt} of {made.event_id} to subscription #{made.subscription_id}: {made.status}.")


@app.command()
def disable(subscription_id: int = SUBSCRIPTION_ID) -> None:
    """Pause a subscription: nothing more is sent to it."""
    _active(subscription_id, False)


@app.command()
def enable(subscription_id: int = SUBSCRIPTION_ID) -> None:
    """Resume a paused subscription."""
    _active(subscription_id, True)


@app.command()
def remove(subscription_id: int = SUBSCRIPTION_ID) -> None:
    """Erase a subscription and its deliveries."""
    run(lambda shop: shop.webhooks.remove(subscription_id, OPERATOR))
    _say(f"Subscription #{subscription_id} removed.")


def _active(subscription_id: int, active: bool) -> None:
    cmd = UpdateSubscription(is_active=active)
    made: SubscriptionView = run(lambda shop: shop.webhooks.update(subscription_id, cmd, OPERATOR))
    _say(f"Subscription #{made.id}: {'active' if made.is_active else 'paused'}.")


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)
