"""One paging convention for every list command: `--page/--page-size`, as the API's `?page=&page_size=`
(the same limits), a "page N of M" line under the table, and `--json` with the same page fields."""

from __future__ import annotations

from typing import Any

import msgspec
import typer

from shop_cli.runner import console, fail, print_json
from shop_core.services.paging import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    PAST_THE_END,
    page_count,
    past_the_end,
    window,
)

__all__ = ["JSON", "PAGE", "PAGE_SIZE", "check_page", "footer", "print_page", "window"]

PAGE = typer.Option(1, "--page", min=1, max=MAX_PAGE, help="Which page, from 1.")
PAGE_SIZE = typer.Option(
    DEFAULT_PAGE_SIZE,
    "--page-size",
    min=1,
    max=MAX_PAGE_SIZE,
    help=f"Items per page, at most {MAX_PAGE_SIZE}.",
)
JSON = typer.Option(False, "--json", help="Print JSON for programs instead of a table.")


def check_page(page: int, page_size: int, total: int) -> None:
    """A page past the end is an error, as in the API (the first page always exists)."""
    if past_the_end(page, page_size, total):
        fail(PAST_THE_END)


def footer(noun: str, page: int, page_size: int, total: int, shown: int, *, plural: str = "") -> None:
    """`page 2 of 5: 20 of 87 orders` under the table (how many are shown, of how many in all)."""
    nouns = noun if total == 1 else plural or f"{noun}s"
    console.print(
        f"page {page} of {page_count(total, page_size)}: {shown} of {total} {nouns}",
        highlight=False,
        soft_wrap=True,
    )


class JsonPage(msgspec.Struct):
    """A page as `--json` prints it: the API's `count` and `results`, with where it is."""

    count: int
    page: int
    page_size: int
    pages: int
    results: Any


def print_page(results: Any, *, page: int, page_size: int, total: int) -> None:
    """`results` (Structs, or already-encoded JSON as `msgspec.Raw`) as one JSON page."""
    print_json(JsonPage(total, page, page_size, page_count(total, page_size), results))
