"""Cluster segments kept in the workspace, and who belongs to them in a run.

A clustering (``cible cluster``) stores its fitted model and one segment of kind
``cluster`` per cluster. Each run assigns every customer again with the stored model,
from that run's traits, so cluster segments stay current like rule segments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from cible.models.clustering import ClusterSegmenter
from cible.store.clusters import CLUSTER_KIND
from cible.store.store import Store


@dataclass(frozen=True)
class ClusterSegment:
    """One cluster of a stored clustering, as its segment definition records it."""

    id: str
    dimension: str
    model_id: int
    cluster: int
    name: dict[str, str]
    description: dict[str, str]
    color: str


def load_cluster_segments(store: Store) -> list[ClusterSegment]:
    """Every stored cluster segment, by dimension then cluster."""
    table = store.table("segments")
    rows = (
        table.filter(table.kind == CLUSTER_KIND)
        .select("segment_id", "dimension", "definition")
        .to_pyarrow()
        .to_pylist()
    )
    found = []
    for row in rows:
        data = json.loads(row["definition"])
        found.append(
            ClusterSegment(
                id=row["segment_id"],
                dimension=row["dimension"],
                model_id=int(data["model_id"]),
                cluster=int(data["cluster"]),
                name=dict(data.get("name", {})),
                description=dict(data.get("description", {})),
                color=str(data.get("color", "#495057")),
            )
        )
    return sorted(found, key=lambda s: (s.dimension, s.cluster))


def load_segmenter(store: Store, model_id: int) -> tuple[dict[str, Any], ClusterSegmenter]:
    """The card and the fitted segmenter of stored model ``model_id``."""
    card, blob = store.load_model(model_id)
    return json.loads(card), ClusterSegmenter.loads(blob)


#: The columns of :func:`assign_clusters`.
MEMBERS = pa.schema(
    [("segment_id", pa.string()), ("dimension", pa.string()), ("customer_id", pa.string())]
)


def assign_clusters(store: Store, traits: ir.Table, name: str = "_cluster_members") -> ir.Table:
    """``segment_id, dimension, customer_id`` of every stored clustering for ``traits``,
    held as temporary table ``name``.

    Parameters
    ----------
    store : Store
        The workspace database, which holds the models.
    traits : ibis.Table
        One row per customer with the traits the models were fitted on.
    name : str
        The temporary table. Customers are assigned a page at a time
        (:meth:`~cible.store.store.Store.hold_pages`): memory does not grow with them.
    """
    segments = load_cluster_segments(store)
    models = [
        (
            load_segmenter(store, model_id)[1],
            {s.cluster: s for s in segments if s.model_id == model_id},
        )
        for model_id in sorted({s.model_id for s in segments})
    ]

    def assign(page: pd.DataFrame) -> pd.DataFrame:
        pieces = [pd.DataFrame({"segment_id": [], "dimension": [], "customer_id": []}, dtype=str)]
        for segmenter, own in models:
            if page.empty:
                break
            assigned = segmenter.predict(page)
            ids = assigned["cluster"].map({c: s.id for c, s in own.items()})
            kept = ids.notna()
            pieces.append(
                pd.DataFrame(
                    {
                        "segment_id": ids[kept].astype(str),
                        "dimension": next(iter(own.values())).dimension,
                        "customer_id": assigned.loc[kept, "customer_id"].astype(str),
                    }
                )
            )
        return pd.concat(pieces, ignore_index=True)

    if not models:
        return store.hold(name, MEMBERS.empty_table())
    return store.hold_pages(name, traits, assign, MEMBERS)
