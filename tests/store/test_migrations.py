"""Schema version recorded, older workspaces migrated on open, newer ones refused."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from cible import Workspace
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import WorkspaceError
from cible.domain.registry import FieldRegistry
from cible.store import migrations
from cible.store.migrations import MIGRATIONS, SCHEMA_VERSION, Migration, current_version, migrate

REGISTRY = FieldRegistry(WorkspaceConfig())


def _add_segments(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE segments_v2 (segment_id VARCHAR)")
    con.execute("ALTER TABLE orders ADD COLUMN note VARCHAR")


def _broken(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE half_done (x INTEGER)")
    raise RuntimeError("disk full")


def test_new_workspace_records_current_version(workspace: Workspace):
    assert workspace.schema_version == migrations.SCHEMA_VERSION


def test_older_database_is_migrated_and_keeps_its_rows(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    assert migrate(con, REGISTRY, MIGRATIONS[:1]) == [1]
    con.execute("INSERT INTO orders (order_id, amount) VALUES ('O1', 5)")
    newer = (*MIGRATIONS[:1], Migration(2, "segments", _add_segments))
    assert migrate(con, REGISTRY, newer) == [2]
    assert current_version(con) == 2
    assert con.execute("SELECT order_id, note FROM orders").fetchall() == [("O1", None)]
    assert migrate(con, REGISTRY, newer) == []  # applied once only


def test_failed_migration_rolls_back_whole_step(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    migrate(con, REGISTRY, MIGRATIONS[:1])
    with pytest.raises(RuntimeError, match="disk full"):
        migrate(con, REGISTRY, (*MIGRATIONS[:1], Migration(2, "broken", _broken)))
    assert current_version(con) == 1
    tables = {name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "half_done" not in tables


def test_workspace_from_newer_cible_is_refused(tmp_path: Path):
    folder = tmp_path / "ws"
    Workspace.create(folder).close()
    con = duckdb.connect(str(folder / "cible.duckdb"))
    con.execute("UPDATE cible_meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(WorkspaceError, match="schema version 99, newer than"):
        Workspace.open(folder)


def test_custom_attribute_declared_later_adds_a_column(tmp_path: Path):
    folder = tmp_path / "ws"
    Workspace.create(folder).close()
    config = folder / "cible.toml"
    config.write_text(
        config.read_text() + '\n[attributes.favourite_shop]\ncategory = "geographic"\n',
        encoding="utf-8",
    )
    with Workspace.open(folder) as ws:
        assert "favourite_shop" in ws.table("customers").columns
        field = ws.registry.table("customers").field("favourite_shop")
        assert field.category == "geographic"


def test_open_errors_are_one_sentence(tmp_path: Path):
    with pytest.raises(WorkspaceError, match="No Cible workspace at"):
        Workspace.open(tmp_path)
    folder = tmp_path / "ws"
    Workspace.create(folder).close()
    with pytest.raises(WorkspaceError, match="already holds a Cible workspace"):
        Workspace.create(folder)
    (folder / "cible.duckdb").write_bytes(b"not a database at all" * 100)
    with pytest.raises(WorkspaceError, match=r"not a readable Cible database|Cannot open"):
        Workspace.open(folder)


@pytest.mark.parametrize(
    "values, shown",
    [
        (["abc"], "schema version 'abc'"),
        (["-1"], "schema version '-1'"),
        (["99999999999999999999999"], "schema version '99999999999999999999999'"),
        ([None], "schema version None"),
        (["4", "4"], "several schema versions"),
    ],
)
@pytest.mark.parametrize("read_only", [False, True])
def test_a_damaged_schema_version_is_one_sentence(
    tmp_path: Path, values: list[str | None], shown: str, read_only: bool
):
    folder = tmp_path / "ws"
    Workspace.create(folder).close()
    con = duckdb.connect(str(folder / "cible.duckdb"))
    con.execute("DELETE FROM cible_meta WHERE key = 'schema_version'")
    for value in values:
        con.execute("INSERT INTO cible_meta VALUES ('schema_version', ?)", [value])
    con.close()
    with pytest.raises(WorkspaceError) as caught:
        Workspace.open(folder, read_only=read_only)
    assert str(caught.value) == (
        f"{folder / 'cible.duckdb'}: The workspace database records {shown}, which no Cible "
        "wrote: the file is damaged; restore it from a backup."
    )
    # The file was released: it can be repaired and opened again.
    con = duckdb.connect(str(folder / "cible.duckdb"))
    con.execute("DELETE FROM cible_meta WHERE key = 'schema_version'")
    con.execute("INSERT INTO cible_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    con.close()
    Workspace.open(folder).close()


def test_version_5_numbers_order_lines_and_turns_consents_into_a_ledger(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "v4.duckdb"))
    # The two tables as schema version 4 wrote them.
    con.execute("CREATE TABLE cible_meta (key VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO cible_meta VALUES ('schema_version', '4')")
    con.execute(
        "CREATE TABLE order_lines (order_id VARCHAR, product_id VARCHAR, quantity BIGINT, "
        "unit_price DOUBLE)"
    )
    con.execute(
        "INSERT INTO order_lines VALUES ('O2', 'P9', 1, 5), ('O1', 'P3', 2, 1), "
        "('O1', 'P1', 1, 9), ('O2', 'P1', 4, 2)"
    )
    con.execute(
        "CREATE TABLE consents (customer_id VARCHAR, channel VARCHAR, purpose VARCHAR, "
        "status VARCHAR, updated_at TIMESTAMP, source VARCHAR)"
    )
    con.execute(
        "INSERT INTO consents VALUES ('C1', 'email', 'marketing', 'granted', "
        "'2024-03-01 10:00:00', 'web')"
    )
    # Up to version 5 only: later steps read tables this sketch of version 4 lacks.
    assert migrate(con, REGISTRY, MIGRATIONS[:5]) == [5]
    lines = con.execute(
        "SELECT order_id, product_id, line_number FROM order_lines ORDER BY ALL"
    ).fetchall()
    # Numbered within each order by product: the order they were unique in.
    assert lines == [("O1", "P1", 1), ("O1", "P3", 2), ("O2", "P1", 1), ("O2", "P9", 2)]
    ledger = con.execute(
        "SELECT customer_id, status, strftime(recorded_at, '%Y-%m-%d %H:%M'), source, proof "
        "FROM consents"
    ).fetchall()
    assert ledger == [("C1", "granted", "2024-03-01 10:00", "web", None)]
    assert current_version(con) == 5
    # Opening again changes nothing.
    assert migrate(con, REGISTRY, MIGRATIONS[:5]) == []
    con.close()


CUSTOMERS = "customer_id,email\nA,a@x.fr\nB,b@x.fr\nC,c@x.fr\n"
ORDERS = (
    "order_id,customer_id,ordered_at,amount\n"
    "1,A,2024-01-05,600\n2,A,2024-03-01,400\n3,B,2024-01-10,50\n4,C,2024-05-20,80\n"
)
STILL_BUYING = """
id: still-buying
name: Still buying
description: {en: 'Once named "p_alive" in a note.', fr: Achètent encore.}
where:
  any:
    - {trait: probability_alive, op: ">", value: 0.5}
    - {trait: frequency, op: ">=", value: 2}
