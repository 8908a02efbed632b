"""Values are bounded at import: no infinite, huge or out-of-calendar value gets stored."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cible import Workspace
from cible.domain.config import WorkspaceConfig
from tests.conftest import WriteFile

RANGE = "outside the plausible range"
AMOUNTS = f"amount is {RANGE} 0 to 1,000,000,000 (the [import] max_number setting)"
DATES = f"is {RANGE} 1800-01-01 to 2200-12-31 (the [import] min_date and max_date settings)"


def reasons(ws: Workspace, import_id: int | None = None) -> dict[int, str]:
    found = ws.imports.rejects(import_id, flagged=False).to_pyarrow().to_pylist()
    return {r["line"]: r["reason"] for r in found}


def test_extreme_numbers_and_dates_in_csv_are_rejected_with_the_range(
    workspace: Workspace, write: WriteFile
):
    path = write(
        "o.csv",
        "order_id,customer_id,ordered_at,amount\n"
        "o1,c1,2025-01-01,1e309\n"
        "o2,c1,0000-01-01,10\n"
        "o3,c1,2025-01-01,1e200\n"
        "o4,c1,10000-01-01,10\n"
        "o5,c1,2200-12-31 23:59:59,1000000000\n"
        "o6,c1,1800-01-01,0\n"
        "o7,c1,1799-12-31 23:59:59,1\n",
    )
    result = workspace.imports.load("orders", path)
    assert (result.read, result.loaded, result.rejected) == (7, 2, 5)
    assert reasons(workspace) == {
        2: "amount is not a finite number",
        3: f"ordered_at {DATES}",
        4: AMOUNTS,
        5: f"ordered_at {DATES}",
        8: f"ordered_at {DATES}",
    }
    # What crashed before: the audit sums amounts and reads dates.
    workspace.quality.audit()


def test_every_numeric_and_date_field_is_bounded(workspace: Workspace, write: WriteFile):
    lines = write(
        "ol.csv",
        "order_id,product_id,quantity,unit_price\n"
        "o1,p1,-9223372036854775808,1\n"
        "o2,p1,2,1e10\n"
        "o3,p1,2000000000,1\n",
    )
    workspace.imports.load("order-lines", lines)
    assert reasons(workspace) == {
        2: f"quantity is {RANGE} -1,000,000,000 to 1,000,000,000 (the [import] max_number setting)",
        3: AMOUNTS.replace("amount", "unit_price"),
        4: f"quantity is {RANGE} -1,000,000,000 to 1,000,000,000 (the [import] max_number setting)",
    }
    customers = write(
        "c.csv", "customer_id,birth_date,updated_at\nc1,0000-01-01,\nc2,,9999-01-01\n"
    )
    result = workspace.imports.load("customers", customers)
    assert reasons(workspace, result.import_id) == {
        2: f"birth_date {DATES}",
        3: f"updated_at {DATES}",
    }


def test_json_lines_non_finite_numbers_are_rejected(workspace: Workspace, tmp_path: Path):
    path = tmp_path / "o.jsonl"
    head = '{"order_id": "o%d", "customer_id": "c", "ordered_at": "2024-01-01", "amount": '
    path.write_text(
        "".join(head % i + value + "}\n" for i, value in enumerate(["1e309", "NaN", "-1e400"])),
        encoding="utf-8",
    )
    workspace.imports.load("orders", path)
    assert reasons(workspace) == {
        1: "amount is not a finite number",
        2: "amount is not a finite number",
        3: "amount is not a finite number",
    }


def test_parquet_typed_infinities_and_edge_dates_are_rejected(workspace: Workspace, tmp_path: Path):
    orders = tmp_path / "o.parquet"
    pq.write_table(
        pa.table(
            {
                "order_id": ["a", "b", "c", "d"],
                "customer_id": ["c"] * 4,
                "ordered_at": pa.array(
                    [
                        datetime(2024, 1, 1),
                        datetime(1, 1, 1),
                        datetime(2024, 1, 1),
                        datetime(9999, 12, 31),
                    ],
                    pa.timestamp("us"),
                ),
                "amount": [float("inf"), 1.0, float("nan"), 2.0],
            }
        ),
        orders,
    )
    result = workspace.imports.load("orders", orders)
    assert (result.loaded, result.rejected) == (0, 4)
    found = reasons(workspace)
    assert found == {
        1: "amount is not a finite number",
        2: f"ordered_at {DATES}",
        3: "amount is not a finite number",
        4: f"ordered_at {DATES}",
    }
    births = tmp_path / "c.parquet"
    pq.write_table(
        pa.table({"customer_id": ["a", "b"], "birth_date": [date(1, 1, 1), date(1980, 5, 1)]}),
        births,
    )
    assert workspace.imports.load("customers", births).rejected == 1


def test_the_plausible_range_is_a_setting(tmp_path: Path, write: WriteFile):
    config = WorkspaceConfig.model_validate(
        {"import": {"max_number": 100, "min_date": "2020-01-01", "max_date": "2030-12-31"}}
    )
    path = write(
        "o.csv",
        "order_id,customer_id,ordered_at,amount\no1,c,2019-12-31,5\no2,c,2024-01-01,101\n"
        "o3,c,2024-01-01,100\n",
    )
    with Workspace.create(tmp_path / "ws", config=config) as ws:
        assert ws.imports.load("orders", path).loaded == 1
        assert reasons(ws) == {
            2: f"ordered_at is {RANGE} 2020-01-01 to 2030-12-31 "
            "(the [import] min_date and max_date settings)",
            3: f"amount is {RANGE} 0 to 100 (the [import] max_number setting)",
        }


@pytest.mark.parametrize("field", ["first_name", "email"])
def test_text_over_the_cell_limit_is_rejected(workspace: Workspace, write: WriteFile, field: str):
    path = write("c.csv", f"customer_id,{field}\nc1,{'x' * 100_001}\nc2,{'y' * 100_000}\n")
    result = workspace.imports.load("customers", path)
    assert (result.loaded, result.rejected) == (1, 1)
    assert reasons(workspace) == {2: f"{field} is longer than 100,000 characters"}
    value = workspace.imports.rejects(flagged=False).to_pyarrow().to_pylist()[0]["value"]
    assert value == "x" * 200
