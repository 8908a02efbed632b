"""Objection to profiling: runs, live refreshes, scores, clusters, automations, exports."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cible import Workspace
from cible.activation.automation_engine import Rendered
from cible.activation.automations import Automations
from cible.domain.clock import utc_now
from cible.domain.errors import UnknownCustomerError
from cible.importing.imports import Imports
from cible.segments.runner import PROFILING_TRAITS
from cible.store.runs import TRAITS
from tests.activation.conftest import make_shop


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    shop = make_shop(tmp_path)
    with Workspace.open(shop) as ws:
        ws.segments.add(
            {
                "id": "buyers",
                "name": "Buyers",
                "where": {"trait": "frequency", "op": ">=", "value": 1},
            }
        )
        ws.run()
    return shop


def _sender(ws: Workspace) -> Automations:
    """Automations with a stand-in for message templates (as tests/activation does)."""

    def render(template: str, customer: str, lang: str | None, extra: dict[str, Any]) -> Rendered:
        return Rendered(f"Hello {customer}", "<p>hi</p>", "hi", "en")

    return Automations(
        ws.store,
        ws.registry,
        ws.config,
        render=render,
        unsubscribe=lambda customer, channel: f"https://x/u/{customer}-{channel}",
        templates=lambda: ["guide"],
        segments=lambda: ["buyers"],
    )


def _segments(ws: Workspace, customer: str) -> set[str]:
    history = ws.store.table("segment_memberships")
    open_rows = history.filter(history.customer_id == customer, history.exited_at.isnull())
    return set(open_rows.segment_id.to_pyarrow().to_pylist())


def _traits(ws: Workspace, customer: str) -> dict:
    traits = ws.store.table(TRAITS)
    rows = traits.filter(traits.customer_id == customer).to_pyarrow().to_pylist()
    assert len(rows) == 1
    return rows[0]


def test_an_objector_leaves_every_segment_at_once_and_after_each_run(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        before = _segments(ws, "a")
        assert "buyers" in before and any(s.startswith("lifecycle-") for s in before)
        done = ws.objection.object("a", source="call centre", proof="ticket 42")
        assert (done.objects, done.records, done.exited) == (True, 6, len(before))
        assert _segments(ws, "a") == set()
        # The exits are in the outbox with the reason as their source.
        moves = [r for r in ws.store.pending_transitions() if r.source == "objection"]
        assert {(r.customer_id, r.transition) for r in moves} == {("a", "exited")}
        assert {r.segment_id for r in moves} == before
        # The traits that profile the customer are NULL; the facts stay.
        row = _traits(ws, "a")
        assert all(row[name] is None for name in PROFILING_TRAITS)
        assert row["frequency"] == 1
        ws.run()
        assert _segments(ws, "a") == set()
        row = _traits(ws, "a")
        assert all(row[name] is None for name in PROFILING_TRAITS)
        assert row["monetary_value"] == 30
        # Others keep their scores and segments.
        assert "buyers" in _segments(ws, "b")
        assert _traits(ws, "b")["rfm_segment"] is not None
        # Withdrawing the objection brings the customer back at the next run.
        assert ws.objection.unobject("a").objects is False
        assert ws.objection.objecting() == []
        ws.run()
        assert _segments(ws, "a") == before
        audit = ws.store.table("audit_log").to_pyarrow().to_pylist()
        assert [r["action"] for r in audit if r["target"] == "customer:a"] == [
            "privacy.object",
            "privacy.unobject",
        ]


def test_the_ledger_keeps_every_record_and_a_file_can_object_too(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.objection.object("a")
        ws.objection.unobject("a")
        ledger = ws.store.table("consents")
        rows = ledger.filter(ledger.purpose == "profiling").to_pyarrow().to_pylist()
        assert sorted({r["status"] for r in rows}) == ["granted", "withdrawn"]
        assert len(rows) == 12
        # An imported record on one channel is an objection (the latest on any channel).
        path = Path(ws.path) / "objection.csv"
        path.write_text("customer_id,channel,purpose,status\nb,post,profiling,denied\n")
        ws.imports.load("consents", path)
        assert ws.objection.objects("b") and ws.objection.objecting() == ["b"]
        ws.run()
        assert _segments(ws, "b") == set()
        with pytest.raises(UnknownCustomerError, match="'nobody' is not in this workspace"):
            ws.objection.object("nobody")


def test_a_live_event_applies_an_objection_recorded_in_the_ledger(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        path = Path(ws.path) / "objection.csv"
        path.write_text("customer_id,channel,purpose,status\nd,email,profiling,withdrawn\n")
        # A writer of the ledger that refreshes nobody (the workspace's importer does,
        # tests/importing/test_imports.py): only the ledger changes.
        Imports(ws.store, ws.registry, ws.config).load("consents", path)
        assert "buyers" in _segments(ws, "d")
        ws.segments.refresh(["d"])
        assert _segments(ws, "d") == set()
        assert all(_traits(ws, "d")[name] is None for name in PROFILING_TRAITS)


def test_automations_leave_objectors_alone_and_say_why(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.tags.define("hot-lead")
        automations = _sender(ws)
        automations.add(
            {
                "id": "bye",
                "trigger": {"segment": "buyers", "on": "exited"},
                "steps": [{"email": {"template": "guide"}}],
            }
        )
        automations.add(
            {
                "id": "nurture",
                "trigger": {"tag": "hot-lead"},
                "steps": [{"wait": {"days": 2}}, {"email": {"template": "guide"}}],
            }
        )
        ws.tags.apply("hot-lead", ["a", "d"], actor="cli")
        assert automations.process().started == 2
        ws.objection.object("a")  # a's exit from "buyers" reaches the outbox
        later = utc_now() + timedelta(days=3)
        done = automations.process(now=later)
        # No farewell e-mail for the exit, and a's waiting run ends; d's goes on.
        assert (done.started, done.deliveries) == (0, 1)
        rows = ws.store.table("deliveries").to_pyarrow().to_pylist()
        assert [r["customer_id"] for r in rows] == ["d"]
        skipped = [
            (r.automation_id, r.action, r.outcome, r.detail.split(":")[0])
            for r in [*automations.log("bye"), *automations.log("nurture")]
            if r.customer_id == "a" and r.outcome == "skipped"
        ]
        assert skipped == [
            ("bye", "start", "skipped", "objection"),
            ("nurture", "end", "skipped", "objection"),
        ]
        assert [r.status for r in automations.runs("nurture") if r.customer_id == "a"] == [
            "objection"
        ]


def test_exports_count_objectors_recorded_since_the_run(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        path = Path(ws.path) / "objection.csv"
        path.write_text("customer_id,channel,purpose,status\na,sms,profiling,withdrawn\n")
        # Written without the refresh the workspace's importer does: the export is the
        # last guard, whoever wrote the ledger.
        Imports(ws.store, ws.registry, ws.config).load("consents", path)
        assert "buyers" in _segments(ws, "a")
        found = ws.exports.audience("buyers", "email")
        assert found.table.column("customer_id").to_pylist() == ["d"]
        assert found.excluded == {"no_consent": 1, "withdrawn": 1, "objection": 1}
        analysis = ws.exports.audience("buyers")
        assert "a" not in analysis.table.column("customer_id").to_pylist()
        assert analysis.excluded == {"objection": 1}


def test_an_unknown_customer_is_the_one_domain_error() -> None:
    from cible.activation import objection
    from cible.domain import errors

    # One class: the routes' 404 and every caller catch the same error.
    assert objection.UnknownCustomerError is errors.UnknownCustomerError
