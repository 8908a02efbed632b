"""A killed import leaves the workspace exactly as it was before."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from cible import Workspace
from tests.conftest import rows

_IMPORT = """
import sys
from cible import Workspace
ws = Workspace.open(sys.argv[1])
print("started", flush=True)
ws.imports.load("orders", sys.argv[2])
ws.close()
print("finished", flush=True)
"""


def _big_orders(path: Path, count: int) -> None:
    ids = [f"B{i}" for i in range(count)]
    table = pa.table(
        {
            "order_id": ids,
            "customer_id": [f"C{i % 5000}" for i in range(count)],
            "ordered_at": ["2024-03-01 10:00:00"] * count,
            "amount": [str(i % 300) + ".5" for i in range(count)],
        }
    )
    pacsv.write_csv(table, path)


def _state(folder: Path) -> tuple[list[dict[str, object]], int, int]:
    with Workspace.open(folder) as ws:
        return (
            rows(ws, "orders", "order_id"),
            int(ws.table("imports").count().execute()),
            int(ws.table("import_issues").count().execute()),
        )


def test_killed_import_leaves_previous_state(tmp_path: Path, write):
    folder = tmp_path / "ws"
    with Workspace.create(folder) as ws:
        ws.imports.load(
            "orders",
            write("small.csv", "order_id,customer_id,ordered_at,amount\nA1,C1,2024-01-01,5\n"),
        )
    before = _state(folder)
    big = tmp_path / "big.csv"
    _big_orders(big, 1_500_000)
    killed_mid_import = 0
    for delay in (0.5, 1.0, 1.5, 2.5):
        process = subprocess.Popen(
            [sys.executable, "-c", _IMPORT, str(folder), str(big)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "started"
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        if process.returncode == -signal.SIGKILL:
            killed_mid_import += 1
            assert _state(folder) == before, f"state changed after a kill at {delay} s"
    # At least one kill must land while the import was running, or the test proves nothing.
    assert killed_mid_import >= 2
    with Workspace.open(folder) as ws:
        result = ws.imports.load("orders", big)
        assert result.inserted == 1_500_000
        assert ws.counts()["orders"] == 1_500_001
