"""Tags: naming convention, ledger, the tag condition in batch and live runs, imports."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import tomli_w

from cible import Workspace
from cible.activation.tags import TagError
from cible.domain.clock import utc_now
from cible.segments.definition import SegmentDefinitionError
from cible.store.tags import TagChange
from tests.activation.conftest import make_shop


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return make_shop(tmp_path)


def test_a_tag_is_set_once_removed_once_and_every_change_is_kept(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.tags.define("hot-lead", colour="#d9480f", description="Visited pricing")
        assert ws.tags.apply("hot-lead", ["a", "b"], actor="tester") == 2
        assert ws.tags.apply("hot-lead", ["a"], actor="tester") == 0
        assert ws.tags.withdraw("hot-lead", ["b", "c"], actor="tester", source="api") == 1
        assert ws.tags.customers("hot-lead") == ["a"]
        assert ws.tags.of(["a", "b"]) == {"a": ["hot-lead"]}
        history = ws.tags.history("hot-lead")
        assert [(h["customer_id"], h["action"], h["actor"], h["source"]) for h in history] == [
            ("b", "removed", "tester", "api"),
            ("b", "added", "tester", "cli"),
            ("a", "added", "tester", "cli"),
        ]
        info = ws.tags.get("hot-lead")
        assert (info.customers, info.colour, info.description) == (1, "#d9480f", "Visited pricing")
        # Each change went to the outbox too, for tag-triggered automations.
        rows = [r for r in ws.store.pending_transitions() if r.kind == "tag"]
        assert [(r.customer_id, r.subject, r.transition) for r in rows] == [
            ("a", "hot-lead", "added"),
            ("b", "hot-lead", "added"),
            ("b", "hot-lead", "removed"),
        ]


def test_unknown_tags_and_customers_are_refused_and_nothing_is_written(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.tags.define("vip")
        with pytest.raises(TagError, match="Unknown tag 'vp'"):
            ws.tags.apply("vp", ["a"], actor="cli")
        with pytest.raises(TagError, match="No customer 'zz'"):
            ws.tags.apply("vip", ["a", "zz"], actor="cli")
        assert ws.tags.customers("vip") == []
        with pytest.raises(TagError, match="not a valid name"):
            ws.tags.define("Hot Lead")
        with pytest.raises(TagError, match="#rrggbb"):
            ws.tags.define("ok", colour="red")


def test_the_naming_convention_of_cible_toml_is_enforced_on_creation(tmp_path: Path) -> None:
    shop = make_shop(tmp_path, run=False)
    config = shop / "cible.toml"
    settings = tomllib.loads(config.read_text())
    settings["tags"] = {"require_category": True, "categories": {"intent": {"prefix": "intent-"}}}
    config.write_text(tomli_w.dumps(settings))
    with Workspace.open(shop) as ws:
        with pytest.raises(TagError, match="needs a category"):
            ws.tags.define("intent-pricing")
        with pytest.raises(TagError, match="must start with 'intent-'"):
            ws.tags.define("pricing", category="intent")
        with pytest.raises(TagError, match="Unknown tag category 'source'"):
            ws.tags.define("source-x", category="source")
        assert ws.tags.define("intent-pricing", category="intent").category == "intent"
        with pytest.raises(TagError, match="must start with 'intent-'"):
            ws.tags.rename("intent-pricing", "pricing")


def test_rename_moves_the_history_and_delete_untags_everyone(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.tags.define("old")
        ws.tags.define("other")
        ws.tags.apply("old", ["a", "b"], actor="cli")
        with pytest.raises(TagError, match="already exists"):
            ws.tags.rename("old", "other")
        assert ws.tags.rename("old", "new") == 2
        assert ws.tags.customers("new") == ["a", "b"]
        assert ws.tags.delete("new") == 2
        assert [t.name for t in ws.tags.list()] == ["other"]
        assert ws.tags.of(["a", "b"]) == {}


def test_the_tag_condition_reads_the_ledger_as_of_the_moment_evaluated(shop: Path) -> None:
    """Batch runs at three moments, against a reference read of the ledger by hand."""
    with Workspace.open(shop) as ws:
        ws.tags.define("promo")
        t0 = datetime(2025, 3, 1)
        ws.tags.change([TagChange("a", "promo", "added")], "cli", "cli", at=t0)
        ws.tags.change([TagChange("b", "promo", "added")], "cli", "cli", at=t0 + timedelta(days=5))
        ws.tags.change(
            [TagChange("a", "promo", "removed")], "cli", "cli", at=t0 + timedelta(days=10)
        )
        ws.segments.add({"id": "promo", "name": "Promo", "where": {"tag": "promo"}})
        ws.segments.add(
            {"id": "recent-promo", "name": "Recent", "where": {"tag": "promo", "within_days": 3}}
        )
        expected = {
            t0 - timedelta(days=1): (set(), set()),
            t0 + timedelta(days=1): ({"a"}, {"a"}),
            t0 + timedelta(days=6): ({"a", "b"}, {"b"}),
            t0 + timedelta(days=11): ({"b"}, set()),
        }
        for as_of, (promo, recent) in expected.items():
            ws.run(as_of=as_of)
            members = {
                sid: set(ws.segments.members(sid).customer_id.to_pyarrow().to_pylist())
                for sid in ("promo", "recent-promo")
            }
            assert members == {"promo": promo, "recent-promo": recent}, as_of


def test_a_tag_change_moves_the_customer_live_as_a_run_would(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.tags.define("hot-lead")
        ws.segments.add({"id": "hot-leads", "name": "Hot", "where": {"tag": "hot-lead"}})
        ws.run()
        ws.tags.apply("hot-lead", ["a"], actor="cli")  # re-evaluated live at once
        live = set(ws.segments.members("hot-leads").customer_id.to_pyarrow().to_pylist())
        entered = [
            r for r in ws.store.pending_transitions() if r.kind == "segment" and r.source == "live"
        ]
        ws.run()
        batch = set(ws.segments.members("hot-leads").customer_id.to_pyarrow().to_pylist())
        assert live == batch == {"a"}
        assert [(r.customer_id, r.segment_id, r.transition) for r in entered] == [
            ("a", "hot-leads", "entered")
        ]


def test_a_segment_naming_an_unknown_tag_is_refused_with_a_hint(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.tags.define("hot-lead")
        with pytest.raises(
            SegmentDefinitionError, match=r"unknown tag 'hot-led' \(did you mean 'hot-lead'"
        ):
            ws.segments.add({"id": "x", "name": "X", "where": {"tag": "hot-led"}})


def test_a_tags_column_of_a_customers_file_sets_tags(tmp_path: Path) -> None:
    shop = make_shop(tmp_path, run=False)
    more = tmp_path / "more.csv"
    more.write_text(
        "customer_id,email,Tags\n"
        "a,a@example.com,VIP; newsletter\n"
        "e,e@example.com,vip|Gold member\n"
        ",x@example.com,orphan\n"  # rejected: no id
        "b,not an e-mail,vip\n"
        "b,b2@example.com,rejected-too\n"  # rejected: the id is repeated
    )
    with Workspace.open(shop) as ws:
        result = ws.imports.load("customers", more)
        assert (result.rejected, result.tags_set) == (2, 5)
        assert "Tags" not in result.ignored_columns
        assert ws.tags.of(["a", "e", "b"]) == {
            "a": ["newsletter", "vip"],
            "b": ["vip"],
            "e": ["gold-member", "vip"],
        }
        assert "rejected-too" not in [t.name for t in ws.tags.list()]
        history = ws.tags.history("vip")
        assert {h["source"] for h in history} == {"import"}
        assert utc_now() - history[0]["changed_at"] < timedelta(minutes=5)
