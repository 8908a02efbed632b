"""``ws.segments.preview``: what the next run would give, objectors left out."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from cible import Workspace

BIG = {"name": "Big", "where": {"trait": "monetary_value", "op": ">=", "value": 500}}


def test_a_preview_leaves_out_customers_who_object_to_profiling(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("customer_id\na\nb\nc\n")
    (tmp_path / "o.csv").write_text(
        "order_id,customer_id,ordered_at,amount\n1,a,2025-01-02,30\n2,b,2025-01-03,700\n"
        "3,c,2025-01-04,900\n"
    )
    with Workspace.create(tmp_path / "shop") as ws:
        ws.imports.load("customers", tmp_path / "c.csv")
        ws.imports.load("orders", tmp_path / "o.csv")
        ws.run(as_of=datetime(2025, 2, 1))
        before = ws.segments.preview(BIG)
        assert before["size"] == 2 and [r["customer_id"] for r in before["sample"]] == ["b", "c"]
        # Objecting after a run dated in the past: the preview reads it as of now.
        ws.objection.object("b")
        found = ws.segments.preview(BIG)
        assert found["size"] == 1 and [r["customer_id"] for r in found["sample"]] == ["c"]
        assert found["customers"] == 3 and found["share"] == 1 / 3
        # What the preview says is what the next run gives.
        ws.segments.add({"id": "big", **BIG})
        ws.run(as_of=datetime(2025, 2, 1))
        members = ws.segments.members("big").customer_id.to_pyarrow().to_pylist()
        assert members == ["c"]
