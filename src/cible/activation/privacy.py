"""``ws.privacy``: the suppression list and the erasure of a customer (GDPR art. 17).

The suppression list holds salted SHA-256 digests of customer ids, e-mails (trimmed,
lower-cased) and phones (digits), never the values: the salt is a secret of the
workspace. A listed value is refused at import (a reject with the reason
``suppressed``) and by the live endpoints (the message is dropped and counted), and
its customer is left out of every export and delivery.

:meth:`Privacy.erase` deletes a customer from every table in one transaction, lists
the digests of their id, e-mail and phone (the *tombstone*, reason ``erased``) so
that they are never held again, writes an audit entry that names them by digest
only, then rewrites the database file so that the deleted values are no longer in it.
Files of the workspace folder that still hold the e-mail, the phone or the name (the
demo's ``demo-files/`` CSVs, ``incoming/``) are listed for the user to clean.
See docs/privacy.md.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "c.csv").write_text("customer_id,email\\nc1,anne@example.com\\nc2,b@x.test\\n")
>>> with Workspace.create(folder / "shop") as ws:
...     _ = ws.imports.load("customers", folder / "c.csv")
...     erased = ws.privacy.erase("c1", actor="cli", reason="customer's request")
...     again = ws.imports.load("customers", folder / "c.csv")
...     ws.privacy.suppressions()["by_reason"]
{'erased': 2}
>>> erased.deleted["customers"], again.rejected
(1, 1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cible.domain.clock import utc_now
from cible.domain.errors import CibleError, UnknownCustomerError
from cible.domain.progress import Progress, reporter
from cible.quality.normalisation import normalise_phone
from cible.store.audit_log import NewEntry
from cible.store.privacy import KINDS, Suppression, digest
from cible.store.store import Store

#: Why a value is on the suppression list when :meth:`Privacy.erase` put it there.
ERASED = "erased"

# Files of the workspace that are Cible's own (the database, its log, settings, what
# an import holds while it runs: see cible.store.import_tables).
_OWN_SUFFIXES = (".duckdb", ".duckdb.wal", ".duckdb.import", ".toml")


@dataclass(frozen=True)
class Erasure:
    """What :meth:`Privacy.erase` did.

    Attributes
    ----------
    subject : str
        The digest of the erased id (the audit entry's target): never the id itself.
    deleted : dict
        Table -> rows deleted (or, for the audit log and quality reports, rewritten).
    tombstones : int
        Digests added to the suppression list (id, e-mail, phone).
    files_to_clean : list of str
        Files of the workspace folder, relative to it, that still hold the customer's
        e-mail, phone or name: Cible does not rewrite them.
    """

    subject: str
    deleted: dict[str, int]
    tombstones: int
    files_to_clean: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain dictionary for ``--json`` output and the API."""
        return {
            "subject": self.subject,
            "deleted": dict(self.deleted),
            "rows_deleted": sum(self.deleted.values()),
            "tombstones": self.tombstones,
            "files_to_clean": list(self.files_to_clean),
        }


class Privacy:
    """Suppression list and erasure of a workspace (``ws.privacy``).

    Parameters
    ----------
    store : Store
        The workspace database.
    folder : Path
        The workspace folder: its files are searched for what an erasure leaves.
    phone_region : str
        Region assumed for phone numbers written without a country code.
    """

    def __init__(
        self,
        store: Store,
        folder: Path,
        phone_region: str = "FR",
        *,
        copies_forgotten: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._folder = folder
        self._phone_region = phone_region
        # Drops copies of the tables kept outside the Store (Spark's) after an erasure.
        self._copies_forgotten = copies_forgotten

    # -- suppression list -------------------------------------------------------------

    def suppress(self, kind: str, value: str, reason: str = "", *, actor: str = "cli") -> bool:
        """Put ``value`` (a ``customer_id``, ``email`` or ``phone``) on the list.

        Returns
        -------
        bool
            True when it was new, False when it was listed already.

        Raises
        ------
        CibleError
            For another kind or an empty value.
        """
        checked = self._digest(kind, value)
        row = Suppression(kind, checked, reason.strip() or "requested", utc_now(), actor)
        added = self._store.add_suppressions([row]) > 0
        self._store.append_audit(
            NewEntry(
                utc_now(),
                actor,
                "privacy.suppress",
                f"{kind}:{checked[:12]}",
                "ok",
                {"kind": kind, "reason": row.reason, "new": added},
            )
        )
        return added

    def unsuppress(self, kind: str, value: str, *, actor: str = "cli") -> bool:
        """Take ``value`` off the list; False when it was not on it.

        An erased customer's tombstone can be taken off too, when they come back as a
        customer of their own will: the audit log keeps who did it.
        """
        checked = self._digest(kind, value)
        reasons = self._store.remove_suppression(kind, checked)
        self._store.append_audit(
            NewEntry(
                utc_now(),
                actor,
                "privacy.unsuppress",
                f"{kind}:{checked[:12]}",
                "ok",
                {"kind": kind, "reasons": reasons},
            )
        )
        return bool(reasons)

    def suppressions(self) -> dict[str, Any]:
        """Counts of the list, by kind and by reason; no value and no digest.

        >>> import tempfile
        >>> from pathlib import Path
        >>> from cible import Workspace
        >>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
        ...     _ = ws.privacy.suppress("email", "Anne@Example.com", "opted out")
        ...     ws.privacy.suppressions()
        {'total': 1, 'by_kind': {'email': 1}, 'by_reason': {'opted out': 1}}
        """
        by_kind: dict[str, int] = {}
        by_reason: dict[str, int] = {}
        for kind, reason, count in self._store.suppression_counts():
            by_kind[kind] = by_kind.get(kind, 0) + count
            by_reason[reason] = by_reason.get(reason, 0) + count
        return {"total": sum(by_kind.values()), "by_kind": by_kind, "by_reason": by_reason}

    def is_suppressed(self, kind: str, value: str) -> bool:
        """Whether ``value`` of ``kind`` is on the list."""
        checked = self._digest(kind, value)
        return bool(self._store.suppressed_digests(kind, [checked]))

    # -- erasure ----------------------------------------------------------------------

    def _rewrite(self) -> None:
        """Leave no erased value behind: the database file rewritten without the freed
        blocks, and the copies of the tables kept elsewhere dropped."""
        self._store.rewrite_file()
        self._forget_copies()

    def _forget_copies(self) -> None:
        if self._copies_forgotten is not None:
            self._copies_forgotten()

    def erase(self, customer_id: str, *, actor: str, reason: str = "") -> Erasure:
        """Erase ``customer_id`` from the workspace (see the module's description).

        Raises
        ------
        CibleError
            When no table holds that customer id (nothing to erase; no tombstone).
        """
        erasure, needles = self._erase_one(customer_id, actor=actor, reason=reason)
        self._rewrite()
        return Erasure(
            erasure.subject, erasure.deleted, erasure.tombstones, self._files_holding(needles)
        )

    def erase_many(
        self,
        customer_ids: Sequence[str],
        *,
        actor: str,
        reason: str = "",
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Erase several customers (those past retention, say), rewriting the file once.

        Each customer is erased in its own transaction, with its own tombstone and
        audit entry, exactly as :meth:`erase` does; the database file is rewritten
        once at the end (the costly part), so the deleted values leave it together.
        Ids that no table holds any more are skipped and counted. When another error
        stops the work part-way, the file is still rewritten for the customers already
        erased, then the error is raised.

        Returns
        -------
        dict
            ``customers`` (erased), ``skipped`` (not found), ``deleted`` (table -> rows,
            summed), ``tombstones`` and ``files_to_clean``.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from cible import Workspace
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "c.csv").write_text("customer_id\\na\\nb\\nc\\n")
        >>> with Workspace.create(folder / "shop") as ws:
        ...     _ = ws.imports.load("customers", folder / "c.csv")
        ...     done = ws.privacy.erase_many(["a", "b", "gone"], actor="cli")
        ...     left = ws.table("customers").customer_id.to_pyarrow().to_pylist()
        >>> done["customers"], done["skipped"], done["deleted"]["customers"], left
        (2, 1, 2, ['c'])
        """
        report = reporter(progress)
        deleted: dict[str, int] = {}
        needles: list[str] = []
        erased = skipped = tombstones = 0
        try:
            for done, customer_id in enumerate(customer_ids):
                report("erasing", done, len(customer_ids))
                try:
                    erasure, found = self._erase_one(customer_id, actor=actor, reason=reason)
                except UnknownCustomerError:
                    skipped += 1
                    continue
                erased += 1
                tombstones += erasure.tombstones
                needles += found
                for table, rows in erasure.deleted.items():
                    deleted[table] = deleted.get(table, 0) + rows
        finally:
            # The customers erased so far are committed, but their values stay in the
            # blocks DuckDB freed until the file is rewritten: rewrite it even when a
            # later customer fails, then let that error go on.
            report("rewriting", len(customer_ids), len(customer_ids) + 1)
            if erased:
                self._store.rewrite_file()
        # Not in the ``finally``: an error of Spark's must not hide a customer's.
        if erased:
            self._forget_copies()
        report("done", len(customer_ids) + 1, len(customer_ids) + 1)
        return {
            "customers": erased,
            "skipped": skipped,
            "deleted": deleted,
            "rows_deleted": sum(deleted.values()),
            "tombstones": tombstones,
            "files_to_clean": self._files_holding(needles) if needles else [],
        }

    def _erase_one(self, customer_id: str, *, actor: str, reason: str) -> tuple[Erasure, list[str]]:
        """Delete one customer in one transaction; the erasure and the values to look for."""
        customer_id = customer_id.strip()
        if not customer_id:
            raise CibleError("Give the id of the customer to erase.")
        contact = self._store.customer_contact(customer_id)
        if contact is None and not self._held_anywhere(customer_id):
            raise UnknownCustomerError(
                f"No customer {customer_id!r} in this workspace: nothing to erase. "
                "Check the id with `cible customers show`."
            )
        salt = self._store.privacy_salt()
        now = utc_now()
        values = {"customer_id": customer_id}
        if contact is not None:
            values.update(
                {k: v for k, v in (("email", contact.email), ("phone", contact.phone)) if v}
            )
        tombstone = [
            Suppression(kind, digest(salt, kind, value), ERASED, now, actor)
            for kind, value in values.items()
            if digest(salt, kind, value) != digest(salt, kind, "")
        ]
        subject = tombstone[0].digest
        label = f"erased:{subject[:12]}"
        entry = NewEntry(
            now,
            actor,
            "privacy.erase",
            label,
            "ok",
            {"subject": subject, "reason": reason.strip(), "tombstones": len(tombstone)},
        )
        deleted = self._store.erase_customer(
            customer_id, contact=contact, tombstone=tombstone, audit=entry, erased_label=label
        )
        needles = [value for kind, value in values.items() if kind != "customer_id"]
        if contact is not None and contact.names:
            needles.append(" ".join(contact.names))
        return Erasure(subject, deleted, len(tombstone)), needles

    def customer_tables(self) -> list[str]:
        """Tables of the workspace with a ``customer_id`` column (all erased from)."""
        return self._store.customer_tables()

    def _held_anywhere(self, customer_id: str) -> bool:
        for name in self._store.customer_tables():
            table = self._store.table(name)
            if table.filter(table.customer_id == customer_id).count().execute():
                return True
        return False

    def _digest(self, kind: str, value: str) -> str:
        if kind not in KINDS:
            raise CibleError(f"Unknown kind {kind!r}: use one of {', '.join(KINDS)}.")
        salt = self._store.privacy_salt()
        if kind == "phone":  # as the importer stores it, in E.164 form when valid
            value = normalise_phone(value, self._phone_region) or value
        checked = digest(salt, kind, value)
        if checked == digest(salt, kind, ""):
            raise CibleError(f"The {kind} to suppress is empty: give a value.")
        return checked

    def _files_holding(self, needles: list[str]) -> list[str]:
        """Files of the workspace folder (not Cible's own) holding one of ``needles``."""
        patterns = {
            text.encode(encoding)
            for text in needles
            if text
            for encoding in ("utf-8", "cp1252")
            if text.encode(encoding, errors="ignore")
        }
        found = []
        for path in sorted(self._folder.rglob("*")):
            if not path.is_file() or path.name.endswith(_OWN_SUFFIXES):
                continue
            try:
                content = path.read_bytes()
            except OSError:
                continue
            lowered = content.lower()
            if any(p in content or p.lower() in lowered for p in patterns):
                found.append(str(path.relative_to(self._folder)))
        return found
