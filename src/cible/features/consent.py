"""Each customer's consent for one channel and purpose, as of a moment.

The consents table may hold several records per (customer, channel, purpose): the
latest one recorded before ``as_of`` is the status. A customer without a record has
no row here; callers decide what that means (never consent).

Examples
--------
>>> from datetime import datetime
>>> import ibis
>>> consents = ibis.memtable({
...     "customer_id": ["a", "a", "b"], "channel": ["email"] * 3,
...     "purpose": ["marketing"] * 3, "status": ["granted", "withdrawn", "denied"],
...     "updated_at": [datetime(2024, 1, 1), datetime(2024, 6, 1), datetime(2024, 2, 1)]})
>>> status = consent_status(consents, "email", "marketing", datetime(2024, 12, 31))
>>> sorted(status.to_pyarrow().to_pylist(), key=lambda r: r["customer_id"])
[{'customer_id': 'a', 'status': 'withdrawn'}, {'customer_id': 'b', 'status': 'denied'}]
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis


def consent_status(consents: Any, channel: str, purpose: str, as_of: datetime) -> Any:
    """The latest consent status per customer for ``channel`` and ``purpose``.

    Parameters
    ----------
    consents : ibis.Table
        The canonical ``consents`` table (or a history of it).
    channel, purpose : str
        What the consent is for (``email``, ``marketing``...).
    as_of : datetime
        Naive UTC moment; records from it on are ignored, records without a date count.

    Returns
    -------
    ibis.Table
        ``customer_id``, ``status``: one row per customer who has a record.
    """
    updated = consents.updated_at
    recorded = consents.filter(
        consents.customer_id.notnull(),
        consents.channel == ibis.literal(channel, "string"),
        consents.purpose == ibis.literal(purpose, "string"),
        updated.isnull() | (updated < ibis.literal(as_of, updated.type())),
    )
    ranked = recorded.mutate(
        consent_rank=ibis.row_number().over(
            group_by="customer_id", order_by=ibis.desc("updated_at", nulls_first=False)
        )
    )
    return ranked.filter(ranked.consent_rank == 0).select("customer_id", "status")
