"""Stored campaigns and assignments: versions, first assignment kept, exclusions."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa

from cible import Workspace
from cible.store.campaigns import ASSIGNMENT_SCHEMA

FIRST, LATER = datetime(2025, 3, 1), datetime(2025, 3, 9)


def _rows(campaign: str, customers: list[str], at: datetime, eligible: bool = True) -> pa.Table:
    n = len(customers)
    return pa.table(
        {
            "campaign_id": [campaign] * n,
            "customer_id": customers,
            "arm": ["a"] * n,
            "assigned_at": [at] * n,
            "eligible": [eligible] * n,
            "reason": [None if eligible else "denied"] * n,
            "conflict_with": [None] * n,
            "updated_at": [at] * n,
            "segment_id": ["s"] * n,
        },
        schema=ASSIGNMENT_SCHEMA,
    )


def test_versions_assignments_and_exclusions(tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "shop") as ws:
        store = ws.store
        assert store.save_campaign("x", '{"a": 1}', status="draft", at=FIRST, actor="t") == 1
        assert store.save_campaign("x", '{"a": 1}', status="draft", at=FIRST, actor="t") == 1
        assert store.save_campaign("x", '{"a": 2}', status="draft", at=FIRST, actor="t") == 2
        store.save_campaign("y", "{}", status="draft", at=FIRST, actor="t")
        store.launch_campaign("y", _rows("y", ["c1", "c2"], FIRST), [], at=FIRST, actor="t")
        store.launch_campaign("x", _rows("x", ["c1", "c2"], FIRST), [], at=FIRST, actor="t")
        store.launch_campaign(
            "x",
            _rows("x", ["c2", "c3"], LATER, eligible=False),
            [("y", ["c2"], "x")],
            at=LATER,
            actor="t",
        )
        rows = {r.customer_id: r for r in store.campaign_assignments("x")}
        assert [(c, r.assigned_at, r.eligible) for c, r in sorted(rows.items())] == [
            ("c1", FIRST, True),  # not read again: kept as it was
            ("c2", FIRST, False),  # read again: first assignment kept, eligibility new
            ("c3", LATER, False),
        ]
        assert store.campaign_eligible("y") == {"c1"}
        lost = store.campaign_assignments("y", customer_id="c2")[0]
        assert (lost.reason, lost.conflict_with, lost.updated_at) == ("conflict", "x", LATER)
        assert store.campaign_assignment_counts("x") == [
            ("a", False, "denied", 2),
            ("a", True, None, 1),
        ]
        row = next(r for r in store.list_campaigns() if r.campaign_id == "x")
        assert (row.status, row.version, row.launched_at) == ("live", 2, FIRST)
        assert store.set_campaign_status("x", "paused", at=LATER, actor="t")
        assert not store.set_campaign_status("nope", "paused", at=LATER, actor="t")


def test_delivery_counts_group_a_campaigns_deliveries_like_pandas(tmp_path: Path) -> None:
    import random
    from collections import Counter

    from cible.store.deliveries import NewDelivery, Outcome

    rng = random.Random(7)
    sources = ["campaign:x:a", "campaign:x:b", "campaign:xy:a", "automation:x", None]
    with Workspace.create(tmp_path / "shop") as ws:
        store = ws.store
        wanted = [
            NewDelivery(
                f"k{i}", "email", f"c{i}", "t@example.com", "{}", source=rng.choice(sources)
            )
            for i in range(200)
        ]
        store.enqueue_deliveries(wanted, at=FIRST)
        rows = store.list_deliveries(limit=1_000)
        outcomes = {
            r.delivery_id: rng.choice(
                [
                    None,
                    ("delivered", None),
                    ("failed", "boom"),
                    ("skipped", "withdrawn"),
                    ("skipped", "frequency_cap"),
                ]
            )
            for r in rows
        }
        store.record_deliveries(
            [Outcome(i, o[0], LATER, error=o[1]) for i, o in outcomes.items() if o is not None]
        )
        found = store.campaign_delivery_counts("x")
    expected: Counter[tuple[str, str, str | None]] = Counter()
    for r in rows:
        if r.source is not None and r.source.startswith("campaign:x:"):
            outcome = outcomes[r.delivery_id]
            status = "pending" if outcome is None else outcome[0]
            reason = outcome[1] if outcome is not None and status == "skipped" else None
            expected[(r.source.removeprefix("campaign:x:"), status, reason)] += 1
    # No customer was assigned: every delivery is outside any segment.
    assert {segment for _v, segment, _s, _r, _n in found} == {None}
    assert {(v, s, r): n for v, _segment, s, r, n in found} == dict(expected)
    assert sum(n for *_, n in found) < len(rows)  # campaign xy and automations left out
