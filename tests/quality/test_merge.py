"""Merging duplicate profiles: survivorship, consents, re-pointing, undo, atomicity.

The workspace is small and hand-made: too few shared e-mails to train the
probabilistic model, so groups come from the deterministic rules alone and every
expected value below is written by hand from the survivorship rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from cible import Workspace
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import CibleError
from cible.store import merges as store_merges

T = pd.Timestamp

CUSTOMERS = pd.DataFrame(
    [
        # A1 is the more complete (birth date, gender); A2 the more recent.
        (
            "A1",
            "anne@morel.fr",
            None,
            "Anne",
            "Morel",
            date(1980, 2, 3),
            "female",
            "75011",
            "Paris",
            "Île-de-France",
            "FR",
            T("2020-01-01"),
            T("2021-01-01"),
            1.5,
            '{"tags": ["a"]}',
        ),
        (
            "A2",
            "anne@morel.fr",
            "+33611223344",
            "Annie",
            "Morel",
            None,
            None,
            "69001",
            "Lyon",
            None,
            "FR",
            T("2022-01-01"),
            T("2023-06-01"),
            None,
            None,
        ),
        # Equally complete: the oldest, B9, survives.
        (
            "B1",
            "b1@ex.fr",
            "+33622334455",
            "Bruno",
            "Petit",
            date(1975, 5, 6),
            "male",
            "33000",
            "Bordeaux",
            "Nouvelle-Aquitaine",
            "FR",
            T("2021-03-01"),
            T("2021-03-01"),
            2.25,
            None,
        ),
        (
            "B9",
            "b9@ex.fr",
            "+33622334455",
            "Bruno",
            "Petit",
            date(1975, 5, 6),
            "male",
            "33000",
            "Bordeaux",
            "Nouvelle-Aquitaine",
            "FR",
            T("2019-03-01"),
            T("2020-03-01"),
            0.1,
            None,
        ),
        # Equally complete and as old: the smallest id, C1, survives.
        (
            "C2",
            "chloe@ex.fr",
            None,
            "Chloé",
            "Roux",
            None,
            None,
            None,
            None,
            None,
            None,
            T("2020-05-05"),
            T("2020-05-05"),
            None,
            None,
        ),
        (
            "C1",
            "chloe@ex.fr",
            None,
            "Chloé",
            "Roux",
            None,
            None,
            None,
            None,
            None,
            None,
            T("2020-05-05"),
            T("2020-05-05"),
            None,
            None,
        ),
        (
            "D1",
            "dan@ex.fr",
            "+33633445566",
            "Dan",
            "Faure",
            date(1990, 1, 1),
            "male",
            "59000",
            "Lille",
            "Hauts-de-France",
            "FR",
            T("2021-01-01"),
            T("2021-01-01"),
            None,
            None,
        ),
    ],
    columns=[
        "customer_id",
        "email",
        "phone",
        "first_name",
        "last_name",
        "birth_date",
        "gender",
        "postal_code",
        "city",
        "region",
        "country",
        "created_at",
        "updated_at",
        "score",
        "prefs",
    ],
)
ORDERS = pd.DataFrame(
    [
        ("O1", "A2", T("2023-01-01"), 10.0),
        ("O2", "A1", T("2023-02-01"), 20.0),
        ("O3", "B1", T("2023-03-01"), 30.0),
        ("O4", "D1", T("2023-04-01"), 40.0),
    ],
    columns=["order_id", "customer_id", "ordered_at", "amount"],
)
EVENTS = pd.DataFrame(
    [
        ("E1", "A2", None, "track", "viewed", '{"sku": "X1"}', T("2023-01-02")),
        ("E2", None, "anon-1", "page", None, None, T("2023-01-03")),
        ("E3", "B1", None, "track", "bought", '{"n": 2}', T("2023-01-04")),
    ],
    columns=[
        "message_id",
        "customer_id",
        "anonymous_id",
        "type",
        "event",
        "properties",
        "timestamp",
    ],
)
CONSENTS = pd.DataFrame(
    [
        # email/marketing: granted (newer) against denied (older): denied wins.
        ("A1", "email", "marketing", "granted", T("2021-01-01"), "web"),
        ("A2", "email", "marketing", "denied", T("2020-01-01"), "shop"),
        # sms/marketing: withdrawn beats denied.
        ("A1", "sms", "marketing", "withdrawn", T("2020-01-01"), "web"),
        ("A2", "sms", "marketing", "denied", T("2023-01-01"), "shop"),
        # post/marketing: only the merged profile has one; the survivor takes it.
        ("A2", "post", "marketing", "granted", T("2022-01-01"), "shop"),
        # email/profiling: both granted: the more recent row wins.
        ("A1", "email", "profiling", "granted", T("2020-01-01"), "web"),
        ("A2", "email", "profiling", "granted", T("2022-02-02"), "app"),
        ("D1", "email", "marketing", "granted", T("2021-01-01"), "web"),
        # ads/marketing: a ledger's history; A2 withdrew, then granted again: the
        # current state (granted) counts, not the past withdrawal. No source: NULL.
        ("A2", "ads", "marketing", "withdrawn", T("2019-01-01"), None),
        ("A2", "ads", "marketing", "granted", T("2021-03-01"), "app"),
    ],
    columns=["customer_id", "channel", "purpose", "status", "recorded_at", "source"],
)
CONFIG = {
    "attributes": {
        "score": {"type": "number", "category": "value"},
        "prefs": {"type": "json", "category": "psychographic"},
    }
}
KEYS = {
    "customers": ["customer_id"],
    "orders": ["order_id"],
    "order_lines": ["order_id", "line_number"],
    "products": ["product_id"],
    "events": ["message_id"],
    "consents": ["customer_id", "channel", "purpose", "status", "recorded_at", "source"],
}


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    config = WorkspaceConfig.model_validate(CONFIG)
    with Workspace.create(tmp_path / "ws", config=config) as workspace:
        for kind, frame in (
            ("customers", CUSTOMERS),
            ("orders", ORDERS),
            ("events", EVENTS),
            ("consents", CONSENTS),
        ):
            path = tmp_path / f"{kind}.parquet"
            frame.to_parquet(path)
            result = workspace.imports.load(kind, path)
            assert result.rejected == 0, workspace.imports.rejects().to_pandas()
        yield workspace


def snapshot(ws: Workspace) -> dict[str, pd.DataFrame]:
    """Every canonical table, sorted by its key."""
    tables = {}
    for name, key in KEYS.items():
        frame = ws.table(name).to_pandas()
        tables[name] = frame.sort_values(key, ignore_index=True)
    return tables


def customer(ws: Workspace, customer_id: str) -> dict[str, object]:
    t = ws.table("customers")
    found = t.filter(t.customer_id == customer_id).to_pyarrow().to_pylist()
    assert len(found) == 1, found
    return found[0]


def test_dry_run_proposes_the_groups_and_writes_nothing(ws: Workspace):
    before = snapshot(ws)
    result = ws.quality.dedupe(dry_run=True)
    assert not result.model_trained
    proposed = {r.surviving_id: (r.merged_ids, r.match_rule) for r in result.merges.itertuples()}
    assert proposed == {
        "A1": (["A2"], "deterministic-email"),
        "B9": (["B1"], "deterministic-phone"),
        "C1": (["C2"], "deterministic-email"),
    }
    assert result.merges["merge_id"].isna().all()
    assert result.merges.loc[0, "names"] == {"A1": "Anne Morel", "A2": "Annie Morel"}
    for name, frame in snapshot(ws).items():
        pd.testing.assert_frame_equal(frame, before[name])
    assert ws.table("merges").count().execute() == 0


def test_golden_record_follows_the_survivorship_rules(ws: Workspace):
    result = ws.quality.dedupe()
    assert result.merges["merge_id"].tolist() == [1, 2, 3]
    assert ws.counts()["customers"] == 4
    anne = customer(ws, "A1")
    # Most recent non-empty value per field; names and address from one profile.
    assert (anne["first_name"], anne["last_name"]) == ("Annie", "Morel")
    assert (anne["postal_code"], anne["city"], anne["region"]) == ("69001", "Lyon", None)
    assert anne["phone"] == "+33611223344"
    assert anne["birth_date"] == date(1980, 2, 3) and anne["gender"] == "female"
    assert anne["score"] == 1.5 and anne["prefs"] == '{"tags": ["a"]}'
    assert anne["created_at"] == datetime(2020, 1, 1)
    merged_at = ws.table("merges").created_at.max().execute()
    assert anne["updated_at"] == merged_at
    bruno = customer(ws, "B9")
    # Same updated_at order: B1 is the more recent, so its values win.
    assert (bruno["email"], bruno["score"]) == ("b1@ex.fr", 2.25)
    assert bruno["created_at"] == datetime(2019, 3, 1)
    assert customer(ws, "C1")["first_name"] == "Chloé"
    assert customer(ws, "D1")["updated_at"] == datetime(2021, 1, 1)


def test_orders_and_events_are_repointed_to_the_surviving_id(ws: Workspace):
    ws.quality.dedupe()
    orders = {r["order_id"]: r["customer_id"] for r in ws.table("orders").to_pyarrow().to_pylist()}
    assert orders == {"O1": "A1", "O2": "A1", "O3": "B9", "O4": "D1"}
    events = {
        r["message_id"]: r["customer_id"] for r in ws.table("events").to_pyarrow().to_pylist()
    }
    assert events == {"E1": "A1", "E2": None, "E3": "B9"}


def test_the_strictest_consent_wins(ws: Workspace):
    ws.quality.dedupe()
    t = ws.table("consents")
    kept = t.filter(t.customer_id == "A1").order_by(["channel", "purpose"]).to_pandas()
    got = [tuple(r) for r in kept[["channel", "purpose", "status", "source"]].to_numpy()]
    assert got == [
        ("ads", "marketing", "granted", "app"),
        ("email", "marketing", "denied", "shop"),
        ("email", "profiling", "granted", "app"),
        ("post", "marketing", "granted", "shop"),
        ("sms", "marketing", "withdrawn", "web"),
    ]
    assert t.filter(t.customer_id == "A2").count().execute() == 0
    assert t.count().execute() == 6


def test_every_source_row_is_kept_as_a_before_image(ws: Workspace):
    ws.quality.dedupe()
    images = ws.table("merge_rows").to_pandas()
    by_action = images.groupby(["table_name", "action"]).size().to_dict()
    assert by_action == {
        ("customers", "merged"): 3,
        ("customers", "survived"): 3,
        ("orders", "repointed"): 2,
        ("events", "repointed"): 2,
        ("consents", "replaced"): 9,
    }
    row = images[images["row_key"] == "A2"].iloc[0]
    assert row["merge_id"] == 1 and row["row_data"]["first_name"] == "Annie"


def test_undo_restores_every_table_exactly(ws: Workspace):
    before = snapshot(ws)
    result = ws.quality.dedupe()
    for merge_id in sorted(result.merges["merge_id"], reverse=True):
        ws.quality.undo_merge(int(merge_id))
    after = snapshot(ws)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame, check_exact=True)
    log = ws.table("merges").to_pandas()
    assert (log["status"] == "undone").all() and log["undone_at"].notna().all()


def test_undo_waits_for_later_merges_of_the_same_customers(ws: Workspace, tmp_path: Path):
    before = snapshot(ws)
    ws.quality.dedupe()
    # A new profile of Anne arrives, and a second dedupe folds it into A1.
    extra = CUSTOMERS[CUSTOMERS["customer_id"] == "A2"].assign(customer_id="A3")
    extra.to_parquet(tmp_path / "more.parquet")
    ws.imports.load("customers", tmp_path / "more.parquet")
    second = ws.quality.dedupe()
    assert second.merges[["merge_id", "surviving_id"]].values.tolist() == [[4, "A1"]]
    with pytest.raises(CibleError, match="undo merge 4 first"):
        ws.quality.undo_merge(1)
    ws.quality.undo_merge(4)
    ws.quality.undo_merge(1)
    ws.quality.undo_merge(2)
    ws.quality.undo_merge(3)
    after = snapshot(ws)
    assert sorted(after["customers"]["customer_id"]) == [
        "A1",
        "A2",
        "A3",
        "B1",
        "B9",
        "C1",
        "C2",
        "D1",
    ]
    for name in ("orders", "events", "consents"):
        pd.testing.assert_frame_equal(after[name], before[name])


def test_undo_errors_name_the_merge(ws: Workspace):
    with pytest.raises(CibleError, match="There is no merge 7 in this workspace"):
        ws.quality.undo_merge(7)
    ws.quality.dedupe()
    ws.quality.undo_merge(3)
    with pytest.raises(CibleError, match="Merge 3 was already undone on"):
        ws.quality.undo_merge(3)


def test_a_failure_mid_merge_leaves_the_workspace_unchanged(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
):
    before = snapshot(ws)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    # Fails after the log, the before-images, the re-pointing and the consents.
    monkeypatch.setattr(store_merges, "_replace_customers", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        ws.quality.dedupe()
    for name, frame in snapshot(ws).items():
        pd.testing.assert_frame_equal(frame, before[name])
    assert ws.table("merges").count().execute() == 0
    assert ws.table("merge_rows").count().execute() == 0


def test_nothing_to_merge(workspace: Workspace, tmp_path: Path):
    CUSTOMERS[CUSTOMERS["customer_id"] == "D1"].to_parquet(tmp_path / "one.parquet")
    workspace.imports.load("customers", tmp_path / "one.parquet")
    result = workspace.quality.dedupe()
    assert result.merges.empty and result.merged_profiles == 0
    assert result.as_dict()["applied"] == []
