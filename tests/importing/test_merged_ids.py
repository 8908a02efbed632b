"""Re-importing files after ``cible dedupe``: merged customer ids never come back.

A hand-made base with known duplicates (too few e-mails to train the probabilistic
model, so groups come from the deterministic rules alone): A2 shares A1's e-mail
and folds into A1 (the more complete); B1 shares B9's phone and folds into B9 (the
older). Every expected value is written by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cible import Workspace
from cible.features.consent import current_consents
from cible.importing.pipeline import StrictRefusalError
from cible.store.merges import MERGED_IDS, stage_merged_ids

CUSTOMERS_CSV = """customer_id,email,phone,first_name,last_name,birth_date,gender,city,created_at,updated_at
A1,anne@morel.fr,,Anne,Morel,1980-02-03,female,Paris,2020-01-01,2021-01-01
A2,anne@morel.fr,+33611223344,Annie,Morel,,,Lyon,2022-01-01,2023-06-01
B1,b1@ex.fr,+33622334455,Bruno,Petit,1975-05-06,male,Bordeaux,2021-03-01,2021-03-01
B9,b9@ex.fr,+33622334455,Bruno,Petit,1975-05-06,male,Bordeaux,2019-03-01,2020-03-01
D1,dan@ex.fr,+33633445566,Dan,Faure,1990-01-01,male,Lille,2021-01-01,2021-01-01
"""
ORDERS_CSV = """order_id,customer_id,ordered_at,amount
O1,A2,2023-01-01,10
O2,A1,2023-02-01,20
O3,B1,2023-03-01,30
O4,D1,2023-04-01,40
"""
CONSENTS_CSV = """customer_id,channel,purpose,status,updated_at,source
A1,email,marketing,granted,2021-01-01,web
A2,email,marketing,denied,2020-01-01,shop
A1,sms,marketing,withdrawn,2020-01-01,web
A2,sms,marketing,denied,2023-01-01,shop
A2,post,marketing,granted,2022-01-01,shop
D1,email,marketing,granted,2021-01-01,web
"""
MERGED = {"A2": ("A1", 1), "B1": ("B9", 2)}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for kind, text in (
        ("customers", CUSTOMERS_CSV),
        ("orders", ORDERS_CSV),
        ("consents", CONSENTS_CSV),
    ):
        paths[kind] = tmp_path / f"{kind}.csv"
        paths[kind].write_text(text, encoding="utf-8")
    return paths


@pytest.fixture
def ws(tmp_path: Path, files: dict[str, Path]) -> Iterator[Workspace]:
    with Workspace.create(tmp_path / "ws") as workspace:
        for kind in ("customers", "orders", "consents"):
            result = workspace.imports.load(kind, files[kind])
            assert result.rejected == result.flagged == 0
        yield workspace


@pytest.fixture
def merged(ws: Workspace) -> Workspace:
    result = ws.quality.dedupe()
    got = {
        m: (r.surviving_id, r.merge_id) for r in result.merges.itertuples() for m in r.merged_ids
    }
    assert got == MERGED
    return ws


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def owners(ws: Workspace, table: str, key: str) -> dict[str, Any]:
    return {r[key]: r["customer_id"] for r in ws.table(table).to_pyarrow().to_pylist()}


def issues(ws: Workspace, import_id: int) -> list[tuple[Any, ...]]:
    frame = ws.imports.rejects(import_id).to_pandas()
    columns = ["line", "column_name", "value", "reason", "severity"]
    return [tuple(row) for row in frame[columns].itertuples(index=False)]


def consents(ws: Workspace, customer_id: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The current state derived from the ledger."""
    t = current_consents(ws.table("consents"))
    rows = t.filter(t.customer_id == customer_id).to_pyarrow().to_pylist()
    return {
        (r["channel"], r["purpose"]): (r["status"], r["recorded_at"].date().isoformat())
        for r in rows
    }


def test_reimported_customers_do_not_bring_merged_ids_back(
    merged: Workspace, files: dict[str, Path]
):
    ws = merged
    result = ws.imports.load("customers", files["customers"])
    assert (result.read, result.loaded, result.rejected) == (5, 3, 2)
    assert result.read == result.loaded + result.rejected
    assert sorted(owners(ws, "customers", "customer_id")) == ["A1", "B9", "D1"]
    assert issues(ws, result.import_id) == [
        (
            3,
            "customer_id",
            "A2",
            "customer A2 was merged into A1 (merge 1): not created again; load its data "
            "under A1, or undo the merge to bring the customer back",
            "rejected",
        ),
        (
            4,
            "customer_id",
            "B1",
            "customer B1 was merged into B9 (merge 2): not created again; load its data "
            "under B9, or undo the merge to bring the customer back",
            "rejected",
        ),
    ]


def test_strict_refuses_a_customers_file_with_merged_ids(merged: Workspace, files: dict[str, Path]):
    before = merged.table("customers").order_by("customer_id").to_pandas()
    with pytest.raises(StrictRefusalError, match="refuse all 5 rows"):
        merged.imports.load("customers", files["customers"], strict=True)
    after = merged.table("customers").order_by("customer_id").to_pandas()
    assert after.equals(before)


