"""Drift checks on a simulation with known truth: a steady shop, and the same shop where
one group buys half as often in the last quarter."""

from __future__ import annotations

import json
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w

from cible import Workspace
from cible.domain.errors import CibleError

pytestmark = pytest.mark.slow

END = datetime(2026, 1, 1)
START = datetime(2023, 1, 1)
MOMENTS = [
    datetime(2024, 10, 1),
    datetime(2025, 1, 1),
    datetime(2025, 4, 1),
    datetime(2025, 7, 1),
    datetime(2025, 10, 1),
    END,
]
#: Group -> (customers, orders per year, mean amount).
GROUPS = {"regular": (900, 18.0, 60.0), "occasional": (900, 4.0, 80.0), "rare": (900, 1.0, 150.0)}
#: A rule segment reading the recent purchases, so that they feed something.
ACTIVE = "id: active\nname: Active\nwhere:\n  trait: orders_90d\n  op: '>='\n  value: 2\n"


def _shop(folder: Path, *, planted: bool) -> Path:
    """Customers buying as Poisson processes at their group's rate, the same every
    quarter; with ``planted``, the regulars keep half their orders of the last 91 days."""
    rng = np.random.default_rng(7)
    span = (END - START).total_seconds()
    since = (END - timedelta(days=91) - START).total_seconds()
    customers, orders, truth = (
        ["customer_id,email,created_at"],
        ["order_id,customer_id,ordered_at,amount"],
        {},
    )
    number = 0
    for group, (size, per_year, amount) in GROUPS.items():
        for i in range(size):
            cid = f"{group[:3]}{i:04d}"
            truth[cid] = group
            customers.append(f"{cid},{cid}@example.com,{START:%Y-%m-%d}")
            count = rng.poisson(per_year * span / (365.25 * 86_400))
            times = np.sort(rng.random(count) * span)
            amounts = rng.gamma(4.0, amount / 4.0, count)
            # The same draws with and without the plant: only the thinning differs.
            keep = rng.random(count) >= 0.5
            for at, value, kept in zip(times, amounts, keep, strict=True):
                if planted and group == "regular" and at >= since and not kept:
                    continue
                number += 1
                moment = START + timedelta(seconds=float(at))
                orders.append(f"o{number},{cid},{moment:%Y-%m-%dT%H:%M:%S},{value:.2f}")
    folder.mkdir(parents=True)
    (folder / "customers.csv").write_text("\n".join(customers) + "\n")
    (folder / "orders.csv").write_text("\n".join(orders) + "\n")
    (folder / "active.yaml").write_text(ACTIVE)
    (folder / "truth.json").write_text(json.dumps(truth))
    with Workspace.create(folder / "shop") as ws:
        ws.imports.load("customers", folder / "customers.csv")
        ws.imports.load("orders", folder / "orders.csv")
        ws.segments.add(folder / "active.yaml")
        ws.run(as_of=END)
        for moment in MOMENTS:
            ws.snapshots.take(moment)
        ws.models.train_churn()
    return folder / "shop"


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("monitoring")
    return {
        "steady": _shop(root / "steady", planted=False),
        "planted": _shop(root / "planted", planted=True),
    }


def _regular_share(shop: Path, moments: list[datetime]) -> dict[str, float]:
    """Each segment's largest share of regulars (the planted group) at ``moments``."""
    truth = json.loads((shop.parent / "truth.json").read_text())
    shares: dict[str, float] = {}
    with Workspace.open(shop, read_only=True) as ws:
        for moment in moments:
            kept = ws.snapshots.at(moment)
            assert kept is not None
            members = ws.snapshots.members(kept.snapshot_id).to_pandas()
            members["regular"] = members.customer_id.map(truth) == "regular"
            for segment, share in members.groupby("segment_id").regular.mean().items():
                shares[str(segment)] = max(shares.get(str(segment), 0.0), float(share))
    return shares


def test_a_steady_shop_raises_no_alert(shops: dict[str, Path]):
    with Workspace.open(shops["steady"]) as ws:
        check = ws.monitoring.check()
    assert (check.reference_as_of, check.as_of) == (datetime(2025, 10, 1), END)
    assert len(check.baseline) == 4
    assert [a.subject for a in check.alerts] == []
    # The churn model, trained on the same steady history, still holds.
    (model,) = check.models
    assert not model["obsolete"] and not model["recalibrate"]
    assert 0.9 < model["observed_over_expected"] < 1.1
    # Every segment's monthly size and KPIs were tested for a change point; none moved.
    trends = [t for row in check.segments for t in row["trends"].values() if t is not None]
    assert trends and not any(t["flagged"] and t["index"] == t["points"] - 1 for t in trends)


