"""The suppression list and the erasure of one customer, in SQL.

The suppression list holds digests, never values: the SHA-256 of a workspace secret
(the *salt*, kept in ``cible_meta``) followed by the kind and the normalised value
(:func:`digest`). The same digest is computed here in SQL (:data:`DIGEST_SQL`) so that
customers, imports and exports are checked in the database.

:func:`erase` deletes a customer from every table that holds them, in the caller's
transaction; :func:`copy_to_fresh_file` and :func:`swap_files` then put a fresh copy
of the database in place of the file, because DuckDB leaves deleted values in the
blocks it frees (a ``CHECKPOINT`` does not clear them: tests/store/test_privacy.py
shows it).

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE cible_meta (key VARCHAR, value VARCHAR)")
>>> for statement in create_statements():
...     _ = con.execute(statement)
>>> salt = workspace_salt(con)
>>> sql = con.execute(f"SELECT {DIGEST_SQL.format(value='?')}", [salt + "email:a@b.test"])
>>> sql.fetchall()[0][0] == digest(salt, "email", "A@B.test ")
True
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from cible.store.merges import merged_ids_array
from cible.store.sql import fetch_row, quote

#: What the suppression list can hold.
KINDS = ("customer_id", "email", "phone")

#: The key of the salt in ``cible_meta``.
SALT_KEY = "privacy_salt"

CREATE = (
    """
    CREATE TABLE IF NOT EXISTS suppressions (
      kind VARCHAR, digest VARCHAR, reason VARCHAR, added_at TIMESTAMP, added_by VARCHAR
    )
    """,
    f"INSERT INTO cible_meta SELECT '{SALT_KEY}', '{{salt}}' "
    f"WHERE NOT EXISTS (SELECT 1 FROM cible_meta WHERE key = '{SALT_KEY}')",
)

#: The digest in SQL of ``value`` (salt, kind and normalised value concatenated).
DIGEST_SQL = "sha256({value})"

# Normalised values in SQL, as :func:`normalise` makes them in Python.
_NORMALISED = {
    "customer_id": "{column}",
    "email": "lower(trim({column}))",
    "phone": "regexp_replace({column}, '[^0-9]', '', 'g')",
}


def normalise(kind: str, value: str) -> str:
    """The value as it is hashed: e-mails trimmed and lower-cased, phones their digits.

    >>> normalise("email", " Anne@Example.COM"), normalise("phone", "+33 6 12-34")
    ('anne@example.com', '3361234')
    """
    if kind == "email":
        return value.strip().lower()
    if kind == "phone":
        return re.sub(r"[^0-9]", "", value)
    return value


def digest(salt: str, kind: str, value: str) -> str:
    """The salted SHA-256 (hex) of a normalised value, as the suppression list holds it.

    >>> digest("s", "email", "A@b.test") == digest("s", "email", "a@b.test ")
    True
    """
    return hashlib.sha256(f"{salt}{kind}:{normalise(kind, value)}".encode()).hexdigest()


def create_statements() -> list[str]:
    """The statements of migration 16, with a fresh salt."""
    table, salt = CREATE
    return [table, salt.replace("{salt}", secrets.token_hex(32))]


def workspace_salt(con: duckdb.DuckDBPyConnection) -> str:
    """The workspace's salt, created on first use (a database built by hand has none)."""
    rows = con.execute("SELECT value FROM cible_meta WHERE key = ?", [SALT_KEY]).fetchall()
    if rows:
        return str(rows[0][0])
    con.execute(create_statements()[1])
    return workspace_salt(con)


@dataclass(frozen=True)
class Suppression:
    """One digest to add to the list."""

    kind: str
    digest: str
    reason: str
    added_at: datetime
    added_by: str


def add(con: duckdb.DuckDBPyConnection, rows: Sequence[Suppression]) -> int:
    """Add ``rows`` not listed yet (same kind and digest); returns how many were new."""
    added = 0
    for row in rows:
        found = fetch_row(
            con,
            "SELECT count(*) FROM suppressions WHERE kind = ? AND digest = ?",
            [row.kind, row.digest],
        )
        if found[0]:
            continue
        con.execute(
            "INSERT INTO suppressions VALUES (?, ?, ?, ?, ?)",
            [row.kind, row.digest, row.reason, row.added_at, row.added_by],
        )
        added += 1
    return added


def remove(con: duckdb.DuckDBPyConnection, kind: str, value_digest: str) -> list[str]:
    """Remove a digest from the list; returns the reasons it was listed for."""
    rows = con.execute(
        "DELETE FROM suppressions WHERE kind = ? AND digest = ? RETURNING reason",
        [kind, value_digest],
    ).fetchall()
    return [str(row[0]) for row in rows]


def counts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """``(kind, reason, count)`` of the list, no digest."""
    rows = con.execute(
        "SELECT kind, reason, count(*) FROM suppressions GROUP BY ALL ORDER BY kind, reason"
    ).fetchall()
    return [(str(k), str(r), int(n)) for k, r, n in rows]


