"""Voucher codes that staff do not choose: bulk generation (`PREFIX` + a random part), and the
conflict of a code that is taken. A code is unique ignoring case (`vouchers.normalize_code` stores
it upper-case), so `xmas-10` is taken when `XMAS-10` exists.

The random part is drawn with `secrets` from an alphabet without look-alikes (no 0/O, no 1/I), so a
code read out over the phone or copied from print is typed right; 10 characters of 32 are 50 bits,
which no one guesses, even with thousands of codes out.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from shop_core.domain.errors import Conflict, InvalidInput
from shop_core.domain.vouchers import CODE, normalize_code

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
RANDOM_LENGTH = 10
MAX_CODE_LENGTH = 32
MAX_PREFIX_LENGTH = MAX_CODE_LENGTH - RANDOM_LENGTH
MAX_GENERATED = 10_000

Draw = Callable[[], str]
"""Draws one random part (tests pass a predictable one)."""


class VoucherCodeTaken(Conflict):
    """Another voucher has this code (codes are case-insensitive)."""

    code = "voucher_code_taken"

    def __init__(self, voucher_code: str | None = None) -> None:
        named = f" {voucher_code!r}" if voucher_code else ""
        super().__init__(f"A voucher with the code{named} already exists (codes are case-insensitive).")
        self.voucher_code = voucher_code


def random_part() -> str:
    """RANDOM_LENGTH characters of ALPHABET, each drawn uniformly by `secrets`."""
    drawn = secrets.token_bytes(RANDOM_LENGTH)  # 256 is a multiple of 32: every character equally likely
    return "".join(ALPHABET[b % len(ALPHABET)] for b in drawn)


def check_prefix(raw: str) -> str:
    """A prefix as generated codes start with it: trimmed, upper-case, so that every code it makes
    passes `normalize_code` (at most MAX_PREFIX_LENGTH letters, digits, hyphens or underscores, not
    starting with a hyphen or underscore); InvalidInput naming `prefix` otherwise."""
    prefix = raw.strip().upper()
    if len(prefix) > MAX_PREFIX_LENGTH or not CODE.match(prefix + ALPHABET[0] * RANDOM_LENGTH):
        raise InvalidInput.field(
            "prefix",
            f"Use at most {MAX_PREFIX_LENGTH} letters, digits, hyphens or underscores, starting with a "
            "letter or digit (the codes add 10 random characters).",
        )
    return prefix


def check_count(count: int) -> int:
    if not 1 <= count <= MAX_GENERATED:
        raise InvalidInput.field("count", f"Generate from 1 to {MAX_GENERATED} vouchers at a time.")
    return count


def draw_codes(
    prefix: str, count: int, draw: Draw = random_part, *, avoid: frozenset[str] = frozenset()
) -> list[str]:
    """`count` distinct codes `prefix` + a random part, none of them in `avoid`. (A random part
    repeats one in a billion billion times; a source that keeps repeating itself is broken.)"""
    codes: list[str] = []
    seen = set(avoid)
    attempts = 100 * count + 100
    while len(codes) < count:
        attempts -= 1
        if attempts < 0:
            raise RuntimeError("The random source keeps drawing codes already drawn.")
        code = normalize_code(prefix + draw())
        if code not in seen:
            seen.add(code)
            codes.append(code)
    return codes
