"""Activity checks on extreme stored values: an audit never overflows."""

from __future__ import annotations

import math
from pathlib import Path

import ibis
import pytest

from cible import Workspace
from cible.domain.json_values import dumps_json
from cible.quality.activity_checks import _fence


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ([10.0, 12.0, 1e200], math.inf),  # exp() of the fence would overflow
        ([10.0, 12.0, math.inf], math.inf),  # log(inf) - log(inf) is NaN
        ([math.inf, math.inf], math.inf),
    ],
)
def test_fence_beyond_the_float_range_is_infinite(amounts: list[float], expected: float):
    rows = ibis.memtable({"amount": amounts})
    assert _fence(rows, "amount", 3.0) == expected


def test_fence_of_ordinary_amounts_is_finite():
    rows = ibis.memtable({"amount": [10.0, 20.0, 30.0, 40.0]})
    assert 40.0 < _fence(rows, "amount", 3.0) < 1e6


def test_audit_with_huge_and_infinite_stored_amounts(tmp_path: Path):
    orders = tmp_path / "orders.csv"
    lines = [f"o{i},c{i % 7},2025-01-{1 + i % 28:02d},{10 + i}" for i in range(40)]
    orders.write_text(
        "order_id,customer_id,ordered_at,amount\n" + "\n".join(lines) + "\n", encoding="utf-8"
    )
    with Workspace.create(tmp_path / "ws") as ws:
        ws.imports.load("orders", orders)
        # Stored directly: the import may refuse such values, the audit must not crash.
        ws.store.connection.execute(
            "UPDATE orders SET amount = CASE order_id WHEN 'o1' THEN 1e200 "
            "WHEN 'o2' THEN 'inf'::DOUBLE ELSE amount END"
        )
        report = ws.quality.audit()
    outliers = {c.id: c.affected for c in report.checks if c.id.startswith("outliers.")}
    assert outliers["outliers.order_amount"] == 2
    assert "Infinity" not in dumps_json(report.as_dict())
