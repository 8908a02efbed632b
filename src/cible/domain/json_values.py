"""Values made fit for strict JSON: every number finite, every object a JSON type.

``json.dumps`` writes ``NaN`` and ``Infinity`` by default, which no JSON parser but
Python's accepts. A non-finite number means "no figure" to a reader (a share of zero
revenue, a sum that overflowed), so it becomes ``null``; the text is then written with
``allow_nan=False`` so that a missed case fails loudly instead of printing bad JSON.

Examples
--------
>>> import math
>>> json_safe({"share": math.nan, "total": [1.5, math.inf], "n": 3})
{'share': None, 'total': [1.5, None], 'n': 3}
>>> dumps_json({"x": float("-inf")})
'{"x": null}'
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import PurePath
from typing import Any

# Characters JSON lets through unescaped that a terminal may still act on: DEL, the C1
# controls (U+009B is a one-byte CSI) and the bidirectional overrides that reorder
# what a reader sees. Escaping them keeps the same JSON value.
_UNSAFE = re.compile("[\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON types, with ``None`` for every non-finite number.

    Handles mappings, sequences, sets, dataclasses, numpy and pandas scalars and arrays,
    :class:`~decimal.Decimal`, dates and paths; anything else becomes its ``str``.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        number = float(value)
        # A finite Decimal beyond the float range keeps its exact digits as text.
        return number if math.isfinite(number) else str(value)
    if isinstance(value, Mapping):
        return {_key(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return json_safe(asdict(value))
    if _is_missing(value):  # pandas NaT and NA, before the datetime test (NaT is one)
        return None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return json_safe(value.tolist())
    if hasattr(value, "item"):
        return json_safe(value.item())
    return str(value)


def dumps_json(value: Any, *, indent: int | None = None) -> str:
    """Strict JSON text of ``value`` (see :func:`json_safe`), UTF-8 characters kept.

    DEL, C1 control characters and bidirectional overrides are written as ``\\uXXXX``
    escapes, so that the text can be shown on a terminal as it is.
    """
    text = json.dumps(json_safe(value), ensure_ascii=False, allow_nan=False, indent=indent)
    return _UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _key(key: Any) -> str | int | bool | None:
    if key is None or isinstance(key, bool | int | str):
        return key
    safe = json_safe(key)
    return safe if isinstance(safe, str | int) else str(safe)


def _is_missing(value: Any) -> bool:
    """True for pandas' missing-value markers, without importing pandas here."""
    return type(value).__name__ in {"NaTType", "NAType"}
