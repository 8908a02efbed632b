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

from cible.store.sql import fetch_row

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


#: Columns of a new delivery, as :func:`enqueue` inserts them.
NEW_SCHEMA = pa.schema(
    [
        *((name, pa.string()) for name in NewDelivery.__dataclass_fields__),
        ("next_attempt_at", pa.timestamp("us")),
        ("created_at", pa.timestamp("us")),
    ]
)


def enqueue(con: duckdb.DuckDBPyConnection, new: Sequence[NewDelivery], *, at: datetime) -> int:
    """Add the deliveries of ``new`` whose key is new, due at once; returns how many.

    One statement whatever their number (an automation may queue thousands at once).
    Runs inside the caller's transaction.
    """
    unique = {d.idempotency_key: d for d in new}
    rows = [{**d.__dict__, "next_attempt_at": at, "created_at": at} for d in unique.values()]
    if not rows:
        return 0
    con.register("_deliveries_in", pa.Table.from_pylist(rows, schema=NEW_SCHEMA))
    try:
        columns = ", ".join(NEW_SCHEMA.names)
        added = fetch_row(
            con,
            f"""
            INSERT INTO deliveries ({columns}, status, attempts)
            SELECT {columns}, 'pending', 0 FROM _deliveries_in
            WHERE idempotency_key NOT IN (SELECT idempotency_key FROM deliveries)
            """,
        )
    finally:
        con.unregister("_deliveries_in")
    return int(added[0])
