"""Scoring held rows a page at a time (``Store.hold_pages``)."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa

from cible import Workspace

DOUBLED = pa.schema([("n", pa.int64()), ("name", pa.string()), ("twice", pa.int64())])


def test_every_row_is_scored_once_a_page_at_a_time(tmp_path: Path) -> None:
    seen: list[int] = []

    def double(page: pd.DataFrame) -> pd.DataFrame:
        seen.append(len(page))
        return page.assign(twice=page["n"] * 2)

    with Workspace.create(tmp_path / "ws") as ws:
        rows = ibis.memtable({"n": list(range(25)), "name": [f"c{i}" for i in range(25)]})
        held = ws.store.hold_pages("_doubled", rows, double, DOUBLED, page=7)
        result = held.to_pandas().sort_values("n", ignore_index=True)
        tables = set(ws.store.connection.sql("SELECT table_name FROM duckdb_tables()").fetchall())
    assert seen == [7, 7, 7, 4]
    assert result["twice"].tolist() == [2 * n for n in range(25)]
    assert result["name"].tolist() == [f"c{n}" for n in range(25)]
    assert ("_doubled_pages",) not in tables


def test_a_column_empty_on_the_first_page_keeps_its_type(tmp_path: Path) -> None:
    # Prospects first: no band on the first page, bands on the next (a run failed with
    # "Unimplemented type for cast (VARCHAR -> NULL)" when the first page typed it).
    schema = pa.schema([("customer_id", pa.string()), ("band", pa.string())])

    def band(page: pd.DataFrame) -> pd.DataFrame:
        labels = [None if n < 4 else "high" for n in page["n"]]
        return pd.DataFrame({"customer_id": page["customer_id"], "band": labels})

    with Workspace.create(tmp_path / "ws") as ws:
        rows = ibis.memtable({"n": list(range(8)), "customer_id": [f"c{i}" for i in range(8)]})
        held = ws.store.hold_pages("_bands", rows.order_by("n"), band, schema, page=4)
        result = held.to_pandas().sort_values("customer_id", ignore_index=True)
    assert result["band"].isna().tolist() == [True] * 4 + [False] * 4
    assert set(result["band"].dropna()) == {"high"}


def test_no_rows_give_an_empty_table_with_the_scored_columns(tmp_path: Path) -> None:
    seen: list[int] = []

    def score(page: pd.DataFrame) -> pd.DataFrame:
        seen.append(len(page))
        return page

    schema = pa.schema([("customer_id", pa.string()), ("risk", pa.float64())])
    with Workspace.create(tmp_path / "ws") as ws:
        rows = ibis.memtable({"customer_id": ["a"], "x": [1.0]}).filter(ibis._.x > 5)
        held = ws.store.hold_pages("_scored", rows, score, schema)
        assert held.count().to_pyarrow().as_py() == 0
        assert dict(held.schema()) == {
            "customer_id": ibis.dtype("string"),
            "risk": ibis.dtype("float64"),
        }
    assert seen == []
