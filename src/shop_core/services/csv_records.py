"""Reading an operator's CSV file, whatever its format: UTF-8 with or without a BOM, a header, then
records with the line each starts on, so a message can point at it. A record a bad byte, a NUL or
a broken quote spoils is reported as a reason instead of stopping the file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from shop_core.domain.errors import InvalidInput

Record = tuple[int, list[str] | str]
"""(line, cells), or (line, why that record cannot be read)."""


def read_header(data: bytes) -> tuple[list[str], Iterator[Record]]:
    """The header's column names (trimmed, lower-cased) and the file's records after it.
    InvalidInput when there is no header or it cannot be read."""
    text = data.decode("utf-8-sig", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InvalidInput.field("file", "The file is empty.") from None
    except csv.Error as exc:
        raise InvalidInput.field("file", f"The header cannot be read: {exc}.") from None
    if has_surrogates("".join(header)):  # checked first: such names cannot be shown in a message
        raise InvalidInput.field("file", "Bad header (not UTF-8).")
    return header, _records(reader)


def _records(reader: Iterator[list[str]]) -> Iterator[Record]:
    while True:
        line = reader.line_num + 1  # type: ignore[attr-defined]  # where the next record starts
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield line, f"unreadable CSV: {exc}"
            continue
        if not any(c.strip() for c in cells):
            continue  # blank lines are skipped, as spreadsheets write them
        if has_surrogates("".join(cells)):
            yield line, "not valid UTF-8 text (save the file as UTF-8)"
        elif any("\x00" in c for c in cells):
            yield line, "contains a NUL character"
        else:
            yield line, cells


def has_surrogates(text: str) -> bool:
    """Whether `text` holds bytes that were not UTF-8 (decoded with surrogateescape)."""
    return any("\udc80" <= ch <= "\udcff" for ch in text)
