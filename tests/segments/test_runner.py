"""Runs end to end: traits stored, segments evaluated, history kept, dimensions exclusive."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from cible import Workspace
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import CibleError
from cible.segments.definition import SegmentDefinitionError
from cible.store import runs

CUSTOMERS = "customer_id,email,city\nA,a@x.fr,Lyon\nB,b@x.fr,Paris\nC,c@x.fr,Lyon\nP,p@x.fr,Nice\n"
ORDERS = (
    "order_id,customer_id,ordered_at,amount\n"
    "1,A,2024-01-05,600\n2,A,2024-03-01,400\n3,B,2024-01-10,50\n4,C,2024-05-20,80\n"
    "5,B,2024-06-15,70\n"
)
EVENTS = (
    "message_id,customer_id,event,properties,timestamp\n"
    'e1,C,product_viewed,"{""category"": ""jeux""}",2024-05-10\n'
    'e2,C,product_viewed,"{""category"": ""jeux""}",2024-05-11\n'
    'e3,A,product_viewed,"{""category"": ""mode""}",2024-05-12\n'
)
BIG_SPENDERS = """
id: big-spenders
name: {en: Big spenders, fr: Gros acheteurs}
dimension: value
priority: 10
description: {en: Spent 500 or more., fr: Ont dépensé 500 ou plus.}
where: {trait: monetary_value, op: ">=", value: 500}
"""
BUYERS = """
id: buyers
name: Buyers
dimension: value
priority: 1
where: {trait: frequency, op: ">=", value: 1}
"""
GAMERS = """
id: lyon-gamers
name: Lyon gamers
where:
  all:
    - {attribute: city, op: "=", value: Lyon}
    - {event: product_viewed, where: {property: category, op: "=", value: jeux},
       count: {op: ">=", value: 2}, within_days: 30}
    - not: {in_segment: big-spenders}
