"""Rendering for the CLI: JSON for machines, Rich tables and progress bars for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()
errors = Console(stderr=True)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def print_json(payload: Any) -> None:
    """Write ``payload`` as JSON on stdout (no colours, no wrapping)."""
    sys.stdout.write(json.dumps(payload, default=_default, ensure_ascii=False, indent=2) + "\n")


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Rich table on stdout."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


class StepProgress:
    """A progress bar fed by ``(step, done, total)`` callbacks, one task per label."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def task(self, label: str) -> Any:
        """Return a callback updating the bar called ``label``."""

        def update(step: str, done: int, total: int) -> None:
            if label not in self._tasks:
                self._tasks[label] = self._progress.add_task(label, total=total)
            self._progress.update(
                self._tasks[label], completed=done, total=total, description=f"{label}: {step}"
            )

        return update


@contextmanager
def progress_bars(enabled: bool = True) -> Iterator[StepProgress]:
    """Progress bars on stderr, so that ``--json`` output on stdout stays clean."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=not enabled,
    )
    with progress:
        yield StepProgress(progress)
