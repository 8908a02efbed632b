"""Schema version of a workspace and the migrations that bring it up to date.

The version lives in the ``cible_meta`` table. Opening a workspace applies, in order
and each in its own transaction, every migration newer than the recorded version, so
a crash between two migrations leaves a consistent, older version behind. Migrations
use ``IF NOT EXISTS`` forms so that a fresh database, created from today's registry,
can run the whole list.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

from cible.domain.errors import WorkspaceError
from cible.domain.registry import FieldRegistry
from cible.domain.schema import CANONICAL_TABLES
from cible.store import (
    audit_log,
    automations,
    campaigns,
    ddl,
    deliveries,
    drafts,
    indexes,
    monitoring,
    outbox,
    privacy,
    snapshots,
    tags,
    templates,
    tokens,
)
from cible.store.postgres import is_postgres
from cible.store.transaction import transaction


@dataclass(frozen=True)
class Migration:
    """One step of the schema: ``apply`` takes the connection inside a transaction."""

    version: int
    description: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


def _initial_schema(con: duckdb.DuckDBPyConnection) -> None:
    for table in CANONICAL_TABLES.values():
        con.execute(ddl.create_table(table))
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS imports (
          import_id BIGINT, kind VARCHAR, file VARCHAR, file_sha256 VARCHAR,
          started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR,
          rows_read BIGINT, rows_loaded BIGINT, rows_inserted BIGINT, rows_updated BIGINT,
          rows_unchanged BIGINT, rows_rejected BIGINT, rows_flagged BIGINT
        )
        """
    )
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS import_issues (
          import_id BIGINT, file VARCHAR, line BIGINT, column_name VARCHAR,
          value VARCHAR, reason VARCHAR, severity VARCHAR
        )
        """
    )


def _segments(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("ALTER TABLE imports ADD COLUMN IF NOT EXISTS rows_stale BIGINT")
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS segments (
          segment_id VARCHAR, kind VARCHAR, dimension VARCHAR, priority INTEGER,
          definition JSON, created_at TIMESTAMP, updated_at TIMESTAMP
        )
        """
    )
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS runs (
          run_id BIGINT, as_of TIMESTAMP, started_at TIMESTAMP, finished_at TIMESTAMP,
          customers BIGINT, segments BIGINT, memberships BIGINT, entered BIGINT,
          exited BIGINT, notes VARCHAR
        )
        """
    )
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS segment_memberships (
          segment_id VARCHAR, dimension VARCHAR, customer_id VARCHAR,
          entered_run BIGINT, entered_at TIMESTAMP, exited_run BIGINT, exited_at TIMESTAMP
        )
        """
    )


def _models(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("ALTER TABLE runs ADD COLUMN IF NOT EXISTS notes VARCHAR")
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS models (
          model_id BIGINT, kind VARCHAR, created_at TIMESTAMP, card JSON, blob BLOB
        )
        """
    )


def _quality(con: duckdb.DuckDBPyConnection) -> None:
    # One row per `cible audit`: the score and the whole report, for the trend.
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS audits (
          audit_id BIGINT, created_at TIMESTAMP, score DOUBLE, customers BIGINT, report JSON
        )
        """
    )
    # One row per merge of duplicate profiles into a surviving (golden) record.
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS merges (
          merge_id BIGINT, created_at TIMESTAMP, surviving_id VARCHAR, merged_ids JSON,
          match_weight DOUBLE, match_rule VARCHAR, status VARCHAR, undone_at TIMESTAMP
        )
        """
    )
    # Before-images of every row a merge changed or removed, so that undo is exact and
    # no source row is ever lost: table name, the row as JSON, and what became of it.
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS merge_rows (
          merge_id BIGINT, table_name VARCHAR, row_key VARCHAR, action VARCHAR, row_data JSON
        )
        """
    )


