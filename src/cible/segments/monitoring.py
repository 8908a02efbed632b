"""Drift checks: has a segment, a clustering or a model stopped describing the base?

A check compares a snapshot (by default the latest) with its **reference**: the
snapshot about ``[drift] reference_days`` earlier. It looks at

- every **trait that feeds** something: a rule segment's conditions, a built-in
  dimension's inputs (RFM, lifecycle, value, churn risk, typologies), a clustering's
  traits, the churn model's features. For each, the population stability index
  and a two-sample test over the whole base (:func:`cible.models.drift.trait_drift`);
- every **segment**: its size at both moments, and the traits that feed anything
  among its members then and now; the monthly size series gets a change-point test
  (:func:`cible.models.change_points.detect_change_point`);
- every **clustering**: re-fitted on the current snapshot and compared with the
  stored model (:func:`cible.models.clustering.refit.compare_refit`);
- the **churn model**: its AUC and calibration on the latest labelled period
  against its card (:func:`cible.models.performance_drift.performance_drift`).

**What is unusual.** A customer base is never still: traits such as tenure move
every quarter, and a drift check that fires on them every time is ignored. Each
comparison is therefore also made over the same length of time in the
:data:`BASELINE_PERIODS` periods before the reference (when snapshots exist there:
``cible snapshots backfill``); a trait or a size *alerts* when its change reaches
the threshold (``psi_alert``, ``size_change``) **and** at least
:data:`UNUSUAL_RATIO` times the largest change of those earlier periods. Without
earlier periods, the threshold alone decides. Warnings (``psi_warn``) are reported,
not sent.

Each alert says what changed (which traits, by how much, which segments grew or
shrank) and what to do (re-fit, retrain, review the rule), in English and French.

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
...     _ = ws.snapshots.backfill(start=datetime(1997, 9, 1), end=datetime(1998, 6, 1))
...     check = ws.monitoring.check()
>>> f"{check.reference_as_of:%Y-%m-%d} -> {check.as_of:%Y-%m-%d}"
'1998-03-01 -> 1998-06-01'
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from cible.domain.clock import utc_now
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import CibleError
from cible.domain.json_values import dumps_json
from cible.domain.registry import FieldRegistry
from cible.features.registry import get_trait
from cible.models.change_points import detect_change_point
from cible.models.churn import ChurnModel
from cible.models.churn_risk import latest_card
from cible.models.clustering.refit import compare_refit
from cible.models.drift import trait_drift
from cible.models.errors import ModelDataError
from cible.models.performance_drift import performance_drift
from cible.models.snapshots import build_snapshots
from cible.segments.builtin import typology_inputs
from cible.segments.cluster_members import load_cluster_segments, load_segmenter
from cible.segments.runner import ALL_TRAITS, load_segments
from cible.segments.snapshots import Snapshot, Snapshots
from cible.store.store import Store

#: Earlier periods of the same length a change is compared with.
BASELINE_PERIODS = 4
#: A change alerts when it is at least this many times the largest earlier one.
UNUSUAL_RATIO = 2.0
#: Fewest customers of a segment, at both moments, for its traits to be compared.
MIN_MEMBERS = 200
#: Fewest monthly values for a change-point test.
MIN_SERIES = 6
#: A segment's KPIs followed month by month besides its size: its members' mean
#: purchases and spend of the last 90 days.
SERIES_KPIS = ("orders_90d", "revenue_90d")
#: What the built-in dimensions read (their rules in ``segments/builtin``).
BUILTIN_INPUTS = {
    "rfm": ("recency_days", "frequency", "monetary_value"),
    "lifecycle": ("recency_days", "frequency", "mean_days_between_orders", "last_gap_days"),
    "value": ("clv_12m", "probability_alive", "expected_orders_90d"),
}

#: Called for each alert to send (audit log, webhook, e-mail): given by the workspace.
Notify = Callable[["Alert", "DriftCheck"], None]


@dataclass(frozen=True)
class Alert:
    """Something that stopped describing the base, and what to do about it."""

    kind: str
    subject: str
    what: dict[str, str]
    action: dict[str, str]
    details: dict[str, Any] = field(default_factory=dict)
    #: False when the same alert went out less than ``[drift] repeat_days`` ago: it
    #: is kept and audited, not sent again.
    sent: bool = True

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for JSON."""
        return asdict(self)


