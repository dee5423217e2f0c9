"""Progress of a build at the terminal: documents per second.

The flow reports what it did (`advance`); what is shown is the CLI's choice:
nothing by default (library use, tests, schedules), a rich progress bar
when `pressroom build` runs at a terminal without `--quiet`.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


class _Silent:
    def start(self, total: int, description: str) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def stop(self) -> None: ...


class _RichBar:
    """A bar that appears only for builds longer than a moment."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), transient=True, console=None,
        )
        self.task = None

    def start(self, total: int, description: str) -> None:
        import time

        self.started = time.perf_counter()
        self.progress.start()
        self.task = self.progress.add_task(description, total=total, rate="")

    def advance(self, n: int = 1) -> None:
        import time

        if self.task is None:
            return
        self.progress.advance(self.task, n)
        done = self.progress.tasks[0].completed
        elapsed = max(1e-6, time.perf_counter() - self.started)
        self.progress.update(self.task, rate=f"{done / elapsed:,.0f} docs/s")

    def stop(self) -> None:
        if self.task is not None:
            self.progress.stop()
            self.task = None


reporter: _Silent | _RichBar = _Silent()


def start(total: int, description: str) -> None:
    reporter.start(total, description)


def advance(n: int = 1) -> None:
    reporter.advance(n)


@contextlib.contextmanager
def shown(enabled: bool) -> Iterator[None]:
    """Show a progress bar during the block when enabled and at a terminal."""
    global reporter
    previous = reporter
    if enabled and sys.stderr.isatty():
        reporter = _RichBar()
    try:
        yield
    finally:
        reporter.stop()
        reporter = previous


def stop() -> None:
    reporter.stop()
