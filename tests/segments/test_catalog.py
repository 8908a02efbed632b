"""``ws.segments``: previews (objectors left out), and the figures each run keeps."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from cible import Workspace
from cible.domain.errors import CibleError
from cible.segments.summary import segment_figures

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


def test_the_figures_a_run_keeps_are_those_of_its_memberships(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("customer_id\na\nb\nc\nd\n")
    (tmp_path / "o.csv").write_text(
        "order_id,customer_id,ordered_at,amount\n1,a,2025-01-02,30\n2,b,2025-01-03,700\n"
        "3,c,2025-01-04,900\n4,c,2025-01-20,100\n"
    )
    with Workspace.create(tmp_path / "shop") as ws:
        ws.imports.load("customers", tmp_path / "c.csv")
        ws.imports.load("orders", tmp_path / "o.csv")
        assert all(s.size == 0 for s in ws.segments.list())
        ws.segments.add({"id": "big", **BIG})
        ws.run(as_of=datetime(2025, 2, 1))
        kept = ws.store.stored_figures()
        # A row for every segment, empty ones included, so none is computed again.
        catalogue = ws.segments.catalogue()
        assert set(kept) == {entry.id for entry in catalogue}
        history = ws.table("segment_memberships")
        current = history.filter(history.exited_at.isnull()).select("segment_id", "customer_id")
        computed = {
            row["segment_id"]: row
            for row in segment_figures(ws.table("customer_traits"), current)
            .to_pyarrow()
            .to_pylist()
        }
        listed = ws.segments.list()
        assert [s.id for s in listed] == [entry.id for entry in catalogue]
        for info in listed:
            row = computed.get(info.id, {})
            assert info.size == row.get("size", 0)
            assert info.revenue == pytest.approx(row.get("revenue", 0.0))
            assert info.customer_share == pytest.approx(row.get("customer_share", 0.0))
            assert info.revenue_share == pytest.approx(row.get("revenue_share", 0.0))
        # Pages of members, by id, as ``members`` gives them.
        assert ws.segments.member_count("big") == 2
        page = ws.segments.member_page("big", ["monetary_value"], limit=1, offset=1)
        assert page == [{"customer_id": "c", "monetary_value": 1000.0}]
        every = ws.segments.members("big").select("customer_id", "frequency").to_pyarrow()
        assert ws.segments.member_page("big", ["frequency"], limit=5) == every.to_pylist()
        assert ws.segments.member_page("big", ["frequency"], limit=5, offset=2) == []
        assert ws.segments.member_count("nope") == 0
        assert ws.segments.member_page("nope", [], limit=5) == []
        big = ws.segments.get("big")
        assert (big.size, big.revenue, big.customer_share) == (2, 1700.0, 0.5)
        assert big.avg_order_value == pytest.approx(1700 / 3)
        # A segment added after the run has no member until the next one.
        ws.segments.add(
            {
                "id": "small",
                "name": "Small",
                "where": {"trait": "monetary_value", "op": "<", "value": 50},
            }
        )
        assert ws.segments.get("small").size == 0
        ws.run(as_of=datetime(2025, 2, 1))
        assert ws.segments.get("small").size == 2  # a (30) and d (none)
        with pytest.raises(CibleError, match="No segment 'nope'"):
            ws.segments.get("nope")
