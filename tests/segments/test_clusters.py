"""Clusterings saved as segment dimensions, kept current by runs, turned into rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from cible import Workspace
from cible.demo import build_demo
from cible.domain.errors import CibleError
from cible.segments.cluster_members import load_cluster_segments, load_segmenter

END = date(2026, 6, 30)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clusters") / "demo"
    build_demo(path, customers=800, seed=3, end_date=END)
    return path


@pytest.fixture
def ws(folder: Path) -> Iterator[Workspace]:
    with Workspace.open(folder) as workspace:
        yield workspace


def _members(ws: Workspace, dimension: str) -> dict[str, str]:
    history = ws.table("segment_memberships")
    rows = history.filter(history.exited_at.isnull() & (history.dimension == dimension))
    return {r["customer_id"]: r["segment_id"] for r in rows.to_pyarrow().to_pylist()}


def _model_id(ws: Workspace, dimension: str) -> int:
    return next(s.model_id for s in load_cluster_segments(ws.store) if s.dimension == dimension)


def test_a_clustering_is_a_dimension_of_cluster_segments_with_every_profiled_customer(
    ws: Workspace,
):
    result = ws.cluster(k=3, random_state=0, n_bootstrap=0, dimension="behaviour")
    assert result.segments == ["behaviour-1", "behaviour-2", "behaviour-3"]
    listed = [s for s in ws.segments.list() if s.dimension == "behaviour"]
    assert [s.id for s in listed] == result.segments
    assert {s.kind for s in listed} == {"cluster"}
    # Every customer of the run but those who object to profiling (the demo has some).
    objecting = set(ws.objection.objecting())
    assert objecting
    customers = ws.traits().count().execute() - len(objecting)
    members = _members(ws, "behaviour")
    assert len(members) == customers and not objecting & set(members)
    assert sum(s.size for s in listed) == customers
    # Cluster 0 is the largest, and the names say what sets each apart.
    assert listed[0].size == max(s.size for s in listed)
    assert all(s.name["en"] and s.name["fr"] for s in listed)


def test_a_run_assigns_everyone_again_with_the_stored_model(ws: Workspace):
    ws.cluster(k=3, random_state=0, n_bootstrap=0, dimension="behaviour")
    before = _members(ws, "behaviour")
    record = ws.run(as_of=datetime(2026, 6, 30, 12))
    after = _members(ws, "behaviour")
    # The same traits (the run's as_of is the demo's) give the same clusters: nothing moves.
    model_id = _model_id(ws, "behaviour")
    _, segmenter = load_segmenter(ws.store, model_id)
    # Those who object to profiling (the demo has some) are assigned to no cluster.
    objecting = set(ws.objection.objecting())
    traits = ws.traits().to_pandas()
    expected = segmenter.predict(traits[~traits.customer_id.isin(objecting)])
    assert after == {
        c: f"behaviour-{k + 1}"
        for c, k in zip(expected["customer_id"], expected["cluster"], strict=True)
    }
    assert set(after) == set(before)
    assert record.memberships >= len(after)
    # The run counts the cluster segments among those it evaluated.
    assert record.segments == len(ws.segments.list())


def test_clustering_again_replaces_the_dimension_and_closes_old_memberships(ws: Workspace):
    ws.cluster(k=3, random_state=0, n_bootstrap=0, dimension="again")
    ws.cluster(k=2, random_state=0, n_bootstrap=0, dimension="again")
    assert [s.id for s in ws.segments.list() if s.dimension == "again"] == ["again-1", "again-2"]
    history = ws.table("segment_memberships")
    gone = history.filter((history.segment_id == "again-3") & history.exited_at.isnull())
    assert gone.count().execute() == 0
    assert set(_members(ws, "again").values()) == {"again-1", "again-2"}


def test_a_cluster_becomes_a_rule_whose_members_match_its_fidelity(ws: Workspace):
    ws.cluster(k=3, random_state=0, n_bootstrap=0, dimension="behaviour")
    definition, created = ws.segments.from_cluster("behaviour-2", "behaviour-two")
    assert created and definition.dimension == "behaviour-rules"
    ws.run(as_of=datetime(2026, 6, 30, 12))
    members = _members(ws, "behaviour")
    rule = {c for c, s in _members(ws, "behaviour-rules").items() if s == "behaviour-two"}
    cluster = {c for c, s in members.items() if s == "behaviour-2"}
    _, segmenter = load_segmenter(ws.store, _model_id(ws, "behaviour"))
    fitted = segmenter.rules_[1]
    # The stored rule, evaluated by the segment compiler, selects what the tree's rule selected.
    assert len(rule) == fitted.matched
    assert len(rule & cluster) / len(rule) == pytest.approx(fitted.precision, abs=1e-9)


def test_names_and_dimensions_that_clash_are_refused(ws: Workspace):
    ws.cluster(k=2, random_state=0, n_bootstrap=0, dimension="pair")
    with pytest.raises(CibleError, match="built-in dimension"):
        ws.cluster(k=2, dimension="lifecycle")
    with pytest.raises(CibleError, match="lower-case letters"):
        ws.cluster(k=2, dimension="Big Spenders")
    with pytest.raises(CibleError, match="cluster segment"):
        ws.segments.add(
            {"id": "pair-1", "name": "x", "where": {"trait": "frequency", "op": ">", "value": 1}}
        )
    with pytest.raises(CibleError, match="holds clusters"):
        ws.segments.add(
            {
                "id": "other",
                "name": "x",
                "dimension": "pair",
                "where": {"trait": "frequency", "op": ">", "value": 1},
            }
        )
    with pytest.raises(CibleError, match="No cluster segment"):
        ws.segments.from_cluster("rfm-champions")


def test_the_report_shows_each_cluster_with_rule_stability_and_persona(ws: Workspace):
    ws.cluster(k=3, random_state=0, n_bootstrap=4, dimension="behaviour")
    for lang, words in (("en", "Clusters found in the data"), ("fr", "Groupes trouvés")):
        page = ws.report(lang)
        assert words in page
        assert 'id="clusters-behaviour"' in page
        assert page.count('data-segment="behaviour-') >= 6  # the table row and the persona card
        assert "Jaccard" in page or "1,00" in page or "1.00" in page


def test_before_any_run_clustering_is_refused(tmp_path: Path):
    with (
        Workspace.create(tmp_path / "empty") as empty,
        pytest.raises(CibleError, match="No run yet"),
    ):
        empty.cluster()


def _small_shop(folder: Path) -> Path:
    """60 customers with 1 to 5 orders each in 2024, every one consenting to e-mail."""
    customers = ["customer_id,email"] + [f"c{i},c{i}@x.test" for i in range(60)]
    orders = ["order_id,customer_id,ordered_at,amount"]
    for i in range(60):
        for k in range(1 + i % 5):
            day = f"2024-{1 + (k * 2 + i) % 12:02d}-{1 + i % 27:02d}"
            orders.append(f"{len(orders)},c{i},{day},{10 + i * 3 + k}")
    (folder / "c.csv").write_text("\n".join(customers) + "\n")
    (folder / "o.csv").write_text("\n".join(orders) + "\n")
    with Workspace.create(folder / "shop") as ws:
        ws.imports.load("customers", folder / "c.csv")
        ws.imports.load("orders", folder / "o.csv")
        ws.run(as_of=datetime(2025, 1, 1))
    return folder / "shop"


def test_objectors_are_neither_fitted_nor_put_back_in_a_cluster(tmp_path: Path):
    with Workspace.open(_small_shop(tmp_path)) as ws:
        ws.objection.object("c3")
        result = ws.cluster(dimension="beh", k=3, random_state=0, n_bootstrap=0)
        members = _members(ws, "beh")
        # Every other customer of the run is assigned; the objector is not.
        assert "c3" not in members and len(members) == 59
        assert sum(result.summary["sizes"]) == 59
        # Nor does the next run assign them with the stored model.
        ws.run(as_of=datetime(2025, 1, 1))
        members = _members(ws, "beh")
        assert "c3" not in members and len(members) == 59


def test_figures_follow_a_clustering_saved_after_a_run(ws: Workspace):
    ws.cluster(k=3, random_state=0, n_bootstrap=0, dimension="later")
    ws.run(as_of=datetime(2026, 6, 30, 12))
    assert {"later-1", "later-2", "later-3"} <= set(ws.store.stored_figures())
    # Saved between runs, the new clusters' figures are those of their members, not
    # the ones the run kept for the clusters of the same ids.
    ws.cluster(k=2, random_state=1, n_bootstrap=0, dimension="later")
    listed = {s.id: s.size for s in ws.segments.list() if s.dimension == "later"}
    members = _members(ws, "later")
    assert listed == {sid: list(members.values()).count(sid) for sid in listed}
    assert ws.segments.get("later-1").size == listed["later-1"]
    # Computed once, then kept with the run's figures until the next run: listings
    # stop recomputing them (the later-3 of the first clustering is gone).
    kept = ws.store.stored_figures()
    assert {sid: kept[sid]["size"] for sid in listed} == listed
    assert "later-3" not in kept
    assert ws.segments.list() == ws.segments.list()