def listed(con: duckdb.DuckDBPyConnection, kind: str, digests: Sequence[str]) -> set[str]:
    """Those of ``digests`` of ``kind`` on the list."""
    if not digests:
        return set()
    rows = con.execute(
        "SELECT DISTINCT digest FROM suppressions "
        "WHERE kind = ? AND digest IN (SELECT unnest(?::VARCHAR[]))",
        [kind, list(digests)],
    ).fetchall()
    return {str(row[0]) for row in rows}


def is_empty(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the list is empty (then nothing needs checking)."""
    return bool(fetch_row(con, "SELECT count(*) FROM (SELECT 1 FROM suppressions LIMIT 1)")[0] == 0)


def suppressed_customers(con: duckdb.DuckDBPyConnection, customer_ids: Sequence[str]) -> set[str]:
    """Those of ``customer_ids`` whose id, e-mail or phone is on the list.

    The digests are computed in the database, from the ``customers`` table for the
    e-mail and the phone.
    """
    if not customer_ids or is_empty(con):
        return set()
    salt = workspace_salt(con)
    checks = " OR ".join(
        f"(kind = '{kind}' AND digest = "
        + DIGEST_SQL.format(value=f"? || '{kind}:' || " + _NORMALISED[kind].format(column=column))
        + ")"
        for kind, column in (("customer_id", "ids.id"), ("email", "c.email"), ("phone", "c.phone"))
    )
    rows = con.execute(
        f"""
        SELECT DISTINCT ids.id
        FROM (SELECT DISTINCT unnest(?::VARCHAR[]) AS id) ids
        LEFT JOIN customers c ON c.customer_id = ids.id
        JOIN suppressions s ON {checks}
        """,
        [list(customer_ids), salt, salt, salt],
    ).fetchall()
    return {str(row[0]) for row in rows}


def blank_rejects(con: duckdb.DuckDBPyConnection, import_id: int, reason: str) -> None:
    """Drop the values of an import's rejects given for ``reason`` (suppressed ones)."""
    con.execute(
        "UPDATE import_issues SET value = NULL WHERE import_id = ? AND reason = ?",
        [import_id, reason],
    )


# -- erasure ---------------------------------------------------------------------------

#: Tables whose rows are a customer's by their ``customer_id`` column. Erasure deletes
#: from every table with such a column (found in the catalog when it runs); this list
#: is what docs/privacy.md promises, and a test fails when a table is missing from it.
CUSTOMER_TABLES = (
    "customers",
    "orders",
    "events",
    "identities",
    "consents",
    "segment_memberships",
    "customer_traits",
    "snapshot_traits",
    "snapshot_members",
    "customer_tags",
    "campaign_assignments",
    "outbox",
    "deliveries",
    "automation_runs",
    "automation_log",
    "surveys",
    "tickets",
)


@dataclass(frozen=True)
class Contact:
    """What the customers table held for the customer: to find them in free text."""

    email: str | None
    phone: str | None
    names: tuple[str, ...]


def contact(con: duckdb.DuckDBPyConnection, customer_id: str) -> Contact | None:
    """The customer's e-mail, phone and names; None when no profile has that id."""
    rows = con.execute(
        "SELECT email, phone, first_name, last_name FROM customers WHERE customer_id = ?",
        [customer_id],
    ).fetchall()
    if not rows:
        return None
    row = rows[0]
    names = tuple(str(n) for n in row[2:] if n)
    return Contact(row[0], row[1], names)


def customer_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables of the workspace (not temporary ones) with a ``customer_id`` column."""
    rows = con.execute(
        """
        SELECT DISTINCT c.table_name FROM information_schema.columns c
        JOIN information_schema.tables t USING (table_catalog, table_schema, table_name)
        WHERE c.column_name = 'customer_id' AND t.table_type = 'BASE TABLE'
          AND c.table_catalog = current_database() AND c.table_schema = current_schema()
        ORDER BY 1
        """
    ).fetchall()
    return [str(row[0]) for row in rows]


def erase(
    con: duckdb.DuckDBPyConnection, customer_id: str, found: Contact | None, erased_label: str
) -> dict[str, int]:
    """Delete ``customer_id`` from every table; returns rows deleted or rewritten per table.

    Run inside the caller's transaction. ``found`` is the customer's contact (read
    before), for the rows that name them in free text: rejects, merge before-images,
    audit details and quality reports. ``erased_label`` replaces the id where an entry
    is kept (the audit log).
    """
    done: dict[str, int] = {}

    def run(table: str, sql: str, params: Sequence[object]) -> None:
        rows = con.execute(sql, list(params)).fetchall()
        count = int(rows[0][0]) if rows else 0
        if count:
            done[table] = done.get(table, 0) + count

    # Order lines go with the orders, attempts with the deliveries, and the events of
    # the anonymous ids linked to the customer with the customer: read them first.
    run(
        "order_lines",
        "DELETE FROM order_lines WHERE order_id IN "
        "(SELECT order_id FROM orders WHERE customer_id = ?)",
        [customer_id],
    )
    run(
        "delivery_attempts",
        "DELETE FROM delivery_attempts WHERE delivery_id IN "
        "(SELECT delivery_id FROM deliveries WHERE customer_id = ?)",
        [customer_id],
    )
    run(
        "events",
        "DELETE FROM events WHERE anonymous_id IN "
        "(SELECT anonymous_id FROM identities WHERE customer_id = ?)",
        [customer_id],
    )
    # Merges that folded the customer or into the customer, with their before-images.
    merges = [
        int(row[0])
        for row in con.execute(
            "SELECT merge_id FROM merges WHERE surviving_id = ? "
            f"OR list_contains({merged_ids_array(con)}, ?)",
            [customer_id, customer_id],
        ).fetchall()
    ]
    run(
        "merge_rows",
        "DELETE FROM merge_rows WHERE merge_id IN (SELECT unnest(?::BIGINT[])) OR row_key = ?",
        [merges, customer_id],
    )
    run("merges", "DELETE FROM merges WHERE merge_id IN (SELECT unnest(?::BIGINT[]))", [merges])
    for table in customer_tables(con):
        run(table, f"DELETE FROM {quote(table)} WHERE customer_id = ?", [customer_id])
    values = [customer_id]
    if found is not None:
        values += [v for v in (found.email, found.phone) if v]
    # Rejects hold one raw value each: the id, the e-mail or the phone as written.
    run(
        "import_issues",
        "DELETE FROM import_issues WHERE value IN (SELECT unnest(?::VARCHAR[])) "
        "OR lower(trim(value)) IN (SELECT lower(unnest(?::VARCHAR[])))",
        [values, values],
    )
    texts = _needles(customer_id, found)
    # Audit entries are kept (who did what, when): only what names the customer goes.
    run(
        "audit_log",
        "UPDATE audit_log SET detail = '{\"erased\": true}' "
        f"WHERE {_mentions('CAST(detail AS VARCHAR)', len(texts))}",
        texts,
    )
    run(
        "audit_log",
        # Targets are written ``kind:id`` (``customer:c1``) or as the bare id.
        "UPDATE audit_log SET target = ? WHERE target = ? OR suffix(target, ':' || ?)",
        [erased_label, customer_id, customer_id],
    )
    # Quality reports keep examples of bad values; the customer's go.
    for needle in texts:
        run(
            "audits",
            "UPDATE audits SET report = replace(CAST(report AS VARCHAR), ?, '[erased]') "
            "WHERE contains(CAST(report AS VARCHAR), ?)",
            [needle, needle],
        )
    return done


def _needles(customer_id: str, found: Contact | None) -> list[str]:
    """Strings that name the customer in free text: the id as a JSON string, contacts."""
    needles = [f'"{customer_id}"']
    if found is not None:
        needles += [v for v in (found.email, found.phone) if v]
    return needles


def _mentions(column: str, count: int) -> str:
    return "(" + " OR ".join([f"contains({column}, ?)"] * count) + ")"


def database_path(con: duckdb.DuckDBPyConnection) -> Path:
    """The file of the connection's database."""
    row = fetch_row(
        con, "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    )
    assert row[0], "an in-memory database has no file"
    return Path(str(row[0]))


def copy_to_fresh_file(con: duckdb.DuckDBPyConnection, options: str = "") -> Path:
    """Copy the database into a new file beside it; returns the new file's path.

    ``COPY FROM DATABASE`` writes live rows only, so the values of deleted rows are
    not in the copy. It copies tables, sequences (with their current values) and
    indexes. ``options`` are the new file's ``ATTACH`` options: an encrypted
    workspace's key, so that its copy is encrypted too (:mod:`cible.store.backend`).
    """
    source = database_path(con)
    fresh = source.with_name(source.name + ".fresh")
    for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
        leftover.unlink(missing_ok=True)
    name = str(fetch_row(con, "SELECT current_database()")[0])
    indexes = "SELECT index_name, sql FROM duckdb_indexes() WHERE database_name = ?"
    con.execute(f"ATTACH ? AS cible_fresh{options}", [str(fresh)])
    try:
        con.execute(f"COPY FROM DATABASE {quote(name)} TO cible_fresh")
        # Indexes are copied; should one not be (older DuckDB), it is built again.
        copied = {row[0] for row in con.execute(indexes, ["cible_fresh"]).fetchall()}
        missing = [
            str(sql)
            for index, sql in con.execute(indexes, [name]).fetchall()
            if index not in copied and sql
        ]
        if missing:
            con.execute("USE cible_fresh")
            try:
                for statement in missing:
                    con.execute(statement)
            finally:
                con.execute(f"USE {quote(name)}")
        con.execute("CHECKPOINT cible_fresh")
    finally:
        con.execute("DETACH cible_fresh")
    return fresh


def swap_files(fresh: Path, database: Path) -> None:
    """Put ``fresh`` in place of ``database`` (closed), atomically; drop its old log."""
    database.with_name(database.name + ".wal").unlink(missing_ok=True)
    fresh.replace(database)
