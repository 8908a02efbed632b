"""Schema 18: the segment drafts table, added to a workspace of schema 17 on open; ids
never reused; a draft saved since it was read is neither replaced nor deleted."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from cible import Workspace
from cible.domain.errors import DraftChangedError
from cible.store import drafts
from cible.store.drafts import NewDraft


def test_a_schema_17_workspace_gains_the_drafts_table_and_keeps_its_segments(tmp_path: Path):
    folder = tmp_path / "ws"
    with Workspace.create(folder) as ws:
        ws.segments.add(
            {"id": "big", "name": "Big", "where": {"trait": "frequency", "op": ">=", "value": 2}}
        )
    con = duckdb.connect(str(folder / "cible.duckdb"))
    con.execute("DROP TABLE segment_drafts")
    con.execute("UPDATE cible_meta SET value = '17' WHERE key = 'schema_version'")
    con.close()
    with Workspace.open(folder) as ws:
        assert ws.schema_version == 18
        assert ws.drafts.list() == []
        assert [d.id for d in [ws.segments.definition("big")] if d] == ["big"]


def _connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE cible_meta (key VARCHAR, value VARCHAR)")
    for statement in drafts.CREATE:
        con.execute(statement)
    return con


def test_draft_ids_are_never_reused_even_after_the_last_is_deleted():
    con = _connection()
    at = datetime(2026, 3, 1)
    draft = NewDraft("", "Crème", "", "", {"n.0.value": "l'été; <b>"}, "ana", at)
    first = drafts.save(con, draft)
    assert drafts.delete(con, first)
    second = drafts.save(con, draft, draft_id=first)  # a page left open on the deleted one
    assert second == first + 1
    assert drafts.delete(con, second)
    third = drafts.save(con, draft)
    assert third == second + 1
    later = drafts.save(con, draft._replace(saved_at=datetime(2026, 3, 2)), draft_id=99)
    assert later == third + 1
    assert [d.draft_id for d in drafts.list_drafts(con)] == [later, third]
    kept = drafts.get(con, third)
    assert kept is not None and kept.form == {"n.0.value": "l'été; <b>"} and kept.name_en == "Crème"
    assert not drafts.delete(con, 1234)


def test_a_workspace_with_drafts_from_before_the_counter_numbers_after_them():
    con = _connection()
    draft = NewDraft("", "", "", "", {}, "ana", datetime(2026, 3, 1))
    con.execute(
        "INSERT INTO segment_drafts VALUES (7, '', '', '', '', '{}', 'ana', TIMESTAMP '2026-01-01')"
    )
    assert drafts.save(con, draft) == 8


def test_a_draft_saved_since_it_was_read_is_neither_replaced_nor_deleted():
    con = _connection()
    read_at, saved_since = datetime(2026, 3, 1), datetime(2026, 3, 2)
    draft = NewDraft("vip", "VIP", "", "", {"n.type": "group"}, "ana", read_at)
    chosen = drafts.save(con, draft)
    drafts.save(con, draft._replace(author="bob", saved_at=saved_since), draft_id=chosen)
    with pytest.raises(DraftChangedError, match="changed since you opened it"):
        drafts.save(con, draft._replace(name_en="Mine"), draft_id=chosen, saved_at=read_at)
    with pytest.raises(DraftChangedError, match="changed since you opened it"):
        drafts.delete(con, chosen, saved_at=read_at)
    kept = drafts.get(con, chosen)
    assert kept is not None and (kept.author, kept.name_en) == ("bob", "VIP")
    now = datetime(2026, 3, 3)
    mine = draft._replace(name_en="Mine", saved_at=now)
    assert drafts.save(con, mine, draft_id=chosen, saved_at=saved_since) == chosen
    assert drafts.delete(con, chosen, saved_at=now) and drafts.get(con, chosen) is None
