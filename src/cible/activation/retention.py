"""Customers kept longer than the ``[privacy]`` retention periods allow.

An interaction is an order or an event (whatever its status or type). A *prospect*
has none: it is past retention ``prospect_days`` after its record was created
(``created_at``, else ``updated_at``; a record with neither has no known age and is
not listed). A *customer* has at least one: past retention ``customer_inactive_days``
after the latest. One Ibis expression computes both, so the listing is the same on
every backend; it is paged, oldest interaction first.

Examples
--------
>>> import tempfile
>>> from datetime import datetime
>>> from pathlib import Path
>>> from cible import Workspace
>>> folder = Path(tempfile.mkdtemp()) / "shop"
>>> data = folder.parent / "customers.csv"
>>> _ = data.write_text("customer_id,created_at\\nold,2019-01-01\\nnew,2025-06-01\\n")
>>> with Workspace.create(folder) as ws:
...     _ = ws.imports.load("customers", data)
...     found = ws.privacy_access.retention(as_of=datetime(2026, 1, 1))
>>> found["counts"], [c["customer_id"] for c in found["customers"]]
({'prospects': 1, 'inactive_customers': 0}, ['old'])
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from cible.domain.clock import utc_now
from cible.domain.privacy_settings import PrivacySection
from cible.store import privacy_access
from cible.store.audit_log import NewEntry
from cible.store.store import Store

PROSPECT = "prospect"
INACTIVE = "inactive_customer"
#: Why customers erased by ``cible privacy retention --delete`` were (audit log).
RETENTION_REASON = "retention period over"
#: Largest page of ids one call returns.
MAX_LIMIT = 10_000


def past_retention(
    store: Store, settings: PrivacySection, *, as_of: datetime, limit: int, offset: int
) -> dict[str, Any]:
    """Customers past retention as of ``as_of``: counts, and one page of them.

    Returns
    -------
    dict
        ``as_of``, ``prospect_days``, ``customer_inactive_days``; ``counts``
        (``prospects``, ``inactive_customers``); ``total``; ``limit``, ``offset``;
        ``customers``: each ``customer_id``, ``kind`` (``prospect`` or
        ``inactive_customer``) and ``last_interaction_at`` (the record's creation
        for a prospect).

    Raises
    ------
    ValueError
        When ``limit`` is not between 1 and 10,000 or ``offset`` is negative.
    """
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise ValueError(
            f"limit must be between 1 and {MAX_LIMIT} and offset at least 0 "
            f"(got limit={limit}, offset={offset})"
        )
    due = _due(store, settings, as_of)
    counts = {
        r["kind"]: int(r["n"])
        for r in due.group_by("kind").aggregate(n=due.count()).to_pyarrow().to_pylist()
    }
    page = (
        due.order_by(["last_interaction_at", "customer_id"])
        .limit(limit, offset=offset)
        .to_pyarrow()
        .to_pylist()
    )
    return {
        "as_of": as_of,
        "prospect_days": settings.prospect_days,
        "customer_inactive_days": settings.customer_inactive_days,
        "counts": {
            "prospects": counts.get(PROSPECT, 0),
            "inactive_customers": counts.get(INACTIVE, 0),
        },
        "total": sum(counts.values()),
        "limit": limit,
        "offset": offset,
        "customers": [dict(row) for row in page],
    }


def pseudonymise_past_retention(
    store: Store, settings: PrivacySection, *, as_of: datetime, actor: str
) -> dict[str, Any]:
    """Clear the contact and name fields of every customer past retention as of ``as_of``.

    Email, phone, first and last names and postal code become NULL
    (:data:`cible.store.privacy_access.PSEUDONYMISED`); orders, events and the rest
    stay, so aggregates are unchanged. One transaction, with its audit entry
    (``privacy.pseudonymise``).

    Returns
    -------
    dict
        ``as_of``, ``customers`` (how many were pseudonymised), ``fields`` (those cleared).
    """
    ids = due_ids(store, settings, as_of=as_of)
    entry = NewEntry(
        utc_now(),
        actor,
        "privacy.pseudonymise",
        "retention",
        "ok",
        {"as_of": as_of.isoformat(), "fields": list(privacy_access.PSEUDONYMISED)},
    )
    changed = privacy_access.pseudonymise(store, ids, at=utc_now(), entry=entry)
    return {"as_of": as_of, "customers": changed, "fields": list(privacy_access.PSEUDONYMISED)}


def due_ids(store: Store, settings: PrivacySection, *, as_of: datetime) -> list[str]:
    """Ids of every customer past retention as of ``as_of`` (to erase them, say)."""
    due = _due(store, settings, as_of)
    return [str(i) for i in due.customer_id.to_pyarrow().to_pylist()]


def _due(store: Store, settings: PrivacySection, as_of: datetime) -> ir.Table:
    customers = store.table("customers")
    orders = store.table("orders")
    events = store.table("events")
    last_order = orders.group_by("customer_id").aggregate(last_order=orders.ordered_at.max())
    known = events.filter(events.customer_id.notnull())
    last_event = known.group_by("customer_id").aggregate(last_event=known.timestamp.max())
    people = (
        customers.select("customer_id", "created_at", "updated_at")
        .left_join(last_order, "customer_id")
        .drop("customer_id_right")
        .left_join(last_event, "customer_id")
        .drop("customer_id_right")
    )
    # greatest() is NULL when one side is: take the other side then.
    last = ibis.coalesce(
        ibis.greatest(people.last_order, people.last_event), people.last_order, people.last_event
    )
    prospect = last.isnull()
    since = ibis.ifelse(prospect, ibis.coalesce(people.created_at, people.updated_at), last)
    period = ibis.ifelse(
        prospect,
        ibis.literal(as_of - timedelta(days=settings.prospect_days)),
        ibis.literal(as_of - timedelta(days=settings.customer_inactive_days)),
    )
    listed = people.select(
        "customer_id",
        kind=ibis.ifelse(prospect, PROSPECT, INACTIVE),
        last_interaction_at=since,
        limit_at=period,
    )
    return listed.filter(
        listed.last_interaction_at.notnull() & (listed.last_interaction_at < listed.limit_at)
    ).drop("limit_at")
