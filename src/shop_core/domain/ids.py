"""Ids are positive integers that fit the 32-bit INTEGER columns they are stored in."""

from __future__ import annotations

MAX_ID = 2**31 - 1


def is_possible_id(value: int) -> bool:
    """False for an id no row can have; such a lookup finds nothing without asking the database."""
    return 0 < value <= MAX_ID
