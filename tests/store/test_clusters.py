"""Saving a clustering: model, segments and members at the latest run, in one transaction."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from cible import Workspace
from cible.store import clusters
from cible.store.store import Store

AS_OF = datetime(2024, 6, 1)


def _members(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["segment_id", "dimension", "customer_id"])


def _run(store: Store, *rows: tuple[str, str, str]) -> None:
    store.hold("_traits", pd.DataFrame({"customer_id": ["a", "b", "c"]}))
    store.commit_run(
        traits="_traits",
        members=store.hold("_run_members", _members(*rows)),
        as_of=AS_OF,
        started_at=AS_OF,
        finished_at=AS_OF,
        segments=2,
    )


def _save(store: Store, *rows: tuple[str, str, str]) -> int:
    ids = sorted({row[0] for row in rows})
    return store.save_clustering(
        dimension="clusters",
        card="{}",
        blob=b"model",
        segments=[(i, {"cluster": n}) for n, i in enumerate(ids)],
        members=_members(*rows),
        now=AS_OF,
    )


def _open(store: Store) -> list[tuple[str, str, int]]:
    history = store.table("segment_memberships")
    rows = history.filter(history.exited_at.isnull()).to_pyarrow().to_pylist()
    return sorted((r["segment_id"], r["customer_id"], r["entered_run"]) for r in rows)


def test_members_enter_at_the_latest_run_and_other_dimensions_stay(workspace: Workspace):
    store = workspace.store
    _run(store, ("rfm-champions", "rfm", "a"), ("rfm-loyal", "rfm", "b"))
    _save(store, ("clusters-1", "clusters", "a"), ("clusters-2", "clusters", "b"))
    # Saved again: b moves to cluster 1 and cluster 2 no longer exists.
    _save(store, ("clusters-1", "clusters", "a"), ("clusters-1", "clusters", "b"))
    assert _open(store) == [
        ("clusters-1", "a", 1),
        ("clusters-1", "b", 1),
        ("rfm-champions", "a", 1),
        ("rfm-loyal", "b", 1),
    ]
    history = store.table("segment_memberships")
    closed = history.filter(history.exited_at.notnull()).to_pyarrow().to_pylist()
    assert [(r["segment_id"], r["customer_id"], r["exited_run"]) for r in closed] == [
        ("clusters-2", "b", 1)
    ]
    segments = store.table("segments").to_pyarrow().column("segment_id").to_pylist()
    assert segments == ["clusters-1"]


def test_failed_save_leaves_the_previous_clustering_whole(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
):
    store = workspace.store
    _run(store, ("rfm-champions", "rfm", "a"))
    first = _save(store, ("clusters-1", "clusters", "a"), ("clusters-2", "clusters", "b"))
    before = _open(store)

    def fail(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(clusters, "reassign_dimension", fail)
    with pytest.raises(RuntimeError, match="disk gone"):
        _save(store, ("clusters-1", "clusters", "c"))
    assert _open(store) == before
    models = store.table("models").to_pyarrow().column("model_id").to_pylist()
    assert models == [first]
    segments = store.table("segments").to_pyarrow().column("segment_id").to_pylist()
    assert sorted(segments) == ["clusters-1", "clusters-2"]
