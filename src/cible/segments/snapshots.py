"""Snapshots: traits and memberships frozen as of a moment, to compare moments later.

A run may keep its result as a snapshot (``ws.run(snapshot=True)``; the server's
scheduled runs do); :meth:`Snapshots.take` replays any past moment into one without
touching the present; :meth:`Snapshots.backfill` replays the first day of every month
of the data's history. Migrations, stability and drift read them.

Examples
--------
>>> import tempfile
>>> from datetime import datetime
>>> from pathlib import Path
>>> from cible import Workspace
>>> from cible.demo import build_demo
>>> folder = Path(tempfile.mkdtemp()) / "cdnow"
>>> _ = build_demo(folder, dataset="cdnow")
>>> with Workspace.open(folder) as ws:
...     taken = ws.snapshots.backfill(start=datetime(1997, 4, 1), end=datetime(1997, 6, 1))
...     rows = ws.snapshots.list()
>>> [f"{row.as_of:%Y-%m-%d}" for row in rows]
['1997-04-01', '1997-05-01', '1997-06-01']
"""

from __future__ import annotations

import builtins
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import ibis.expr.types as ir

from cible.domain.clock import normalise_as_of, utc_now
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import CibleError
from cible.domain.progress import Progress, reporter
from cible.domain.registry import FieldRegistry
from cible.segments.runner import snapshot_segments
from cible.store.snapshots import SnapshotRow
from cible.store.store import Store

#: The most moments one backfill replays (a century of months).
MAX_BACKFILL = 1_200