@dataclass(frozen=True)
class DriftCheck:
    """One comparison of a moment with its reference; see the module."""

    as_of: datetime
    reference_as_of: datetime
    checked_at: datetime
    baseline: list[tuple[datetime, datetime]]
    traits: list[dict[str, Any]]
    segments: list[dict[str, Any]]
    clusterings: list[dict[str, Any]]
    models: list[dict[str, Any]]
    alerts: list[Alert]
    notes: list[str]
    check_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for JSON."""
        found = asdict(self)
        found["alerts"] = [a.as_dict() for a in self.alerts]
        return found


class Monitoring:
    """``ws.monitoring``: drift checks between snapshots, and their history."""

    def __init__(
        self,
        store: Store,
        registry: FieldRegistry,
        config: WorkspaceConfig,
        *,
        notify: Notify | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._config = config
        self._notify = notify
        self._snapshots = Snapshots(store, registry, config)

    # -- public --------------------------------------------------------------------

    def check(
        self,
        current: int | None = None,
        reference: int | None = None,
        *,
        record: bool = True,
        actor: str | None = None,
    ) -> DriftCheck:
        """Compare snapshot ``current`` (default the latest) with ``reference``.

        ``reference`` defaults to the snapshot closest to ``[drift] reference_days``
        before ``current``. With ``record``, the check is stored and its alerts are
        sent (audit log, and the webhook and e-mails of ``[drift]``).
        """
        kept = self._snapshots.list()
        if not kept:
            raise CibleError(
                "No snapshot to check: keep runs with `cible run --snapshot`, or replay the "
                "past with `cible snapshots backfill`."
            )
        now = self._snapshots.get(current) if current is not None else kept[-1]
        lag = timedelta(days=self._config.drift.reference_days)
        then = (
            self._snapshots.get(reference)
            if reference is not None
            else _nearest(kept, now.as_of - lag, tolerance=lag / 3, before=now.as_of)
        )
        if then is None:
            raise CibleError(
                f"No snapshot about {lag.days} days before {now.as_of:%Y-%m-%d} to compare "
                "with: `cible snapshots backfill` replays past months, or choose one with "
                "--reference."
            )
        if then.as_of >= now.as_of:
            raise CibleError(
                f"The reference ({then.as_of:%Y-%m-%d}) must come before the moment checked "
                f"({now.as_of:%Y-%m-%d})."
            )
        pairs = [(then, now), *_baseline(kept, then, now.as_of - then.as_of)]
        found = self._compare(kept, pairs)
        if record:
            recent = self._recently_sent(found.checked_at)
            alerts = [replace(a, sent=(a.kind, a.subject) not in recent) for a in found.alerts]
            found = replace(found, alerts=alerts)
            check_id = self._store.save_drift_check(
                checked_at=found.checked_at,
                as_of=found.as_of,
                reference_as_of=found.reference_as_of,
                alerts=len(found.alerts),
                actor=actor,
                report=dumps_json(found.as_dict()),
            )
            found = replace(found, check_id=check_id)
            if self._notify is not None:
                for alert in found.alerts:
                    self._notify(alert, found)
        return found

    def check_latest(
        self, *, actor: str | None = None, current: int | None = None
    ) -> dict[str, Any]:
        """:meth:`check` of snapshot ``current`` (default the latest), as a summary; a
        check that cannot be made (no reference yet) says why instead of failing
        (scheduled runs call it)."""
        try:
            found = self.check(current, actor=actor)
        except CibleError as exc:
            return {"checked": False, "reason": str(exc)}
        return {"checked": True, "check_id": found.check_id, "alerts": len(found.alerts)}

    def _recently_sent(self, now: datetime) -> set[tuple[str, str]]:
        """(kind, subject) of the alerts sent by checks of the last ``repeat_days``."""
        since = now - timedelta(days=self._config.drift.repeat_days)
        sent = set()
        for row in self._store.drift_checks(limit=1_000):
            if row.checked_at < since:
                break
            for alert in json.loads(row.report).get("alerts", []):
                if alert.get("sent", True):
                    sent.add((alert["kind"], alert["subject"]))
        return sent

    def history(self, *, limit: int = 20) -> list[dict[str, Any]]:
        """The latest checks, newest first, each with its report."""
        return [
            {**json.loads(row.report), "check_id": row.check_id, "actor": row.actor}
            for row in self._store.drift_checks(limit=limit)
        ]

    # -- the comparison -----------------------------------------------------------

    def _compare(self, kept: list[Snapshot], pairs: list[tuple[Snapshot, Snapshot]]) -> DriftCheck:
        settings = self._config.drift
        feeds = self._feeds()
        traits = sorted(feeds)
        frames: dict[int, pd.DataFrame] = {}
        members: dict[int, pd.DataFrame] = {}

        def load(snapshot: Snapshot) -> tuple[pd.DataFrame, pd.DataFrame]:
            if snapshot.snapshot_id not in frames:
                table = self._snapshots.traits(snapshot.snapshot_id)
                wanted = [c for c in ["customer_id", *traits] if c in table.columns]
                frames[snapshot.snapshot_id] = table.select(*wanted).to_pandas()
                members[snapshot.snapshot_id] = self._snapshots.members(
                    snapshot.snapshot_id
                ).to_pandas()
            return frames[snapshot.snapshot_id], members[snapshot.snapshot_id]

        then, now = pairs[0]
        notes: list[str] = []
        if len(pairs) == 1:
            notes.append(
                "No earlier period to compare with: thresholds alone decide "
                "(`cible snapshots backfill` keeps the months before)."
            )
        psi = [self._population(load, pair, traits) for pair in pairs]
        trait_rows = []
        alerts: list[Alert] = []
        for name in traits:
            if name not in psi[0]:
                continue
            drift = psi[0][name]
            usual = _usual([p[name]["psi"] if name in p else None for p in psi[1:]])
            alerting = _unusual(drift["psi"], usual, settings.psi_alert) and _material(
                drift, settings.min_change
            )
            row = {
                **drift,
                "usual_psi": usual,
                "feeds": sorted(feeds[name]),
                "alert": alerting,
                "warning": not alerting and drift["psi"] >= settings.psi_warn,
            }
            trait_rows.append(row)
            if alerting:
                alerts.append(_trait_alert(row))

        segment_rows = self._segments(load, pairs, feeds, kept)
        for row in segment_rows:
            if row["alert"]:
                alerts.append(_segment_alert(row))
        clusterings = self._clusterings(load, pairs)
        for row in clusterings:
            if row.get("changed_segments"):
                alerts.append(_clustering_alert(row))
        models = self._models(now)
        for row in models:
            if row.get("obsolete") or row.get("recalibrate"):
                alerts.append(_model_alert(row))
        return DriftCheck(
            as_of=now.as_of,
            reference_as_of=then.as_of,
            checked_at=utc_now(),
            baseline=[(a.as_of, b.as_of) for a, b in pairs[1:]],
            traits=trait_rows,
            segments=segment_rows,
            clusterings=clusterings,
            models=models,
            alerts=alerts,
            notes=notes,
        )

    def _population(
        self,
        load: Callable[[Snapshot], tuple[pd.DataFrame, pd.DataFrame]],
        pair: tuple[Snapshot, Snapshot],
        traits: list[str],
    ) -> dict[str, dict[str, Any]]:
        (before, _), (after, _) = load(pair[0]), load(pair[1])
        return _drifts(before, after, traits)

    def _segments(
        self,
        load: Callable[[Snapshot], tuple[pd.DataFrame, pd.DataFrame]],
        pairs: list[tuple[Snapshot, Snapshot]],
        feeds: dict[str, set[str]],
        kept: list[Snapshot],
    ) -> list[dict[str, Any]]:
        """Each segment's size and its members' traits, then and now.

        A segment's members are compared on the traits that feed something but not
        the segment itself: those of its own rule move inside it by construction (a
        threshold that moves, a customer who crosses it), and its size says that.
        """
        settings = self._config.drift
        then, now = pairs[0]
        _, members_then = load(then)
        _, members_now = load(now)
        ids = sorted(set(members_then.segment_id) | set(members_now.segment_id))
        dimension_of = dict(
            zip(
                pd.concat([members_then, members_now]).segment_id,
                pd.concat([members_then, members_now]).dimension,
                strict=True,
            )
        )
        series = self._series(kept, now)
        months = sorted(series.moment.unique()) if not series.empty else []
        rows = []
        for segment in ids:
            own = self._defining(segment, dimension_of.get(segment), feeds)
            traits = sorted(set(feeds) - own)
            sizes = []
            moved: list[dict[str, Any]] = []
            usual_moves: dict[str, list[float | None]] = {}
            for index, (a, b) in enumerate(pairs):
                (fa, ma), (fb, mb) = load(a), load(b)
                ia = ma.customer_id[ma.segment_id == segment]
                ib = mb.customer_id[mb.segment_id == segment]
                sizes.append((len(ia), len(ib)))
                if min(len(ia), len(ib)) < MIN_MEMBERS:
                    continue
                found = _drifts(fa[fa.customer_id.isin(ia)], fb[fb.customer_id.isin(ib)], traits)
                if index == 0:
                    moved = list(found.values())
                else:
                    for name, drift in found.items():
                        usual_moves.setdefault(name, []).append(drift["psi"])
            before, after = sizes[0]
            change = (after - before) / before if before else None
            usual_change = _usual([abs((b - a) / a) if a else None for a, b in sizes[1:]])
            size_alert = change is not None and _unusual(
                abs(change), usual_change, settings.size_change
            )
            traits_moved = []
            for drift in moved:
                usual = _usual(usual_moves.get(drift["trait"], []))
                if _unusual(drift["psi"], usual, settings.psi_alert) and _material(
                    drift, settings.min_change
                ):
                    traits_moved.append({**drift, "usual_psi": usual})
            mine = series[series.segment_id == segment].set_index("moment")
            trends = {kpi: _trend(mine[kpi].reindex(months)) for kpi in ("customers", *SERIES_KPIS)}
            rows.append(
                {
                    "segment_id": segment,
                    "dimension": dimension_of.get(segment),
                    "size_then": before,
                    "size_now": after,
                    "change": change,
                    "usual_change": usual_change,
                    "size_alert": size_alert,
                    "traits_moved": sorted(traits_moved, key=lambda t: -t["psi"]),
                    "trends": trends,
                    "alert": size_alert or bool(traits_moved),
                }
            )
        return rows

    def _series(self, kept: list[Snapshot], now: Snapshot) -> pd.DataFrame:
        """``moment, segment_id, customers`` and the mean :data:`SERIES_KPIS` of its
        members, for the first snapshot of each month up to ``now`` (one query)."""
        firsts: dict[tuple[int, int], Snapshot] = {}
        for snapshot in kept:
            if snapshot.as_of <= now.as_of:
                firsts.setdefault((snapshot.as_of.year, snapshot.as_of.month), snapshot)
        chosen = {s.snapshot_id: s.as_of for s in firsts.values()}
        if not chosen:
            return pd.DataFrame(columns=["moment", "segment_id", "customers", *SERIES_KPIS])
        members = self._store.table("snapshot_members")
        traits = self._store.table("snapshot_traits")
        kpis = [k for k in SERIES_KPIS if k in traits.columns]
        members = members.filter(members.snapshot_id.isin(list(chosen)))
        joined = members.left_join(
            traits.select("snapshot_id", "customer_id", *kpis), ["snapshot_id", "customer_id"]
        )
        found: pd.DataFrame = (
            joined.group_by([members.snapshot_id, members.segment_id])
            .aggregate(customers=joined.count(), **{k: joined[k].mean() for k in kpis})
            .to_pandas()
        )
        found["moment"] = found.snapshot_id.map(chosen)
        for kpi in SERIES_KPIS:
            if kpi not in found.columns:
                found[kpi] = np.nan
        return found

    def _clusterings(
        self,
        load: Callable[[Snapshot], tuple[pd.DataFrame, pd.DataFrame]],
        pairs: list[tuple[Snapshot, Snapshot]],
    ) -> list[dict[str, Any]]:
        """Each clustering re-fitted on the moment checked, and its clusters' profiles.

        The re-fit (same settings) says which stored clusters vanished (no match of
        Jaccard 0.5 or more) and gives the adjusted Rand index. A cluster's profile
        moved when a trait it reads drifted among its customers (both moments
        assigned by the stored model) beyond ``psi_alert`` and beyond what the same
        cluster moved in the earlier periods, as for segments. Changed: vanished or
        moved.
        """
        settings = self._config.drift
        now = pairs[0][1]
        rows = []
        segments = load_cluster_segments(self._store)
        for model_id in sorted({s.model_id for s in segments}):
            own = {s.cluster: s for s in segments if s.model_id == model_id}
            _, segmenter = load_segmenter(self._store, model_id)
            # The traits it reads feed it, so the tables already loaded hold them.
            frames = {}
            for snapshot in {s.snapshot_id: s for pair in pairs for s in pair}.values():
                frame = load(snapshot)[0]
                clusters = segmenter.predict(frame)["cluster"].to_numpy()
                frames[snapshot.snapshot_id] = frame.assign(_cluster=clusters)
            quick = copy.copy(segmenter).set_params(n_bootstrap=0)
            # The re-fit chooses its traits again, among all of them, as the fit did.
            current = self._snapshots.traits(now.snapshot_id).to_pandas()
            result = compare_refit(quick, current, ALL_TRAITS)
            moved: dict[int, list[dict[str, Any]]] = {}
            for cluster in own:
                per_pair = []
                for a, b in pairs:
                    fa, fb = frames[a.snapshot_id], frames[b.snapshot_id]
                    per_pair.append(
                        _drifts(
                            fa[fa._cluster == cluster],
                            fb[fb._cluster == cluster],
                            segmenter.traits_,
                        )
                    )
                for name, drift in per_pair[0].items():
                    usual = _usual([p[name]["psi"] if name in p else None for p in per_pair[1:]])
                    if _unusual(drift["psi"], usual, settings.psi_alert) and _material(
                        drift, settings.min_change
                    ):
                        moved.setdefault(cluster, []).append({**drift, "usual_psi": usual})
            changed = sorted(set(result.vanished) | set(moved))
            rows.append(
                {
                    "dimension": next(iter(own.values())).dimension,
                    "model_id": model_id,
                    "ari": result.ari,
                    "vanished": [own[c].id for c in result.vanished if c in own],
                    "appeared": len(result.appeared),
                    "changed_segments": [own[c].id for c in changed if c in own],
                    "moved": {own[c].id: traits for c, traits in moved.items() if c in own},
                    "clusters": [asdict(c) for c in result.clusters],
                }
            )
        return rows

    def _models(self, now: Snapshot) -> list[dict[str, Any]]:
        found = latest_card(self._store)
        if found is None:
            return []
        model_id, card = found
        horizon = int(card.data.get("horizon_days", 90))
        labelled = now.as_of - timedelta(days=horizon)
        try:
            # What followed the labelled moment is known up to the moment checked.
            history = build_snapshots(
                self._store.table,
                [labelled],
                horizon,
                observation_end=now.as_of,
                blocked_categories=self._config.privacy.blocked_categories(),
            )
        except ModelDataError as exc:
            return [{"model": "churn", "model_id": model_id, "skipped": str(exc)}]
        if history.empty or history["label"].nunique() < 2:
            return [
                {
                    "model": "churn",
                    "model_id": model_id,
                    "skipped": f"no labelled period ending by {now.as_of:%Y-%m-%d}",
                }
            ]
        _, blob = self._store.load_model(model_id)
        risk = ChurnModel.loads(blob).predict_proba(history)
        drift = performance_drift(
            card, history["label"], risk, auc_tolerance=self._config.drift.auc_drop
        )
        return [
            {
                "model": "churn",
                "model_id": model_id,
                "labelled_as_of": labelled,
                **drift.as_dict(),
            }
        ]

    def _defining(
        self, segment: str, dimension: str | None, feeds: dict[str, set[str]]
    ) -> set[str]:
        """The traits a segment's own rule reads: they move inside it by construction."""
        consumers = {f"segment:{segment}", f"dimension:{dimension}", f"clustering:{dimension}"}
        return {name for name, used in feeds.items() if used & consumers}

    def _feeds(self) -> dict[str, set[str]]:
        """Trait -> what it feeds (``segment:ID``, ``dimension:rfm``, ``clustering:DIM``,
        ``model:churn``)."""
        feeds: dict[str, set[str]] = {}

        def add(names: Iterable[str], consumer: str) -> None:
            for name in names:
                feeds.setdefault(name, set()).add(consumer)

        for dimension, names in BUILTIN_INPUTS.items():
            add(names, f"dimension:{dimension}")
        for inputs in typology_inputs(self._config.typology).values():
            add(inputs, "dimension:typology")
        for definition in load_segments(self._store, self._registry):
            add(_trait_names(definition.to_dict()), f"segment:{definition.id}")
        dimensions = {s.model_id: s.dimension for s in load_cluster_segments(self._store)}
        for model_id, dimension in dimensions.items():
            _, segmenter = load_segmenter(self._store, model_id)
            add(segmenter.traits_, f"clustering:{dimension}")
        found = latest_card(self._store)
        if found is not None:
            add(found[1].features, "model:churn")
            add(found[1].features, "dimension:churn_risk")
        known = {t.name for t in ALL_TRAITS}
        return {name: used for name, used in feeds.items() if name in known}


