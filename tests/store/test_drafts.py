"""Schema 18: the segment drafts table, added to a workspace of schema 17 on open."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from cible import Workspace
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


def test_a_draft_saved_in_place_of_a_gone_one_gets_a_new_id():
    con = duckdb.connect()
    for statement in drafts.CREATE:
        con.execute(statement)
    at = datetime(2026, 3, 1)
    draft = NewDraft("", "Crème", "", "", {"n.0.value": "l'été; <b>"}, "ana", at)
    first = drafts.save(con, draft)
    assert drafts.delete(con, first)
    second = drafts.save(con, draft, draft_id=first)
    assert second == first  # the numbering restarts from the largest id kept
    later = drafts.save(con, draft._replace(saved_at=datetime(2026, 3, 2)), draft_id=99)
    assert later == second + 1
    assert [d.draft_id for d in drafts.list_drafts(con)] == [later, second]
    kept = drafts.get(con, second)
    assert kept is not None and kept.form == {"n.0.value": "l'été; <b>"} and kept.name_en == "Crème"
    assert not drafts.delete(con, 1234)