def test_reimported_orders_are_loaded_for_the_surviving_id(
    merged: Workspace, files: dict[str, Path], tmp_path: Path
):
    ws = merged
    result = ws.imports.load("orders", files["orders"])
    assert (result.loaded, result.rejected, result.flagged, result.unchanged) == (4, 0, 2, 4)
    assert owners(ws, "orders", "order_id") == {"O1": "A1", "O2": "A1", "O3": "B9", "O4": "D1"}
    assert issues(ws, result.import_id) == [
        (
            2,
            "customer_id",
            "A2",
            "customer A2 was merged into A1 (merge 1); loaded for A1",
            "flagged",
        ),
        (
            4,
            "customer_id",
            "B1",
            "customer B1 was merged into B9 (merge 2); loaded for B9",
            "flagged",
        ),
    ]
    # A new order of a merged id: inserted for the surviving customer, not flagged unknown.
    new = write(tmp_path, "new.csv", "order_id,customer_id,ordered_at,amount\nO5,B1,2024-01-01,5\n")
    result = ws.imports.load("orders", new)
    assert (result.inserted, result.flagged) == (1, 1)
    assert owners(ws, "orders", "order_id")["O5"] == "B9"
    assert "unknown" not in " ".join(r[3] for r in issues(ws, result.import_id))


def test_events_of_a_merged_id_follow_the_survivor(merged: Workspace, tmp_path: Path):
    path = write(
        tmp_path,
        "events.csv",
        "message_id,customer_id,anonymous_id,type,event,timestamp\n"
        "E1,A2,,track,viewed,2024-01-02\nE2,,anon-1,page,,2024-01-03\nE3,D1,,track,x,2024-01-04\n",
    )
    result = merged.imports.load("events", path)
    assert (result.inserted, result.flagged) == (3, 1)
    assert owners(merged, "events", "message_id") == {"E1": "A1", "E2": None, "E3": "D1"}


def test_a_chain_of_merges_is_followed(merged: Workspace, tmp_path: Path, files: dict[str, Path]):
    ws = merged
    # A third, older and as complete profile of Anne arrives: it absorbs A1 in merge 3.
    extra = write(
        tmp_path,
        "anne.csv",
        "customer_id,email,phone,first_name,last_name,birth_date,gender,postal_code,city,"
        "region,country,created_at\n"
        "Z0,anne@morel.fr,+33611223344,Anne,Morel,1980-02-03,female,75011,Paris,"
        "Île-de-France,FR,2015-01-01\n",
    )
    ws.imports.load("customers", extra)
    second = ws.quality.dedupe()
    assert second.merges[["merge_id", "surviving_id"]].values.tolist() == [[3, "Z0"]]
    result = ws.imports.load("orders", files["orders"])
    assert owners(ws, "orders", "order_id") == {"O1": "Z0", "O2": "Z0", "O3": "B9", "O4": "D1"}
    reasons = {r[2]: r[3] for r in issues(ws, result.import_id)}
    assert reasons["A2"] == "customer A2 was merged into Z0 (merges 1, 3); loaded for Z0"
    assert reasons["A1"] == "customer A1 was merged into Z0 (merge 3); loaded for Z0"
    # Undoing merge 3 ends the second step of the chain only.
    ws.quality.undo_merge(3)
    ws.imports.load("orders", files["orders"])
    assert owners(ws, "orders", "order_id") == {"O1": "A1", "O2": "A1", "O3": "B9", "O4": "D1"}


def test_after_undo_a_reimport_behaves_as_before_the_merge(ws: Workspace, files: dict[str, Path]):
    def reimport() -> tuple[list[tuple[int, ...]], dict[str, Any], list[str]]:
        counts = []
        for kind in ("customers", "orders", "consents"):
            r = ws.imports.load(kind, files[kind])
            counts.append((r.loaded, r.inserted, r.updated, r.unchanged, r.rejected, r.flagged))
        customers = sorted(owners(ws, "customers", "customer_id"))
        return counts, owners(ws, "orders", "order_id"), customers

    before = reimport()
    ws.quality.dedupe()
    ws.quality.undo_merge(2)
    ws.quality.undo_merge(1)
    assert reimport() == before
    assert before[2] == ["A1", "A2", "B1", "B9", "D1"]
    assert before[1] == {"O1": "A2", "O2": "A1", "O3": "B1", "O4": "D1"}


def test_undoing_one_merge_stops_only_its_redirect(merged: Workspace, files: dict[str, Path]):
    merged.quality.undo_merge(1)
    result = merged.imports.load("orders", files["orders"])
    assert owners(merged, "orders", "order_id") == {"O1": "A2", "O2": "A1", "O3": "B9", "O4": "D1"}
    assert [r[2] for r in issues(merged, result.import_id)] == ["B1"]


