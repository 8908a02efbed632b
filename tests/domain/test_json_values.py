"""Strict JSON values: every number finite, every object a JSON type."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cible.domain.json_values import dumps_json, json_safe


@dataclass
class Point:
    x: float
    when: date


def test_json_safe_maps_every_non_finite_number_to_none():
    value = {
        "floats": [math.nan, math.inf, -math.inf, 1.0],
        "numpy": [np.float32("nan"), np.float64(2.5), np.int64(3)],
        "decimals": [Decimal("Infinity"), Decimal("-NaN"), Decimal("1.25"), Decimal("1e999")],
        "pandas": [pd.NaT, pd.NA, pd.Timestamp("2025-01-02")],
        "point": Point(math.inf, date(1, 1, 1)),
        "set": {1},
        "path": Path("a/b"),
        2: datetime(2025, 1, 1, 12),
    }
    assert json_safe(value) == {
        "floats": [None, None, None, 1.0],
        "numpy": [None, 2.5, 3],
        "decimals": [None, None, 1.25, "1E+999"],
        "pandas": [None, None, "2025-01-02T00:00:00"],
        "point": {"x": None, "when": "0001-01-01"},
        "set": [1],
        "path": "a/b",
        2: "2025-01-01T12:00:00",
    }


@pytest.mark.parametrize("value", [math.nan, [math.inf], {"a": {"b": np.float64("-inf")}}])
def test_dumps_json_is_strict(value: object):
    text = dumps_json(value)
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in {text}"))
