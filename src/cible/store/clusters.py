"""Writing a clustering: its model, its segments and its first memberships.

A clustering is a dimension of ``kind = 'cluster'`` segments whose members come from a
fitted model kept in the ``models`` table. Saving one replaces any earlier clustering
of the same dimension and writes its members for the latest run, all in one
transaction, so that they can be listed before the next run re-assigns everyone with
the stored model, and a failure leaves the previous clustering whole.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb

from cible.store.ids import next_id
from cible.store.runs import reassign_dimension
from cible.store.transaction import transaction

CLUSTER_KIND = "cluster"


def save_clustering(
    con: duckdb.DuckDBPyConnection,
    *,
    dimension: str,
    card: str,
    blob: bytes,
    segments: Sequence[tuple[str, dict[str, Any]]],
    now: datetime,
) -> int:
    """Store the model, its segments ``(segment_id, definition)`` and members; return its id.

    Each stored definition gains the ``model_id`` that assigns its members. Earlier
    cluster segments of ``dimension`` are replaced; ``_members`` (``segment_id,
    dimension, customer_id``) must hold the new assignment, which becomes the
    dimension's open memberships at the latest run (:func:`.runs.reassign_dimension`).
    """
    with transaction(con):
        model_id = next_id(con, "models", "model_id")
        con.execute(
            "INSERT INTO models VALUES (?, ?, ?, ?, ?)",
            [model_id, CLUSTER_KIND, now, card, blob],
        )
        con.execute(
            "DELETE FROM segments WHERE kind = ? AND dimension = ?", [CLUSTER_KIND, dimension]
        )
        for segment_id, definition in segments:
            con.execute(
                "INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    segment_id,
                    CLUSTER_KIND,
                    dimension,
                    0,
                    json.dumps({**definition, "model_id": model_id}, ensure_ascii=False),
                    now,
                    now,
                ],
            )
        reassign_dimension(con, dimension)
    return model_id
