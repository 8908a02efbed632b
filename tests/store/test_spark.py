"""What a Spark workspace decides without Spark: when a table is copied again, and
how a table is split into pages between Spark and Python.

The runs themselves, on a Spark session, are compared with DuckDB's in
``tests/backends/test_pipeline.py`` (the module of the test session's Spark).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ibis
import pytest

from cible.store.spark import table_fingerprint
from cible.store.spark_run import pages_of
from cible.store.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "cible.duckdb")
    opened.connection.execute("CREATE TABLE orders (order_id VARCHAR, amount DOUBLE)")
    opened.connection.execute("INSERT INTO orders VALUES ('o1', 10.0), ('o2', 20.0)")
    yield opened
    opened.close()


def test_the_fingerprint_changes_with_any_row_and_only_then(store: Store) -> None:
    con = store.connection
    first = table_fingerprint(store, "orders")
    assert table_fingerprint(store, "orders") == first
    seen = {first}
    for change in (
        "UPDATE orders SET amount = 11.0 WHERE order_id = 'o1'",
        "INSERT INTO orders VALUES ('o2', 20.0)",  # a copy of a row counts
        "DELETE FROM orders WHERE order_id = 'o1'",
        "ALTER TABLE orders ADD COLUMN currency VARCHAR",
    ):
        con.execute(change)
        found = table_fingerprint(store, "orders")
        assert found not in seen, change
        seen.add(found)


def test_the_fingerprint_of_the_same_rows_in_another_order_is_the_same(store: Store) -> None:
    before = table_fingerprint(store, "orders")
    store.connection.execute(
        "CREATE OR REPLACE TABLE orders AS SELECT * FROM orders ORDER BY order_id DESC"
    )
    assert table_fingerprint(store, "orders") == before


@pytest.mark.parametrize(("rows", "page"), [(0, 10), (7, 10), (1_000, 37), (1_000, 1)])
def test_pages_hold_every_row_once_and_a_customer_in_one(rows: int, page: int) -> None:
    # Memberships: the segment comes first, a customer in several segments.
    table = ibis.memtable(
        {
            "segment_id": [f"s{i % 3}" for i in range(rows)],
            "customer_id": [f"c{i // 2}" for i in range(rows)],
        },
        schema={"segment_id": "string", "customer_id": "string"},
    )
    pages = [part.to_pyarrow().to_pylist() for part in pages_of(table, page)]
    found = sorted((r["segment_id"], r["customer_id"]) for part in pages for r in part)
    assert found == sorted((f"s{i % 3}", f"c{i // 2}") for i in range(rows))
    assert len(pages) == (0 if rows == 0 else -(-rows // page))
    customers = [{r["customer_id"] for r in part} for part in pages]
    assert sum(len(c) for c in customers) == len(set().union(*customers))
    if rows >= 1_000 and page > 1:
        # Split by a hash of the customer, the parts are about the page's size.
        assert max(len(part) for part in pages) < 3 * page
