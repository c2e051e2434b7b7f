"""The one paging convention of every list, whichever driver shows it: pages numbered from 1 of
at most `MAX_PAGE_SIZE` items, and a page past the end does not exist (the first always does)."""

from __future__ import annotations

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE = 1_000_000
PAST_THE_END = "That page is past the end of the list."


def window(page: int, page_size: int) -> tuple[int, int]:
    """(offset, limit) of a page."""
    return (page - 1) * page_size, page_size


def page_count(total: int, page_size: int) -> int:
    """How many pages `total` items fill (at least one: an empty list has an empty first page)."""
    return max(1, -(-total // page_size))


def past_the_end(page: int, page_size: int, total: int) -> bool:
    return page > page_count(total, page_size)
