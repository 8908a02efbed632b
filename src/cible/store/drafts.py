"""Segment drafts: the builder's form kept as it was, to finish later (schema 18).

A draft is not a segment: no run reads this table. ``segment_drafts`` holds one row
per draft with the builder's flat form fields as JSON (``form``), the id, names and
dimension it gives (for listing), who saved it and when. Saving a draft again
replaces its row; publishing or deleting it removes the row.

Draft ids are never reused: the last one given is kept in ``cible_meta``
(``last_draft_id``), so a page left open on a deleted draft cannot reach a newer one.
A caller passing the ``saved_at`` it read replaces or deletes the draft only if nobody
saved it since (:class:`~cible.domain.errors.DraftChangedError` otherwise).

Examples
--------
>>> import duckdb
>>> from datetime import datetime
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE cible_meta (key VARCHAR, value VARCHAR)")
>>> for statement in CREATE:
...     _ = con.execute(statement)
>>> draft = NewDraft("vip", "VIP", "", "value", {"n.type": "group"}, "ana", datetime(2026, 1, 2))
>>> save(con, draft)
1
>>> save(con, draft, draft_id=1), [(d.draft_id, d.segment_id, d.form) for d in list_drafts(con)]
(1, [(1, 'vip', {'n.type': 'group'})])
>>> delete(con, 1), get(con, 1), save(con, draft)
(True, None, 2)
>>> save(con, draft, draft_id=2, saved_at=datetime(2025, 1, 1))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
cible.domain.errors.DraftChangedError: This draft was changed since you opened it (...).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import NamedTuple

import duckdb

from cible.domain.errors import DraftChangedError
from cible.store.sql import fetch_row
from cible.store.transaction import transaction

CREATE = (
    """
    CREATE TABLE IF NOT EXISTS segment_drafts (
      draft_id BIGINT, segment_id VARCHAR, name_en VARCHAR, name_fr VARCHAR,
      dimension VARCHAR, form JSON, author VARCHAR, saved_at TIMESTAMP
    )
    """,
)

#: The ``cible_meta`` key of the last draft id given.
_LAST = "last_draft_id"
_COLUMNS = "segment_id, name_en, name_fr, dimension, CAST(form AS VARCHAR), author, saved_at"


class NewDraft(NamedTuple):
    """A draft to save: what the builder's form holds, who saved it and when."""

    segment_id: str
    name_en: str
    name_fr: str
    dimension: str
    form: dict[str, str]
    author: str
    saved_at: datetime


class DraftRow(NamedTuple):
    """A stored draft."""

    draft_id: int
    segment_id: str
    name_en: str
    name_fr: str
    dimension: str
    form: dict[str, str]
    author: str
    saved_at: datetime


def save(
    con: duckdb.DuckDBPyConnection,
    draft: NewDraft,
    *,
    draft_id: int | None = None,
    saved_at: datetime | None = None,
) -> int:
    """Store ``draft`` in place of draft ``draft_id`` (a new one when None or gone);
    return its id.

    Raises
    ------
    DraftChangedError
        When ``saved_at`` is given and draft ``draft_id`` was saved at another moment.
    """
    with transaction(con):
        found = None if draft_id is None else _unchanged(con, draft_id, saved_at)
        if found is not None:
            con.execute("DELETE FROM segment_drafts WHERE draft_id = ?", [found.draft_id])
            draft_id = found.draft_id
        else:
            draft_id = _new_id(con)
        con.execute(
            "INSERT INTO segment_drafts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                draft_id,
                draft.segment_id,
                draft.name_en,
                draft.name_fr,
                draft.dimension,
                json.dumps(draft.form, ensure_ascii=False),
                draft.author,
                draft.saved_at,
            ],
        )
    return draft_id


def _unchanged(
    con: duckdb.DuckDBPyConnection, draft_id: int, saved_at: datetime | None
) -> DraftRow | None:
    """Draft ``draft_id`` (None when gone), checked to be as saved at ``saved_at``."""
    found = get(con, draft_id)
    if found is not None and saved_at is not None and found.saved_at != saved_at:
        raise DraftChangedError(
            f"This draft was changed since you opened it (saved at {found.saved_at})."
        )
    return found


def _new_id(con: duckdb.DuckDBPyConnection) -> int:
    """An id no draft ever had: above the last given and any stored; recorded."""
    found = fetch_row(
        con,
        "SELECT greatest("
        "  (SELECT coalesce(max(draft_id), 0) FROM segment_drafts),"
        "  (SELECT coalesce(max(CAST(value AS BIGINT)), 0) FROM cible_meta WHERE key = ?)"
        ") + 1",
        [_LAST],
    )
    chosen = int(found[0])
    con.execute("DELETE FROM cible_meta WHERE key = ?", [_LAST])
    con.execute("INSERT INTO cible_meta VALUES (?, ?)", [_LAST, str(chosen)])
    return chosen


def get(con: duckdb.DuckDBPyConnection, draft_id: int) -> DraftRow | None:
    """Draft ``draft_id``, or None."""
    rows = con.execute(
        f"SELECT draft_id, {_COLUMNS} FROM segment_drafts WHERE draft_id = ?", [draft_id]
    ).fetchall()
    return _row(rows[0]) if rows else None


def list_drafts(con: duckdb.DuckDBPyConnection) -> list[DraftRow]:
    """Every draft, the latest saved first."""
    rows = con.execute(
        f"SELECT draft_id, {_COLUMNS} FROM segment_drafts ORDER BY saved_at DESC, draft_id DESC"
    ).fetchall()
    return [_row(row) for row in rows]


def delete(
    con: duckdb.DuckDBPyConnection, draft_id: int, *, saved_at: datetime | None = None
) -> bool:
    """Remove draft ``draft_id``; whether it existed.

    Raises
    ------
    DraftChangedError
        When ``saved_at`` is given and the draft was saved at another moment.
    """
    with transaction(con):
        if _unchanged(con, draft_id, saved_at) is None:
            return False
        con.execute("DELETE FROM segment_drafts WHERE draft_id = ?", [draft_id])
    return True


def _row(row: tuple[object, ...]) -> DraftRow:
    draft_id, segment_id, name_en, name_fr, dimension, form, author, saved_at = row
    return DraftRow(
        int(draft_id),  # type: ignore[call-overload]
        str(segment_id or ""),
        str(name_en or ""),
        str(name_fr or ""),
        str(dimension or ""),
        json.loads(str(form)) if form else {},
        str(author or ""),
        saved_at,  # type: ignore[arg-type]
    )
