"""Objection to profiling (GDPR art. 21): recorded in the consents ledger, read everywhere.

``ws.objection.object(customer_id)`` appends ``withdrawn`` records of the
``profiling`` purpose, one per channel, to the consents ledger (through the importer,
its one writer, as the unsubscribe link does); ``unobject`` appends ``granted`` ones.
Nothing is overwritten: the ledger keeps when, by which source and with which proof
the customer objected and withdrew the objection. One record per channel keeps every
per-channel reader of the ledger (segment conditions on consent, the audit, a
subject access export) saying the same thing; the definition of an objection
(:mod:`cible.features.objection`) reads any channel, so a single record from an
imported file counts too.

When a run exists, the customer is refreshed at once (source ``objection`` in the
outbox): their automated memberships exit now rather than at the next run, and the
outbox rows carry the reason. Automations that such an exit would trigger do not
start (:meth:`cible.activation.automations.Automations.process` logs ``objection``).
Every change is written to the audit log.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
...     _ = (Path(ws.path) / "c.csv").write_text("customer_id\\nc1\\nc2\\n")
...     _ = ws.imports.load("customers", Path(ws.path) / "c.csv")
...     done = ws.objection.object("c1", source="call centre", proof="ticket 42")
...     ws.objection.objecting()
['c1']
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import ibis

from cible.domain.clock import normalise_as_of, utc_now
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import CibleError, UnknownCustomerError
from cible.domain.registry import FieldRegistry
from cible.domain.schema import CHANNELS
from cible.features.objection import PROFILING, objecting_customers
from cible.importing.imports import Imports
from cible.store.audit_log import NewEntry
from cible.store.store import Store

#: The smallest step of a stored timestamp.
_JUST_AFTER = timedelta(microseconds=1)


@dataclass(frozen=True)
class ObjectionChange:
    """What :meth:`Objection.object` or :meth:`Objection.unobject` did.

    Attributes
    ----------
    customer_id : str
        The customer.
    objects : bool
        Whether the customer objects to profiling after the change.
    records : int
        Records appended to the consents ledger.
    recorded_at : datetime
        Their moment (naive UTC).
    exited : int
        Memberships that exited at once (0 before the first run, or on ``unobject``).
    """

    customer_id: str
    objects: bool
    records: int
    recorded_at: datetime
    exited: int

    def as_dict(self) -> dict[str, Any]:
        """Plain values (the moment in ISO 8601) for JSON."""
        values = asdict(self)
        values["recorded_at"] = self.recorded_at.isoformat()
        return values


class Objection:
    """Objections to profiling of a workspace (``ws.objection``).

    Parameters
    ----------
    store : Store
        The workspace database.
    registry : FieldRegistry
        Fields of the workspace (the importer checks the ledger's records with it).
    config : WorkspaceConfig
        The workspace's settings.
    refresh : callable, optional
        Re-evaluates customers at a moment with a source written in the outbox and
        returns how many memberships exited (the workspace gives the live refresh of
        :mod:`cible.segments.live`); None: the next run applies the objection.
    """

    def __init__(
        self,
        store: Store,
        registry: FieldRegistry,
        config: WorkspaceConfig,
        refresh: Callable[[list[str], datetime, str], int] | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._config = config
        self._refresh = refresh

    def object(
        self,
        customer_id: str,
        *,
        source: str = "request",
        proof: str = "",
        actor: str = "cli",
        now: datetime | None = None,
    ) -> ObjectionChange:
        """Record that ``customer_id`` objects to profiling, and apply it at once.

        Raises
        ------
        UnknownCustomerError
            When the customer is not in the workspace.
        """
        return self._record(customer_id, "withdrawn", source, proof, actor, now)

    def unobject(
        self,
        customer_id: str,
        *,
        source: str = "request",
        proof: str = "",
        actor: str = "cli",
        now: datetime | None = None,
    ) -> ObjectionChange:
        """Record that ``customer_id`` withdraws their objection (``granted`` records).

        They are profiled again from the next run or live refresh.
        """
        return self._record(customer_id, "granted", source, proof, actor, now)

    def objecting(self, as_of: datetime | None = None) -> list[str]:
        """The ids of the customers who object to profiling as of ``as_of`` (default
        now), sorted."""
        moment = utc_now() if as_of is None else normalise_as_of(as_of)
        found = objecting_customers(self._store.table("consents"), moment)
        return sorted(str(i) for i in found.to_pyarrow().column(0).to_pylist())

    def objects(self, customer_id: str, as_of: datetime | None = None) -> bool:
        """Whether ``customer_id`` objects to profiling as of ``as_of`` (default now)."""
        moment = utc_now() if as_of is None else normalise_as_of(as_of)
        ledger = self._store.table("consents")
        mine = ledger.filter(ledger.customer_id == ibis.literal(customer_id, "string"))
        return bool(objecting_customers(mine, moment).to_pyarrow().num_rows)

    def _record(
        self,
        customer_id: str,
        status: str,
        source: str,
        proof: str,
        actor: str,
        now: datetime | None,
    ) -> ObjectionChange:
        customers = self._store.table("customers")
        known = customers.filter(customers.customer_id == ibis.literal(customer_id, "string"))
        if not known.count().to_pyarrow().as_py():
            raise UnknownCustomerError(
                f"Customer {customer_id!r} is not in this workspace: nothing recorded."
            )
        moment = utc_now() if now is None else normalise_as_of(now)
        rows = [
            {
                "customer_id": customer_id,
                "channel": channel,
                "purpose": PROFILING,
                "status": status,
                "recorded_at": moment.isoformat(),
                "source": source.strip() or "request",
                "proof": proof.strip() or None,
            }
            for channel in CHANNELS
        ]
        with tempfile.TemporaryDirectory(prefix="cible-objection-") as folder:
            path = Path(folder) / "objection.jsonl"
            path.write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
            )
            imports = Imports(self._store, self._registry, self._config)
            result = imports.load("consents", path, strict=True, shown_as="objection")
        if result.rejected:
            raise CibleError(
                f"The objection of customer {customer_id!r} was not recorded: the consents "
                "ledger refused it (see `cible rejects`)."
            )
        objects = status != "granted"
        exited = 0
        if objects and self._refresh is not None:
            # The next run or event would do it; doing it now lets the outbox say why
            # these memberships end (source "objection").
            # The ledger counts records before a moment: evaluate just after this one.
            exited = self._refresh([customer_id], moment + _JUST_AFTER, "objection")
        self._store.append_audit(
            NewEntry(
                utc_now(),
                actor,
                "privacy.object" if objects else "privacy.unobject",
                f"customer:{customer_id}",
                "ok",
                {"source": rows[0]["source"], "exited": exited},
            )
        )
        return ObjectionChange(customer_id, objects, len(rows), moment, exited)
