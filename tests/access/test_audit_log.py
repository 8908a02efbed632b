"""The audit log only grows, reads newest first, filters by action, pages."""

from __future__ import annotations

import pytest

from cible import Workspace
from cible.access.audit_log import AuditLog
from cible.domain.errors import CibleError
from cible.store.store import Store


def test_entries_are_newest_first_filtered_and_paged(workspace: Workspace):
    log = workspace.audit_log
    for n in range(5):
        log.record("ana", "segment.save" if n % 2 else "export", f"segment:s{n}", "ok", {"n": n})
    assert [e.detail["n"] for e in log.entries()] == [4, 3, 2, 1, 0]
    assert [e.target for e in log.entries(action="segment.save")] == ["segment:s3", "segment:s1"]
    assert [e.detail["n"] for e in log.entries(limit=2, offset=1)] == [3, 2]
    assert len({e.entry_id for e in log.entries()}) == 5


def test_entries_filter_by_actor_and_outcome_together(workspace: Workspace):
    log = workspace.audit_log
    log.record("ana", "auth", "GET /admin/audit", "refused")
    log.record("ana", "export", "segment:vip", "ok")
    log.record("bob", "auth", "GET /admin/tokens", "refused")
    assert [e.target for e in log.entries(actor="ana")] == ["segment:vip", "GET /admin/audit"]
    assert [e.actor for e in log.entries(outcome="refused")] == ["bob", "ana"]
    found = log.entries(actor="ana", action="auth", outcome="refused")
    assert [e.target for e in found] == ["GET /admin/audit"]
    assert log.entries(actor="nobody") == []
    with pytest.raises(CibleError, match="Unknown outcome"):
        log.entries(outcome="maybe")


def test_bad_outcome_and_limits_are_one_sentence(workspace: Workspace):
    with pytest.raises(CibleError, match="Unknown outcome"):
        workspace.audit_log.record("a", "x", "", "maybe")
    with pytest.raises(CibleError, match="limit 0"):
        workspace.audit_log.entries(limit=0)
    with pytest.raises(CibleError, match="offset -1"):
        workspace.audit_log.entries(offset=-1)


def test_no_method_changes_or_removes_an_entry():
    # Append-only by construction: neither the capability nor the Store offers a way.
    for cls in (AuditLog, Store):
        names = [n for n in dir(cls) if "audit" in n.lower() or n in ("record", "entries")]
        assert not [n for n in names if any(w in n for w in ("update", "delete", "remove"))]
    assert {n for n in dir(AuditLog) if not n.startswith("_")} == {"record", "change", "entries"}
