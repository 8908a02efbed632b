"""``ws.quality``: audit the data, normalise contact fields, find and merge duplicates.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
...     ws.quality.normalise()["email"]
0
"""

from __future__ import annotations

from datetime import datetime

from cible.domain.config import WorkspaceConfig
from cible.domain.progress import Progress
from cible.domain.registry import FieldRegistry
from cible.quality.audit import AuditReport, run_audit
from cible.quality.contacts import NORMALISED_FIELDS, ContactRules, contact_fixes
from cible.quality.merge import DedupeResult, dedupe, undo
from cible.store.merges import UndoRecord
from cible.store.store import Store


class Quality:
    """The data quality capability of one workspace.

    Parameters
    ----------
    store : Store
        The workspace database.
    registry : FieldRegistry
        Tables and fields, custom attributes included.
    config : WorkspaceConfig
        ``[quality]`` and ``[dedupe]`` settings.
    """

    def __init__(self, store: Store, registry: FieldRegistry, config: WorkspaceConfig) -> None:
        self._store = store
        self._registry = registry
        self._config = config

    def audit(
        self, as_of: datetime | None = None, *, progress: Progress | None = None
    ) -> AuditReport:
        """Audit data quality as of ``as_of`` (default now) and store the audit.

        Returns
        -------
        AuditReport
            Every check with counts and examples, the 0-100 score, the top problems
            and the scores of earlier audits (docs/quality.md).
        """
        return run_audit(self._store, self._registry, self._config, as_of=as_of, progress=progress)

    def normalise(self) -> dict[str, int]:
        """Normalise the stored customers' contact fields again, in one transaction.

        E-mails, phones, countries, names and cities take the forms an import gives
        them (docs/quality.md); ``updated_at`` is left alone.

        Returns
        -------
        dict
            Field -> number of customers whose value changed.
        """
        fixes = [
            fix
            for fix in contact_fixes(self._store.table("customers"), contact_rules(self._config))
            if fix.column in NORMALISED_FIELDS
        ]
        changed = self._store.fix_table(self._registry.table("customers"), fixes)
        return {name: changed.get(name, 0) for name in NORMALISED_FIELDS}

    def dedupe(self, dry_run: bool = False, *, progress: Progress | None = None) -> DedupeResult:
        """Find profiles of the same person and merge each group into a golden record.

        Thresholds come from ``[dedupe]`` in ``cible.toml``; survivorship, consent
        and undo rules are in docs/quality.md. All merges are one transaction.

        Parameters
        ----------
        dry_run : bool
            Only propose the merges, with their match weight and rule; write nothing.
        progress : callable, optional
            ``progress(step, done, total)``.
        """
        return dedupe(self._store, self._registry, self._config, dry_run=dry_run, progress=progress)

    def undo_merge(self, merge_id: int) -> UndoRecord:
        """Reverse merge ``merge_id`` exactly: profiles, orders, events and consents.

        Raises
        ------
        CibleError
            When there is no such merge, it was undone already, or a later merge of
            some of the same customers must be undone first.
        """
        return undo(self._store, self._registry, merge_id)


def contact_rules(config: WorkspaceConfig) -> ContactRules:
    """How contact fields are normalised in this workspace (``[quality]``, ``[workspace]``)."""
    return ContactRules(
        phone_region=config.quality.phone_region,
        default_country=config.workspace.default_region,
    )
