"""store.privacy: digests in SQL and Python agree; deleted values leave the file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from cible.store import privacy

SECRET = "lucrezia.borgiavantaggi@example.test"


def _database_with_a_deleted_row(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE customers (customer_id VARCHAR, email VARCHAR)")
    con.execute("CREATE INDEX customers_email ON customers (email)")
    con.execute("CREATE SEQUENCE ids START 1")
    con.execute("SELECT nextval('ids') FROM range(5)").fetchall()
    con.execute("INSERT INTO customers VALUES ('a', 'a@x.test'), ('b', ?)", [SECRET])
    con.execute("CHECKPOINT")
    con.execute("DELETE FROM customers WHERE customer_id = 'b'")
    con.execute("CHECKPOINT")
    return con


def test_a_checkpoint_leaves_deleted_values_in_the_file(tmp_path: Path) -> None:
    # Why erasure rewrites the file: DuckDB keeps the freed blocks as they were.
    path = tmp_path / "kept.duckdb"
    con = _database_with_a_deleted_row(path)
    con.execute("FORCE CHECKPOINT")
    con.close()
    assert SECRET.encode() in path.read_bytes()


def test_the_fresh_copy_holds_live_rows_indexes_and_sequences_only(tmp_path: Path) -> None:
    path = tmp_path / "shop.duckdb"
    con = _database_with_a_deleted_row(path)
    fresh = privacy.copy_to_fresh_file(con)
    con.close()
    privacy.swap_files(fresh, path)
    assert SECRET.encode() not in path.read_bytes()
    assert not fresh.exists()
    con = duckdb.connect(str(path))
    assert con.execute("SELECT * FROM customers").fetchall() == [("a", "a@x.test")]
    indexes = con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()
    assert indexes == [("customers_email",)]
    assert con.execute("SELECT nextval('ids')").fetchall() == [(6,)]


def test_digests_in_sql_match_python_for_each_kind() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE cible_meta (key VARCHAR, value VARCHAR)")
    con.execute(
        "CREATE TABLE customers (customer_id VARCHAR, email VARCHAR, phone VARCHAR,"
        " first_name VARCHAR, last_name VARCHAR)"
    )
    for statement in privacy.create_statements():
        con.execute(statement)
    salt = privacy.workspace_salt(con)
    assert len(salt) == 64 and privacy.workspace_salt(con) == salt
    con.execute(
        "INSERT INTO customers VALUES ('c1', ' Anne@Example.COM', NULL, NULL, NULL),"
        " ('c2', NULL, '+33 6 12 34 56 78', NULL, NULL), ('c3', 'c@x.test', NULL, NULL, NULL),"
        " ('c4', 'd@x.test', '+33 6 00 00 00 00', NULL, NULL)"
    )
    rows = [
        privacy.Suppression(
            "email", privacy.digest(salt, "email", "anne@example.com"), "r", *_at()
        ),
        privacy.Suppression("phone", privacy.digest(salt, "phone", "+33612345678"), "r", *_at()),
        privacy.Suppression("customer_id", privacy.digest(salt, "customer_id", "c3"), "r", *_at()),
    ]
    assert privacy.add(con, rows) == 3 and privacy.add(con, rows) == 0
    found = privacy.suppressed_customers(con, ["c1", "c2", "c3", "c4", "unknown"])
    assert found == {"c1", "c2", "c3"}
    assert privacy.counts(con) == [("customer_id", "r", 1), ("email", "r", 1), ("phone", "r", 1)]
    assert privacy.remove(con, "customer_id", rows[2].digest) == ["r"]
    assert privacy.suppressed_customers(con, ["c3"]) == set()


def _at() -> tuple[datetime, str]:
    return datetime(2025, 1, 1), "cli"
