"""`shop jobs list|retry|relay`: the background jobs the shop recorded, for operators."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.paging import JSON, PAGE, PAGE_SIZE, check_page, footer, print_page, window
from shop_cli.runner import OPERATOR, console, fail, run
from shop_core.bootstrap import Shop, queue_url
from shop_core.services.jobs import JobView
from shop_core.services.views import Page

app = typer.Typer(
    help="Background jobs: list them, retry a failed one, relay pending ones.", no_args_is_help=True
)

JOB_ID = typer.Argument(..., metavar="ID", min=1, max=2**31 - 1, help="The job id (see `shop jobs list`).")
ERROR_WIDTH = 120


@app.command("list")
def list_jobs(
    status: str | None = typer.Option(
        None,
        "--status",
        help="Only jobs in this status: pending, queued, active, retrying, complete, failed.",
    ),
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """Jobs, newest first, with their attempts and last error, and how many match in all."""
    offset, limit = window(page, page_size)

    async def load(shop: Shop) -> Page[JobView]:
        return await shop.jobs.list_jobs(OPERATOR, status, offset=offset, limit=limit)

    found = run(load)
    check_page(page, page_size, found.total)
    if as_json:
        print_page(found.items, page=page, page_size=page_size, total=found.total)
        return
    if found.items:
        table = Table(title="Jobs")
        for column in ("id", "job", "key", "status", "attempts", "updated", "error"):
            table.add_column(
                column, justify="right" if column in {"id", "attempts"} else "left", overflow="fold"
            )
        for job in found.items:
            error = " ".join((job.error or "").split())
            table.add_row(
                str(job.id),
                escape(job.name),
                escape(job.key),
                _status(job.status),
                f"{job.attempts}/{job.max_attempts}",
                (job.updated_at or job.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                escape(error[:ERROR_WIDTH] + ("…" if len(error) > ERROR_WIDTH else "")),
            )
        console.print(table)
    footer("job", page, page_size, found.total, len(found.items))


def _status(status: str) -> str:
    colour = {"failed": "red", "retrying": "yellow", "complete": "green"}.get(status)
    return f"[{colour}]{status}[/]" if colour else status


@app.command()
def retry(job_id: int = JOB_ID) -> None:
    """Run a failed job again from its first attempt (it goes to the queue now).

    Without a queue (no SHOP_QUEUE_URL or SHOP_REDIS_URL) the job runs here before the command
    exits, and the command says how it ended: exit 1 when it failed again."""

    async def again(shop: Shop) -> tuple[JobView, JobView | None]:
        job = await shop.jobs.retry_job(job_id, OPERATOR)
        await shop.jobs.drain_jobs()  # handed to the queue (or, without one, run here) before we exit
        if queue_url(shop.settings) is not None:
            return job, None  # a worker runs it
        return job, await shop.jobs.get_job(job_id, OPERATOR)

    job, ran = run(again)
    console.print(f"Job {job.id} ({escape(job.name)}) is queued again.", highlight=False)
    if ran is None or ran.status not in {"complete", "failed"}:
        return
    if ran.status == "complete":
        console.print(f"It ran here and is {_status(ran.status)}.", highlight=False)
        return
    error = " ".join((ran.error or "").split())
    fail(f"Job {ran.id} failed again after {ran.attempts} attempts: {error}")


@app.command()
def relay() -> None:
    """Hand every pending job to the queue now (the worker also does this every minute)."""

    async def send(shop: Shop) -> int:
        count = await shop.jobs.relay_jobs()
        await shop.jobs.drain_jobs()
        return count

    count = run(send)
    console.print(f"Relayed {count} pending job{'' if count == 1 else 's'}.", highlight=False)
