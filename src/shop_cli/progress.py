"""A rich progress bar on standard error, fed by the `progress(n)` callbacks of bulk use cases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class Bar:
    """Call it with how many more items are done; `finish()` once the work is over."""

    def __init__(self, progress: Progress, task: TaskID, total: int) -> None:
        self._progress = progress
        self._task = task
        self._total = total

    def __call__(self, done: int) -> None:
        self._progress.advance(self._task, done)

    def finish(self) -> None:
        """Show the work as complete (rows rejected before being written are not reported as done)."""
        self._progress.update(self._task, completed=self._total)


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Bar]:
    """A transient bar on standard error: standard output stays clean (`export -` writes CSV there),
    and a failure leaves nothing but its one error line. Off a terminal it writes nothing at all."""
    console = Console(stderr=True)  # made now, so it follows the current streams and environment
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_interactive,  # else rich still ends with an empty line on a file or pipe
        redirect_stdout=False,  # never route what is written to standard output through the bar
        redirect_stderr=False,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield Bar(progress, task, total)
