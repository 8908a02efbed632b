"""``ws.campaigns``: launch assigns arms with consent, conflicts are found and resolved."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cible import Workspace
from cible.activation.campaign_assignment import assign_arms
from cible.activation.campaign_definition import CampaignError
from cible.domain.clock import utc_now
from tests.activation.conftest import make_shop

# Consents imported by the tests are recorded now: campaigns run around today.
NOW = utc_now()
START, END = (NOW - timedelta(days=4)).date(), (NOW + timedelta(days=26)).date()
LATER = (NOW + timedelta(days=40)).date()


def _campaign(id: str, offer: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    variant = {"id": "offer", "share": 0.5, "message": "crm:spring"}
    data: dict[str, Any] = {
        "id": id,
        "segments": ["lifecycle-new"],
        "channel": "email",
        "variants": [variant | ({"offer": offer} if offer else {})],
        "holdout": 0.5,
        "start": START.isoformat(),
        "end": END.isoformat(),
    }
    return data | changes


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return make_shop(tmp_path)


def test_launch_assigns_every_targeted_customer_and_excludes_without_consent(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.campaigns.add(_campaign("spring"), now=NOW)
        launched = ws.campaigns.launch("spring")
        assert launched["targeted"] == 4 and launched["eligible"] == 2
        assert launched["excluded"] == {"no_consent": 1, "withdrawn": 1}
        seen = ws.campaigns.assignments("spring", customer_id="b")
        assert seen["customer"]["reason"] == "withdrawn" and not seen["customer"]["eligible"]
        rows = ws.store.campaign_assignments("spring")
        expected = assign_arms("spring", ["a", "b", "c", "d"], [("offer", 0.5), ("holdout", 0.5)])
        assert [r.arm for r in rows] == expected
        arms = ws.campaigns.assignments("spring")["arms"]
        assert sum(a["eligible"] for a in arms) == 2 and sum(a["excluded"] for a in arms) == 2
        assert ws.campaigns.get("spring")["status"] == "live"
        assert ws.campaigns.assignments("spring", customer_id="zz")["customer"] is None


def test_existing_customers_keep_arm_and_date_when_the_segment_grows(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    with Workspace.create(folder / "shop") as ws:
        (folder / "c1.csv").write_text("customer_id\n" + "\n".join(f"p{i}" for i in range(300)))
        ws.imports.load("customers", folder / "c1.csv")
        ws.run(as_of=NOW)
        ws.campaigns.add(_campaign("hello", segments=["lifecycle-prospect"]), now=NOW)
        first = utc_now()
        ws.campaigns.launch("hello", now=first)
        before = {r.customer_id: r for r in ws.store.campaign_assignments("hello")}
        (folder / "c2.csv").write_text(
            "customer_id\n" + "\n".join(f"p{i}" for i in range(300, 600))
        )
        ws.imports.load("customers", folder / "c2.csv")
        ws.run(as_of=NOW)
        later = utc_now() + timedelta(seconds=1)
        ws.campaigns.launch("hello", now=later)
        after = {r.customer_id: r for r in ws.store.campaign_assignments("hello")}
    assert len(before) == 300 and len(after) == 600
    assert all(after[c].arm == row.arm for c, row in before.items())
    assert all(after[c].assigned_at == first for c in before)
    assert {after[f"p{i}"].assigned_at for i in range(300, 600)} == {later}
    assert {r.arm for r in after.values()} == {"offer", "holdout"}


def test_conflicting_offers_are_flagged_before_launch_and_resolved_by_priority(
    shop: Path,
) -> None:
    full = {"kind": "full_price", "category": "shoes"}
    with Workspace.open(shop) as ws:
        ws.campaigns.add(_campaign("full", full, priority=1), now=NOW)
        ws.campaigns.add(_campaign("sale", {"kind": "discount", "value": 30}, priority=5), now=NOW)
        ws.campaigns.add(
            _campaign("bags", {"kind": "discount", "value": 10, "category": "bags"}, priority=0),
            now=NOW,
        )
        ws.campaigns.add(
            _campaign(
                "april",
                {"kind": "discount", "value": 50},
                start=LATER.isoformat(),
                end=LATER.isoformat(),
            ),
            now=NOW,
        )
        found = ws.campaigns.conflicts()
        assert [(c.campaigns, c.category, c.customers, c.keeps) for c in found] == [
            (("bags", "sale"), "bags", 2, "sale"),
            (("full", "sale"), "shoes", 2, "sale"),
        ]
        ws.campaigns.launch("full")  # no other campaign is live yet
        with pytest.raises(
            CampaignError,
            match=r"conflicts with 'full' on shoes .*2 customers.*"
            r"--resolve-by-priority to keep them in 'sale' \(priority 5\)",
        ):
            ws.campaigns.launch("sale")
        assert ws.campaigns.get("sale")["status"] == "draft"
        launched = ws.campaigns.launch("sale", resolve_by_priority=True)
        assert launched["moved"] == {"full": 2} and launched["eligible"] == 2
        lost = ws.campaigns.assignments("full", customer_id="a")["customer"]
        assert (lost["eligible"], lost["reason"], lost["conflict_with"]) == (
            False,
            "conflict",
            "sale",
        )
        assert ws.campaigns.assignments("full")["excluded"] == {
            "no_consent": 1,
            "withdrawn": 1,
            "conflict": 2,
        }
        # The lower-priority campaign launched later loses the customers it shares.
        launched = ws.campaigns.launch("bags", resolve_by_priority=True)
        assert launched["excluded"]["conflict"] == 2 and launched["eligible"] == 0
        # Resolved conflicts are gone; campaigns apart in dates never met.
        assert ws.campaigns.conflicts() == []
        assert ws.campaigns.launch("april", now=NOW + timedelta(days=40))["eligible"] == 2


def test_equal_priorities_are_refused_even_when_resolving(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.campaigns.add(_campaign("one", {"kind": "discount", "value": 20}), now=NOW)
        ws.campaigns.add(_campaign("two", {"kind": "discount", "value": 30}), now=NOW)
        ws.campaigns.launch("one")
        with pytest.raises(CampaignError, match="both have priority 0; give one a higher priority"):
            ws.campaigns.launch("two", resolve_by_priority=True)


def test_definitions_are_checked_against_the_workspace(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        with pytest.raises(
            CampaignError,
            match=r"segments\[0\]: unknown segment 'lifecycle-nw'"
            r" \(did you mean 'lifecycle-new'\?\)",
        ):
            ws.campaigns.add(_campaign("x", segments=["lifecycle-nw"]))
        bad = _campaign("x", variants=[{"id": "v", "share": 0.5, "template": "nope"}])
        with pytest.raises(CampaignError, match=r"variants\[0\]\.template: unknown template"):
            ws.campaigns.validate(bad)
        with pytest.raises(CampaignError, match=r"^status: campaign 'x' is draft"):
            ws.campaigns.add(_campaign("x", status="live"))
        assert ws.campaigns.add(_campaign("x"), now=NOW)["version"] == 1
        assert ws.campaigns.add(_campaign("x", priority=2), now=NOW)["version"] == 2
        ws.campaigns.launch("x")
        with pytest.raises(CampaignError, match=r"^variants: campaign 'x' has been launched"):
            ws.campaigns.add(
                _campaign(
                    "x", holdout=0.4, variants=[{"id": "offer", "share": 0.6, "message": "m"}]
                )
            )
        assert ws.campaigns.pause("x")["status"] == "paused"
        with pytest.raises(CampaignError, match="only a live campaign pauses"):
            ws.campaigns.pause("x")
        assert ws.campaigns.end("x")["status"] == "ended"
        with pytest.raises(CampaignError, match="has ended"):
            ws.campaigns.launch("x")
        with pytest.raises(CampaignError, match="No campaign 'y'"):
            ws.campaigns.get("y")
        assert [c["id"] for c in ws.campaigns.list()] == ["x"]


def test_each_customer_is_kept_with_the_first_target_segment_they_are_in(shop: Path) -> None:
    # The analysis is made per segment: a customer in two target segments counts in the
    # first one the definition names, and keeps it when launched again.
    with Workspace.open(shop) as ws:
        first, second = "lifecycle-new", "rfm-hibernating"
        members = {
            s: set(ws.segments.members(s).to_pyarrow().column("customer_id").to_pylist())
            for s in (first, second)
        }
        ws.campaigns.add(_campaign("both", segments=[second, first]), now=NOW)
        ws.campaigns.launch("both")
        ws.campaigns.launch("both", now=utc_now() + timedelta(seconds=1))
        rows = {r.customer_id: r.segment_id for r in ws.store.campaign_assignments("both")}
    assert members[second] and members[first] - members[second]
    assert set(rows) == members[first] | members[second]
    assert all(rows[c] == second for c in members[second])
    assert all(rows[c] == first for c in members[first] - members[second])