def test_the_planted_change_alerts_for_what_it_changed_and_nothing_else(
    shops: dict[str, Path],
):
    with Workspace.open(shops["planted"]) as ws:
        check = ws.monitoring.check()
    traits = {a.subject for a in check.alerts if a.kind == "trait"}
    segments = {a.subject for a in check.alerts if a.kind == "segment"}
    # The regulars buy half as often: their recent purchases and their recency move.
    assert "orders_90d" in traits
    assert traits <= {
        "orders_90d",
        "recency_days",
        "probability_alive",
        "expected_orders_90d",
        "clv_12m",
        "frequency",
        "monetary_value",
        "last_gap_days",
        "mean_days_between_orders",
    }
    # Segments alert where the regulars are (a fifth of the members or more, then or
    # now), and in the RFM dimension: its scores are ranks among all customers, so a
    # third of the base buying less moves its boundaries for everyone.
    share = _regular_share(shops["planted"], [check.reference_as_of, check.as_of])
    unaffected = {s for s in segments if share.get(s, 0.0) < 0.2 and not s.startswith("rfm-")}
    assert segments and not unaffected, {s: share.get(s) for s in segments}
    assert {"active", "lifecycle-at-risk", "lifecycle-lapsed"} <= segments
    # The regulars now churn more than the model, trained before, expects.
    (model,) = check.models
    assert ("model", "churn") in {(a.kind, a.subject) for a in check.alerts}
    assert model["recalibrate"] or model["obsolete"]
    assert model["observed_over_expected"] > 1
    for alert in check.alerts:
        assert alert.what["en"] and alert.what["fr"] and alert.action["fr"]


def test_a_recorded_check_is_kept_and_its_alerts_audited(shops: dict[str, Path]):
    with Workspace.open(shops["planted"]) as ws:
        check = ws.monitoring.check(actor="analyst")
        kept = ws.monitoring.history(limit=1)[0]
        audited = [e for e in ws.audit_log.entries(limit=500) if e.action == "drift.alert"]
    assert kept["check_id"] == check.check_id and kept["actor"] == "analyst"
    assert len(kept["alerts"]) == len(check.alerts) > 0
    assert {e.target for e in audited} >= {f"{a.kind}:{a.subject}" for a in check.alerts}


def test_a_check_without_a_reference_says_how_to_get_one(tmp_path: Path):
    with Workspace.create(tmp_path / "w") as ws:
        with pytest.raises(CibleError, match="cible snapshots backfill"):
            ws.monitoring.check()
        ws.run(as_of=datetime(2025, 1, 1), snapshot=True)
        with pytest.raises(CibleError, match="No snapshot about 90 days before"):
            ws.monitoring.check()
        assert ws.monitoring.check_latest()["checked"] is False


def test_trait_sizes_and_history_agree_with_pandas(shops: dict[str, Path]):
    with Workspace.open(shops["planted"]) as ws:
        check = ws.monitoring.check(record=False)
        then, now = ws.snapshots.at(check.reference_as_of), ws.snapshots.at(check.as_of)
        assert then is not None and now is not None
        before = ws.snapshots.members(then.snapshot_id).to_pandas()
        after = ws.snapshots.members(now.snapshot_id).to_pandas()
    for row in check.segments:
        assert row["size_then"] == int((before.segment_id == row["segment_id"]).sum())
        assert row["size_now"] == int((after.segment_id == row["segment_id"]).sum())
    assert pd.Series([r["trait"] for r in check.traits]).is_unique


def test_alerts_go_to_the_webhook_and_the_e_mails_of_the_drift_section(
    shops: dict[str, Path],
):
    shop = shops["planted"]
    settings = tomllib.loads((shop / "cible.toml").read_text())
    settings["webhooks"] = {
        "ops": {"url": "https://ops.example.com/hook", "secret_env": "OPS_SECRET", "format": "chat"}
    }
    # Checks made by the tests above kept these alerts as sent (to nobody): without
    # repeat_days they go out again now.
    settings["drift"] = {"webhook": "ops", "emails": ["data-team@example.com"], "repeat_days": 0}
    (shop / "cible.toml").write_text(tomli_w.dumps(settings))
    with Workspace.open(shop) as ws:
        check = ws.monitoring.check()
        sent = ws.deliveries.list(kind="notify")
    mine = [d for d in sent if f"drift:{check.check_id}:" in d.idempotency_key]
    assert len(mine) == 2 * len(check.alerts)
    hooks = [d for d in mine if d.target == "ops"]
    mails = [d for d in mine if d.target == "data-team@example.com"]
    assert len(hooks) == len(mails) == len(check.alerts)
    texts = {json.loads(d.payload)["text"] for d in hooks}
    assert texts == {a.what["en"] for a in check.alerts}
    assert {json.loads(d.payload)["type"] for d in hooks} == {"cible.drift_alert"}
    for alert in check.alerts:
        key = f"drift:{check.check_id}:{alert.kind}:{alert.subject}:data-team@example.com"
        mail = json.loads(next(d for d in mails if d.idempotency_key == key).payload)
        assert alert.what["fr"] in mail["text"] and alert.action["en"] in mail["text"]
    # No customer's data leaves: no consent to check, no customer named.
    assert all(d.customer_id is None for d in mine)

    # The same alerts a day later are kept and audited, not sent again for 7 days.
    del settings["drift"]["repeat_days"]
    (shop / "cible.toml").write_text(tomli_w.dumps(settings))
    with Workspace.open(shop) as ws:
        again = ws.monitoring.check()
        after = ws.deliveries.list(kind="notify")
        audited = [e for e in ws.audit_log.entries(limit=1000) if e.action == "drift.alert"]
    assert again.alerts and not any(a.sent for a in again.alerts)
    assert len(after) == len(sent)
    assert sum(e.detail["check_id"] == again.check_id for e in audited) == len(again.alerts)