def _ledger(con: duckdb.DuckDBPyConnection) -> None:
    # Order lines keyed by position: existing lines are numbered within their order
    # by product, the order they were unique in, so the numbers are stable.
    con.execute("ALTER TABLE order_lines ADD COLUMN IF NOT EXISTS line_number BIGINT")
    con.execute(
        """
        UPDATE order_lines SET line_number = n.line_number
        FROM (SELECT rowid AS row_id, row_number() OVER (
                PARTITION BY order_id ORDER BY product_id, quantity, unit_price) AS line_number
              FROM order_lines) n
        WHERE order_lines.rowid = n.row_id AND order_lines.line_number IS NULL
        """
    )
    # Consents become a ledger: each stored row is a record, its last change its date.
    columns = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'consents'"
        ).fetchall()
    }
    if "updated_at" in columns and "recorded_at" not in columns:
        con.execute("ALTER TABLE consents RENAME COLUMN updated_at TO recorded_at")
    con.execute("ALTER TABLE consents ADD COLUMN IF NOT EXISTS proof VARCHAR")


def _probability_alive(con: duckdb.DuckDBPyConnection) -> None:
    # The trait p_alive became probability_alive, the name cible.clv gives the same
    # probability. A definition is JSON text in which a trait name is a quoted string:
    # rewriting the quoted name reaches every condition, nested or not, and leaves
    # words that merely contain it (a description) alone.
    con.execute(
        """
        UPDATE segments
        SET definition = replace(CAST(definition AS VARCHAR), '"p_alive"', '"probability_alive"')
        WHERE contains(CAST(definition AS VARCHAR), '"p_alive"')
        """
    )


def _access(con: duckdb.DuckDBPyConnection) -> None:
    # API tokens (digests only) and the append-only audit log of `cible serve`.
    con.execute(tokens.CREATE_TABLE)
    con.execute(audit_log.CREATE_TABLE)


