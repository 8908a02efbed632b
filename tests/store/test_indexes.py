"""Indexes on customer ids: created by migration 10, kept across runs, used by look-ups."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from cible import Workspace
from cible.domain.config import WorkspaceConfig
from cible.domain.registry import FieldRegistry
from cible.store import indexes
from cible.store.indexes import CUSTOMER_INDEXES, create_indexes, index_name
from cible.store.migrations import MIGRATIONS, migrate
from cible.store.runs import TRAITS


def _indexes(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}


def test_migration_10_indexes_a_version_9_workspace():
    con = duckdb.connect()
    registry = FieldRegistry(WorkspaceConfig())
    migrate(con, registry, MIGRATIONS[:9])
    assert _indexes(con) == set()
    assert migrate(con, registry, MIGRATIONS[:10]) == [10]
    # Every table but the traits, which only the first run creates.
    expected = {index_name(t, c) for t, c in CUSTOMER_INDEXES if t != TRAITS}
    assert _indexes(con) == expected


def test_create_indexes_skips_what_exists_and_what_is_missing():
    con = duckdb.connect()
    con.execute("CREATE TABLE events (customer_id VARCHAR)")
    assert create_indexes(con) == ["events_customer_id_idx"]
    assert create_indexes(con) == []
    con.execute("CREATE TABLE orders (customer_id VARCHAR)")
    assert create_indexes(con, ["events"]) == []
    assert create_indexes(con, ["orders"]) == ["orders_customer_id_idx"]


def test_a_run_keeps_the_traits_index(tmp_path: Path):
    with Workspace.create(tmp_path / "shop") as ws:
        orders = tmp_path / "orders.csv"
        orders.write_text("order_id,customer_id,ordered_at,amount\no1,c1,2024-01-05,10\n")
        ws.imports.load("orders", orders)
        for day in (1, 2):  # the second run replaces the traits table
            ws.run(as_of=datetime(2024, 2, day))
            assert index_name(TRAITS, "customer_id") in _indexes(ws.store.connection)


def test_one_customers_rows_are_read_through_the_index():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE events AS SELECT 'c' || (i % 10000)::VARCHAR AS customer_id, i AS n "
        "FROM range(1000000) r(i)"
    )
    create_indexes(con)
    # DuckDB chooses between index and sequential scan while running the query.
    query = "EXPLAIN ANALYZE SELECT * FROM events WHERE customer_id IN ('c7', 'c8')"
    assert "Type: Index Scan" in con.execute(query).fetchall()[0][1]


def test_a_large_write_rebuilds_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(indexes, "REBUILD_BEYOND", 2)
    with Workspace.create(tmp_path / "shop") as ws:
        orders = tmp_path / "orders.csv"
        rows = [f"o{i},c{i % 3},2024-01-0{1 + i % 9},{10 + i}" for i in range(20)]
        orders.write_text("order_id,customer_id,ordered_at,amount\n" + "\n".join(rows) + "\n")
        ws.imports.load("orders", orders)
        # Updated: every amount changes, so every row is deleted and written again.
        orders.write_text(
            "order_id,customer_id,ordered_at,amount\n"
            + "\n".join(r.rsplit(",", 1)[0] + ",99" for r in rows)
            + "\n"
        )
        result = ws.imports.load("orders", orders)
        con = ws.store.connection
        assert result.loaded == 20
        assert "orders_customer_id_idx" in _indexes(con)
        found = con.execute("SELECT count(*), sum(amount) FROM orders WHERE customer_id = 'c1'")
        assert found.fetchall() == [(7, 7 * 99.0)]


def test_a_large_write_builds_the_index_after_its_commit_and_an_open_heals_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Built inside the transaction, the index would take the new rows one key at a time
    # at commit (over 15 minutes for 100,000,000 orders): it is built after the commit.
    monkeypatch.setattr(indexes, "REBUILD_BEYOND", 2)
    built: list[tuple[list[str] | None, bool]] = []
    real = indexes.create_indexes

    def spy(con: duckdb.DuckDBPyConnection, tables: list[str] | None = None) -> list[str]:
        try:  # DuckDB refuses a transaction within a transaction.
            con.execute("BEGIN TRANSACTION")
            con.execute("ROLLBACK")
            in_transaction = False
        except duckdb.TransactionException:
            in_transaction = True
        built.append((tables, in_transaction))
        return real(con, tables)

    orders = tmp_path / "orders.csv"
    rows = [f"o{i},c{i % 3},2024-01-0{1 + i % 9},{10 + i}" for i in range(20)]
    orders.write_text("order_id,customer_id,ordered_at,amount\n" + "\n".join(rows) + "\n")
    with Workspace.create(tmp_path / "shop") as ws:
        monkeypatch.setattr(indexes, "create_indexes", spy)
        ws.imports.load("orders", orders)
        assert (["orders"], False) in built
        assert "orders_customer_id_idx" in _indexes(ws.store.connection)
        # A crash after the commit, before the index was built again: it is missing.
        ws.store.connection.execute('DROP INDEX "orders_customer_id_idx"')
    monkeypatch.setattr(indexes, "create_indexes", real)
    with Workspace.open(tmp_path / "shop") as ws:
        assert "orders_customer_id_idx" in _indexes(ws.store.connection)


def test_an_index_that_cannot_be_built_after_the_commit_leaves_the_import_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    # DuckDB builds an ART in memory: under a tight memory limit it may fail after the
    # data are committed. The import is done all the same; the next open builds it.
    monkeypatch.setattr(indexes, "REBUILD_BEYOND", 2)
    real = indexes.create_indexes

    def out_of_memory(con: duckdb.DuckDBPyConnection, tables: list[str] | None = None) -> list[str]:
        raise duckdb.OutOfMemoryException("could not allocate block")

    orders = tmp_path / "orders.csv"
    rows = [f"o{i},c{i % 3},2024-01-0{1 + i % 9},{10 + i}" for i in range(20)]
    orders.write_text("order_id,customer_id,ordered_at,amount\n" + "\n".join(rows) + "\n")
    with Workspace.create(tmp_path / "shop") as ws:
        monkeypatch.setattr(indexes, "create_indexes", out_of_memory)
        result = ws.imports.load("orders", orders)
        assert result.loaded == 20
        assert "orders_customer_id_idx" not in _indexes(ws.store.connection)
        assert "memory_limit" in caplog.text
    monkeypatch.setattr(indexes, "create_indexes", real)
    with Workspace.open(tmp_path / "shop") as ws:
        assert "orders_customer_id_idx" in _indexes(ws.store.connection)


def _in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    try:  # DuckDB refuses a transaction within a transaction.
        con.execute("BEGIN TRANSACTION")
        con.execute("ROLLBACK")
    except duckdb.TransactionException:
        return True
    return False


def test_a_large_write_drops_the_index_before_its_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Dropped inside the transaction, the index would still take every new row one key
    # at a time at commit (over 10 minutes for 200,000,000 events): DuckDB appends a
    # transaction's rows to the indexes the table had when it began.
    monkeypatch.setattr(indexes, "REBUILD_BEYOND", 2)
    drops: list[tuple[str, list[str], bool]] = []
    real = indexes.drop_customer_indexes

    def spy(con: duckdb.DuckDBPyConnection, table: str, rows: int) -> list[str]:
        inside = _in_transaction(con)
        dropped = real(con, table, rows)
        drops.append((table, dropped, inside))
        return dropped

    monkeypatch.setattr(indexes, "drop_customer_indexes", spy)
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,email\n" + "".join(f"c{i},c{i}@x.fr\n" for i in range(9)))
    orders = tmp_path / "orders.csv"
    rows = [f"o{i},c{i % 3},2024-01-0{1 + i % 9},{10 + i}" for i in range(20)]
    orders.write_text("order_id,customer_id,ordered_at,amount\n" + "\n".join(rows) + "\n")
    with Workspace.create(tmp_path / "shop") as ws:
        ws.imports.load("customers", customers)
        ws.imports.load("orders", orders)
        ws.run(as_of=datetime(2024, 2, 1))
        con = ws.store.connection
        assert ("orders", ["orders_customer_id_idx"], False) in drops
        first_run = ("segment_memberships", ["segment_memberships_customer_id_idx"], False)
        assert first_run in drops
        assert not [d for d in drops if d[2]]
        assert {"orders_customer_id_idx", "segment_memberships_customer_id_idx"} <= set(
            _indexes(con)
        )


def test_indexes_fill_half_the_memory_limit_smallest_table_first():
    con = duckdb.connect()
    con.execute("SET memory_limit = '256MB'")  # a budget of 128 MB: 2,560,000 rows
    con.execute("CREATE TABLE customers AS SELECT 'c' || range AS customer_id FROM range(1000)")
    con.execute("CREATE TABLE orders AS SELECT 'c1' AS customer_id FROM range(2000000)")
    con.execute("CREATE TABLE events AS SELECT 'c1' AS customer_id FROM range(1000000)")
    assert indexes.within_budget(con) == {"customers", "events"}
    assert sorted(create_indexes(con)) == ["customers_customer_id_idx", "events_customer_id_idx"]
    # The events outgrow the orders: their index goes, and the orders take its place.
    con.execute("INSERT INTO events SELECT 'c2' FROM range(2000000)")
    assert create_indexes(con) == ["orders_customer_id_idx"]
    assert _indexes(con) == {"customers_customer_id_idx", "orders_customer_id_idx"}


def test_an_import_writes_a_table_sorted_by_customer(tmp_path: Path):
    rows = ["order_id,customer_id,ordered_at,amount"] + [
        f"o{i},c{9 - i % 10},2024-01-0{1 + i % 9},10" for i in range(50)
    ]
    (tmp_path / "orders.csv").write_text("\n".join(rows) + "\n")
    with Workspace.create(tmp_path / "shop") as ws:
        ws.imports.load("orders", tmp_path / "orders.csv")
        stored = ws.store.connection.sql("SELECT customer_id FROM orders").fetchall()
    assert [r[0] for r in stored] == sorted(r[0] for r in stored)


def test_a_memory_limit_that_is_no_size_keeps_every_index(caplog: pytest.LogCaptureFixture):
    con = duckdb.connect()
    con.execute("SET memory_limit = '-1'")  # no limit: shown as petabytes, read now
    con.execute("CREATE TABLE events AS SELECT 'c1' AS customer_id FROM range(1000)")
    assert "events" in indexes.within_budget(con)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(indexes, "size_bytes", lambda text: None)
        assert "events" in indexes.within_budget(con)
    assert "not a size" in caplog.text
