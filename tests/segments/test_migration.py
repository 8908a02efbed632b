"""Migrations between two snapshots against a pandas reference on the membership history."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from cible import Workspace
from cible.domain.errors import CibleError
from cible.segments.migration import NONE

MOMENTS = [datetime(2024, 3, 1), datetime(2024, 9, 1), datetime(2025, 6, 1)]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 customers buying at different rhythms; runs at three moments."""
    folder = tmp_path_factory.mktemp("migration")
    customers = ["customer_id,email"] + [f"c{i},c{i}@example.com" for i in range(40)]
    orders = ["order_id,customer_id,ordered_at,amount"]
    n = 0
    for i in range(40):
        for k in range(i % 6):
            month = 1 + (i * 3 + k * 4) % 18
            year, month = 2023 + (month - 1) // 12, 1 + (month - 1) % 12
            n += 1
            orders.append(f"o{n},c{i},{year}-{month:02d}-{1 + i % 27:02d},{10 + i * k}")
    (folder / "c.csv").write_text("\n".join(customers) + "\n")
    (folder / "o.csv").write_text("\n".join(orders) + "\n")
    with Workspace.create(folder / "shop") as ws:
        ws.imports.load("customers", folder / "c.csv")
        ws.imports.load("orders", folder / "o.csv")
        for moment in MOMENTS:
            ws.run(as_of=moment)
    return folder / "shop"


def _reference(
    history: pd.DataFrame, ids: list[str], dimension: str, start: datetime, end: datetime
):
    mine = history[history.dimension == dimension]

    def snap(moment: datetime) -> pd.Series:
        open_then = mine[
            (mine.entered_at <= moment) & (mine.exited_at.isna() | (mine.exited_at > moment))
        ]
        found = open_then.set_index("customer_id").segment_id
        return pd.Series(ids, index=ids).map(found).fillna(NONE)

    pairs = pd.DataFrame({"source": snap(start), "target": snap(end)})
    return pairs.groupby(["source", "target"]).size().to_dict()


@pytest.mark.parametrize("dimension", ["lifecycle", "rfm", "value"])
@pytest.mark.parametrize("span", [(0, 1), (1, 2), (0, 2)])
def test_the_matrix_equals_a_pandas_reference(shop: Path, dimension: str, span: tuple[int, int]):
    start, end = MOMENTS[span[0]], MOMENTS[span[1]]
    with Workspace.open(shop, read_only=True) as ws:
        moved = ws.segments.migration(dimension, start, end)
        history = ws.table("segment_memberships").to_pandas()
        ids = ws.table("customers").customer_id.to_pyarrow().to_pylist()
    expected = _reference(history, ids, dimension, start, end)
    assert {(c.source, c.target): c.customers for c in moved.cells} == expected
    assert moved.customers == 40
    for flow in moved.flows:
        at_start = sum(v for (s, _), v in expected.items() if s == flow.segment_id)
        at_end = sum(v for (_, t), v in expected.items() if t == flow.segment_id)
        stayed = expected.get((flow.segment_id, flow.segment_id), 0)
        assert (flow.at_start, flow.at_end, flow.stayed) == (at_start, at_end, stayed)
        assert flow.inflow == at_end - stayed and flow.outflow == at_start - stayed
    for cell in moved.cells:
        row_total = sum(v for (s, _), v in expected.items() if s == cell.source)
        assert cell.share_of_source == pytest.approx(cell.customers / row_total)


def test_median_time_in_segment_equals_pandas(shop: Path):
    end = MOMENTS[2]
    with Workspace.open(shop, read_only=True) as ws:
        moved = ws.segments.migration("lifecycle", MOMENTS[0], end)
        history = ws.table("segment_memberships").to_pandas()
    mine = history[(history.dimension == "lifecycle") & (history.entered_at <= end)].copy()
    stop = mine.exited_at.where(mine.exited_at.notna() & (mine.exited_at <= end), end)
    mine["days"] = (stop - mine.entered_at).dt.total_seconds() / 86_400
    expected = mine.groupby("segment_id").days.median().to_dict()
    for flow in moved.flows:
        assert flow.median_days_in_segment == pytest.approx(expected[flow.segment_id])


def test_clear_errors(shop: Path):
    with Workspace.open(shop, read_only=True) as ws:
        with pytest.raises(CibleError, match="No membership history for dimension 'valeur'"):
            ws.segments.migration("valeur", MOMENTS[0], MOMENTS[1])
        with pytest.raises(CibleError, match="is before the start"):
            ws.segments.migration("rfm", MOMENTS[1], MOMENTS[0])


def test_the_command_and_the_route_give_the_same_matrix(shop: Path, tmp_path: Path):
    import json

    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from cible.cli.app import app
    from cible.server.app import create_app

    result = CliRunner().invoke(
        app,
        [
            "segments",
            "migration",
            "lifecycle",
            "--from",
            "2024-03-01",
            "--to",
            "2025-06-01",
            "-w",
            str(shop),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    local = json.loads(result.output)
    text = CliRunner().invoke(
        app,
        [
            "segments",
            "migration",
            "lifecycle",
            "--from",
            "2024-03-01",
            "--to",
            "2025-06-01",
            "-w",
            str(shop),
            "--lang",
            "fr",
        ],
    )
    assert text.exit_code == 0 and "lifecycle-prospect" in text.output
    copy = tmp_path / "served"
    import shutil

    shutil.copytree(shop, copy)
    with Workspace.open(copy) as ws:
        secret, _ = ws.tokens.create("viewer", "viewer")
    with TestClient(create_app(copy)) as client:
        answer = client.get(
            "/api/segments/migrations/lifecycle",
            params={"start": "2024-03-01T00:00:00", "end": "2025-06-01T00:00:00"},
            headers={"Authorization": f"Bearer {secret}"},
        )
    assert answer.status_code == 200
    assert answer.json()["cells"] == local["cells"] and answer.json()["flows"] == local["flows"]
