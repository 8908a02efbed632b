"""An import holds its parsed and judged rows in a compressed file of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from cible import Workspace
from cible.domain.errors import ImportFileError
from cible.importing import pipeline
from cible.store import writer
from cible.store.import_tables import CATALOG, scratch_path

CUSTOMERS = "customer_id;email\nC1;a@b.fr\nC2;c@d.fr\n;x@y.fr\n"


@pytest.fixture
def on_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file counts as large: its rows are held in the import's file."""
    monkeypatch.setattr(pipeline, "HOLD_ON_DISK_BEYOND", 0)


def _held(ws: Workspace) -> dict[str, str]:
    """Each held import table -> the database holding it, as DuckDB lists them."""
    rows = ws.store.connection.execute(
        "SELECT table_name, database_name FROM duckdb_tables() "
        "WHERE table_name IN ('_parsed', '_checked')"
    ).fetchall()
    return dict(rows)


@pytest.mark.usefixtures("on_disk")
def test_an_import_holds_its_rows_in_a_file_removed_afterwards(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(CUSTOMERS)
    seen: dict[str, dict[str, str]] = {}
    with Workspace.create(tmp_path / "ws") as ws:
        database = Path(
            ws.store.connection.execute(
                "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
            ).fetchall()[0][0]
        )

        def progress(step: str, done: int, total: int) -> None:
            if step == "merging":
                seen["held"] = _held(ws)
                seen["file"] = {"exists": str(scratch_path(database).exists())}

        result = ws.imports.load("customers", tmp_path / "c.csv", progress=progress)
        assert (result.loaded, result.rejected) == (2, 1)
        assert seen["held"] == {"_parsed": CATALOG, "_checked": CATALOG}
        assert seen["file"] == {"exists": "True"}
        # Gone with the import: the file, its catalog and its tables.
        assert not scratch_path(database).exists()
        assert _held(ws) == {}
        attached = ws.store.connection.execute("SELECT database_name FROM duckdb_databases()")
        assert CATALOG not in {name for (name,) in attached.fetchall()}
        assert ws.table("customers").count().execute() == 2


@pytest.mark.usefixtures("on_disk")
def test_a_file_left_by_a_crash_is_replaced_and_a_refused_file_leaves_none(
    tmp_path: Path,
) -> None:
    (tmp_path / "c.csv").write_text(CUSTOMERS)
    (tmp_path / "bad.csv").write_text("customer_id;email\n")
    with Workspace.create(tmp_path / "ws") as ws:
        database = Path(
            ws.store.connection.execute(
                "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
            ).fetchall()[0][0]
        )
        scratch_path(database).write_bytes(b"not a database, half written when the power went")
        assert ws.imports.load("customers", tmp_path / "c.csv").loaded == 2
        assert not scratch_path(database).exists()
        with pytest.raises(ImportFileError, match="header but no rows"):
            ws.imports.load("customers", tmp_path / "bad.csv")
        assert not scratch_path(database).exists()
        # The next import still works: nothing was left attached.
        assert ws.imports.load("customers", tmp_path / "c.csv").unchanged == 2


def test_a_small_file_is_held_in_memory(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(CUSTOMERS)
    seen: dict[str, dict[str, str]] = {}
    with Workspace.create(tmp_path / "ws") as ws:

        def progress(step: str, done: int, total: int) -> None:
            if step == "merging":
                seen["held"] = _held(ws)

        ws.imports.load("customers", tmp_path / "c.csv", progress=progress)
    assert seen["held"] == {"_parsed": "temp", "_checked": "temp"}


@pytest.mark.usefixtures("on_disk")
def test_a_failure_inside_the_commit_leaves_nothing_attached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "c.csv").write_text(CUSTOMERS)
    with Workspace.create(tmp_path / "ws") as ws:
        database = tmp_path / "ws" / "cible.duckdb"

        def fail(*args: object, **kwargs: object) -> None:
            raise RuntimeError("the disk filled up")

        with monkeypatch.context() as patch:
            patch.setattr(writer, "_merge", fail)
            with pytest.raises(RuntimeError, match="the disk filled up"):
                ws.imports.load("customers", tmp_path / "c.csv")
        assert not scratch_path(database).exists()
        assert ws.table("customers").count().execute() == 0
        assert ws.imports.load("customers", tmp_path / "c.csv").inserted == 2


def test_a_writable_open_deletes_a_file_a_crash_left(tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "ws"):
        pass
    left = scratch_path(tmp_path / "ws" / "cible.duckdb")
    left.write_bytes(b"rows of an import killed half way")
    with Workspace.open(tmp_path / "ws", read_only=True):
        assert left.exists()  # a read-only open writes and deletes nothing
    with Workspace.open(tmp_path / "ws"):
        assert not left.exists()
