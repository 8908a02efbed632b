"""One customer as a person reads it: profile, traits, memberships with history, consents.

``ws.customers.profile(id)`` is what ``GET /api/customers/{id}`` answers and what
``cible customers show ID`` prints. It reads the profile row, the traits of the latest
run, the membership history (entered and exited, with runs) and the current consent
per channel and purpose, derived from the ledger by the one function every reader
uses (:func:`cible.features.consent.current_consents`).

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> folder = Path(tempfile.mkdtemp()) / "shop"
>>> data = folder.parent / "customers.csv"
>>> _ = data.write_text("customer_id,email\\nc1,ann@example.com\\n")
>>> with Workspace.create(folder) as ws:
...     _ = ws.imports.load("customers", data)
...     found = ws.customers.profile("c1")
>>> found["profile"]["email"], found["traits"], found["memberships"]
('ann@example.com', None, [])
"""

from __future__ import annotations

from typing import Any

import ibis

from cible.domain.errors import UnknownCustomerError
from cible.features.consent import current_consents
from cible.store import runs
from cible.store.store import Store


class Customers:
    """The customers of one workspace, one at a time (``ws.customers``).

    Parameters
    ----------
    store : Store
        The workspace database.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def profile(self, customer_id: str) -> dict[str, Any]:
        """Profile, latest traits, memberships with history and current consents.

        Parameters
        ----------
        customer_id : str
            The customer's id.

        Returns
        -------
        dict
            ``customer_id``; ``profile`` (the customers row); ``traits`` (the latest
            run's, None before any run or for a customer imported since);
            ``memberships`` (every stay in a segment, oldest first, with ``current``);
            ``consents`` (the current one per channel and purpose).

        Raises
        ------
        UnknownCustomerError
            When no customer has that id.
        """
        store = self._store
        customers = store.table("customers")
        profile = customers.filter(customers.customer_id == customer_id).to_pyarrow().to_pylist()
        if not profile:
            raise UnknownCustomerError(f"No customer {customer_id!r}.")
        traits: dict[str, Any] | None = None
        if store.has_run():  # the traits table comes with a run
            table = store.table(runs.TRAITS)
            found = table.filter(table.customer_id == customer_id).to_pyarrow().to_pylist()
            traits = found[0] if found else None
        history = store.table("segment_memberships")
        memberships = (
            history.filter(history.customer_id == customer_id)
            .order_by(["entered_at", "segment_id"])
            .drop("customer_id")
            .to_pyarrow()
            .to_pylist()
        )
        ledger = current_consents(store.table("consents"))
        consents = (
            ledger.filter(ledger.customer_id == customer_id)
            .order_by(["channel", "purpose"])
            .drop("customer_id")
            .to_pyarrow()
            .to_pylist()
        )
        return {
            "customer_id": customer_id,
            "profile": profile[0],
            "traits": traits,
            "memberships": [{**m, "current": m["exited_at"] is None} for m in memberships],
            "consents": consents,
        }

    def search(
        self, text: str, *, limit: int = 20, partial_contacts: bool = True
    ) -> list[dict[str, Any]]:
        """Customers whose id is ``text``, or whose e-mail or name contains it.

        Case is ignored; the customer whose id is exactly ``text`` comes first, then the
        others by id. Each row has ``customer_id``, ``first_name``, ``last_name``,
        ``email``, ``phone`` and ``city``. With ``partial_contacts=False`` (for a reader
        who sees contacts masked) an e-mail matches only whole.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from cible import Workspace
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "c.csv").write_text(
        ...     "customer_id,first_name,last_name,email\\n"
        ...     "c1,Anne,Martin,ann@example.com\\nc2,Marc,Annet,marc@example.org\\n")
        >>> with Workspace.create(folder / "shop") as ws:
        ...     _ = ws.imports.load("customers", folder / "c.csv")
        ...     [c["customer_id"] for c in ws.customers.search("ANN")]
        ['c1', 'c2']
        """
        needle = text.strip()
        if not needle:
            return []
        customers = self._store.table("customers")
        lowered = ibis.literal(needle.lower(), "string")
        full_name = customers.first_name.fill_null("") + " " + customers.last_name.fill_null("")
        exact = customers.customer_id == ibis.literal(needle, "string")
        email = customers.email.lower()
        by_email = email.contains(lowered) if partial_contacts else email == lowered
        found = customers.filter(
            exact | by_email.fill_null(False) | full_name.lower().contains(lowered)
        )
        ordered = found.order_by([ibis.desc(exact), found.customer_id]).limit(limit)
        columns = ("customer_id", "first_name", "last_name", "email", "phone", "city")
        rows: list[dict[str, Any]] = ordered.select(*columns).to_pyarrow().to_pylist()
        return rows

    def timeline(self, customer_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
        """The customer's latest orders and events, newest first.

        Each item has ``at``, ``kind`` (``order`` or ``event``), ``name`` (the order id,
        or the event's name or type) and, for an order, ``amount`` and ``status``.
        """
        orders = self._store.table("orders")
        events = self._store.table("events")
        bought = orders.filter(orders.customer_id == customer_id).select(
            at=orders.ordered_at.cast("timestamp"),
            kind=ibis.literal("order", "string"),
            name=orders.order_id.cast("string"),
            amount=orders.amount.cast("float64"),
            status=orders.status.cast("string"),
        )
        did = events.filter(events.customer_id == customer_id).select(
            at=events.timestamp.cast("timestamp"),
            kind=ibis.literal("event", "string"),
            name=events.event.fill_null(events.type).cast("string"),
            amount=ibis.null("float64"),
            status=ibis.null("string"),
        )
        # Sorted here, not in DuckDB: its top-N pushes a filter on the time into the
        # scans, which then read every row group instead of the customer's few (0.4 s
        # against 0.02 s on 5,000,000 events).
        found = bought.union(did).to_pyarrow()
        order = [("at", "descending", "at_end"), ("kind", "ascending", "at_end")]
        order.append(("name", "ascending", "at_end"))
        rows: list[dict[str, Any]] = found.sort_by(order).slice(0, limit).to_pylist()
        return rows
