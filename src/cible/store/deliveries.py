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

    Runs inside the caller's transaction.
    """
    added = 0
    for d in deliveries:
        known = con.execute(
            "SELECT count(*) FROM deliveries WHERE idempotency_key = ?", [d.idempotency_key]
        ).fetchall()[0][0]
        if known:
            continue
        con.execute(
            """
            INSERT INTO deliveries (idempotency_key, kind, customer_id, target, payload,
              consent_channel, consent_purpose, cap_channel, status, attempts,
              next_attempt_at, created_at, source)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)
            """,
            [
                d.idempotency_key,
                d.kind,
                d.customer_id,
                d.target,
                d.payload,
                d.consent_channel,
                d.consent_purpose,
                d.cap_channel,
                at,
                at,
                d.source,
            ],
        )
        added += 1
    return added
