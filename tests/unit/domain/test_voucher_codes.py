"""Generated voucher codes: a checked prefix and a random part of at least 40 bits from an alphabet
without look-alikes, every code one `normalize_code` accepts, none drawn twice or already taken."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from shop_core.domain.errors import Conflict, InvalidInput
from shop_core.domain.voucher_codes import (
    ALPHABET,
    MAX_PREFIX_LENGTH,
    RANDOM_LENGTH,
    VoucherCodeTaken,
    check_count,
    check_prefix,
    draw_codes,
    random_part,
)
from shop_core.domain.vouchers import normalize_code


def test_the_random_part_has_at_least_40_bits_from_an_unambiguous_alphabet() -> None:
    assert len(set(ALPHABET)) == len(ALPHABET) == 32
    assert not set("01OI") & set(ALPHABET)
    assert RANDOM_LENGTH * math.log2(len(ALPHABET)) >= 40
    drawn = [random_part() for _ in range(2000)]
    assert all(len(part) == RANDOM_LENGTH and set(part) <= set(ALPHABET) for part in drawn)
    assert len(set(drawn)) == len(drawn)
    assert set("".join(drawn)) == set(ALPHABET)  # every character turns up


@pytest.mark.parametrize(
    ("raw", "prefix"),
    [("xmas-", "XMAS-"), ("  Black_Friday_2026_ ", "BLACK_FRIDAY_2026_"), ("", ""), ("A" * 22, "A" * 22)],
)
def test_a_prefix_is_stored_upper_case_and_every_code_it_makes_is_valid(raw: str, prefix: str) -> None:
    assert check_prefix(raw) == prefix
    code = draw_codes(check_prefix(raw), 1)[0]
    assert code.startswith(prefix)
    assert normalize_code(code) == code
    assert len(code) == len(prefix) + RANDOM_LENGTH <= 32


@pytest.mark.parametrize(
    "raw", ["-XMAS", "_X", "XMAS 2026", "NOËL", "X\x00", "A" * (MAX_PREFIX_LENGTH + 1), "%"]
)
def test_a_prefix_that_would_make_invalid_codes_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_prefix(raw)
    assert set(refused.value.errors) == {"prefix"}


@pytest.mark.parametrize(
    ("count", "ok"), [(0, False), (1, True), (10_000, True), (10_001, False), (-1, False)]
)
def test_from_1_to_10000_codes_at_a_time(count: int, ok: bool) -> None:
    if ok:
        assert check_count(count) == count
    else:
        with pytest.raises(InvalidInput):
            check_count(count)


def predictable(*parts: str) -> Iterator[str]:
    yield from parts


def test_codes_are_never_drawn_twice_nor_among_those_to_avoid() -> None:
    parts = predictable("AAAAAAAAAA", "AAAAAAAAAA", "BBBBBBBBBB", "CCCCCCCCCC", "DDDDDDDDDD")

    codes = draw_codes("X-", 3, lambda: next(parts), avoid=frozenset({"X-BBBBBBBBBB"}))

    assert codes == ["X-AAAAAAAAAA", "X-CCCCCCCCCC", "X-DDDDDDDDDD"]


def test_a_source_that_keeps_repeating_itself_is_an_error_not_a_hang() -> None:
    with pytest.raises(RuntimeError):
        draw_codes("X-", 2, lambda: "AAAAAAAAAA")


def test_a_code_taken_is_a_conflict_with_its_own_code() -> None:
    taken = VoucherCodeTaken("XMAS-10")
    assert isinstance(taken, Conflict)
    assert taken.code == "voucher_code_taken"
    assert "'XMAS-10'" in taken.detail
    assert "case-insensitive" in VoucherCodeTaken().detail
