"""Campaigns as stored data, and the assignment of each targeted customer to an arm.

``campaigns`` keeps each definition (JSON, validated by
:mod:`cible.activation.campaigns` before it is saved) with its status (``draft``,
``live``, ``paused``, ``ended``) and version. ``campaign_assignments`` holds one row
per (campaign, customer) ever assigned: the arm, when it was first assigned, whether
the customer is eligible now and, when not, why (``no_consent``, ``denied``,
``withdrawn``, ``conflict`` with ``conflict_with`` naming the campaign kept), and the
segment they were targeted through (the first of the campaign's segments they were a
member of at their first assignment: the analysis is made per segment), and when they
first became eligible (``eligible_at``, kept when they later withdraw their consent or
are taken by another campaign: the analysis follows every customer ever eligible). A
re-assignment rewrites the rows of the customers it reads and keeps their first
``assigned_at``; customers who left the target keep their row, as history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from cible.store.transaction import transaction

CREATE = (
    """
    CREATE TABLE IF NOT EXISTS campaigns (
      campaign_id VARCHAR, definition VARCHAR, status VARCHAR, version INTEGER,
      updated_at TIMESTAMP, updated_by VARCHAR, launched_at TIMESTAMP
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS campaign_assignments (
      campaign_id VARCHAR, customer_id VARCHAR, arm VARCHAR, assigned_at TIMESTAMP,
      eligible BOOLEAN, reason VARCHAR, conflict_with VARCHAR, updated_at TIMESTAMP,
      segment_id VARCHAR, eligible_at TIMESTAMP
    )
    """,
    "CREATE INDEX IF NOT EXISTS campaign_assignments_campaign "
    "ON campaign_assignments (campaign_id)",
)

#: Schema 14: the segment a customer was targeted through. DuckDB alters no table
#: that has an index, hence the drop and rebuild.
UPGRADE = (
    "DROP INDEX IF EXISTS campaign_assignments_campaign",
    "ALTER TABLE campaign_assignments ADD COLUMN IF NOT EXISTS segment_id VARCHAR",
    CREATE[1],
)

#: Schema 15: when a customer first became eligible, never overwritten (the analysis
#: keeps every customer who ever was, whatever their consent later: intention to treat).
UPGRADE_ELIGIBLE_AT = (
    "DROP INDEX IF EXISTS campaign_assignments_campaign",
    "ALTER TABLE campaign_assignments ADD COLUMN IF NOT EXISTS eligible_at TIMESTAMP",
    "UPDATE campaign_assignments SET eligible_at = assigned_at "
    "WHERE eligible AND eligible_at IS NULL",
    CREATE[1],
)


@dataclass(frozen=True)
class CampaignRow:
    """A stored campaign: its definition (JSON text), status and version."""

    campaign_id: str
    definition: str
    status: str
    version: int
    updated_at: datetime
    updated_by: str | None
    launched_at: datetime | None


@dataclass(frozen=True)
class AssignmentRow:
    """One customer's arm in one campaign, and whether they are eligible."""

    campaign_id: str
    customer_id: str
    arm: str
    assigned_at: datetime
    eligible: bool
    reason: str | None
    conflict_with: str | None
    updated_at: datetime
    segment_id: str | None = None
    eligible_at: datetime | None = None


_CAMPAIGN_COLUMNS = ", ".join(CampaignRow.__dataclass_fields__)
_ASSIGNMENT_COLUMNS = ", ".join(AssignmentRow.__dataclass_fields__)
_TS = pa.timestamp("us")
#: Columns a launch hands over (``eligible_at`` is derived by the store).
ASSIGNMENT_SCHEMA = pa.schema(
    [
        *((name, pa.string()) for name in ("campaign_id", "customer_id", "arm")),
        ("assigned_at", _TS),
        ("eligible", pa.bool_()),
        *((name, pa.string()) for name in ("reason", "conflict_with")),
        ("updated_at", _TS),
        ("segment_id", pa.string()),
    ]
)


def list_campaigns(con: duckdb.DuckDBPyConnection) -> list[CampaignRow]:
    """Every campaign, by id."""
    rows = con.execute(f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns ORDER BY campaign_id").fetchall()
    return [CampaignRow(*row) for row in rows]


def save_campaign(
    con: duckdb.DuckDBPyConnection,
    campaign_id: str,
    definition: str,
    *,
    status: str,
    at: datetime,
    actor: str,
) -> int:
    """Create or replace a campaign's definition; returns its version (unchanged when
    the definition is)."""
    with transaction(con):
        found = con.execute(
            "SELECT definition, version, launched_at FROM campaigns WHERE campaign_id = ?",
            [campaign_id],
        ).fetchall()
        if found and found[0][0] == definition:
            return int(found[0][1])
        version = int(found[0][1]) + 1 if found else 1
        launched = found[0][2] if found else None
        con.execute("DELETE FROM campaigns WHERE campaign_id = ?", [campaign_id])
        con.execute(
            "INSERT INTO campaigns VALUES (?, ?, ?, ?, ?, ?, ?)",
            [campaign_id, definition, status, version, at, actor, launched],
        )
    return version


def set_status(
    con: duckdb.DuckDBPyConnection, campaign_id: str, status: str, *, at: datetime, actor: str
) -> bool:
    """Change a campaign's status; whether it exists."""
    rows = con.execute(
        "UPDATE campaigns SET status = ?, updated_at = ?, updated_by = ? WHERE campaign_id = ?",
        [status, at, actor, campaign_id],
    ).fetchall()
    return bool(rows[0][0])


def eligible_customers(con: duckdb.DuckDBPyConnection, campaign_id: str) -> set[str]:
    """The customers of a campaign's assignment who are eligible now."""
    rows = con.execute(
        "SELECT customer_id FROM campaign_assignments WHERE campaign_id = ? AND eligible",
        [campaign_id],
    ).fetchall()
    return {row[0] for row in rows}


def launch(
    con: duckdb.DuckDBPyConnection,
    campaign_id: str,
    assignments: pa.Table,
    exclusions: Sequence[tuple[str, Sequence[str], str]],
    *,
    at: datetime,
    actor: str,
) -> None:
    """Store a launch in one transaction: the campaign's assignment (rows of
    :data:`ASSIGNMENT_SCHEMA`; a customer assigned before keeps the first
    ``assigned_at``), the customers other campaigns lose to it (``(campaign, customer
    ids, campaign kept)``, marked ``conflict``), and the status ``live``."""
    name = "_campaign_launch"
    con.register(name, assignments.cast(ASSIGNMENT_SCHEMA))
    try:
        with transaction(con):
            con.execute(
                f"""
                CREATE OR REPLACE TEMP TABLE _campaign_new AS
                SELECT n.campaign_id, n.customer_id, n.arm,
                       coalesce(o.assigned_at, n.assigned_at) AS assigned_at,
                       n.eligible, n.reason, n.conflict_with, n.updated_at,
                       coalesce(o.segment_id, n.segment_id) AS segment_id,
                       coalesce(o.eligible_at, CASE WHEN n.eligible THEN n.updated_at END)
                         AS eligible_at
                FROM {name} n LEFT JOIN campaign_assignments o
                  ON o.campaign_id = n.campaign_id AND o.customer_id = n.customer_id
                """
            )
            con.execute(
                "DELETE FROM campaign_assignments WHERE campaign_id = ? "
                "AND customer_id IN (SELECT customer_id FROM _campaign_new)",
                [campaign_id],
            )
            con.execute(
                f"INSERT INTO campaign_assignments ({_ASSIGNMENT_COLUMNS}) "
                f"SELECT {_ASSIGNMENT_COLUMNS} FROM _campaign_new"
            )
            con.execute("DROP TABLE _campaign_new")
            for other, customer_ids, kept in exclusions:
                con.execute(
                    """
                    UPDATE campaign_assignments
                    SET eligible = false, reason = 'conflict', conflict_with = ?, updated_at = ?
                    WHERE campaign_id = ? AND customer_id IN (SELECT unnest(?::VARCHAR[]))
                    """,
                    [kept, at, other, list(customer_ids)],
                )
            con.execute(
                "UPDATE campaigns SET status = 'live', updated_at = ?, updated_by = ?, "
                "launched_at = coalesce(launched_at, ?) WHERE campaign_id = ?",
                [at, actor, at, campaign_id],
            )
    finally:
        con.unregister(name)


def assignment_counts(
    con: duckdb.DuckDBPyConnection, campaign_id: str
) -> list[tuple[str, bool, str | None, int]]:
    """``(arm, eligible, reason, customers)`` of a campaign's assignment."""
    rows = con.execute(
        """
        SELECT arm, eligible, reason, count(*) FROM campaign_assignments
        WHERE campaign_id = ? GROUP BY ALL ORDER BY ALL
        """,
        [campaign_id],
    ).fetchall()
    return [(arm, bool(ok), reason, int(n)) for arm, ok, reason, n in rows]


def assignments(
    con: duckdb.DuckDBPyConnection,
    campaign_id: str,
    *,
    customer_id: str | None = None,
    limit: int | None = None,
) -> list[AssignmentRow]:
    """Assignment rows of a campaign (of one customer when given), by customer id."""
    params: list[Any] = [campaign_id, customer_id, customer_id]
    tail = ""
    if limit is not None:
        tail = " LIMIT ?"
        params.append(limit)
    rows = con.execute(
        f"""
        SELECT {_ASSIGNMENT_COLUMNS} FROM campaign_assignments
        WHERE campaign_id = ? AND (? IS NULL OR customer_id = ?)
        ORDER BY customer_id{tail}
        """,
        params,
    ).fetchall()
    return [AssignmentRow(*row) for row in rows]


def delivery_counts(
    con: duckdb.DuckDBPyConnection, campaign_id: str
) -> list[tuple[str, str | None, str, str | None, int]]:
    """``(variant, segment, status, reason, deliveries)`` of the deliveries a campaign
    queued.

    They are found by their ``source``, ``campaign:{id}:{variant}``; ``segment`` is the
    segment the customer was targeted through (None when not assigned); ``reason`` is
    the ``last_error`` of skipped deliveries (``no_consent``, ``withdrawn``,
    ``frequency_cap``...), None for the other statuses.
    """
    prefix = f"campaign:{campaign_id}:"
    rows = con.execute(
        """
        SELECT substr(d.source, length(?) + 1) AS variant, a.segment_id, d.status,
               CASE WHEN d.status = 'skipped' THEN d.last_error END AS reason, count(*)
        FROM deliveries d
        LEFT JOIN campaign_assignments a
          ON a.campaign_id = ? AND a.customer_id = d.customer_id
        WHERE starts_with(d.source, ?)
        GROUP BY ALL ORDER BY ALL
        """,
        [prefix, campaign_id, prefix],
    ).fetchall()
    return [
        (str(variant), segment, str(status), reason, int(n))
        for variant, segment, status, reason, n in rows
    ]
