"""Surveys, support tickets and acquisition costs: a mistake in the file is rejected
with the file, the line, the field and the reason, and the good rows are kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from cible import Workspace

CASES = {
    "surveys": (
        "response_id,customer_id,answered_at,kind,score\n"
        "r1,a,2024-01-01,nps,9\n"
        "r2,a,2024-01-02,stars,3\n"
        "r3,,2024-01-02,nps,3\n"
        "r4,a,notadate,csat,4\n"
        "r5,a,2024-01-01,nps,abc\n",
        [
            (3, "kind", "unknown value for kind (expected one of: nps, csat, ces)"),
            (4, "customer_id", "missing customer_id"),
            (5, "answered_at", "answered_at is not a date"),
            (6, "score", "score is not a number"),
        ],
    ),
    "tickets": (
        "ticket_id,customer_id,opened_at,status\nt1,a,2024-01-01,open\nt2,a,2024-01-01,lost\n",
        [(3, "status", "unknown value for status (expected one of: open, pending, solved")],
    ),
    "acquisition-costs": (
        "channel,period_start,cost\n"
        "social,2024-01-01,100\n"
        "search,2024-13-01,50\n"
        "social,2024-02-01,-3\n"
        ",2024-01-01,5\n",
        [
            (3, "period_start", "period_start is not a date"),
            (4, "cost", "cost is negative"),
            (5, "channel", "missing channel"),
        ],
    ),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_mistake_is_rejected_with_file_line_field_and_reason(
    workspace: Workspace, tmp_path: Path, kind: str
) -> None:
    text, expected = CASES[kind]
    path = tmp_path / f"{kind}.csv"
    path.write_text(text)
    result = workspace.imports.load(kind, path)
    assert result.loaded == 1
    assert result.rejected == len(expected)
    issues = workspace.imports.rejects(result.import_id, flagged=False).to_pyarrow().to_pylist()
    found = sorted((r["line"], r["column_name"], r["reason"]) for r in issues)
    assert all(r["file"] == str(path) for r in issues)
    assert len(found) == len(expected)
    for (line, field, reason), (want_line, want_field, want_reason) in zip(
        found, expected, strict=True
    ):
        assert (line, field) == (want_line, want_field)
        assert reason.startswith(want_reason)
