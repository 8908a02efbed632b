"""Trained models and their model cards, kept in the workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from cible.store.ids import next_id
from cible.store.transaction import transaction


def save_model(
    con: duckdb.DuckDBPyConnection, *, kind: str, card: str, blob: bytes, now: datetime
) -> int:
    """Store a model of ``kind`` with its JSON card; returns its id."""
    with transaction(con):
        model_id = next_id(con, "models", "model_id")
        con.execute("INSERT INTO models VALUES (?, ?, ?, ?, ?)", [model_id, kind, now, card, blob])
    return model_id


def latest_model(con: duckdb.DuckDBPyConnection, kind: str) -> tuple[int, str, bytes] | None:
    """(id, card, blob) of the newest model of ``kind``, or None."""
    rows: list[Any] = con.execute(
        "SELECT model_id, card, blob FROM models WHERE kind = ? ORDER BY model_id DESC LIMIT 1",
        [kind],
    ).fetchall()
    if not rows:
        return None
    model_id, card, blob = rows[0]
    return int(model_id), str(card), bytes(blob)


def load_model(con: duckdb.DuckDBPyConnection, model_id: int) -> tuple[str, bytes]:
    """(card, blob) of stored model ``model_id``; KeyError when there is none."""
    rows: list[Any] = con.execute(
        "SELECT card, blob FROM models WHERE model_id = ?", [model_id]
    ).fetchall()
    if not rows:
        raise KeyError(model_id)
    return str(rows[0][0]), bytes(rows[0][1])