"""


@pytest.fixture
def shop(tmp_path: Path) -> Workspace:
    ws = Workspace.create(tmp_path / "shop")
    for kind, text in (("customers", CUSTOMERS), ("orders", ORDERS), ("events", EVENTS)):
        (tmp_path / f"{kind}.csv").write_text(text)
        ws.imports.load(kind, tmp_path / f"{kind}.csv")
    for text in (BIG_SPENDERS, BUYERS, GAMERS):
        ws.segments.add(text)
    return ws


def _members(ws: Workspace, segment_id: str) -> list[str]:
    return sorted(ws.segments.members(segment_id).customer_id.to_pyarrow().to_pylist())


def test_run_evaluates_rules_dimensions_and_dependencies(shop: Workspace):
    record = shop.run(as_of=datetime(2024, 6, 1))
    assert record.customers == 4
    assert _members(shop, "big-spenders") == ["A"]
    # Exclusive dimension: A is a buyer too, but the higher priority keeps it out.
    assert _members(shop, "buyers") == ["B", "C"]
    assert _members(shop, "lyon-gamers") == ["C"]
    assert _members(shop, "lifecycle-prospect") == ["P"]
    traits = shop.traits().to_pandas().set_index("customer_id")
    assert traits.loc["A", "monetary_value"] == 1000
    assert traits.loc["P", "lifecycle_stage"] == "prospect"
    shop.close()


def test_history_records_entries_and_exits(shop: Workspace):
    shop.run(as_of=datetime(2024, 6, 1))
    second = shop.run(as_of=datetime(2024, 7, 1))
    # By July, C's product views fall out of the 30-day window: C leaves the gamers.
    assert second.exited >= 1
    history = shop.table("segment_memberships")
    gamers = history.filter(history.segment_id == "lyon-gamers").to_pyarrow().to_pylist()
    assert [(g["customer_id"], g["entered_run"], g["exited_run"]) for g in gamers] == [("C", 1, 2)]
    assert _members(shop, "lyon-gamers") == []
    third = shop.run(as_of=datetime(2024, 7, 1))
    assert (third.entered, third.exited) == (0, 0)
    shop.close()


def test_definition_errors_name_the_path(shop: Workspace):
    with pytest.raises(
        SegmentDefinitionError, match=r"where\.trait: unknown trait 'monetry_value'"
    ):
        shop.segments.add("id: x\nname: X\nwhere: {trait: monetry_value, op: '>', value: 1}\n")
    with pytest.raises(CibleError, match="built-in"):
        shop.segments.add("id: rfm-lost\nname: X\nwhere: {trait: frequency, op: '>', value: 1}\n")
    shop.close()


def test_report_is_self_contained_in_both_languages(shop: Workspace):
    shop.run(as_of=datetime(2024, 6, 1))
    english, french = shop.report("en"), shop.report("fr")
    assert "Big spenders" in english and "Gros acheteurs" in french
    assert "Cycle de vie" in french and "RFM grid" in english
    for page in (english, french):
        assert "<script" not in page and "http://" not in page and "https://" not in page
    shop.close()


def test_members_before_any_run(tmp_path: Path):
    with Workspace.create(tmp_path / "empty") as ws, pytest.raises(CibleError, match="No run yet"):
        ws.segments.members("rfm-lost")


def test_long_lists_run_as_literal_tables(shop: Workspace):
    # Issue 11: lists longer than LIST_TABLE_MIN are held in literal tables, which the
    # run registers before it stores each segment's members.
    cities = ["Lyon", *(f"Ville {i}" for i in range(999))]
    shop.segments.add(
        {
            "id": "not-lyon",
            "name": "Not Lyon",
            "where": {
                "all": [
                    {"attribute": "city", "op": "not_in", "value": cities},
                    {"trait": "monetary_value", "op": "in", "value": [120.0, *range(1, 200)]},
                ]
            },
        }
    )
    shop.run(as_of=datetime(2024, 6, 1))
    assert _members(shop, "not-lyon") == ["B"]
    shop.close()


def test_a_stored_definition_over_the_limits_names_its_segment(shop: Workspace):
    values = [{"trait": "monetary_value", "op": "in", "value": list(range(1000))}] * 11
    definition = {"id": "huge", "name": "Huge", "where": {"all": values}}
    runs.save_segment(
        shop.store.connection,
        segment_id="huge",
        kind="rule",
        dimension=None,
        priority=0,
        definition=json.dumps(definition),
        now=datetime(2024, 1, 1),
    )
    with pytest.raises(
        SegmentDefinitionError,
        match=r"^Stored segment 'huge' is no longer valid; .*`cible segments remove huge`:\n"
        r"where\.all\[10\]\.value: too many values: .* at most 10000 values in all, this one "
        r"holds 11000$",
    ):
        shop.run(as_of=datetime(2024, 6, 1))
    shop.close()


def test_a_definition_file_that_is_not_utf8_names_the_file_and_line(
    shop: Workspace, tmp_path: Path
):
    path = tmp_path / "latin.yaml"
    path.write_bytes(b'id: a\nname: "Soci\xe9t\xe9"\nwhere: {consent: email}\n')
    with pytest.raises(CibleError) as caught:
        shop.segments.add(path)
    assert str(caught.value) == (
        f"{path}: line 2 is not UTF-8 text (byte 0xe9); save the file as UTF-8."
    )
    shop.close()


def test_an_aware_as_of_beyond_the_calendar_in_utc_is_refused(shop: Workspace):
    edge = datetime.fromisoformat("0001-01-01T00:00:00+05:00")
    with pytest.raises(CibleError, match=r"^as_of 0001-01-01T00:00:00\+05:00 falls outside years"):
        shop.run(as_of=edge)
    shop.close()


def test_a_flagged_product_category_reaches_no_trait_rule_or_record(tmp_path: Path):
    # A pharmacy purchase reveals health: flagged in [privacy], it must not show as
    # anyone's top category, nor be named by a rule, and the record lists it.
    config = WorkspaceConfig.model_validate(
        {"privacy": {"special_categories": {"Pharmacy": {"reveals": "health"}}}}
    )
    files = {
        "customers": "customer_id,email\nA,a@x.fr\nB,b@x.fr\n",
        "orders": "order_id,customer_id,ordered_at,amount\n1,A,2024-01-05,90\n2,B,2024-02-01,20\n",
        "products": "product_id,name,category\nrx,Remède,pharmacy\nbk,Roman,books\n",
        "order-lines": "order_id,product_id,quantity,unit_price\n1,rx,1,80\n1,bk,1,10\n2,rx,1,20\n",
    }
    with Workspace.create(tmp_path / "shop", config=config) as ws:
        for kind, text in files.items():
            (tmp_path / f"{kind}.csv").write_text(text)
            ws.imports.load(kind, tmp_path / f"{kind}.csv")
        ws.run(as_of=datetime(2024, 6, 1))
        traits = ws.traits().order_by("customer_id").to_pandas().set_index("customer_id")
        assert traits.loc["A", "top_category"] == "books"
        # The pharmacy spend still counts in the total: books are 10 of 90.
        assert traits.loc["A", "top_category_share"] == pytest.approx(10 / 90)
        assert traits.loc["A", "category_count"] == 1
        assert traits.loc["B", "category_count"] == 0
        assert pd.isna(traits.loc["B", "top_category"])
        with pytest.raises(SegmentDefinitionError, match="special-category data \\(health\\)"):
            ws.segments.add(
                "id: rx\nname: Rx\nwhere: {trait: top_category, op: '=', value: Pharmacy}\n"
            )
        special = ws.privacy_access.record()["special_fields"]
        assert {
            "table": "products",
            "field": "category = pharmacy (health)",
            "legal_basis": None,
        } in special


def _open_segments(ws: Workspace, customer: str) -> set[str]:
    history = ws.table("segment_memberships")
    rows = history.filter(history.customer_id == customer, history.exited_at.isnull())
    return set(rows.segment_id.to_pyarrow().to_pylist())


def test_a_run_or_snapshot_dated_before_an_objection_still_applies_it(shop: Workspace):
    # The data describe 2024, the objection is recorded today: it governs every
    # processing done from today on, a replay of a past moment included.
    shop.run(as_of=datetime(2024, 7, 1))
    assert "big-spenders" in _open_segments(shop, "A")
    shop.objection.object("A")
    assert _open_segments(shop, "A") == set()
    shop.run(as_of=datetime(2024, 8, 1))
    assert _open_segments(shop, "A") == set()
    assert "B" in _members(shop, "buyers")
    traits = shop.store.table(runs.TRAITS)
    row = traits.filter(traits.customer_id == "A").to_pyarrow().to_pylist()[0]
    assert row["rfm_segment"] is None and row["monetary_value"] == 1000
    snapshot = shop.snapshots.take(as_of=datetime(2024, 4, 1))
    members = shop.snapshots.members(snapshot.snapshot_id).to_pyarrow().to_pylist()
    assert members and "A" not in {r["customer_id"] for r in members}
    # A withdrawn objection lets the next run, dated in the past too, profile them again.
    shop.objection.unobject("A")
    shop.run(as_of=datetime(2024, 8, 1))
    assert "big-spenders" in _open_segments(shop, "A")


def test_objectors_get_no_churn_score_computed(
    shop: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cible.segments import runner

    scored: list[list[str]] = []

    def spy(store, traits):  # type: ignore[no-untyped-def]
        found = real(store, traits)
        scored.append(sorted(found.customer_id.to_pyarrow().to_pylist()))
        return found

    real = runner.churn_scores
    monkeypatch.setattr(runner, "churn_scores", spy)
    shop.objection.object("B")
    shop.run(as_of=datetime(2024, 7, 1))
    assert scored == [["A", "C", "P"]]
    traits = shop.store.table(runs.TRAITS)
    assert sorted(traits.customer_id.to_pyarrow().to_pylist()) == ["A", "B", "C", "P"]