def _trait_names(node: Any) -> set[str]:
    """Every trait a segment definition's conditions name."""
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("trait"), str):
            found.add(node["trait"])
        for value in node.values():
            found |= _trait_names(value)
    elif isinstance(node, list):
        for value in node:
            found |= _trait_names(value)
    return found


def _drifts(
    before: pd.DataFrame, after: pd.DataFrame, traits: list[str]
) -> dict[str, dict[str, Any]]:
    """Trait -> its drift between two tables (the bins left out)."""
    names = [t for t in traits if t in before.columns and t in after.columns]
    if before.empty or after.empty or not names:
        return {}
    report = trait_drift(before[names], after[names], names)
    return {t.trait: {k: v for k, v in t.as_dict().items() if k != "bins"} for t in report.traits}


def _trend(values: pd.Series) -> dict[str, Any] | None:
    """The change-point test of a monthly series; None when too short or flat."""
    present = values.dropna().astype(float)
    if len(present) < MIN_SERIES or present.std() == 0:
        return None
    present.index = [f"{moment:%Y-%m-%d}" for moment in present.index]
    return detect_change_point(present, n_simulations=999).as_dict()


def _usual(values: Iterable[float | None]) -> float | None:
    """The largest earlier change, or None without any."""
    present = [v for v in values if v is not None and np.isfinite(v)]
    return max(present) if present else None