"""


def test_version_6_renames_p_alive_in_stored_segments(tmp_path: Path):
    folder = tmp_path / "ws"
    with Workspace.create(folder) as ws:
        for kind, text in (("customers", CUSTOMERS), ("orders", ORDERS)):
            (tmp_path / f"{kind}.csv").write_text(text)
            ws.imports.load(kind, tmp_path / f"{kind}.csv")
        ws.segments.add(STILL_BUYING)
    # The workspace as version 5 left it: the segment names the trait p_alive.
    con = duckdb.connect(str(folder / "cible.duckdb"))
    con.execute(
        "UPDATE segments SET definition = replace(CAST(definition AS VARCHAR), "
        "'\"probability_alive\"', '\"p_alive\"')"
    )
    con.execute("UPDATE cible_meta SET value = '5' WHERE key = 'schema_version'")
    [(old,)] = con.execute("SELECT CAST(definition AS VARCHAR) FROM segments").fetchall()
    assert '"p_alive"' in old and "probability_alive" not in old
    con.close()

    with Workspace.open(folder) as ws:
        assert ws.schema_version == SCHEMA_VERSION
        [(new,)] = ws.store.connection.execute(
            "SELECT CAST(definition AS VARCHAR) FROM segments"
        ).fetchall()
        assert new == old.replace('"p_alive"', '"probability_alive"')
        assert 'Once named \\"p_alive\\" in a note.' in new  # text, not a trait: kept
        ws.run(as_of=datetime(2024, 7, 1))
        members = ws.segments.members("still-buying").customer_id.to_pyarrow().to_pylist()
    assert members == ["A"]


def test_version_7_adds_tokens_and_audit_log_to_a_version_6_workspace(tmp_path: Path):
    folder = tmp_path / "ws"
    Workspace.create(folder).close()
    # The workspace as version 6 left it: no token or audit log table.
    con = duckdb.connect(str(folder / "cible.duckdb"))
    con.execute("DROP TABLE api_tokens")
    con.execute("DROP TABLE audit_log")
    con.execute("UPDATE cible_meta SET value = '6' WHERE key = 'schema_version'")
    con.close()
    with Workspace.open(folder) as ws:
        assert ws.schema_version == SCHEMA_VERSION
        secret, created = ws.tokens.create("ci", "viewer")
        assert ws.tokens.authenticate(secret) is not None
        [entry] = ws.audit_log.entries()
    assert (entry.action, entry.target) == ("token.create", f"token:{created.token_id}")
