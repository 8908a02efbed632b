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

from cible.domain.errors import CibleError
from cible.features.consent import current_consents
from cible.store import runs
from cible.store.store import Store


class CustomerNotFoundError(CibleError):
    """No customer has the id asked for."""


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
        CustomerNotFoundError
            When no customer has that id.
        """
        store = self._store
        customers = store.table("customers")
        profile = customers.filter(customers.customer_id == customer_id).to_pyarrow().to_pylist()
        if not profile:
            raise CustomerNotFoundError(f"No customer {customer_id!r}.")
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
