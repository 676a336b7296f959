"""Live progress on stderr: one bar per stage (generation, judging) with counts, rate and an ETA.

Example:
    >>> with EvalProgress(enabled=False) as progress:
    ...     stage = progress.stage("generate", total=2)
    ...     progress.advance(stage); progress.advance(stage)
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class EvalProgress:
    """Rich progress bars on stderr (nothing when `enabled` is False)."""

    def __init__(self, enabled: bool = True, console: Console | None = None):
        self.enabled = enabled
        self._progress = (
            Progress(
                TextColumn("{task.description:<14}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[note]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=console or Console(stderr=True),
                transient=False,
            )
            if enabled
            else None
        )
        self._counter = 0

    def __enter__(self) -> EvalProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def stage(self, description: str, total: int, completed: int = 0) -> TaskID:
        if self._progress is None:
            self._counter += 1
            return TaskID(self._counter)
        return self._progress.add_task(description, total=total, completed=completed, note="")

    def advance(self, stage: TaskID, note: str | None = None) -> None:
        if self._progress is not None:
            if note is None:
                self._progress.advance(stage)
            else:
                self._progress.update(stage, advance=1, note=note)
