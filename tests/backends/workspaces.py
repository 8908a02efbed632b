"""Whole workspaces on each backend, run twice on the same shop, and their results compared.

A DuckDB workspace is the reference; a workspace held in PostgreSQL
(``backend = "postgres://..."``) or computing on Spark (``backend = "spark"``) must
store the same open memberships, the same history of entries and exits, and the same
traits.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cible import Workspace
from cible.domain.config import WorkspaceConfig
from cible.store.store import Store
from tests.backends.pipeline import DEFINITIONS, TAGS, long_list_definition
from tests.backends.shop import AS_OF, TABLES, Shop

#: The second run's moment: customers have moved between segments by then.
LATER = AS_OF + timedelta(days=45)


def two_runs(
    folder: Path, engine: dict[str, Any], shop: Shop, *, cluster: bool = False
) -> dict[str, Any]:
    """A new workspace with ``[engine]`` settings ``engine``, the shop's rows and
    rule segments using every construct of the segment language, run at
    :data:`AS_OF` and :data:`LATER`: both run records, the stored memberships and
    traits. With ``cluster``, clusters are found after the first run (on the raw
    traits, which every engine computes alike), so that the second one assigns them."""
    config = WorkspaceConfig.model_validate({"engine": engine})
    with Workspace.create(folder, config=config) as ws:
        load_rows(ws.store, shop)
        for tag in sorted(TAGS):
            ws.tags.define(tag)
        codes = sorted({c for c in shop.rows["customers"].column("postal_code").to_pylist() if c})
        for source in (*DEFINITIONS, long_list_definition(codes[: len(codes) // 2])):
            ws.segments.add({"name": source["id"], **source})
        first = ws.run(as_of=AS_OF)
        if cluster:
            ws.cluster(k=3, random_state=0, n_bootstrap=0, dimension="behaviour")
        second = ws.run(as_of=LATER)
        return {
            "folder": folder,
            "records": (first, second),
            "memberships": ws.table("segment_memberships").to_pandas(),
            "traits": ws.table("customer_traits").to_pandas(),
            "trait_types": {
                name: str(kind) for name, kind in ws.table("customer_traits").schema().items()
            },
        }


def load_rows(store: Store, shop: Shop) -> None:
    """The shop's rows as an import would leave them (imports are tested elsewhere)."""
    con = store.connection
    for name in TABLES:
        # The demo's custom attributes (interests...) are not declared here.
        held = {row[0] for row in con.execute(f"DESCRIBE {name}").fetchall()}
        rows = shop.rows[name].select([c for c in shop.rows[name].column_names if c in held])
        columns = ", ".join(f'"{c}"' for c in rows.column_names)
        con.register("_shop_rows", rows)
        con.execute(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM _shop_rows")
        con.unregister("_shop_rows")


def assert_same_records(found: dict[str, Any], expected: dict[str, Any]) -> None:
    """Both runs counted the same customers, segments, memberships, entries and exits."""
    for mine, theirs in zip(found["records"], expected["records"], strict=True):
        assert (mine.customers, mine.segments, mine.memberships, mine.entered, mine.exited) == (
            theirs.customers,
            theirs.segments,
            theirs.memberships,
            theirs.entered,
            theirs.exited,
        )
    assert expected["records"][1].exited > 0  # the history has moves to compare


def assert_same_history(found: dict[str, Any], expected: dict[str, Any]) -> None:
    """Every membership, open or closed, with its runs and moments."""
    columns = ["segment_id", "customer_id", "entered_run", "entered_at", "exited_run", "exited_at"]

    def history(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[columns].sort_values(columns[:3]).reset_index(drop=True)

    pd.testing.assert_frame_equal(
        history(found["memberships"]), history(expected["memberships"]), check_dtype=False
    )


def assert_same_traits(found: dict[str, Any], expected: dict[str, Any]) -> None:
    """Every trait of every customer."""
    theirs = expected["traits"].sort_values("customer_id").reset_index(drop=True)
    mine = found["traits"].sort_values("customer_id").reset_index(drop=True)
    assert sorted(mine.columns) == sorted(theirs.columns)
    for column in theirs.columns:
        left, right = mine[column], theirs[column]
        if pd.api.types.is_datetime64_any_dtype(right):
            # Dates computed from floating-point days round to a microsecond apart.
            gap = (left - right).abs().dropna()
            assert left.isna().equals(right.isna()), column
            assert (gap <= pd.Timedelta(milliseconds=1)).all(), column
        elif pd.api.types.is_numeric_dtype(right) and not pd.api.types.is_bool_dtype(right):
            # The value model is fitted by numerical optimisation on rows each engine
            # reads in its own order: its predictions agree to about 1e-6.
            np.testing.assert_allclose(
                left.astype(float), right.astype(float), rtol=1e-5, atol=1e-9, err_msg=column
            )
        else:
            assert left.astype(object).where(left.notna(), None).tolist() == (
                right.astype(object).where(right.notna(), None).tolist()
            ), column
