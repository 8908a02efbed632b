"""Deliveries: each message or call an automation asked for, until it is delivered.

An automation step that sends (an e-mail, a webhook, a team notification) writes a
``deliveries`` row in the transaction that moves its run forward; the delivery
worker (:mod:`cible.server.delivery`) sends it at least once. The row carries what
is sent, rendered when the step ran (``payload``, JSON), and an ``idempotency_key``
unique to the step of the run, which receivers see on every attempt (the
``webhook-id`` header, the e-mail's ``Message-ID``). ``delivery_attempts`` logs
each try: when, how it ended, the HTTP status or the error.

Statuses: ``pending`` (waiting for ``next_attempt_at``), ``delivered``, ``failed``
(given up, or refused: a private address, a redirect), ``skipped`` (no consent,
frequency cap: ``last_error`` says why).

Examples
--------
>>> import duckdb
>>> from datetime import datetime
>>> con = duckdb.connect()
>>> for statement in CREATE:
...     _ = con.execute(statement)
>>> enqueue(con, [NewDelivery("run-1:0", "webhook", "c1", "sales", '{"a": 1}')],
...         at=datetime(2024, 5, 1))
1
>>> con.execute("SELECT idempotency_key, status, attempts FROM deliveries").fetchall()
[('run-1:0', 'pending', 0)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from cible.store.transaction import transaction

CREATE = (
    "CREATE SEQUENCE IF NOT EXISTS delivery_ids START 1",
    """
    CREATE TABLE IF NOT EXISTS deliveries (
      delivery_id BIGINT DEFAULT nextval('delivery_ids'), idempotency_key VARCHAR,
      kind VARCHAR, customer_id VARCHAR, target VARCHAR, payload VARCHAR,
      consent_channel VARCHAR, consent_purpose VARCHAR, cap_channel VARCHAR,
      status VARCHAR, attempts INTEGER, next_attempt_at TIMESTAMP, created_at TIMESTAMP,
      delivered_at TIMESTAMP, last_error VARCHAR, source VARCHAR
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS delivery_attempts (
      delivery_id BIGINT, attempt INTEGER, attempted_at TIMESTAMP, outcome VARCHAR,
      status_code INTEGER, error VARCHAR, duration_ms DOUBLE
    )
    """,
)


@dataclass(frozen=True)
class NewDelivery:
    """A delivery to make.

    Attributes
    ----------
    idempotency_key : str
        Unique to what is delivered (an automation run's step); a second delivery
        with the same key is not added.
    kind : str
        ``webhook``, ``email`` or ``notify`` (a team: e-mail or chat webhook).
    customer_id : str or None
        Whom it is about.
    target : str
        The webhook's name (``[webhooks.NAME]``) or the e-mail address.
    payload : str
        JSON: the webhook's body, or the e-mail (``subject``, ``html``, ``text``...).
    consent_channel, consent_purpose : str or None
        The consent checked at send time; None when no personal data leaves.
    cap_channel : str or None
        The frequency cap and quiet hours that apply; None for team notifications.
    source : str or None
        What asked for it (``automation:ID``).
    """

    idempotency_key: str
    kind: str
    customer_id: str | None
    target: str
    payload: str
    consent_channel: str | None = None
    consent_purpose: str | None = None
    cap_channel: str | None = None
    source: str | None = None


def enqueue(
    con: duckdb.DuckDBPyConnection, deliveries: Sequence[NewDelivery], *, at: datetime
) -> int:
    """Add ``deliveries`` whose key is new, due at once; returns how many were added.

    Runs inside the caller's transaction. One statement for the whole list (10,000
    deliveries in well under a second; a statement per row took half a minute); a key
    repeated in the list is added once, the first time.
    """
    if not deliveries:
        return 0
    fresh: dict[str, NewDelivery] = {}
    for d in deliveries:
        fresh.setdefault(d.idempotency_key, d)
    rows = pa.Table.from_pylist(
        [
            {
                "position": n,
                "idempotency_key": d.idempotency_key,
                "kind": d.kind,
                "customer_id": d.customer_id,
                "target": d.target,
                "payload": d.payload,
                "consent_channel": d.consent_channel,
                "consent_purpose": d.consent_purpose,
                "cap_channel": d.cap_channel,
                "source": d.source,
            }
            for n, d in enumerate(fresh.values())
        ],
        schema=_NEW,
    )
    con.register("_new_deliveries", rows)
    try:
        added = con.execute(
            """
            INSERT INTO deliveries (idempotency_key, kind, customer_id, target, payload,
              consent_channel, consent_purpose, cap_channel, status, attempts,
              next_attempt_at, created_at, source)
            SELECT n.idempotency_key, n.kind, n.customer_id, n.target, n.payload,
              n.consent_channel, n.consent_purpose, n.cap_channel, 'pending', 0, ?, ?, n.source
            FROM _new_deliveries n
            WHERE NOT EXISTS (
              SELECT 1 FROM deliveries d WHERE d.idempotency_key = n.idempotency_key
            )
            ORDER BY n.position
            """,
            [at, at],
        ).fetchall()
    finally:
        con.unregister("_new_deliveries")
    return int(added[0][0])


_NEW = pa.schema(
    [
        ("position", pa.int64()),
        *(
            (name, pa.string())
            for name in (
                "idempotency_key",
                "kind",
                "customer_id",
                "target",
                "payload",
                "consent_channel",
                "consent_purpose",
                "cap_channel",
                "source",
            )
        ),
    ]
)


#: Columns of a delivery as read back (``DeliveryRow``'s fields, in order).
_COLUMNS = (
    "delivery_id, idempotency_key, kind, customer_id, target, payload, consent_channel, "
    "consent_purpose, cap_channel, status, attempts, next_attempt_at, created_at, "
    "delivered_at, last_error, source"
)


@dataclass(frozen=True)
class DeliveryRow:
    """A stored delivery (the ``deliveries`` table's columns)."""

    delivery_id: int
    idempotency_key: str
    kind: str
    customer_id: str | None
    target: str
    payload: str
    consent_channel: str | None
    consent_purpose: str | None
    cap_channel: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    source: str | None


@dataclass(frozen=True)
class AttemptRow:
    """One try of a delivery (the ``delivery_attempts`` table's columns)."""

    delivery_id: int
    attempt: int
    attempted_at: datetime
    outcome: str
    status_code: int | None
    error: str | None
    duration_ms: float | None


@dataclass(frozen=True)
class Outcome:
    """How one try of a delivery ended, as :func:`record` stores it.

    Attributes
    ----------
    delivery_id : int
        The delivery.
    outcome : str
        ``delivered``, ``retry`` (a failure tried again at ``next_attempt_at``),
        ``failed`` (given up), ``skipped`` (no consent, frequency cap) or ``deferred``
        (quiet hours: no attempt is logged, it waits until ``next_attempt_at``).
    at : datetime
        When the try ended (naive UTC).
    status_code : int, optional
        The receiver's HTTP status, or the SMTP reply code.
    error : str, optional
        Why it failed or was skipped; kept as the delivery's ``last_error``.
    duration_ms : float, optional
        How long the try took.
    next_attempt_at : datetime, optional
        When a ``retry`` or ``deferred`` delivery is due again.
    """

    delivery_id: int
    outcome: str
    at: datetime
    status_code: int | None = None
    error: str | None = None
    duration_ms: float | None = None
    next_attempt_at: datetime | None = None


#: Outcomes and the delivery status each one leaves.
STATUS_AFTER = {
    "delivered": "delivered",
    "retry": "pending",
    "failed": "failed",
    "skipped": "skipped",
    "deferred": "pending",
}

_OUTCOMES = pa.schema(
    [
        ("delivery_id", pa.int64()),
        ("outcome", pa.string()),
        ("status", pa.string()),
        ("at", pa.timestamp("us")),
        ("status_code", pa.int32()),
        ("error", pa.string()),
        ("duration_ms", pa.float64()),
        ("next_attempt_at", pa.timestamp("us")),
    ]
)


def due(
    con: duckdb.DuckDBPyConnection, *, now: datetime, limit: int, exclude: Sequence[int] = ()
) -> list[DeliveryRow]:
    """Pending deliveries due at ``now``, oldest due first, except the ids ``exclude``.

    ``exclude`` holds the deliveries being sent (claimed, not recorded yet): nothing
    is written when a delivery is claimed, so one claimed by a process that died is
    still pending, and due again, after a restart.
    """
    rows = con.execute(
        f"""
        SELECT {_COLUMNS} FROM deliveries
        WHERE status = 'pending' AND next_attempt_at <= ?
          AND NOT list_contains(?::BIGINT[], delivery_id)
        ORDER BY next_attempt_at, delivery_id
        LIMIT ?
        """,
        [now, list(exclude), limit],
    ).fetchall()
    return [DeliveryRow(*row) for row in rows]


def sent_counts(
    con: duckdb.DuckDBPyConnection,
    customer_ids: Sequence[str],
    *,
    channel: str,
    since: datetime,
    in_flight: Sequence[int] = (),
) -> dict[str, int]:
    """Per customer, the deliveries on ``channel`` delivered since ``since`` or in flight.

    Frequency caps count these: deliveries being sent (``in_flight``) count too, so
    two messages claimed one after the other cannot both pass a cap of one.
    """
    rows = con.execute(
        """
        SELECT customer_id, count(*) FROM deliveries
        WHERE cap_channel = ? AND list_contains(?::VARCHAR[], customer_id)
          AND ((status = 'delivered' AND delivered_at >= ?)
               OR list_contains(?::BIGINT[], delivery_id))
        GROUP BY customer_id
        """,
        [channel, list(customer_ids), since, list(in_flight)],
    ).fetchall()
    return {str(customer): int(count) for customer, count in rows}


def record(con: duckdb.DuckDBPyConnection, outcomes: Sequence[Outcome]) -> None:
    """Store ``outcomes``: each delivery's new state and its attempt, in one transaction.

    A ``deferred`` delivery logs no attempt (it was not tried); any other outcome adds
    one ``delivery_attempts`` row and counts one attempt.
    """
    if not outcomes:
        return
    table = pa.Table.from_pylist(
        [
            {
                "delivery_id": o.delivery_id,
                "outcome": o.outcome,
                "status": STATUS_AFTER[o.outcome],
                "at": o.at,
                "status_code": o.status_code,
                "error": o.error,
                "duration_ms": o.duration_ms,
                "next_attempt_at": o.next_attempt_at,
            }
            for o in outcomes
        ],
        schema=_OUTCOMES,
    )
    con.register("_delivery_outcomes", table)
    try:
        with transaction(con):
            con.execute(
                """
                INSERT INTO delivery_attempts
                SELECT o.delivery_id, d.attempts + 1, o.at, o.outcome, o.status_code, o.error,
                       o.duration_ms
                FROM _delivery_outcomes o JOIN deliveries d USING (delivery_id)
                WHERE o.outcome <> 'deferred'
                """
            )
            con.execute(
                """
                UPDATE deliveries AS d SET
                  status = o.status,
                  attempts = d.attempts + CASE WHEN o.outcome = 'deferred' THEN 0 ELSE 1 END,
                  next_attempt_at = CASE WHEN o.status = 'pending' THEN o.next_attempt_at END,
                  delivered_at = CASE WHEN o.outcome = 'delivered' THEN o.at END,
                  last_error = o.error
                FROM _delivery_outcomes o
                WHERE d.delivery_id = o.delivery_id
                """
            )
    finally:
        con.unregister("_delivery_outcomes")


def get(con: duckdb.DuckDBPyConnection, delivery_id: int) -> DeliveryRow | None:
    """The delivery ``delivery_id``, or None."""
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM deliveries WHERE delivery_id = ?", [delivery_id]
    ).fetchall()
    return DeliveryRow(*rows[0]) if rows else None


def attempts(con: duckdb.DuckDBPyConnection, delivery_id: int) -> list[AttemptRow]:
    """The attempts of ``delivery_id``, first first."""
    rows = con.execute(
        """
        SELECT delivery_id, attempt, attempted_at, outcome, status_code, error, duration_ms
        FROM delivery_attempts WHERE delivery_id = ? ORDER BY attempt, attempted_at
        """,
        [delivery_id],
    ).fetchall()
    return [AttemptRow(*row) for row in rows]


def list_deliveries(
    con: duckdb.DuckDBPyConnection,
    *,
    status: str | None = None,
    customer_id: str | None = None,
    kind: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[DeliveryRow]:
    """Deliveries, newest first, those matching every filter given."""
    rows = con.execute(
        f"""
        SELECT {_COLUMNS} FROM deliveries
        WHERE (?::VARCHAR IS NULL OR status = ?) AND (?::VARCHAR IS NULL OR customer_id = ?)
          AND (?::VARCHAR IS NULL OR kind = ?)
        ORDER BY delivery_id DESC LIMIT ? OFFSET ?
        """,
        [status, status, customer_id, customer_id, kind, kind, limit, offset],
    ).fetchall()
    return [DeliveryRow(*row) for row in rows]


def retry(con: duckdb.DuckDBPyConnection, delivery_id: int, *, now: datetime) -> bool:
    """Make a failed delivery pending again, due ``now``; False when it is not failed."""
    rows = con.execute(
        """
        UPDATE deliveries SET status = 'pending', next_attempt_at = ?
        WHERE delivery_id = ? AND status = 'failed'
        RETURNING delivery_id
        """,
        [now, delivery_id],
    ).fetchall()
    return bool(rows)
