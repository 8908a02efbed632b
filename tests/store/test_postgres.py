"""DuckDB's statements translated for PostgreSQL (:mod:`cible.store.postgres`), run
on the local server where they matter."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, datetime

import psycopg
import pyarrow as pa
import pytest
import sqlglot

from cible.store.postgres import pg_type, shown, translate
from cible.store.store import Store
from tests.backends.engines import POSTGRES, postgres_address


def test_catalog_functions_read_postgres_catalog() -> None:
    sql = translate("SELECT table_name FROM duckdb_tables() WHERE NOT temporary")
    assert "pg_catalog.pg_class" in sql and "duckdb_tables()" not in sql.lower()
    assert "information_schema" not in translate("SELECT index_name FROM duckdb_indexes()")


def test_stored_json_is_text_and_casts_stay_json() -> None:
    assert translate("CREATE TABLE t (doc JSON, n BIGINT)") == "CREATE TABLE t (doc TEXT, n BIGINT)"
    assert "AS JSON" in translate("SELECT CAST(doc AS JSON) FROM t")


def test_typed_parameters_are_numbered() -> None:
    assert translate("SELECT * FROM t WHERE id IN (SELECT unnest(?::VARCHAR[])) AND n = ?") == (
        "SELECT * FROM t WHERE id IN (SELECT UNNEST(CAST($1 AS TEXT[]))) AND n = $2"
    )


def test_duckdb_settings_and_checkpoints_do_nothing() -> None:
    assert translate("SET preserve_insertion_order = false") == ""
    assert translate("CHECKPOINT") == ""
    assert translate("SET TimeZone = 'UTC'") != ""


def test_what_sqlglot_cannot_read_is_refused_not_sent() -> None:
    with pytest.raises(sqlglot.errors.ParseError):
        translate("EXPORT DATABASE 'backup'")


def test_arrow_types_and_shown_address() -> None:
    assert pg_type(pa.list_(pa.string())) == "TEXT[]"
    assert pg_type(pa.timestamp("us", tz="UTC")) == "TIMESTAMPTZ"
    assert shown("postgresql://u:p@h/db") == "postgresql://u@h/db"


@pytest.fixture
def store() -> Iterator[Store]:
    with postgres_address("cible_store") as url:
        opened = Store.open_postgres(url)
        try:
            yield opened
        finally:
            opened.close()  # a second close does nothing


def test_statements_run_as_on_duckdb(store: Store) -> None:
    con = store.connection
    con.execute("CREATE OR REPLACE TABLE t (id VARCHAR, doc JSON)")
    con.register("_rows", pa.table({"id": ["a", "b", "c"], "doc": ['{"x": 1}', "{}", "{}"]}))
    # DuckDB reports the rows a change made, as one row.
    assert con.execute("INSERT INTO t SELECT * FROM _rows").fetchall() == [(3,)]
    con.unregister("_rows")
    assert con.execute("DELETE FROM t WHERE contains(id, ?)", ["b"]).fetchall() == [(1,)]
    assert con.execute("SELECT id FROM t WHERE doc LIKE '%x%'").fetchall() == [("a",)]
    assert [r[0] for r in con.execute("DESCRIBE t").fetchall()] == ["id", "doc"]
    names = con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name = 't'")
    assert names.fetchall() == [("t",)]
    con.execute("CREATE OR REPLACE TEMP TABLE t2 AS FROM t")
    assert con.execute("SELECT count(*) FROM temp.t2").fetchall() == [(2,)]
    assert store.table("t2").count().execute() == 2
    with pytest.raises(psycopg.errors.UndefinedTable):
        con.execute("SELECT * FROM missing")


def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    con = store.connection
    con.execute("CREATE TABLE t (id VARCHAR)")
    with pytest.raises(KeyError), store.transaction():
        con.execute("INSERT INTO t VALUES ('a')")
        raise KeyError("stop")
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(0,)]


def test_one_process_at_a_time_leads_a_role_and_another_takes_over(store: Store) -> None:
    other = Store.open_postgres(store.location)
    try:
        assert store.leads("deliveries") and store.leads("deliveries")  # held, asked again
        assert not other.leads("deliveries")
        assert other.leads("automations")  # each role has its own leader
        store.close()  # its server stopped: the lock goes with its connection
        # The server lets the lock go once it has ended the session, just after.
        deadline = time.monotonic() + 10
        while not other.leads("deliveries"):
            assert time.monotonic() < deadline, "the lock was not let go"
            time.sleep(0.05)
    finally:
        other.close()


#: Statements in DuckDB's dialect whose rewrites matter, each run on both engines
#: over the same rows: PostgreSQL must answer what DuckDB answers.
SAME_ANSWER = [
    "SELECT k, arg_max(v, n), arg_min(v, n) FROM t GROUP BY ALL ORDER BY ALL",
    "SELECT k, count(*) FROM t GROUP BY ALL ORDER BY ALL DESC",
    "SELECT k FROM t WHERE suffix(v, 'b') ORDER BY k",
    "SELECT k FROM t WHERE contains(v, 'a') AND list_contains(?::VARCHAR[], k) ORDER BY k",
    "SELECT /* a ? in a comment */ k FROM t WHERE k = ? -- and ? here\n AND v IS NOT NULL",
    "SELECT sha256('salt' || k) FROM t ORDER BY k",
    "SELECT to_json(struct_pack(k := k, inner := struct_pack(v := v))) FROM t WHERE k = 'a'",
    "SELECT count(*) FROM (SELECT k FROM t) JOIN (SELECT k FROM t) USING (k)",
]
PARAMETERS = {3: [["a", "b"]], 4: ["a"]}


@pytest.mark.parametrize("number", range(len(SAME_ANSWER)))
def test_postgres_answers_what_duckdb_answers(store: Store, number: int) -> None:
    import duckdb

    rows = pa.table(
        {
            "k": ["a", "a", "b", "c"],
            "v": ["ab", None, "bb", "ca"],
            "n": [1, 2, 3, None],
        }
    )
    duck = duckdb.connect()
    answers = []
    for con in (duck, store.connection):
        con.register("_rows", rows)
        con.execute("CREATE OR REPLACE TABLE t AS SELECT * FROM _rows")
        con.unregister("_rows")
        found = con.execute(SAME_ANSWER[number], PARAMETERS.get(number, [])).fetchall()
        answers.append([tuple(_plain(value) for value in row) for row in found])
    assert answers[1] == answers[0]


def _plain(value: object) -> object:
    # JSON: text on PostgreSQL, text on DuckDB too, spaced differently.
    if isinstance(value, str) and value.startswith("{"):
        return json.loads(value)
    return value


def test_a_connection_the_server_dropped_makes_the_store_invalidated(store: Store) -> None:
    assert not store.invalidated()
    pid = store.connection.execute("SELECT pg_backend_pid()").fetchall()[0][0]
    with psycopg.connect(POSTGRES.replace("postgres://", "postgresql://", 1)) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    # The server answers the next statement on it with an error; the Store is reopened.
    assert store.invalidated()


def test_the_history_is_one_process_turn_at_a_time(store: Store) -> None:
    other = Store.open_postgres(store.location)
    try:
        with store.history_turn() as mine:
            assert mine
            with other.history_turn(wait=0.2) as theirs:
                assert not theirs  # a run elsewhere: not waited for longer
        with other.history_turn(wait=5) as theirs:
            assert theirs
    finally:
        other.close()


def test_copy_keeps_every_value_as_it_was(store: Store) -> None:
    """Rows go to PostgreSQL as CSV written by Arrow: empty text is not NULL, text
    that reads like a NULL marker stays text, floats keep NaN, infinities and -0.0."""
    rows = pa.table(
        {
            "s": ["", None, "a,b", 'q"x', "é\nz", "\\N", "NULL"],
            "n": [1, None, 3, 4, 5, 6, 7],
            "f": [1.5, None, float("nan"), float("inf"), 1e-7, -0.0, 2.0],
            "b": [True, None, False, True, False, True, None],
            "at": pa.array(
                [datetime(2024, 1, 1, 1, 2, 3, 456789), None, datetime(1, 1, 1), *[None] * 4],
                pa.timestamp("us"),
            ),
            "day": pa.array([date(2024, 1, 2), *[None] * 6]),
        }
    )
    # Lists have no CSV form: such a table goes row by row.
    lists = pa.table({"tags": [["x", "y"], [], None], "n": [1, 2, None]})
    con = store.connection
    for table in (rows, lists):
        con.register("_copied", table)
        found = con.execute("SELECT * FROM _copied").fetchall()
        for row, expected in zip(found, table.to_pylist(), strict=True):
            for value, wanted in zip(row, expected.values(), strict=True):
                assert value == wanted or (value != value and wanted != wanted), (row, expected)