@dataclass(frozen=True)
class Snapshot:
    """A stored snapshot: its id, moment, where it came from and its counts."""

    snapshot_id: int
    as_of: datetime
    taken_at: datetime
    origin: str
    run_id: int | None
    customers: int
    memberships: int

    @classmethod
    def from_row(cls, row: SnapshotRow) -> Snapshot:
        """The snapshot a store row describes."""
        return cls(**asdict(row))

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for JSON."""
        return asdict(self)


def month_starts(start: datetime, end: datetime) -> list[datetime]:
    """The first day of each month from ``start``'s month (or the next, when ``start``
    is not a first day at midnight) through ``end``.

    Examples
    --------
    >>> [f"{m:%Y-%m-%d}" for m in month_starts(datetime(2024, 11, 15), datetime(2025, 2, 1))]
    ['2024-12-01', '2025-01-01', '2025-02-01']
    """
    moment = datetime(start.year, start.month, 1)
    if moment < start:
        moment = _next_month(moment)
    found = []
    while moment <= end:
        found.append(moment)
        moment = _next_month(moment)
    return found


def _past(moment: datetime) -> datetime:
    """``moment`` when it is not after now; a snapshot of the future is refused."""
    now = utc_now()
    if moment > now:
        raise CibleError(
            f"{moment:%Y-%m-%d %H:%M} is in the future (now {now:%Y-%m-%d %H:%M} UTC): a "
            "snapshot keeps what is known as of its moment; choose one up to now."
        )
    return moment


def _next_month(moment: datetime) -> datetime:
    return datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1)


class Snapshots:
    """``ws.snapshots``: list, take, backfill, remove and read snapshots."""

    def __init__(self, store: Store, registry: FieldRegistry, config: WorkspaceConfig) -> None:
        self._store = store
        self._registry = registry
        self._config = config

    def list(self) -> list[Snapshot]:
        """Every snapshot, oldest moment first."""
        return [Snapshot.from_row(row) for row in self._store.list_snapshots()]

    def get(self, snapshot_id: int) -> Snapshot:
        """One snapshot; ``CibleError`` when there is none with this id."""
        for found in self.list():
            if found.snapshot_id == snapshot_id:
                return found
        raise CibleError(f"No snapshot {snapshot_id}: `cible snapshots list` shows them.")

    def at(self, moment: datetime) -> Snapshot | None:
        """The latest snapshot taken as of ``moment`` or before it, if any."""
        moment = normalise_as_of(moment)
        before = [s for s in self.list() if s.as_of <= moment]
        return before[-1] if before else None

    def take(
        self,
        as_of: datetime | None = None,
        *,
        replace: bool = True,
        progress: Progress | None = None,
    ) -> Snapshot:
        """Replay a run as of ``as_of`` (default now) into a snapshot.

        The live traits and memberships stay as they are: this is how a past moment
        is kept for comparison. A snapshot already stored as of the same moment is
        replaced unless ``replace`` is False.
        """
        moment = utc_now() if as_of is None else _past(normalise_as_of(as_of))
        row = snapshot_segments(
            self._store,
            self._registry,
            self._config,
            as_of=moment,
            origin="replay",
            replace=replace,
            progress=progress,
        )
        return Snapshot.from_row(row)

    def backfill(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        replace: bool = False,
        progress: Progress | None = None,
    ) -> builtins.list[Snapshot]:
        """Replay the first day of each month from ``start`` to ``end`` into snapshots.

        By default from the month after the first order to the month after the last
        one (the data's history), today at the latest: a snapshot of the future would
        hold what is not known yet. Months that already have a snapshot are kept unless
        ``replace``; each month is stored on its own, so an interrupted backfill keeps
        the months it finished and a second call completes it. Returns the snapshots
        written.
        """
        first, last = self._history()
        begin = normalise_as_of(start) if start is not None else first
        finish = _past(normalise_as_of(end)) if end is not None else last
        if begin is None or finish is None:
            raise CibleError("No orders to backfill from: import orders first.")
        if finish < begin:
            raise CibleError(f"The end {finish:%Y-%m-%d} is before the start {begin:%Y-%m-%d}.")
        moments = month_starts(begin, finish)
        if len(moments) > MAX_BACKFILL:
            raise CibleError(
                f"A backfill from {begin:%Y-%m-%d} to {finish:%Y-%m-%d} would replay "
                f"{len(moments)} months, more than {MAX_BACKFILL}; choose a shorter period."
            )
        have = {s.as_of for s in self.list()}
        todo = [m for m in moments if replace or m not in have]
        report = reporter(progress)
        written = []
        for done, moment in enumerate(todo):
            report(f"{moment:%Y-%m}", done, len(todo))
            row = snapshot_segments(
                self._store,
                self._registry,
                self._config,
                as_of=moment,
                origin="backfill",
                replace=True,
            )
            written.append(Snapshot.from_row(row))
        report("done", len(todo), len(todo))
        return written

    def remove(self, snapshot_id: int) -> bool:
        """Remove a snapshot; False when there was none."""
        return self._store.delete_snapshot(snapshot_id)

    def prune(self, *, keep_days: int, now: datetime | None = None) -> builtins.list[int]:
        """Remove run snapshots older than ``keep_days``, keeping each month's first.

        Snapshots replayed or backfilled are kept: someone asked for them. Of the
        snapshots of runs older than ``keep_days`` days, the earliest of each month is
        kept (a monthly history that does not grow with daily runs); the others are
        removed. Returns the ids removed.
        """
        limit = (utc_now() if now is None else normalise_as_of(now)) - timedelta(days=keep_days)
        first_of_month: dict[tuple[int, int], int] = {}
        for found in self.list():
            if found.origin == "run":
                first_of_month.setdefault((found.as_of.year, found.as_of.month), found.snapshot_id)
        removed = []
        for found in self.list():
            month = (found.as_of.year, found.as_of.month)
            if (
                found.origin == "run"
                and found.as_of < limit
                and first_of_month[month] != found.snapshot_id
            ):
                self._store.delete_snapshot(found.snapshot_id)
                removed.append(found.snapshot_id)
        return removed

    def traits(self, snapshot_id: int) -> ir.Table:
        """The traits of every customer in a snapshot (an Ibis table)."""
        self.get(snapshot_id)
        table = self._store.table("snapshot_traits")
        return table.filter(table.snapshot_id == snapshot_id).drop("snapshot_id")

    def members(self, snapshot_id: int) -> ir.Table:
        """The memberships of a snapshot: ``segment_id, dimension, customer_id``."""
        self.get(snapshot_id)
        table = self._store.table("snapshot_members")
        return table.filter(table.snapshot_id == snapshot_id).drop("snapshot_id")

    def _history(self) -> tuple[datetime | None, datetime | None]:
        """The month after the first order and the month after the last one."""
        orders = self._store.table("orders")
        row = (
            orders.aggregate(first=orders.ordered_at.min(), last=orders.ordered_at.max())
            .to_pyarrow()
            .to_pylist()[0]
        )
        if row["first"] is None:
            return None, None
        first, last = normalise_as_of(row["first"]), normalise_as_of(row["last"])
        following = month_starts(last, last + timedelta(days=32))
        return first, min(following[0] if following else last, utc_now())
