"""The `shop` command's entry point: says which extra to install when one is missing.

It imports nothing optional itself, so a plain `pip install headless-shop` (the core only) gets a
`shop` command that tells what to install instead of a `ModuleNotFoundError: typer` traceback.
"""

from __future__ import annotations

import sys
from typing import NoReturn

from shop_core.extras import install_command, missing_extra

# Every module the `cli` extra brings (with its `sql` and `auth` extras).
CLI_EXTRAS = frozenset({"cli", "sql", "auth"})


def main() -> None:
    try:
        from shop_cli.main import run
    except ModuleNotFoundError as exc:
        missing = missing_extra(exc, "The `shop` command")
        if missing is None:
            raise
        if missing.extra in CLI_EXTRAS:
            _exit(
                f"the `shop` command needs the `cli` extra ({missing.name} is not installed): "
                f"{install_command('cli')}"
            )
        _exit(missing.detail)
    try:
        run()
    except ModuleNotFoundError as exc:  # a command that needs another extra (`shop serve`: http)
        missing = missing_extra(exc, "This command")
        if missing is None:
            raise
        _exit(missing.detail)


def _exit(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(1)
