"""The `shop` command."""

from __future__ import annotations

import signal
import subprocess
import sys
from importlib import metadata

import typer
from rich.table import Table

from shop_cli import (
    carts,
    catalog,
    categories,
    db,
    jobs,
    openapi,
    orders,
    payments,
    products,
    returns,
    reviews,
    sales,
    shipping,
    stock,
    tax,
    users,
    vouchers,
    webhooks,
    wishlist,
)
from shop_cli.runner import OPERATOR, console, fail, guarded, load_settings
from shop_cli.runner import run as run_use_case
from shop_core.bootstrap import Shop, migrate, queue_url
from shop_core.services.catalog_import import ImportReport
from shop_core.services.catalog_seed import DEMO_PREFIX
from shop_core.services.demo import DEMO_SHIRT_SKU, DemoReport, seed_demo_shirt

app = typer.Typer(
    help="Run and operate the shop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
)
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(catalog.app, name="catalog")
app.add_typer(categories.app, name="categories")
app.add_typer(products.app, name="products")
app.add_typer(stock.app, name="stock")
app.add_typer(sales.app, name="sales")
app.add_typer(shipping.app, name="shipping")
app.add_typer(carts.app, name="carts")
app.add_typer(orders.app, name="orders")
app.add_typer(payments.app, name="payments")
app.add_typer(returns.app, name="returns")
app.add_typer(reviews.app, name="reviews")
app.add_typer(vouchers.app, name="vouchers")
app.add_typer(tax.app, name="tax")
app.add_typer(jobs.app, name="jobs")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(openapi.app, name="openapi")
app.add_typer(wishlist.app, name="wishlist")

DEMO_PRODUCTS = 60
DEMO_CATEGORIES = 12
PACKAGE = "shop_cli"


def installed_version() -> str:
    """The name and version of the distribution that installed this package (read from its
    metadata, so a renamed distribution needs no change here)."""
    scripts = metadata.entry_points(group="console_scripts")
    found = [ep.dist for ep in scripts if ep.value.split(".")[0].split(":")[0] == PACKAGE and ep.dist]
    names = metadata.packages_distributions().get(PACKAGE, [])
    for dist in [*found, *(metadata.distribution(name) for name in names)]:
        return f"{dist.metadata['Name']} {dist.version}"
    return "unknown version (not installed as a distribution)"


def _print_version(wanted: bool) -> None:
    if wanted:
        console.print(installed_version(), highlight=False, soft_wrap=True)
        raise typer.Exit


@app.callback()
def main(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Show the installed version and exit.",
    ),
) -> None:
    """Run and operate the shop."""


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes."),
    reload: bool = typer.Option(False, "--reload", help="Restart on code changes (development)."),
    forwarded_allow_ips: str | None = typer.Option(
        None,
        "--forwarded-allow-ips",
        help=(
            "Comma-separated addresses or networks (CIDR) of the reverse proxies whose "
            "X-Forwarded-For/-Proto are trusted, '*' for any. Default: uvicorn's "
            "($FORWARDED_ALLOW_IPS, else 127.0.0.1,::1)."
        ),
    ),
) -> None:
    """Serve the API with uvicorn (docs at /api/docs/)."""
    import uvicorn

    settings = load_settings()
    if reload and workers > 1:
        fail("--reload works with one worker only.")
    console.print(f"Serving on [bold]http://{host}:{port}[/] — docs at http://{host}:{port}/api/docs/")
    uvicorn.run(
        "shop_http.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,  # None: uvicorn's default
        timeout_graceful_shutdown=30,
    )


@app.command()
def demo() -> None:
    """Migrate the database and load the demo accounts and catalog (safe to run again)."""
    settings = load_settings()
    revision = guarded(lambda: migrate(settings, "upgrade"))

    async def load(shop: Shop) -> tuple[DemoReport, ImportReport]:
        accounts = await shop.operations.seed_demo(OPERATOR)
        seeded = await shop.catalog.seed_catalog(
            DEMO_PRODUCTS, DEMO_CATEGORIES, OPERATOR, sku_prefix=DEMO_PREFIX
        )
        await seed_demo_shirt(shop.catalog, OPERATOR)
        return accounts, seeded

    report, seeded = run_use_case(load, settings)
    table = Table(title=f"Demo data (database at revision {revision})")
    table.add_column("account")
    table.add_column("password")
    table.add_column("state")
    for email in report.created:
        table.add_row(email, report.password, "[green]created[/]")
    for email in report.existing:
        table.add_row(email, report.password, "already there")
    console.print(table)
    console.print(
        f"Demo catalog: {DEMO_PRODUCTS} products in {DEMO_CATEGORIES} categories "
        f"({catalog.summary(seeded)}), and a T-shirt in 6 variants ({DEMO_SHIRT_SKU}).",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def worker(
    concurrency: int = typer.Option(10, min=1, max=1000, help="Jobs run at once."),
    burst: bool = typer.Option(False, "--burst", help="Stop once the queue is empty."),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", min=1, max=65535, help="Serve the worker's Prometheus metrics on this port."
    ),
) -> None:
    """Run the SAQ background worker and its cron jobs (needs SHOP_REDIS_URL or SHOP_QUEUE_URL)."""
    settings = load_settings()
    if not queue_url(settings):  # say so here: the child's own message would bypass our output
        fail(
            "The worker needs a queue: set SHOP_REDIS_URL (e.g. redis://127.0.0.1:6379/0) "
            "or SHOP_QUEUE_URL. Without one, jobs run inside `shop serve` itself."
        )
    args = [sys.executable, "-m", "shop_workers", "--concurrency", str(concurrency)]
    if metrics_port is not None:
        args += ["--metrics-port", str(metrics_port)]
    child = subprocess.Popen([*args, "--burst"] if burst else args)  # noqa: S603 - our own interpreter

    def forward(signum: int, _: object) -> None:
        child.send_signal(signum)  # a container's stop reaches the worker: it finishes or requeues its jobs

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        code = child.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
    raise typer.Exit(code)


def run() -> None:
    app()


if __name__ == "__main__":
    run()