def _material(drift: dict[str, Any], floor: float) -> bool:
    """Whether a number's mean or median moved by ``floor`` of itself or more.

    The PSI cuts a number at its deciles: a trait packed near one value (the
    probability of being alive, near 1 for most) has narrow bins, and a shift of a
    fraction of a percent moves customers across them. A marketer acts on changes of
    the values themselves. Labels (no mean) are left to the PSI.
    """
    if drift.get("kind") != "numeric":
        return True
    changes = []
    for before, after in (
        (drift.get("reference_mean"), drift.get("current_mean")),
        (drift.get("reference_median"), drift.get("current_median")),
    ):
        if before is None or after is None:
            continue
        if before == 0:
            changes.append(0.0 if after == 0 else float("inf"))
        else:
            changes.append(abs(after - before) / abs(before))
    return not changes or max(changes) >= floor


def _unusual(value: float, usual: float | None, threshold: float) -> bool:
    """At the threshold, and (with earlier periods) :data:`UNUSUAL_RATIO` times the usual."""
    return value >= threshold and (usual is None or value >= UNUSUAL_RATIO * usual)


def _nearest(
    kept: list[Snapshot], target: datetime, *, tolerance: timedelta, before: datetime
) -> Snapshot | None:
    """The snapshot closest to ``target``, within ``tolerance``, strictly before ``before``."""
    candidates = [s for s in kept if s.as_of < before and abs(s.as_of - target) <= tolerance]
    return min(candidates, key=lambda s: abs(s.as_of - target)) if candidates else None


