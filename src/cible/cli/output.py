"""Rendering for the CLI: JSON for machines, Rich tables and progress bars for people.

Everything shown comes partly from the user's files (names, values, file names), so
data never reaches Rich as markup: cells are :class:`rich.text.Text`, and control
characters (escape sequences, bell, backspace, carriage return, C1 controls,
bidirectional overrides) are shown as ``\\x1b``-style escapes instead of acting on
the terminal. Numbers that are not finite print as ``-`` and as ``null`` in JSON.
Files the CLI writes go through :func:`cible.store.files.write_file`: all or nothing.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from cible.cli.i18n import localised
from cible.domain.json_values import dumps_json
from cible.store.files import describe as os_reason
from cible.store.files import write_file

__all__ = ["os_reason", "write_file"]  # the CLI's file writes and their reasons

console = Console()
errors = Console(stderr=True)

#: Shown for a missing or non-finite figure.
NO_FIGURE = "-"

# C0 and C1 control characters, DEL, and the invisible characters that reorder or
# break lines: each is shown as an escape so that data cannot drive the terminal.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def visible(value: object) -> str:
    r"""``str(value)`` with every control character shown as an escape.

    Examples
    --------
    >>> visible("a\x1b[31mb\u202e")
    'a\\x1b[31mb\\u202e'
    """

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(escape, str(value))


def echo(message: object, *, err: bool = False) -> None:
    """One line of plain text, with data's control characters made visible."""
    typer.echo(visible(message), err=err)


def print_error(message: object) -> None:
    """One line on stderr, in red, never read as markup."""
    errors.print(Text(visible(message), style="bold red"), highlight=False, soft_wrap=True)


def print_text(*parts: str | tuple[str, str]) -> None:
    """A line assembled from plain parts and ``(text, style)`` pairs, never markup."""
    pieces = [
        (visible(part), "") if isinstance(part, str) else (visible(part[0]), part[1])
        for part in parts
    ]
    console.print(Text.assemble(*pieces), highlight=False)


def number(value: float | int | None, spec: str = ",.0f") -> str:
    """``value`` formatted with ``spec``, or ``-`` when it is missing or not finite.

    Examples
    --------
    >>> number(1234.5, ",.2f"), number(float("inf")), number(None)
    ('1,234.50', '-', '-')
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return NO_FIGURE
    return localised(format(value, spec))


def percent(value: float | None, digits: int = 1) -> str:
    """A share as a percentage, or ``-`` when it is missing or not finite.

    Examples
    --------
    >>> percent(0.1234), percent(float("nan"))
    ('12.3%', '-')
    """
    if value is None or not math.isfinite(value):
        return NO_FIGURE
    return localised(f"{100 * value:.{digits}f}%")


def json_text(payload: Any) -> str:
    """``payload`` as strict, indented JSON (non-finite numbers as ``null``), with a newline."""
    return dumps_json(payload, indent=2) + "\n"


def print_json(payload: Any) -> None:
    """Write ``payload`` as JSON on stdout (no colours, no wrapping)."""
    sys.stdout.write(json_text(payload))


def _cell(value: Any) -> Text:
    if isinstance(value, Text):
        return value
    if value is None:
        return Text("")
    if isinstance(value, float) and not math.isfinite(value):
        return Text(NO_FIGURE)
    return Text(visible(value))


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Rich table on stdout; cells are shown as text, never read as markup.

    A cell may be a :class:`rich.text.Text` built by the caller (for deliberate line
    breaks); anything else is converted with :func:`visible`.
    """
    table = Table(title=_cell(title), title_justify="left")
    for column in columns:
        table.add_column(_cell(column), overflow="fold")
    for row in rows:
        table.add_row(*(_cell(v) for v in row))
    console.print(table)


def lines(values: Sequence[object]) -> Text:
    """One table cell holding ``values`` on separate lines."""
    return Text("\n".join(visible(v) for v in values))


class StepProgress:
    """A progress bar fed by ``(step, done, total)`` callbacks, one task per label."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def task(self, label: str) -> Any:
        """Return a callback updating the bar called ``label``."""

        def update(step: str, done: int, total: int) -> None:
            if label not in self._tasks:
                self._tasks[label] = self._progress.add_task(visible(label), total=total)
            self._progress.update(
                self._tasks[label],
                completed=done,
                total=total,
                description=visible(f"{label}: {step}"),
            )

        return update


@contextmanager
def progress_bars(enabled: bool = True) -> Iterator[StepProgress]:
    """Progress bars on stderr, so that ``--json`` output on stdout stays clean."""
    progress = Progress(
        # Descriptions hold file names: plain text, not markup.
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=not enabled,
    )
    with progress:
        yield StepProgress(progress)
