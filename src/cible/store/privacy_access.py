"""Pseudonymising customers past retention: their contact and name fields become NULL.

One transaction clears the fields and appends the audit entry, so the log never
misses a pseudonymisation and never records one that did not happen. Orders,
events and every other row stay, so aggregates (revenue, counts, segments' figures)
are unchanged.

Examples
--------
>>> import duckdb
>>> from datetime import datetime
>>> from cible.store import audit_log
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE customers (customer_id VARCHAR, email VARCHAR, "
...     "phone VARCHAR, first_name VARCHAR, last_name VARCHAR, postal_code VARCHAR, "
...     "city VARCHAR, updated_at TIMESTAMP)")
>>> _ = con.execute("INSERT INTO customers VALUES ('c1', 'a@b.c', '+33', 'Ann', 'Lee', "
...     "'69001', 'Lyon', NULL), ('c2', 'd@e.f', NULL, 'Bo', NULL, NULL, 'Nice', NULL)")
>>> _ = con.execute(audit_log.CREATE_TABLE)
>>> at = datetime(2026, 1, 1)
>>> clear_contacts(con, ["c1"], at=at, entry=audit_log.NewEntry(at, "cli", "x", "", "ok"))
1
>>> con.execute("SELECT customer_id, email, first_name, city FROM customers "
...     "ORDER BY 1").fetchall()
[('c1', None, None, 'Lyon'), ('c2', 'd@e.f', 'Bo', 'Nice')]
>>> clear_contacts(con, [], at=at, entry=audit_log.NewEntry(at, "cli", "x", "", "ok"))
0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import duckdb

from cible.store import audit_log
from cible.store.sql import fetch_row, quote
from cible.store.store import Store
from cible.store.transaction import transaction

#: Fields that identify a person directly; what pseudonymisation clears.
PSEUDONYMISED = ("email", "phone", "first_name", "last_name", "postal_code")

_STAGE = "_pseudonymise_ids"


def pseudonymise(
    store: Store, customer_ids: Sequence[str], *, at: datetime, entry: audit_log.NewEntry
) -> int:
    """:func:`clear_contacts` on the workspace database of ``store``."""
    return clear_contacts(store.connection, customer_ids, at=at, entry=entry)


def clear_contacts(
    con: duckdb.DuckDBPyConnection,
    customer_ids: Sequence[str],
    *,
    at: datetime,
    entry: audit_log.NewEntry,
) -> int:
    """Clear :data:`PSEUDONYMISED` of ``customer_ids`` and append ``entry``; return the count.

    ``entry.target`` is set to the action's target and its detail gains
    ``customers`` (how many rows changed), in the same transaction.
    """
    cleared = ", ".join(f"{quote(name)} = NULL" for name in PSEUDONYMISED)
    with transaction(con):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_STAGE} (customer_id VARCHAR)")
        if customer_ids:  # DuckDB refuses an empty executemany
            con.executemany(f"INSERT INTO {_STAGE} VALUES (?)", [[i] for i in customer_ids])
        changed = int(
            fetch_row(
                con,
                f"SELECT count(*) FROM customers WHERE customer_id IN "
                f"(SELECT customer_id FROM {_STAGE})",
            )[0]
        )
        con.execute(
            f"UPDATE customers SET {cleared}, updated_at = ? "
            f"WHERE customer_id IN (SELECT customer_id FROM {_STAGE})",
            [at],
        )
        con.execute(f"DROP TABLE {_STAGE}")
        audit_log.insert(con, replace(entry, detail={**entry.detail, "customers": changed}))
    return changed