def _live_events(con: duckdb.DuckDBPyConnection) -> None:
    # The deduplication window of live events: the message ids received lately, kept
    # beside `events` rather than as a unique index on it (DESIGN.md section 6: a
    # table-wide unique index made appends up to 20 times slower). Rows older than the
    # window are deleted as new ones arrive.
    con.execute("CREATE TABLE IF NOT EXISTS event_ids (message_id VARCHAR, received_at TIMESTAMP)")
    if is_postgres(con):
        # Several servers append on PostgreSQL: the unique window lets each event's
        # first transaction keep it and the others skip it (events._claim). On DuckDB
        # the single writer checks, without an index in memory.
        con.execute("CREATE UNIQUE INDEX IF NOT EXISTS event_ids_message ON event_ids (message_id)")
    # Anonymous ids (cookie, device) linked to a customer by `identify` or `alias`:
    # one row per link, the message that made it, and when it was received.
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS identities (
          anonymous_id VARCHAR, customer_id VARCHAR, linked_at TIMESTAMP,
          message_id VARCHAR, source VARCHAR
        )
        """
    )
    if is_postgres(con):
        # Likewise, one row per link however many servers saw it (events._link).
        con.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS identities_link "
            "ON identities (anonymous_id, customer_id)"
        )


def _outbox(con: duckdb.DuckDBPyConnection) -> None:
    # Segment transitions of live refreshes, written with the membership history in one
    # transaction, for the activation worker to deliver (docs/realtime.md).
    con.execute(outbox.CREATE_SEQUENCE)
    con.execute(outbox.CREATE_TABLE)


#: The schema version from which the customer indexes exist.
INDEXED_SINCE = 10


def _customer_indexes(con: duckdb.DuckDBPyConnection) -> None:
    # Live refreshes read a few customers' rows: indexes instead of table scans.
    indexes.create_indexes(con)


def _activation(con: duckdb.DuckDBPyConnection) -> None:
    # Tags with their ledger, automations with their runs and log, message templates,
    # deliveries with their attempts; the outbox now also carries tag changes and
    # matched events (docs/activation.md). The signing secret makes unsubscribe links
    # that cannot be forged for another customer.
    for statement in (
        *tags.CREATE,
        *automations.CREATE,
        *templates.CREATE,
        *deliveries.CREATE,
        *outbox.UPGRADE,
    ):
        con.execute(statement)
    con.execute(
        "INSERT INTO cible_meta SELECT 'signing_secret', ? "
        "WHERE NOT EXISTS (SELECT 1 FROM cible_meta WHERE key = 'signing_secret')",
        [secrets.token_hex(32)],
    )
    con.execute("CREATE INDEX IF NOT EXISTS customer_tags_customer ON customer_tags (customer_id)")
    # Transitions written before automations existed are history, not triggers: the
    # first pass after the upgrade must not start runs on weeks-old entries.
    con.execute("UPDATE outbox SET delivered_at = now() WHERE delivered_at IS NULL")


def _snapshots(con: duckdb.DuckDBPyConnection) -> None:
    # Traits and memberships frozen as of a moment, for migrations, stability and
    # drift, and the drift checks made between them (docs/monitoring.md).
    for statement in (*snapshots.CREATE, *monitoring.CREATE):
        con.execute(statement)


def _campaigns(con: duckdb.DuckDBPyConnection) -> None:
    # Campaign definitions and each targeted customer's arm (docs/campaigns.md).
    for statement in campaigns.CREATE:
        con.execute(statement)


def _outcomes(con: duckdb.DuckDBPyConnection) -> None:
    # Surveys, support tickets and acquisition costs as their own import kinds; the
    # customers' acquisition channel (for the CAC); the segment each campaign customer
    # was targeted through (for the analysis per segment, docs/experiments.md).
    for name in ("surveys", "tickets", "acquisition_costs"):
        con.execute(ddl.create_table(CANONICAL_TABLES[name]))
    customers = CANONICAL_TABLES["customers"]
    columns = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'customers'"
        ).fetchall()
    }
    if "acquisition_channel" not in columns:
        # DuckDB refuses to alter a table that has an index: drop it, alter, rebuild.
        with indexes.suspended(con, "customers", rows=indexes.REBUILD_BEYOND + 1):
            con.execute(ddl.add_column(customers, customers.field("acquisition_channel")))
    for statement in campaigns.UPGRADE:
        con.execute(statement)


def _eligible_at(con: duckdb.DuckDBPyConnection) -> None:
    # When each campaign customer first became eligible: the analysis keeps them from
    # then on, whatever their consent later (docs/experiments.md, "Attribution").
    for statement in campaigns.UPGRADE_ELIGIBLE_AT:
        con.execute(statement)


def _privacy(con: duckdb.DuckDBPyConnection) -> None:
    # The suppression list (salted digests, never values) and its salt, a workspace
    # secret like the signing secret (docs/privacy.md).
    for statement in privacy.create_statements():
        con.execute(statement)


def _unmask(con: duckdb.DuckDBPyConnection) -> None:
    # The grant a token may carry to read e-mails and phones in clear below the
    # editor role (cible.access.masking); existing tokens keep seeing them masked.
    con.execute(tokens.UPGRADE_UNMASK)


def _drafts(con: duckdb.DuckDBPyConnection) -> None:
    # Segments saved from the builder as drafts, to finish later: not segments, so no
    # run reads them (docs/web.md).
    for statement in drafts.CREATE:
        con.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "canonical tables, import log and import issues", _initial_schema),
    Migration(2, "stale row count; segment definitions, runs, membership history", _segments),
    Migration(3, "trained models with their model cards; run notes", _models),
    Migration(4, "data quality audits, identity merges and their before-images", _quality),
    Migration(5, "order lines keyed by line number; consents kept as a ledger", _ledger),
    Migration(6, "the trait p_alive renamed probability_alive in segments", _probability_alive),
    Migration(7, "API tokens with roles and the append-only audit log", _access),
    Migration(8, "live events: deduplication window and anonymous identities", _live_events),
    Migration(9, "the outbox of segment transitions refreshed live", _outbox),
    Migration(INDEXED_SINCE, "indexes on customer ids for live refreshes", _customer_indexes),
    Migration(11, "tags, automations, templates, deliveries; tags in the outbox", _activation),
    Migration(12, "snapshots of traits and memberships; drift checks", _snapshots),
    Migration(13, "campaigns and their assignments to arms", _campaigns),
    Migration(14, "surveys, tickets, acquisition costs; campaign segments", _outcomes),
    Migration(15, "when each campaign customer first became eligible", _eligible_at),
    Migration(16, "the suppression list of ids, e-mails and phones", _privacy),
    Migration(17, "the grant of API tokens to read contact values unmasked", _unmask),
    Migration(18, "segment drafts saved from the builder", _drafts),
)

#: The schema version this release of Cible writes.
SCHEMA_VERSION = MIGRATIONS[-1].version


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """Recorded schema version; 0 for an empty database.

    Raises
    ------
    WorkspaceError
        When the recorded version is not one Cible writes (a damaged file).
    """
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'cible_meta'"
    ).fetchall()
    if not found[0][0]:
        return 0
    rows = con.execute("SELECT value FROM cible_meta WHERE key = 'schema_version'").fetchall()
    if not rows:
        return 0
    recorded = rows[0][0]
    # Written by migrate() as decimal digits; anything else means the file was damaged.
    if len(rows) > 1 or not re.fullmatch(r"[0-9]{1,9}", str(recorded)):
        shown = "several schema versions" if len(rows) > 1 else f"schema version {recorded!r}"
        raise WorkspaceError(
            f"The workspace database records {shown}, which no Cible wrote: the file is "
            "damaged; restore it from a backup."
        )
    return int(recorded)


def migrate(
    con: duckdb.DuckDBPyConnection,
    registry: FieldRegistry,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> list[int]:
    """Apply pending migrations, then add declared custom attribute columns.

    Returns
    -------
    list of int
        Versions applied by this call (empty when already current).

    Raises
    ------
    WorkspaceError
        When the workspace was written by a newer Cible.
    """
    with migrating_alone(con):
        return _migrate(con, registry, migrations)


@contextmanager
def migrating_alone(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """On PostgreSQL, one process at a time migrates (two servers started together on
    a new schema): the others wait, then find the schema current. DuckDB's file has one
    writer already."""
    if not is_postgres(con):
        yield
        return
    lock = "SELECT pg_advisory_lock(hashtext(current_schema() || '.migrate'))"
    con.execute(lock).fetchall()
    try:
        yield
    finally:
        con.execute(lock.replace("pg_advisory_lock", "pg_advisory_unlock")).fetchall()


def _migrate(
    con: duckdb.DuckDBPyConnection, registry: FieldRegistry, migrations: Sequence[Migration]
) -> list[int]:
    con.execute("CREATE TABLE IF NOT EXISTS cible_meta (key VARCHAR, value VARCHAR)")
    version = current_version(con)
    latest = migrations[-1].version
    if version > latest:
        raise WorkspaceError(
            f"This workspace has schema version {version}, newer than the {latest} this "
            "Cible understands; upgrade Cible to open it."
        )
    applied = []
    for migration in migrations:
        if migration.version <= version:
            continue
        with transaction(con):
            migration.apply(con)
            con.execute("DELETE FROM cible_meta WHERE key = 'schema_version'")
            con.execute(
                "INSERT INTO cible_meta VALUES ('schema_version', ?)", [str(migration.version)]
            )
        applied.append(migration.version)
    if current_version(con) >= INDEXED_SINCE:
        # An index dropped for a bulk write is built after its commit: a crash in
        # between leaves it missing, so an open builds what is missing.
        indexes.build_missing(con)
    customers = registry.table("customers")
    for field in registry.custom_fields:
        con.execute(ddl.add_column(customers, field))
    return applied
