"""Merging duplicate customer profiles into golden records, and undoing a merge.

Each group that :func:`cible.quality.matching.find_duplicates` finds becomes one
merge. The survivorship rules:

1. **Surviving id**: the most complete profile of the group (most non-empty
   fields), ties to the oldest ``created_at``, then the smallest id.
2. **Golden record**: each field takes the most recent non-empty value, by the
   profiles' ``updated_at`` (ties: the surviving profile's value, then the smallest
   id's). Names and the postal address travel together: first and last name come
   from the same profile, and so do postal code, city, region and country, so that
   a merge never pairs one profile's city with another's postal code.
   ``created_at`` is the oldest of the group, ``updated_at`` the time of the merge.
3. **Orders and events** of merged profiles are re-pointed to the surviving id.
4. **Consents**: per channel and purpose, the strictest current status of the
   group wins (withdrawn, then denied, then granted; the most recent among equals),
   so a merge never widens consent. The group's ledger records are replaced by that
   one record per channel and purpose for the surviving id; they are kept in
   ``merge_rows``, and undo puts them back.
5. Merged profiles leave ``customers``; every row a merge changes or removes is kept
   in ``merge_rows``, so that :func:`undo` restores the workspace exactly.

Everything one ``dedupe`` writes is one transaction.

Examples
--------
>>> import ibis
>>> people = ibis.memtable({"customer_id": ["a", "b"], "email": ["x@y.fr", ""],
...                         "phone": [None, "0612345678"]})
>>> filled_fields(people, ["email", "phone"]).to_pyarrow().to_pylist()
[1, 1]
"""

from __future__ import annotations

import functools
import operator
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ibis
import pandas as pd

from cible.domain.clock import utc_now
from cible.domain.config import WorkspaceConfig
from cible.domain.progress import Progress, reporter
from cible.domain.registry import FieldRegistry
from cible.domain.schema import FieldType, Table
from cible.features.consent import current_consents, strictness
from cible.quality.matching import STEPS, Matches, find_duplicates
from cible.store import merges
from cible.store.store import Store

#: Fields taken together from one profile: the most recent with any of them filled.
FIELD_GROUPS = (("first_name", "last_name"), ("postal_code", "city", "region", "country"))
# Columns survivorship does not take from the most recent profile.
_OWN_RULES = ("customer_id", "created_at", "updated_at")
_TEXT = (FieldType.STRING, FieldType.ENUM)


@dataclass(frozen=True)
class DedupeResult:
    """Merges proposed (dry run) or applied by :func:`dedupe`.

    Attributes
    ----------
    dry_run : bool
        True when nothing was written.
    profiles : int
        Customer profiles examined.
    model_trained : bool
        Whether the probabilistic model ran; without it only deterministic rules
        applied (too few shared e-mails to learn from).
    merges : pandas.DataFrame
        One row per merge: ``merge_id`` (null in a dry run), ``surviving_id``,
        ``merged_ids`` (list), ``match_weight``, ``match_rule``, ``names`` (customer
        id -> first and last name, for display).
    seconds : float
        Wall time.
    """

    dry_run: bool
    profiles: int
    model_trained: bool
    merges: pd.DataFrame
    seconds: float

    @property
    def merged_profiles(self) -> int:
        """Profiles folded into another (they leave ``customers`` when applied)."""
        return int(self.merges["merged_ids"].map(len).sum()) if len(self.merges) else 0

    def as_dict(self, limit: int | None = None) -> dict[str, Any]:
        """Plain data for JSON output; ``limit`` keeps the first merges only."""
        shown = self.merges if limit is None else self.merges.head(limit)
        rows: list[dict[str, Any]] = []
        for row in shown.to_dict("records"):
            merge_id, weight = row["merge_id"], row["match_weight"]
            rows.append(
                {
                    "merge_id": None if pd.isna(merge_id) else int(merge_id),
                    "surviving_id": row["surviving_id"],
                    "merged_ids": list(row["merged_ids"]),
                    "match_weight": None if pd.isna(weight) else float(weight),
                    "match_rule": row["match_rule"],
                    "names": dict(row["names"]),
                }
            )
        return {
            "dry_run": self.dry_run,
            "profiles": self.profiles,
            "model_trained": self.model_trained,
            "merges": len(self.merges),
            "merged_profiles": self.merged_profiles,
            "seconds": round(self.seconds, 3),
            "proposed" if self.dry_run else "applied": rows,
        }


