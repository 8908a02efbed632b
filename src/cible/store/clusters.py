"""Writing a clustering: its model, its segments and its first memberships.

A clustering is a dimension of ``kind = 'cluster'`` segments whose members come from a
fitted model kept in the ``models`` table. Saving one replaces any earlier clustering
of the same dimension, in one transaction; its members are then written for the
latest run, so that they can be listed before the next run re-assigns everyone with
the stored model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb

from cible.store.runs import MEMBERS
from cible.store.sql import fetch_row
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
    """Store the model and its segments ``(segment_id, definition)``; returns the model id.

    Each stored definition gains the ``model_id`` that assigns its members.

    Earlier cluster segments of ``dimension`` are replaced; their open memberships
    close when the new members are written (:func:`write_cluster_members`).
    """
    with transaction(con):
        model_id = int(fetch_row(con, "SELECT coalesce(max(model_id), 0) + 1 FROM models")[0])
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
    return model_id


def write_cluster_members(con: duckdb.DuckDBPyConnection, dimension: str) -> int:
    """Make ``_members`` the open memberships of ``dimension`` at the latest run.

    ``_members`` (``segment_id, dimension, customer_id``, see
    :func:`cible.store.runs.stage_members`) holds the new assignment. Memberships of
    the dimension that it no longer holds are closed at the latest run; the others
    enter at it. Returns the number of members.
    """
    with transaction(con):
        run_id, as_of = fetch_row(
            con, "SELECT run_id, as_of FROM runs ORDER BY run_id DESC LIMIT 1"
        )
        con.execute(
            f"""
            UPDATE segment_memberships m SET exited_at = ?, exited_run = ?
            WHERE m.exited_at IS NULL AND m.dimension = ? AND NOT EXISTS (
              SELECT 1 FROM {MEMBERS} n
              WHERE n.segment_id = m.segment_id AND n.customer_id = m.customer_id)
            """,
            [as_of, run_id, dimension],
        )
        con.execute(
            f"""
            INSERT INTO segment_memberships
            SELECT n.segment_id, n.dimension, n.customer_id, ?, ?, NULL, NULL
            FROM {MEMBERS} n
            WHERE NOT EXISTS (
              SELECT 1 FROM segment_memberships m
              WHERE m.exited_at IS NULL AND m.segment_id = n.segment_id
                AND m.customer_id = n.customer_id)
            """,
            [run_id, as_of],
        )
        return int(fetch_row(con, f"SELECT count(*) FROM {MEMBERS}")[0])


def load_model(con: duckdb.DuckDBPyConnection, model_id: int) -> tuple[str, bytes]:
    """(card, blob) of stored model ``model_id``; KeyError when there is none."""
    rows: list[Any] = con.execute(
        "SELECT card, blob FROM models WHERE model_id = ?", [model_id]
    ).fetchall()
    if not rows:
        raise KeyError(model_id)
    return str(rows[0][0]), bytes(rows[0][1])
