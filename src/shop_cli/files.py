"""Writing a file an operator names: beside it first, then in its place once complete, so a
failure (or an interrupted command) never leaves a half-written file under that name."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO

from shop_cli.runner import fail


def open_temporary(target: Path) -> IO[str]:
    """A new file beside the target (`publish` puts it in the target's place once it is complete)."""
    try:
        return tempfile.NamedTemporaryFile(  # closed by the caller
            "w",
            dir=target.parent,
            prefix=f".{target.name}.",
            suffix=".part",
            delete=False,
            encoding="utf-8",
            newline="",
        )
    except FileNotFoundError:
        fail(f"Cannot write {target}: the directory {target.parent} does not exist.")
    except OSError as exc:
        fail(f"Cannot write {target}: {exc.strerror or exc}.")


def publish(written: Path, target: Path) -> None:
    """Put the complete file in the target's place (replacing what was there), as readable as a plain
    `open()` would have made it."""
    umask = os.umask(0)
    os.umask(umask)
    try:
        written.chmod(0o666 & ~umask)  # what a plain open() would have made (temporary files are 0600)
        written.replace(target)
    except OSError as exc:
        fail(f"Cannot write {target}: {exc.strerror or exc}.")