def _baseline(
    kept: list[Snapshot], then: Snapshot, lag: timedelta
) -> list[tuple[Snapshot, Snapshot]]:
    """Up to :data:`BASELINE_PERIODS` consecutive earlier periods of length ``lag``."""
    pairs = []
    end: Snapshot | None = then
    for _ in range(BASELINE_PERIODS):
        assert end is not None
        start = _nearest(kept, end.as_of - lag, tolerance=lag / 3, before=end.as_of)
        if start is None:
            break
        pairs.append((start, end))
        end = start
    return pairs


def _label(trait: str, lang: str) -> str:
    try:
        return get_trait(trait).label_in(lang)
    except KeyError:
        return trait


def _change(drift: dict[str, Any]) -> str:
    if drift.get("reference_mean") is not None and drift.get("current_mean") is not None:
        return f"{drift['reference_mean']:.3g} -> {drift['current_mean']:.3g}"
    return str(drift.get("moved_level") or "")


def _trait_alert(row: dict[str, Any]) -> Alert:
    name = row["trait"]
    uses = ", ".join(row["feeds"])
    usual = "" if row["usual_psi"] is None else f"; usually {row['usual_psi']:.2f}"
    usual_fr = "" if row["usual_psi"] is None else f" ; d'habitude {row['usual_psi']:.2f}"
    return Alert(
        kind="trait",
        subject=name,
        what={
            "en": f"{_label(name, 'en')} moved across the base (PSI {row['psi']:.2f}{usual}; "
            f"mean {_change(row)}). It feeds {uses}.",
            "fr": f"{_label(name, 'fr')} a changé dans toute la base (PSI {row['psi']:.2f}"
            f"{usual_fr} ; moyenne {_change(row)}). Il alimente {uses}.",
        },
        action={
            "en": "Review the segments and re-fit the clusterings and models it feeds.",
            "fr": "Revoir les segments, réentraîner les clusterings et modèles qu'il alimente.",
        },
        details={"psi": row["psi"], "usual_psi": row["usual_psi"], "feeds": row["feeds"]},
    )


