"""Staging: lines rejected before reading replace the records holding them."""

from __future__ import annotations

from pathlib import Path

import duckdb

from cible.store.staging import MALFORMED, STAGE, FileFormat, LineRejection, stage


def test_rejected_lines_replace_their_records(tmp_path: Path):
    path = tmp_path / "c.csv"
    # Line 3 opens a quoted value closed on line 4; line 6 has too few columns.
    path.write_text('id,note\n1,a\n2,"b\nc"\n3,d\n4\n5,e\n', encoding="utf-8")
    con = duckdb.connect()
    rejected = [
        LineRejection(4, "c", "bad inside a quoted value"),
        LineRejection(6, "4", "a NUL byte at column 2: the line is not text"),
    ]
    staged = stage(con, path, FileFormat.CSV, delimiter=",", rejected_lines=rejected)
    assert (staged.rows, staged.malformed) == (3, 2)
    assert con.execute(f"SELECT _line FROM {STAGE} ORDER BY 1").fetchall() == [(2,), (5,), (7,)]
    found = con.execute(f"SELECT line, value, reason FROM {MALFORMED} ORDER BY 1").fetchall()
    # The reader's "expected 2 columns" gives way: the line's own defect comes first.
    assert found == [
        (3, "c", "bad inside a quoted value"),
        (6, "4", "a NUL byte at column 2: the line is not text"),
    ]
