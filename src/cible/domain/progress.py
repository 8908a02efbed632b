"""How long work reports how far it has gone: the one ``Progress`` protocol.

The CLI draws it as a bar, the server will publish it on a job; the use cases only
call it.

Examples
--------
>>> seen = []
>>> def record(step: str, done: int, total: int) -> None:
...     seen.append((step, done, total))
>>> report = reporter(record)
>>> report("traits", 1, 4)
>>> seen
[('traits', 1, 4)]
>>> reporter(None)("traits", 1, 4)  # nobody listening: nothing happens
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Called with the step's name, the steps done and the steps in all."""

    # Positional only, as callers call it: any ``Callable[[str, int, int], None]``
    # (a lambda, a bound method) is then a Progress too.
    def __call__(self, step: str, done: int, total: int, /) -> None: ...


def _silent(step: str, done: int, total: int) -> None:
    """Progress nobody watches."""


def reporter(progress: Progress | None) -> Progress:
    """``progress``, or a reporter that does nothing when it is None."""
    return _silent if progress is None else progress
