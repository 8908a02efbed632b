"""Connecting to DuckDB, PostgreSQL and Spark, and loading tables into them.

The pipeline's results on each engine are compared in ``tests/backends``; here, the
addresses, the errors a user reads, and the tables :func:`load_table` writes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from cible.domain.errors import WorkspaceError
from cible.segments.portfolio import overlap
from cible.store import engines
from cible.store.engines import connect_engine, load_table, spark_session_settings
from tests.backends.engines import POSTGRES, postgres_schema

ROWS = pa.table(
    {
        "customer_id": ["a", "b", None],
        "amount": [1.5, None, 3.0],
        "at": pa.array([datetime(2024, 1, 1, 12, 0, 0, 250_000), None, datetime(1999, 12, 31)]),
        "properties": ['{"path": "/promo", "n": 2}', None, '{"path": null}'],
    }
)
SCHEMA = {"customer_id": "string", "amount": "float64", "at": "timestamp(6)", "properties": "json"}


def test_an_unknown_engine_is_named_in_one_sentence() -> None:
    with pytest.raises(WorkspaceError, match=r"^Unknown engine 'sqlite:///x.db': use duckdb"):
        connect_engine("sqlite:///x.db")


def test_duckdb_in_memory_loads_and_replaces_a_table() -> None:
    engine = connect_engine("duckdb")
    load_table(engine, "orders", pd.DataFrame({"order_id": ["o1"]}))
    table = load_table(engine, "orders", ROWS, schema=SCHEMA)
    assert table.schema() == ibis.schema(SCHEMA)
    assert table.order_by("customer_id").to_pyarrow().to_pylist() == (
        ROWS.sort_by("customer_id").to_pylist()
    )


def test_duckdb_file_keeps_its_tables(tmp_path: Path) -> None:
    path = tmp_path / "shop.duckdb"
    engine = connect_engine(f"duckdb://{path}")
    load_table(engine, "orders", ROWS, schema=SCHEMA)
    engine.disconnect()
    assert path.exists()
    assert connect_engine(f"duckdb://{path}").table("orders").count().execute() == 3


def test_loading_into_an_engine_cible_does_not_know_is_refused() -> None:
    class Other:
        name = "sqlite"

    with pytest.raises(WorkspaceError, match="cannot load tables into a sqlite engine"):
        load_table(Other(), "orders", ROWS)


# PostgreSQL -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres() -> Iterator[Any]:
    """An engine in a schema of its own, dropped afterwards."""
    with postgres_schema("cible_engines") as engine:
        yield engine


def test_an_unreachable_postgres_is_one_sentence() -> None:
    with pytest.raises(WorkspaceError, match=r"^Cannot connect to PostgreSQL at 127\.0\.0\.1:1: "):
        connect_engine("postgres://postgres@127.0.0.1:1/test?connect_timeout=2")


def test_a_missing_postgres_database_is_named(postgres: Any) -> None:
    with pytest.raises(WorkspaceError, match="cible_no_such_database"):
        connect_engine(f"{POSTGRES.rsplit('/', 1)[0]}/cible_no_such_database")


def test_postgres_without_psycopg_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(WorkspaceError, match=r"pip install 'cible\[postgres\]'"):
        connect_engine("postgresql://localhost/test")


def test_postgres_loads_rows_and_types(postgres: Any) -> None:
    load_table(postgres, "events", pd.DataFrame({"customer_id": ["x"]}))
    table = load_table(postgres, "events", ROWS, schema=SCHEMA)
    assert table.schema() == ibis.schema(SCHEMA)
    plain = table.select("customer_id", "amount", "at").order_by("customer_id")
    assert plain.to_pyarrow().to_pylist() == (
        ROWS.select(["customer_id", "amount", "at"]).sort_by("customer_id").to_pylist()
    )


def test_postgres_reads_json_strings(postgres: Any) -> None:
    """Ibis's string unwrapping, which recent sqlglot writes as invalid SQL."""
    table = load_table(postgres, "events", ROWS, schema=SCHEMA)
    paths = table.select("customer_id", path=table.properties["path"].str)
    found = {row["customer_id"]: row["path"] for row in paths.to_pyarrow().to_pylist()}
    assert found == {"a": "/promo", "b": None, None: None}


