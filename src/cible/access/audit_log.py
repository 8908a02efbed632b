"""``ws.audit_log``: record who did what, read it back; nothing else.

Every change, export, token change and refusal is written here with who, when and
what, failures included (DESIGN.md section 9). There is no method to update or
delete an entry, here or on the Store: the log only grows.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
...     _ = ws.audit_log.record("cli", "segment.save", "segment:vip", "ok", {"created": True})
...     [(e.actor, e.action, e.outcome) for e in ws.audit_log.entries(limit=5)]
[('cli', 'segment.save', 'ok')]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from cible.domain.clock import utc_now
from cible.domain.errors import CibleError
from cible.store.audit_log import Entry, NewEntry
from cible.store.store import Store

__all__ = ["OUTCOMES", "AuditEntry", "AuditLog", "counts"]

T = TypeVar("T")

#: How an audited action ended.
OUTCOMES = ("ok", "refused", "failed")

#: A stored entry: ``entry_id, recorded_at, actor, action, target, outcome, detail``.
AuditEntry = Entry

#: Most entries one read returns.
MAX_LIMIT = 1000


def counts(result: object) -> dict[str, int | float]:
    """The numbers of a result (a dict), for the log: a result may name customers (a
    deduplication's merges), and the log is kept for good, so only counts go in it.

    Examples
    --------
    >>> counts({"loaded": 3, "file": "a.csv", "ok": True, "share": 0.5})
    {'loaded': 3, 'share': 0.5}
    """
    found = result if isinstance(result, dict) else {}
    return {
        key: value
        for key, value in found.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


class AuditLog:
    """The workspace's append-only audit log (``ws.audit_log``).

    Parameters
    ----------
    store : Store
        The workspace database.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def record(
        self,
        actor: str,
        action: str,
        target: str,
        outcome: str,
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Append one entry, stamped now; return its id.

        Parameters
        ----------
        actor : str
            Who: a token's name, or ``cli`` for the local user.
        action : str
            What, as ``noun.verb`` (``segment.save``, ``export``, ``auth``).
        target : str
            On what, as ``kind:id`` (``segment:vip``), or ``""``.
        outcome : str
            ``ok``, ``refused`` or ``failed``.
        detail : dict, optional
            Anything else worth keeping (JSON-serialisable; never a secret).
        """
        if outcome not in OUTCOMES:
            raise CibleError(f"Unknown outcome {outcome!r}: use one of {', '.join(OUTCOMES)}.")
        entry = NewEntry(utc_now(), actor, action, target, outcome, dict(detail or {}))
        return self._store.append_audit(entry)

    def change(
        self,
        actor: str,
        action: str,
        target: str,
        work: Callable[[], T],
        detail: Callable[[T], dict[str, Any]] = lambda result: {},
    ) -> T:
        """Run ``work()`` and record it: ``ok`` with ``detail(result)``, or ``failed`` with
        the error's sentence (an unexpected error only by its type); errors propagate.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from cible import Workspace
        >>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
        ...     _ = ws.audit_log.change("cli", "segment.delete", "segment:vip", lambda: False)
        ...     [(e.action, e.outcome) for e in ws.audit_log.entries(limit=1)]
        [('segment.delete', 'ok')]
        """
        try:
            result = work()
        except CibleError as exc:
            self.record(actor, action, target, "failed", {"error": str(exc)})
            raise
        except Exception as exc:  # a fault of ours: recorded, its text kept out of the log
            self.record(actor, action, target, "failed", {"error": type(exc).__name__})
            raise
        self.record(actor, action, target, "ok", detail(result))
        return result

    def entries(
        self,
        limit: int = 100,
        offset: int = 0,
        action: str | None = None,
        *,
        actor: str | None = None,
        outcome: str | None = None,
    ) -> list[AuditEntry]:
        """Entries newest first; only those of ``action``, ``actor`` and ``outcome`` when
        given; ``limit`` (1-1000) from ``offset``."""
        if not 1 <= limit <= MAX_LIMIT:
            raise CibleError(f"limit {limit}: give a number from 1 to {MAX_LIMIT}.")
        if offset < 0:
            raise CibleError(f"offset {offset}: give 0 or a positive number.")
        if outcome is not None and outcome not in OUTCOMES:
            raise CibleError(f"Unknown outcome {outcome!r}: use one of {', '.join(OUTCOMES)}.")
        return self._store.audit_entries(
            limit=limit, offset=offset, action=action, actor=actor, outcome=outcome
        )
