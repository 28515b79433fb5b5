"""One progress display for long commands that report ``(stage, done, total)``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

StageProgress = Callable[[str, int, int], None]


@contextmanager
def stage_bars() -> Iterator[StageProgress]:
    """A rich bar per stage on stderr (so ``--json`` output stays clean); yields the callback
    a trainer calls with ``(stage, done, total)``."""
    from rich.console import Console as RichConsole
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=RichConsole(stderr=True))
    tasks: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    with bar:
        yield progress
