"""Scoring held rows a page at a time (``Store.hold_pages``)."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd

from cible import Workspace


def test_every_row_is_scored_once_a_page_at_a_time(tmp_path: Path) -> None:
    seen: list[int] = []

    def double(page: pd.DataFrame) -> pd.DataFrame:
        seen.append(len(page))
        return page.assign(twice=page["n"] * 2)

    with Workspace.create(tmp_path / "ws") as ws:
        rows = ibis.memtable({"n": list(range(25)), "name": [f"c{i}" for i in range(25)]})
        held = ws.store.hold_pages("_doubled", rows, double, page=7)
        result = held.to_pandas().sort_values("n", ignore_index=True)
        tables = set(ws.store.connection.sql("SELECT table_name FROM duckdb_tables()").fetchall())
    assert seen == [7, 7, 7, 4]
    assert result["twice"].tolist() == [2 * n for n in range(25)]
    assert result["name"].tolist() == [f"c{n}" for n in range(25)]
    assert ("_doubled_pages",) not in tables


def test_no_rows_still_give_the_scored_columns(tmp_path: Path) -> None:
    seen: list[list[str]] = []

    def score(page: pd.DataFrame) -> pd.DataFrame:
        seen.append(list(page.columns))
        return pd.DataFrame({"customer_id": page["customer_id"], "risk": page["x"] * 0.5})

    with Workspace.create(tmp_path / "ws") as ws:
        rows = ibis.memtable({"customer_id": ["a"], "x": [1.0]}).filter(ibis._.x > 5)
        held = ws.store.hold_pages("_scored", rows, score)
        assert held.count().to_pyarrow().as_py() == 0
        assert held.columns == ("customer_id", "risk")
    assert seen == [["customer_id", "x"]]
