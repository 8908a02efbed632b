"""What privacy reads and writes: the suppression list, a customer's contact and
erasure, as methods of the :class:`~cible.store.store.Store`.

A part of the Store kept in its own module for size, as
:mod:`cible.store.activation_records`: :class:`PrivacyRecords` is one of the Store's
bases, and each method hands the Store's connection to :mod:`cible.store.privacy`.
The rewrite of the file after an erasure stays in the Store, which owns the
connection it reopens.
"""

from __future__ import annotations

from collections.abc import Sequence

from cible.store import audit_log, privacy
from cible.store.connected import Connected


class PrivacyRecords(Connected):
    """The privacy part of the Store's methods (see the module's description)."""

    def privacy_salt(self) -> str:
        """The workspace secret the suppression list's digests are salted with."""
        return privacy.workspace_salt(self.connection)

    def add_suppressions(self, rows: Sequence[privacy.Suppression]) -> int:
        """Add digests to the suppression list; returns how many were new."""
        with self.transaction():
            return privacy.add(self.connection, rows)

    def remove_suppression(self, kind: str, digest: str) -> list[str]:
        """Take a digest off the suppression list; returns the reasons it was listed for."""
        with self.transaction():
            return privacy.remove(self.connection, kind, digest)

    def suppression_counts(self) -> list[tuple[str, str, int]]:
        """``(kind, reason, count)`` of the suppression list."""
        return privacy.counts(self.connection)

    def suppressed_digests(self, kind: str, digests: Sequence[str]) -> set[str]:
        """Those of ``digests`` of ``kind`` on the suppression list."""
        return privacy.listed(self.connection, kind, digests)

    def has_suppressions(self) -> bool:
        """Whether the suppression list holds anything (else nothing needs checking)."""
        return not privacy.is_empty(self.connection)

    def suppressed_customers(self, customer_ids: Sequence[str]) -> set[str]:
        """Those of ``customer_ids`` whose id, e-mail or phone is on the suppression list."""
        return privacy.suppressed_customers(self.connection, customer_ids)

    def blank_suppressed_rejects(self, import_id: int, reason: str) -> None:
        """Drop the values of an import's rejects given for ``reason``: a suppressed
        value is not held again, not even in the rejects."""
        privacy.blank_rejects(self.connection, import_id, reason)

    def customer_contact(self, customer_id: str) -> privacy.Contact | None:
        """A customer's e-mail, phone and names; None when there is no such profile."""
        return privacy.contact(self.connection, customer_id)

    def customer_tables(self) -> list[str]:
        """Tables of the workspace with a ``customer_id`` column."""
        return privacy.customer_tables(self.connection)

    def erase_customer(
        self,
        customer_id: str,
        *,
        contact: privacy.Contact | None,
        tombstone: Sequence[privacy.Suppression],
        audit: audit_log.NewEntry,
        erased_label: str,
    ) -> dict[str, int]:
        """Delete a customer everywhere, list the tombstone and write the audit entry, in
        one transaction; returns the rows deleted or rewritten per table.

        The one change ever made to existing audit entries: the details and targets
        that name the erased customer are replaced (GDPR art. 17 outranks the log).
        """
        with self.transaction():
            done = privacy.erase(self.connection, customer_id, contact, erased_label)
            privacy.add(self.connection, tombstone)
            audit_log.insert(self.connection, audit)
        return done