def test_postgres_divides_counts_exactly(postgres: Any) -> None:
    """Counts over counts of joined subqueries (the overlap of two dimensions): sqlglot
    left them uncast, and PostgreSQL divided integers as integers (1 / 3 = 0)."""
    rows = pa.table(
        {
            "segment_id": ["gold", "gold", "new", "new"],
            "dimension": ["value", "value", "lifecycle", "lifecycle"],
            "customer_id": ["a", "b", "b", "c"],
        }
    )
    found = overlap(load_table(postgres, "members", rows), "value", "lifecycle")
    assert found.to_pyarrow().to_pylist() == [
        {"segment_x": "gold", "segment_y": "new", "customers": 1, "jaccard": 1 / 3}
    ]


def test_postgres_sums_conditions_cast_to_integers(postgres: Any) -> None:
    """PostgreSQL has no cast from boolean to bigint, only to integer."""
    table = load_table(postgres, "groups", pa.table({"n": [1, 2, 3]}))
    found = table.aggregate(
        big=(table.n > 1).cast("int64").sum(), small=(table.n > 2).cast("int16").sum()
    )
    assert found.to_pyarrow().to_pylist() == [{"big": 2, "small": 1}]


def test_postgres_first_last_and_any_value_as_on_duckdb(postgres: Any) -> None:
    """Ibis 12 calls first() and last() aggregates PostgreSQL does not have."""
    rows = pa.table({"g": ["a", "a", "a", "b"], "x": ["p", None, "r", None], "o": [2, 1, 3, 4]})
    answers = []
    for engine in (connect_engine("duckdb"), postgres):
        table = load_table(engine, "firsts", rows)
        found = table.group_by("g").agg(
            first=table.x.first(order_by=table.o),
            last=table.x.last(order_by=table.o),
            known=table.x.arbitrary().notnull(),
            hex=table.g.max().hexdigest("sha256"),
        )
        answers.append(found.order_by("g").to_pyarrow().to_pylist())
    assert answers[1] == answers[0]
    assert answers[0][0]["first"] == "p" and answers[0][0]["last"] == "r"


def test_postgres_float_literals_come_back_as_floats(postgres: Any) -> None:
    """A float literal is a NUMERIC in PostgreSQL: Arrow refused its Decimal."""
    table = load_table(postgres, "groups", pa.table({"n": [1]}))
    found = table.select(
        zero=ibis.literal(0.0, "float64"), nan=ibis.literal(float("nan")), half=table.n / 2
    )
    row = found.to_pyarrow().to_pylist()[0]
    assert row["zero"] == 0.0 and row["nan"] != row["nan"] and row["half"] == 0.5


def test_postgres_literal_tables_are_dropped_cleanly(postgres: Any) -> None:
    """A literal table (a long ``in`` list) is a temporary table, which Ibis drops once
    unused with the statement the engine writes for it."""
    values = ibis.memtable({"value": ["a", "c"]})
    table = load_table(postgres, "events", ROWS, schema=SCHEMA)
    assert table.filter(table.customer_id.isin(values.value)).count().execute() == 1
    name = values.op().name
    temporary = postgres._session_temp_db
    assert name in postgres.list_tables(database=temporary)
    postgres._make_memtable_finalizer(name)()
    assert name not in postgres.list_tables(database=temporary)


# Spark (started in tests/backends; here only what fails before a session) ----------


def test_spark_without_pyspark_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(WorkspaceError, match=r"pip install 'cible\[spark\]'"):
        connect_engine("spark://local[1]")


def test_spark_without_java_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyspark.sql import SparkSession

    monkeypatch.setattr(SparkSession, "getActiveSession", staticmethod(lambda: None))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(engines.shutil, "which", lambda name: None)
    with pytest.raises(WorkspaceError, match=r"^Spark needs Java 17 or later"):
        connect_engine("spark")


def test_local_spark_listens_on_the_loopback_with_few_partitions() -> None:
    settings = spark_session_settings("local[2]")
    assert settings["spark.driver.bindAddress"] == "127.0.0.1"
    assert settings["spark.sql.shuffle.partitions"] == "4"
    assert settings["spark.ui.enabled"] == "false"
    assert spark_session_settings("local[3, 2]")["spark.sql.shuffle.partitions"] == "6"
    assert spark_session_settings("local[*, 2]")["spark.default.parallelism"].isdigit()
    cluster = spark_session_settings("spark://10.0.0.5:7077")
    assert "spark.sql.shuffle.partitions" not in cluster
    assert cluster["spark.sql.session.timeZone"] == "UTC"