def dedupe(
    store: Store,
    registry: FieldRegistry,
    config: WorkspaceConfig,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> DedupeResult:
    """Find duplicate profiles and, unless ``dry_run``, merge each group into one."""
    started = time.perf_counter()
    report = reporter(progress)
    matches = find_duplicates(
        store.table("customers"),
        config.dedupe,
        phone_region=config.quality.phone_region,
        encrypted=config.workspace.encrypted,
        engine=config.engine,
        progress=report,
    )
    try:
        plan = _plan(store, registry, matches)
        if not dry_run and len(plan):
            report("merging", STEPS, STEPS + 1)
            first = _apply(store, registry, plan)
            plan["merge_id"] = first + plan.index
            report("merging", STEPS + 1, STEPS + 1)
    finally:
        store.drop_merge_staging()
    return DedupeResult(
        dry_run, matches.profiles, matches.model_trained, plan, time.perf_counter() - started
    )


def undo(store: Store, registry: FieldRegistry, merge_id: int) -> merges.UndoRecord:
    """Restore the rows merge ``merge_id`` changed and mark it undone.

    Raises
    ------
    cible.store.merges.MergeError
        When the merge does not exist, was undone already, or a later merge of some
        of the same customers is still applied.
    """
    customers, consents, repointed = _tables(registry)
    return store.undo_merge(
        merge_id,
        customers=customers,
        repointed=repointed,
        consents=consents,
        undone_at=utc_now(),
    )


def filled_fields(table: Any, names: list[str], text: list[str] | None = None) -> Any:
    """Number of non-empty ``names`` per row: not null and, for ``text`` columns, not blank.

    ``text`` defaults to the string columns among ``names``.
    """
    text = [n for n in names if table[n].type().is_string()] if text is None else text
    count = ibis.literal(0)
    for name in names:
        count = count + _filled(table[name], name in text).cast("int64")
    return count


def _filled(column: Any, is_text: bool) -> Any:
    present = column.notnull()
    return present & (column.strip() != "") if is_text else present


def _tables(registry: FieldRegistry) -> tuple[Table, Table, list[Table]]:
    """Customers, consents, and the tables whose rows are re-pointed."""
    repointed = [
        t
        for t in registry.tables()
        if t.references.get("customer_id") == "customers" and "customer_id" not in t.key
    ]
    return registry.table("customers"), registry.table("consents"), repointed


def _plan(store: Store, registry: FieldRegistry, matches: Matches) -> pd.DataFrame:
    """One row per merge, numbered from 0 in the order of surviving ids."""
    columns = ["merge_id", "surviving_id", "merged_ids", "match_weight", "match_rule", "names"]
    if matches.members.empty:
        return pd.DataFrame(columns=columns)
    groups = store.hold(merges.GROUPS, matches.members)
    grouped = store.table("customers").inner_join(groups, "customer_id")
    survivors = _survivors(grouped, registry.table("customers")).to_pandas()
    names = grouped.select("customer_id", "first_name", "last_name").to_pandas()
    members = matches.members.merge(survivors, on="group")
    plan = matches.groups.merge(survivors, on="group").sort_values("surviving_id")
    plan = plan.reset_index(drop=True)
    order = pd.Series(plan.index, index=plan["group"])
    members["merge"] = members["group"].map(order).to_numpy() + 1
    merged = members[members["customer_id"] != members["surviving_id"]]
    plan["merged_ids"] = plan["group"].map(merged.groupby("group")["customer_id"].agg(sorted))
    label = names["first_name"].fillna("") + " " + names["last_name"].fillna("")
    full = dict(zip(names["customer_id"], label.str.strip(), strict=True))
    names_by_merge = [
        {i: full.get(i, "") for i in [s, *m]}
        for s, m in zip(plan["surviving_id"], plan["merged_ids"], strict=True)
    ]
    plan["names"] = pd.Series(names_by_merge, index=plan.index, dtype=object)
    plan["merge_id"] = pd.array([pd.NA] * len(plan), dtype="Int64")
    store.hold(merges.MEMBERS, members[["customer_id", "merge", "surviving_id"]])
    return plan[columns]


def _survivors(grouped: Any, customers: Table) -> Any:
    """``group, surviving_id``: the most complete profile, then the oldest, then smallest id."""
    content = [f.name for f in customers.fields if f.name not in _OWN_RULES]
    text = [f.name for f in customers.fields if f.type in _TEXT]
    ranked = grouped.mutate(_filled=filled_fields(grouped, content, text)).mutate(
        _rank=ibis.row_number().over(
            group_by="group",
            order_by=[
                ibis.desc("_filled"),
                ibis.asc("created_at", nulls_first=False),
                ibis.asc("customer_id"),
            ],
        )
    )
    return ranked.filter(ranked._rank == 0).select("group", surviving_id="customer_id")


def _apply(store: Store, registry: FieldRegistry, plan: pd.DataFrame) -> int:
    """Write the merges of ``plan``; return the id given to its first row."""
    customers, consents, repointed = _tables(registry)
    logged = plan.assign(merge=plan.index + 1)[
        ["merge", "surviving_id", "merged_ids", "match_weight", "match_rule"]
    ]
    store.hold(merges.MERGES, logged)
    members = store.table(merges.MEMBERS)
    now = utc_now()
    store.hold(merges.GOLDEN, _golden(store.table("customers"), members, customers, now))
    store.hold(merges.CONSENTS, _kept_consents(store.table("consents"), members))
    return store.apply_merges(
        customers=customers, repointed=repointed, consents=consents, created_at=now
    )


def _golden(customers: Any, members: Any, table: Table, now: datetime) -> Any:
    """One golden record per merge, in the columns of ``customers``."""
    rows = customers.inner_join(members, "customer_id")
    order = [
        ibis.desc(rows.updated_at, nulls_first=False),
        ibis.desc(rows.customer_id == rows.surviving_id),
        ibis.asc(rows.customer_id),
    ]
    filled = {f.name: _filled(rows[f.name], f.type in _TEXT) for f in table.fields}
    for group in FIELD_GROUPS:
        # The same filter and order for each field of a group pick the same profile.
        together = functools.reduce(operator.or_, (filled[name] for name in group))
        filled |= dict.fromkeys(group, together)
    values = {
        f.name: rows[f.name].first(order_by=order, where=filled[f.name])
        for f in table.fields
        if f.name not in _OWN_RULES
    }
    merged = rows.group_by(["merge", "surviving_id"]).aggregate(
        created_at=rows.created_at.min(), **values
    )
    columns = {
        **{f.name: merged[f.name] for f in table.fields if f.name not in _OWN_RULES},
        "customer_id": merged.surviving_id,
        "created_at": merged.created_at,
        "updated_at": ibis.literal(now, "timestamp"),
    }
    return merged.select(**{name: columns[name] for name in table.names})


def _kept_consents(consents: Any, members: Any) -> Any:
    """Per merge, channel and purpose: the strictest current status, given to the survivor.

    Each profile's current consent is derived from the ledger first (its latest
    record), so that a status a profile has since withdrawn or granted again does
    not count.
    """
    rows = current_consents(consents).inner_join(members, "customer_id")
    ranked = rows.mutate(
        _rank=ibis.row_number().over(
            group_by=["merge", "channel", "purpose"],
            order_by=[
                ibis.desc(strictness(rows.status)),
                ibis.desc(rows.recorded_at, nulls_first=False),
                ibis.desc(rows.customer_id == rows.surviving_id),
                ibis.asc(rows.customer_id),
            ],
        )
    )
    kept = ranked.filter(ranked._rank == 0)
    return kept.mutate(customer_id=kept.surviving_id).select(*consents.columns)