def _segment_alert(row: dict[str, Any]) -> Alert:
    segment = row["segment_id"]
    parts_en, parts_fr = [], []
    if row["size_alert"]:
        parts_en.append(f"its size went from {row['size_then']:,} to {row['size_now']:,}")
        parts_fr.append(f"sa taille est passée de {row['size_then']:,} à {row['size_now']:,}")
    if row["traits_moved"]:
        moved = ", ".join(f"{t['trait']} ({_change(t)})" for t in row["traits_moved"][:5])
        parts_en.append(f"its members changed: {moved}")
        parts_fr.append(f"ses membres ont changé : {moved}")
    return Alert(
        kind="segment",
        subject=segment,
        what={
            "en": f"Segment {segment}: " + "; ".join(parts_en) + ".",
            "fr": f"Segment {segment} : " + " ; ".join(parts_fr) + ".",
        },
        action={
            "en": "Review the segment's rule and the campaigns that target it.",
            "fr": "Revoir la règle du segment et les campagnes qui le ciblent.",
        },
        details={
            "size_then": row["size_then"],
            "size_now": row["size_now"],
            "change": row["change"],
            "usual_change": row["usual_change"],
            "traits": [t["trait"] for t in row["traits_moved"]],
        },
    )


def _clustering_alert(row: dict[str, Any]) -> Alert:
    def changed(gone: str) -> str:
        parts = []
        for segment in row["changed_segments"]:
            moved = ", ".join(t["trait"] for t in row["moved"].get(segment, [])[:3])
            parts.append(f"{segment} ({moved or gone})")
        return ", ".join(parts)

    return Alert(
        kind="clustering",
        subject=row["dimension"],
        what={
            "en": f"Clustering {row['dimension']}: {changed('vanished')} changed (adjusted Rand "
            f"index of a re-fit {row['ari']:.2f}).",
            "fr": f"Clustering {row['dimension']} : {changed('disparu')} a changé (indice de "
            f"Rand ajusté d'un réentraînement {row['ari']:.2f}).",
        },
        action={
            "en": f"Re-fit it: cible cluster --dimension {row['dimension']}.",
            "fr": f"Le réentraîner : cible cluster --dimension {row['dimension']}.",
        },
        details={"ari": row["ari"], "changed": row["changed_segments"]},
    )


def _model_alert(row: dict[str, Any]) -> Alert:
    return Alert(
        kind="model",
        subject=row["model"],
        what={
            "en": f"The churn model's AUC is {row['auc']:.3f} on the latest labelled period, "
            f"against {row['card_auc']:.3f} on its card (observed / expected churn "
            f"{row['observed_over_expected']:.2f}).",
            "fr": f"L'AUC du modèle de départ est {row['auc']:.3f} sur la dernière période "
            f"étiquetée, contre {row['card_auc']:.3f} sur sa fiche (départs observés / "
            f"attendus {row['observed_over_expected']:.2f}).",
        },
        action={
            "en": "Retrain it: cible churn train.",
            "fr": "Le réentraîner : cible churn train.",
        },
        details={"auc": row["auc"], "card_auc": row["card_auc"], "obsolete": row["obsolete"]},
    )
