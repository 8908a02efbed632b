"""One customer as the API shows it: profile, traits, memberships, consents.

Read from the workspace's tables: the profile row, the traits of the latest run, the
membership history (entered and exited, with runs) and the current consent per
channel and purpose, derived from the ledger by the one function every reader uses
(:func:`cible.features.consent.current_consents`).
"""

from __future__ import annotations

from typing import Any

from cible.features.consent import current_consents
from cible.server.errors import NotFoundError
from cible.store.runs import TRAITS
from cible.workspace import Workspace


def customer_view(ws: Workspace, customer_id: str) -> dict[str, Any]:
    """Profile, latest traits, memberships with history and current consents.

    Raises
    ------
    NotFoundError
        When no customer has that id.
    """
    customers = ws.table("customers")
    profile = customers.filter(customers.customer_id == customer_id).to_pyarrow().to_pylist()
    if not profile:
        raise NotFoundError(f"No customer {customer_id!r}.")
    traits: dict[str, Any] | None = None
    if int(ws.table("runs").count().execute()) > 0:  # the traits table comes with a run
        table = ws.table(TRAITS)
        found = table.filter(table.customer_id == customer_id).to_pyarrow().to_pylist()
        traits = found[0] if found else None
    history = ws.table("segment_memberships")
    memberships = (
        history.filter(history.customer_id == customer_id)
        .order_by(["entered_at", "segment_id"])
        .drop("customer_id")
        .to_pyarrow()
        .to_pylist()
    )
    ledger = current_consents(ws.table("consents"))
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