def ledger(ws: Workspace, customer_id: str) -> int:
    t = ws.table("consents")
    return int(t.filter(t.customer_id == customer_id).count().execute())


def test_a_consent_the_survivor_withdrew_later_is_not_granted_again(
    merged: Workspace, tmp_path: Path
):
    ws = merged
    header = "customer_id,channel,purpose,status,updated_at,source\n"
    withdrawn = write(tmp_path, "w.csv", header + "A1,post,marketing,withdrawn,2024-05-01,app\n")
    ws.imports.load("consents", withdrawn)
    # An old export still says merged A2 granted post marketing, before the withdrawal:
    # the record joins A1's history, and the later withdrawal stays the current state.
    old = write(tmp_path, "old.csv", header + "A2,post,marketing,granted,2022-01-01,shop\n")
    before = ledger(ws, "A1")
    result = ws.imports.load("consents", old)
    assert (result.loaded, result.flagged) == (1, 1)
    assert consents(ws, "A1")[("post", "marketing")] == ("withdrawn", "2024-05-01")
    assert consents(ws, "A2") == {}
    assert ledger(ws, "A1") in (before, before + 1)  # kept by the merge, or appended
    # A newer statement of the same person wins, as for any consent: the date decides.
    newer = write(tmp_path, "new.csv", header + "A2,post,marketing,granted,2024-06-01,shop\n")
    ws.imports.load("consents", newer)
    assert consents(ws, "A1")[("post", "marketing")] == ("granted", "2024-06-01")


def test_a_redirected_consent_as_recent_as_a_stricter_one_does_not_widen_it(
    merged: Workspace, tmp_path: Path
):
    ws = merged
    header = "customer_id,channel,purpose,status,updated_at,source\n"
    ws.imports.load(
        "consents", write(tmp_path, "w.csv", header + "A1,ads,profiling,denied,2024-05-01,app\n")
    )
    same_day = write(tmp_path, "same.csv", header + "A2,ads,profiling,granted,2024-05-01,shop\n")
    result = ws.imports.load("consents", same_day)
    # Kept in the ledger as evidence, but between records of one moment the stricter wins.
    assert (result.loaded, result.rejected, result.flagged) == (1, 0, 1)
    assert consents(ws, "A1")[("ads", "profiling")] == ("denied", "2024-05-01")


def test_reimported_consents_join_the_survivors_history(merged: Workspace, files: dict[str, Path]):
    ws = merged
    result = ws.imports.load("consents", files["consents"])
    assert (result.read, result.loaded, result.rejected) == (6, 6, 0)
    # email: A1's own record is more recent; sms: A2's denial (2023) is more recent.
    assert consents(ws, "A1") == {
        ("email", "marketing"): ("granted", "2021-01-01"),
        ("sms", "marketing"): ("denied", "2023-01-01"),
        ("post", "marketing"): ("granted", "2022-01-01"),
    }
    assert consents(ws, "A2") == {}
    # The same file again adds nothing: exact repeats are not appended twice.
    rows = ws.table("consents").count().execute()
    again = ws.imports.load("consents", files["consents"])
    assert (again.inserted, again.unchanged) == (0, 6)
    assert ws.table("consents").count().execute() == rows


def test_a_redirect_that_repeats_a_record_of_the_file_rejects_the_copy(
    merged: Workspace, tmp_path: Path
):
    ws = merged
    header = "customer_id,channel,purpose,status,updated_at,source\n"
    same = "{},push,marketing,granted,2024-02-01,app\n"
    path = write(tmp_path, "twice.csv", header + same.format("A2") + same.format("A1"))
    result = ws.imports.load("consents", path)
    assert (result.loaded, result.rejected) == (1, 1)
    rejected = [r for r in issues(ws, result.import_id) if r[4] == "rejected"]
    assert rejected == [
        (
            2,
            "customer_id",
            "A2",
            "customer A2 was merged into A1 (merge 1), and line 3 gives A1 the same record",
            "rejected",
        )
    ]


def test_chains_skip_undone_merges_and_end_at_an_id_that_survived_later():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE merges (merge_id BIGINT, surviving_id VARCHAR, merged_ids JSON, status VARCHAR)"
    )
    log = [
        (1, "A1", '["A2", "A3"]', "applied"),
        (2, "X", '["A1"]', "applied"),
        (3, "Q", '["R"]', "undone"),
        (4, "Y", '["X"]', "applied"),
        # A2 came back (imported before redirects existed) and absorbed Y.
        (5, "A2", '["Y"]', "applied"),
    ]
    con.executemany("INSERT INTO merges VALUES (?, ?, ?, ?)", log)
    assert stage_merged_ids(con) == 4
    staged = con.execute(f"SELECT * FROM {MERGED_IDS} ORDER BY 1").fetchall()
    assert staged == [
        ("A1", "A2", [2, 4, 5]),
        ("A3", "A2", [1, 2, 4, 5]),
        ("X", "A2", [4, 5]),
        ("Y", "A2", [5]),
    ]
