"""`cible demo` end to end: files go through the importer and nothing is lost."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from cible import Workspace
from cible.demo import SOURCE_FOLDER, TRUTH_FOLDER, build_demo
from cible.demo.generator import generate_retailer

END = date(2026, 10, 31)


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    with Workspace.open(folder) as ws:
        return {
            t.name: ws.table(t.name).to_pandas().sort_values(list(t.key)).reset_index(drop=True)
            for t in ws.registry.tables()
        }


def test_retailer_demo_loads_every_row_and_keeps_truth_outside(tmp_path: Path):
    summary = build_demo(tmp_path / "demo", customers=600, seed=3, end_date=END)
    expected = generate_retailer(tmp_path / "files", customers=600, seed=3, end_date=END).counts
    by_kind = {r["kind"]: r for r in summary["imports"]}
    for result in summary["imports"]:
        assert result["read"] == result["loaded"] + result["rejected"], result["kind"]
    assert by_kind["orders"]["rejected"] == expected["orders_invalid"]
    assert by_kind["orders"]["flagged"] >= expected["orders_unknown_customer"]
    assert by_kind["customers"]["rejected"] == expected["customers_invalid"]
    assert summary["counts"]["customers"] == expected["customers"] - expected["customers_invalid"]
    truth = pd.read_parquet(tmp_path / "demo" / TRUTH_FOLDER / "planted_groups.parquet")
    assert truth["group"].nunique() >= 5
    assert (tmp_path / "demo" / SOURCE_FOLDER / "orders.csv").is_file()
    with Workspace.open(tmp_path / "demo") as ws:
        assert "group" not in ws.table("customers").columns
        assert {"interests", "urban_rural"} <= set(ws.table("customers").columns)


def test_same_seed_same_workspace_content(tmp_path: Path):
    build_demo(tmp_path / "a", customers=300, seed=11, end_date=END)
    build_demo(tmp_path / "b", customers=300, seed=11, end_date=END)
    build_demo(tmp_path / "c", customers=300, seed=12, end_date=END)
    first, second, other = (_tables(tmp_path / name) for name in "abc")
    for name in ("customers", "orders", "events", "consents", "products", "order_lines"):
        # Rows whose file has no updated_at are stamped with the import time.
        volatile = ["updated_at"] if name in ("orders", "products") else []
        pd.testing.assert_frame_equal(
            first[name].drop(columns=volatile), second[name].drop(columns=volatile)
        )
    assert not first["orders"]["amount"].equals(other["orders"]["amount"])
