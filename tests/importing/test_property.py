"""Whatever a file holds, every row read is either loaded or rejected, never lost."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cible import Workspace

CELLS = st.one_of(
    st.sampled_from(["", " ", "O1", "O2", "C1", "12,5", "-3", "1.500,00", "2024-02-30", "web"]),
    st.sampled_from(["01/02/2024", "2024-01-01T10:00:00Z", "fax", "abc", "1e3", "€ 4"]),
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\x00"),
        max_size=8,
    ),
)
ROWS = st.lists(st.lists(CELLS, min_size=3, max_size=6), min_size=1, max_size=30)


def test_lone_carriage_return_in_quotes_is_read(tmp_path: Path):
    path = tmp_path / "orders.csv"
    path.write_text(
        'order_id;customer_id;ordered_at;amount\nO1;"C\r1";2024-01-01;1\nO2;C2;x;1\nO3;C3\n',
        encoding="utf-8",
    )
    with Workspace.create(tmp_path / "ws") as ws:
        result = ws.imports.load("orders", path)
        assert (result.read, result.loaded, result.rejected) == (3, 1, 2)
        lines = [r["line"] for r in ws.imports.rejects(flagged=False).to_pyarrow().to_pylist()]
        assert lines == [3, 4]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=ROWS)
def test_read_is_loaded_plus_rejected(tmp_path_factory, rows: list[list[str]]):
    folder: Path = tmp_path_factory.mktemp("prop")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(["order_id", "customer_id", "ordered_at", "amount", "channel"])
    writer.writerows(rows)
    path = folder / "orders.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    with Workspace.create(folder / "ws") as ws:
        result = ws.imports.load("orders", path)
        assert result.read == result.loaded + result.rejected
        assert ws.counts()["orders"] == result.loaded
        rejected_lines = {
            r["line"] for r in ws.imports.rejects(flagged=False).to_pyarrow().to_pylist()
        }
        assert len(rejected_lines) == result.rejected
        # Lines as an editor counts them: a lone carriage return also ends one.
        last_line = len(re.split(r"\r\n|\r|\n", buffer.getvalue()))
        assert all(2 <= line <= last_line for line in rejected_lines)
