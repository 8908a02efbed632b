"""A result of an analysis as plain data: every result is a frozen dataclass with `as_dict`."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def _plain(value: Any) -> Any:
    # numpy scalars and arrays become Python numbers and lists, so the dict is JSON-ready.
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclasses.dataclass(frozen=True)
class Result:
    """Base of the analysis results: `as_dict` gives Python numbers, lists and dicts.

    Examples
    --------
    >>> @dataclasses.dataclass(frozen=True)
    ... class Example(Result):
    ...     p_value: float
    >>> Example(np.float64(0.5)).as_dict()
    {'p_value': 0.5}
    """

    def as_dict(self) -> dict[str, Any]:
        """The fields as plain Python values (numbers, strings, lists, dicts)."""
        plain: dict[str, Any] = _plain(self)
        return plain
