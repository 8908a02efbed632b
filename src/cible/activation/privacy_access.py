"""Right of access and portability (GDPR art. 15 and 20): everything held about one person.

``ws.privacy_access.export(id)`` gathers, in one JSON-ready document, every row any
table holds for the customer: the profile, orders with their lines, events (those
linked through an anonymous id too), the consent ledger with sources and dates, the
segments with their history and what each means, traits, tags, campaign
assignments, deliveries (what was sent, when, with what status), survey answers,
tickets and the merges that folded other ids into them. Each table is read through
an Ibis filter on the customer's id, so no other person's row can slip in.
:func:`cible.reporting.privacy_access.render_access_page` shows the same document as
a page. The record of processing and the retention listing live beside it
(:mod:`.processing_record`, :mod:`.retention`).

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
...     held = ws.privacy_access.export("c1")
>>> held["profile"]["email"], held["orders"], held["segments"]
('ann@example.com', [], [])
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cible.activation.processing_record import build_record
from cible.activation.retention import due_ids, past_retention, pseudonymise_past_retention
from cible.domain.clock import utc_now
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import UnknownCustomerError
from cible.domain.registry import FieldRegistry
from cible.features.consent import current_consents
from cible.store.runs import TRAITS
from cible.store.store import Store

#: What a segment is, as the catalog says it: ``{id: {"kind", "dimension", "name",
#: "description"}}`` with ``name`` and ``description`` per language.
Catalog = Callable[[], dict[str, dict[str, Any]]]
#: Stored rule segment definitions as plain data (``SegmentDefinition.to_dict()``).
RuleDefinitions = Callable[[], list[dict[str, Any]]]
#: ``AuditLog.record``: actor, action, target, outcome, detail.
Audit = Callable[[str, str, str, str, dict[str, Any] | None], int]

#: Version of the export document's layout, for programs reading it back.
EXPORT_FORMAT = 1


class PrivacyAccess:
    """Access, portability, record of processing and retention (``ws.privacy_access``).

    Parameters
    ----------
    store : Store
        The workspace database.
    registry : FieldRegistry
        Declared fields, their category, sensitivity and legal basis.
    config : WorkspaceConfig
        Settings: ``[privacy]`` retention, webhooks and SMTP (the recipients).
    catalog : callable
        The segments as the catalog describes them (see :data:`Catalog`).
    rules : callable
        The stored rule segment definitions (see :data:`RuleDefinitions`).
    audit : callable
        Records each export in the audit log.
    """

    def __init__(
        self,
        store: Store,
        registry: FieldRegistry,
        config: WorkspaceConfig,
        *,
        catalog: Catalog,
        rules: RuleDefinitions,
        audit: Audit,
    ) -> None:
        self._store = store
        self._registry = registry
        self._config = config
        self._catalog = catalog
        self._rules = rules
        self._audit = audit

    def export(self, customer_id: str, *, actor: str = "cli") -> dict[str, Any]:
        """Everything held about ``customer_id``, as one JSON-ready document.

        Parameters
        ----------
        customer_id : str
            The customer's id.
        actor : str
            Who asks, for the audit log (a token's name, ``cli`` locally).

        Returns
        -------
        dict
            ``customer_id``, ``exported_at``, ``format``; ``profile``; ``orders`` (each
            with its ``lines``); ``events``; ``identities``; ``consents`` (the ledger,
            oldest first) and ``current_consents``; ``segments`` (every stay with
            ``current`` and the catalog's ``name`` and ``description`` per language);
            ``traits`` (latest run, None before one); ``tags`` (the history) and
            ``current_tags``; ``campaign_assignments``; ``deliveries``; ``surveys``;
            ``tickets``; ``merges`` (merges that folded other ids into this one).

        Raises
        ------
        UnknownCustomerError
            When no customer has that id.
        """
        profile = self._profile(customer_id)
        orders = self._rows("orders", customer_id, "ordered_at", "order_id")
        lines = self._lines([o["order_id"] for o in orders])
        for order in orders:
            order["lines"] = lines.get(order["order_id"], [])
        identities = self._rows("identities", customer_id, "linked_at", "anonymous_id")
        tag_history = self._rows("customer_tags", customer_id, "changed_at", "change_id")
        document = {
            "format": EXPORT_FORMAT,
            "customer_id": customer_id,
            "exported_at": utc_now(),
            "profile": profile,
            "orders": orders,
            "events": self._events(customer_id, [i["anonymous_id"] for i in identities]),
            "identities": identities,
            "consents": self._rows("consents", customer_id, "recorded_at", "channel", "purpose"),
            "current_consents": self._current_consents(customer_id),
            "segments": self._segments(customer_id),
            "traits": self._traits(customer_id),
            "tags": tag_history,
            "current_tags": sorted(self._store.current_tags([customer_id]).get(customer_id, [])),
            "campaign_assignments": self._rows(
                "campaign_assignments", customer_id, "assigned_at", "campaign_id"
            ),
            "deliveries": [
                {**d, "payload": _parsed(d.get("payload"))}
                for d in self._rows("deliveries", customer_id, "created_at", "delivery_id")
            ],
            "surveys": self._rows("surveys", customer_id, "answered_at", "response_id"),
            "tickets": self._rows("tickets", customer_id, "opened_at", "ticket_id"),
            "merges": self._merges(customer_id),
        }
        counts = {k: len(v) for k, v in document.items() if isinstance(v, list)}
        self._audit(actor, "privacy.export", customer_id, "ok", counts)
        return document

    def consents(self, customer_id: str) -> dict[str, Any]:
        """The consent ledger of ``customer_id`` with sources and dates, and its current state.

        Returns
        -------
        dict
            ``customer_id``; ``ledger`` (every record, oldest first: channel, purpose,
            status, recorded_at, source, proof); ``current`` (per channel and purpose).

        Raises
        ------
        UnknownCustomerError
            When no customer has that id.
        """
        self._profile(customer_id)
        return {
            "customer_id": customer_id,
            "ledger": [
                {k: v for k, v in row.items() if k != "customer_id"}
                for row in self._rows("consents", customer_id, "recorded_at", "channel", "purpose")
            ],
            "current": self._current_consents(customer_id),
        }

    def record(self) -> dict[str, Any]:
        """The record of processing activities (GDPR art. 30), built from the workspace.

        See :func:`cible.activation.processing_record.build_record`.
        """
        return build_record(self._store, self._registry, self._config, self._catalog, self._rules)

    def retention(
        self, *, as_of: datetime | None = None, limit: int = 100, offset: int = 0
    ) -> dict[str, Any]:
        """Customers past the ``[privacy]`` retention periods, oldest interaction first.

        See :func:`cible.activation.retention.past_retention`.
        """
        return past_retention(
            self._store,
            self._config.privacy,
            as_of=as_of or utc_now(),
            limit=limit,
            offset=offset,
        )

    def pseudonymise_past_retention(
        self, *, as_of: datetime | None = None, actor: str = "cli"
    ) -> dict[str, Any]:
        """Clear the contact and name fields of every customer past retention, audited.

        See :func:`cible.activation.retention.pseudonymise_past_retention`.
        """
        return pseudonymise_past_retention(
            self._store, self._config.privacy, as_of=as_of or utc_now(), actor=actor
        )

    def past_retention_ids(self, *, as_of: datetime | None = None) -> list[str]:
        """Ids of every customer past retention, for ``ws.privacy.erase_many``.

        See :func:`cible.activation.retention.due_ids`.
        """
        return due_ids(self._store, self._config.privacy, as_of=as_of or utc_now())

    # -- reading ---------------------------------------------------------------------

    def _profile(self, customer_id: str) -> dict[str, Any]:
        customers = self._store.table("customers")
        found = customers.filter(customers.customer_id == customer_id).to_pyarrow().to_pylist()
        if not found:
            raise UnknownCustomerError(
                f"No customer {customer_id!r} in this workspace: check the id "
                f"(`cible customers show {customer_id}` looks it up)."
            )
        return dict(found[0])

    def _rows(self, name: str, customer_id: str, *order: str) -> list[dict[str, Any]]:
        table = self._store.table(name)
        rows = table.filter(table.customer_id == customer_id).order_by(list(order))
        return [dict(row) for row in rows.to_pyarrow().to_pylist()]

    def _lines(self, order_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        if not order_ids:
            return {}
        lines = self._store.table("order_lines")
        products = self._store.table("products").select(
            "product_id", product_name="name", product_category="category"
        )
        found = (
            lines.filter(lines.order_id.isin(order_ids))
            .left_join(products, "product_id")
            .drop("product_id_right")
            .order_by(["order_id", "line_number"])
        )
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in found.to_pyarrow().to_pylist():
            grouped.setdefault(row["order_id"], []).append(dict(row))
        return grouped

    def _events(self, customer_id: str, anonymous_ids: list[str]) -> list[dict[str, Any]]:
        events = self._store.table("events")
        mine = events.customer_id == customer_id
        if anonymous_ids:
            mine = mine | (events.customer_id.isnull() & events.anonymous_id.isin(anonymous_ids))
        rows = events.filter(mine).order_by(["timestamp", "message_id"]).to_pyarrow().to_pylist()
        return [
            {**row, "properties": _parsed(row["properties"]), "context": _parsed(row["context"])}
            for row in rows
        ]

    def _current_consents(self, customer_id: str) -> list[dict[str, Any]]:
        ledger = current_consents(self._store.table("consents"))
        rows = (
            ledger.filter(ledger.customer_id == customer_id)
            .order_by(["channel", "purpose"])
            .drop("customer_id")
        )
        return [dict(row) for row in rows.to_pyarrow().to_pylist()]

    def _segments(self, customer_id: str) -> list[dict[str, Any]]:
        catalog = self._catalog()
        stays = self._rows("segment_memberships", customer_id, "entered_at", "segment_id")
        found = []
        for stay in stays:
            about = catalog.get(stay["segment_id"], {})
            found.append(
                {
                    "segment_id": stay["segment_id"],
                    "dimension": stay["dimension"],
                    "kind": about.get("kind"),
                    "name": about.get("name", {}),
                    "description": about.get("description", {}),
                    "entered_at": stay["entered_at"],
                    "exited_at": stay["exited_at"],
                    "current": stay["exited_at"] is None,
                }
            )
        return found

    def _traits(self, customer_id: str) -> dict[str, Any] | None:
        if not self._store.has_run():
            return None
        table = self._store.table(TRAITS)
        found = table.filter(table.customer_id == customer_id).to_pyarrow().to_pylist()
        return dict(found[0]) if found else None

    def _merges(self, customer_id: str) -> list[dict[str, Any]]:
        merges = self._store.table("merges")
        rows = (
            merges.filter(merges.surviving_id == customer_id)
            .order_by(["created_at", "merge_id"])
            .to_pyarrow()
            .to_pylist()
        )
        return [{**row, "merged_ids": _parsed(row["merged_ids"])} for row in rows]


def _parsed(value: Any) -> Any:
    """A stored JSON text as data (a payload, properties), left as it is when not JSON."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
