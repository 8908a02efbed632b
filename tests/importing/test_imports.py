"""``ws.imports``: a consents file that makes customers object applies it at once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from cible import Workspace

CUSTOMERS = "customer_id,email\na,a@x.test\nb,b@x.test\nc,c@x.test\n"
ORDERS = (
    "order_id,customer_id,ordered_at,amount\n"
    "1,a,2025-01-02,30\n2,b,2025-01-03,700\n3,c,2025-01-04,90\n"
)
CONSENTS = (
    "customer_id,channel,purpose,status,recorded_at\n"
    "a,email,marketing,granted,2025-01-01\nb,email,marketing,granted,2025-01-01\n"
    "c,post,profiling,denied,2025-01-01\n"
)


def _open_segments(ws: Workspace, customer: str) -> set[str]:
    history = ws.table("segment_memberships")
    rows = history.filter(history.customer_id == customer, history.exited_at.isnull())
    return set(rows.segment_id.to_pyarrow().to_pylist())


def _shop(folder: Path) -> Workspace:
    ws = Workspace.create(folder / "shop")
    for kind, text in (("customers", CUSTOMERS), ("orders", ORDERS), ("consents", CONSENTS)):
        (folder / f"{kind}.csv").write_text(text)
        ws.imports.load(kind, folder / f"{kind}.csv")
    return ws


def test_a_consents_file_with_a_profiling_withdrawal_ends_the_memberships_at_once(
    tmp_path: Path,
) -> None:
    with _shop(tmp_path) as ws:
        ws.run(as_of=datetime(2025, 2, 1))
        before = _open_segments(ws, "b")
        assert before and _open_segments(ws, "a") and _open_segments(ws, "c") == set()
        path = tmp_path / "withdrawals.csv"
        path.write_text(
            "customer_id,channel,purpose,status,recorded_at\n"
            "b,email,profiling,withdrawn,2025-01-05\n"
            "a,email,marketing,withdrawn,2025-01-05\n"  # not an objection
            "c,post,profiling,granted,2025-01-05\n"  # lifted: profiled from the next run
        )
        result = ws.imports.load("consents", path)
        assert result.loaded == 3
        assert ws.objection.objecting() == ["b"]
        assert _open_segments(ws, "b") == set()
        moves = [r for r in ws.store.pending_transitions() if r.source == "objection"]
        assert {(r.customer_id, r.transition) for r in moves} == {("b", "exited")}
        assert {r.segment_id for r in moves} == before
        assert _open_segments(ws, "a") and _open_segments(ws, "c") == set()
        # The same file again changes nobody's status: no refresh, no transition.
        ws.imports.load("consents", path)
        again = [r for r in ws.store.pending_transitions() if r.source == "objection"]
        assert len(again) == len(moves)
        ws.run(as_of=datetime(2025, 2, 1))
        assert _open_segments(ws, "b") == set() and _open_segments(ws, "c")


def test_before_the_first_run_a_withdrawal_is_only_recorded(tmp_path: Path) -> None:
    with _shop(tmp_path) as ws:
        path = tmp_path / "withdrawal.csv"
        path.write_text("customer_id,channel,purpose,status\na,sms,profiling,withdrawn\n")
        assert ws.imports.load("consents", path).loaded == 1
        assert ws.objection.objecting() == ["a", "c"]
        assert ws.store.pending_transitions() == []
