"""Run one use case inside `bootstrap()`, turning every failure into one red line and exit 1."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import msgspec
import typer
from rich.console import Console

from shop_core.bootstrap import Shop, bootstrap
from shop_core.domain.errors import DomainError, InvalidInput
from shop_core.settings import Settings, SettingsError

T = TypeVar("T")
console = Console()
errors = Console(stderr=True)


def fail(message: str) -> NoReturn:
    # soft_wrap: one line however long, also when piped (rich wraps at 80 columns off a terminal).
    errors.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code=1)


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        fail(str(exc))


def run(use_case: Callable[[Shop], Awaitable[T]], settings: Settings | None = None) -> T:
    """Bootstrap a Shop, run `use_case` on it, close everything; exit 1 with a message on failure."""
    settings = settings or load_settings()

    async def main() -> T:
        async with bootstrap(settings) as shop:
            return await use_case(shop)

    return guarded(lambda: asyncio.run(main()))


def guarded(action: Callable[[], T]) -> T:
    try:
        return action()
    except typer.Exit:
        raise
    except InvalidInput as exc:
        details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.errors.items())
        fail(details or exc.detail)
    except DomainError as exc:
        fail(" ".join(exc.detail.split()))  # one line, even for a gateway's multi-line message
    except (SettingsError, msgspec.ValidationError) as exc:
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - an operator gets one line, never a traceback
        fail(f"{type(exc).__name__}: {exc}".splitlines()[0])
