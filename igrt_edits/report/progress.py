"""A progress bar on stderr for long runs: only on a terminal, never with --quiet."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

STAGES = {"read": "Reading files", "check": "Checking rules", "write": "Writing outputs"}


def progress_wanted(quiet: bool, stream: IO[str] | None = None) -> bool:
    """Show progress only when not quiet and stderr is a terminal."""
    stream = stream or sys.stderr
    return not quiet and stream.isatty()


class RunProgress:
    """Context manager and pipeline callback `(stage, done, total)`; silent when disabled."""

    def __init__(self, enabled: bool, stream: IO[str] | None = None) -> None:
        self.enabled = enabled
        self._stream = stream
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RunProgress:
        if self.enabled:
            console = Console(file=self._stream or sys.stderr, stderr=self._stream is None)
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self._progress.start()
        return self

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self._progress is None:
            return
        task = self._tasks.get(stage)
        if task is None:
            task = self._progress.add_task(STAGES.get(stage, stage), total=total)
            self._tasks[stage] = task
        self._progress.update(task, completed=done, total=total)

    def stop(self) -> None:
        """Remove the bar (before writing to the terminal it shares)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
