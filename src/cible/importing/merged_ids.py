"""Customer ids merged by ``cible dedupe``, read as their surviving id on import.

An old file can still carry the id of a customer that a merge folded into another.
Loading it as given would bring the merged customer back: a new profile, or orders,
events and consents pointing at nobody. So, before the checked rows are committed:

- an order, event or consent of a merged id is loaded for the surviving id (chains
  followed) and flagged with the old id and the merge;
- a customer row with a merged id is rejected: the profile is not created again;
- consents join the surviving customer's ledger (the history is kept); when a
  redirect makes two records of the file identical, the surviving customer's own is
  kept and the other rejected. The current state is derived as for any consent
  (:mod:`cible.features.consent`): the latest record wins and, between records of the
  same moment, the stricter, so an old record of the merged customer never undoes a
  withdrawal made later by the surviving customer.

Only merges whose status is ``applied`` count: once a merge is undone, its ids load
as given again. The redirect is a join with the small table of merged ids
(:func:`cible.store.merges.stage_merged_ids`); when no row of the file carries a
merged id, the checked rows are not rewritten at all.

Examples
--------
>>> import ibis
>>> from cible.domain.schema import ORDERS
>>> checked = ibis.memtable({"_line": [2, 3], "order_id": ["O1", "O2"],
...                          "customer_id": ["A2", "B1"], "_rejected": [False, False]})
>>> merged = ibis.memtable({"_merged_id": ["A2"], "_surviving_id": ["A1"],
...                         "_merge_ids": [[3]]})
>>> rows = redirect(checked, merged, ORDERS).order_by("_line").to_pyarrow().to_pylist()
>>> [(r["customer_id"], r["customer_id__flag"]) for r in rows]
[('A1', 'customer A2 was merged into A1 (merge 3); loaded for A1'), ('B1', None)]
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.datatypes as dt

from cible.domain.schema import Table
from cible.importing.validation import reason_column
from cible.store.merges import MERGED_IDS
from cible.store.store import Store
from cible.store.writer import CHECKED, flag_column

_ID = "customer_id"
_NONE = ibis.null(dt.string)


def redirect_merged_ids(store: Store, table: Table) -> list[str]:
    """Rewrite the checked rows of an import that carry a merged customer id.

    Parameters
    ----------
    store : Store
        The workspace, holding the import's ``_checked`` rows.
    table : Table
        The table being imported.

    Returns
    -------
    list of str
        Columns given a ``<column>__flag`` reason (``["customer_id"]`` when rows
        were redirected), to flag on commit.
    """
    if not _redirected_table(table):
        return []
    checked = store.table(CHECKED)
    if _ID not in checked.columns:
        return []
    if not store.stage_merged_ids():
        return []
    merged = store.table(MERGED_IDS)
    hits = checked.filter(~checked._rejected, checked[_ID].isin(merged._merged_id)).count()
    if not hits.execute():
        return []
    store.hold(CHECKED, redirect(checked, merged, table))
    return [] if table.name == "customers" else [_ID]


def redirect(checked: Any, merged: Any, table: Table) -> Any:
    """Checked rows with merged customer ids redirected (or, for customers, rejected).

    Parameters
    ----------
    checked : ibis.Table
        Checked rows of an import: typed fields, ``<field>__reason`` columns,
        ``_line`` and ``_rejected``.
    merged : ibis.Table
        ``_merged_id, _surviving_id, _merge_ids`` (see
        :func:`cible.store.merges.stage_merged_ids`).
    table : Table
        The table being imported.

    Returns
    -------
    ibis.Table
        The columns of ``checked``; for customers, rows with a merged id rejected
        with a reason on ``customer_id``; otherwise ``customer_id`` redirected, plus
        ``customer_id__flag``.
    """
    joined = checked.left_join(merged, checked[_ID] == merged._merged_id)
    hit = joined._merged_id.notnull() & ~joined._rejected
    old, new, via = joined[_ID], joined._surviving_id, _label(joined._merge_ids)
    said = _merged(old, new, via)
    columns = {name: joined[name] for name in checked.columns}
    if table.name == "customers":
        reason = said.concat(
            ": not created again; load its data under ",
            new,
            ", or undo the merge to bring the customer back",
        )
        name = reason_column(_ID)
        columns[name] = ibis.cases((hit, reason), else_=columns.get(name, _NONE))
        columns["_rejected"] = joined._rejected | hit
        return joined.select(**columns)
    columns[_ID] = ibis.cases((hit, new), else_=old)
    columns[flag_column(_ID)] = ibis.cases((hit, said.concat("; loaded for ", new)), else_=_NONE)
    # The merged id and its merges travel with the row while consents are compared.
    helpers = {"_old": ibis.cases((hit, old), else_=_NONE), "_via": via}
    redirected = joined.select(**columns, **helpers)
    if table.name == "consents":
        redirected = _one_consent_per_key(redirected, table)
    return redirected.drop(*helpers)


def _redirected_table(table: Table) -> bool:
    return table.name == "customers" or table.references.get(_ID) == "customers"


def _label(merge_ids: Any) -> Any:
    """``merge 3``, or ``merges 3, 7`` for a chain."""
    ids = merge_ids.map(lambda i: i.cast(dt.string)).join(", ")
    return ibis.cases((merge_ids.length() > 1, "merges "), else_="merge ").concat(ids)


def _merged(old: Any, new: Any, via: Any) -> Any:
    """``customer A2 was merged into A1 (merge 3)``."""
    return ibis.literal("customer ").concat(old, " was merged into ", new, " (", via, ")")


def _one_consent_per_key(rows: Any, table: Table) -> Any:
    """Keep one of the consent records a redirect made identical; reject the others.

    The ledger keeps every record, so a merged customer's consents join the surviving
    customer's history; only an exact repeat (same channel, purpose, status, date and
    source) is one record too many. A key can only repeat through a redirect: repeats
    in the file itself were rejected before. ``_old`` is the merged id a row carried
    (NULL: its own id); the surviving customer's own row is kept first.
    """
    order = [ibis.asc(rows._old.notnull()), ibis.asc(rows._line)]
    # Rejected rows form their own partitions: they are not loaded, so they lose nothing.
    window = ibis.window(group_by=[*table.key, "_rejected"], order_by=order)
    ranked = rows.mutate(
        _rank=ibis.row_number().over(window),
        _winner_line=rows._line.first().over(window).cast(dt.string),
        _winner_old=rows._old.first().over(window),
        _winner_via=rows._via.first().over(window),
    )
    lost = ~ranked._rejected & (ranked._rank > 0)
    new = ranked[_ID]
    said = _merged(ranked._old, new, ranked._via)
    cases = [
        (
            lost & ranked._old.notnull(),
            said.concat(", and line ", ranked._winner_line, " gives ", new, " the same record"),
        ),
        (
            lost,
            ibis.literal("line ").concat(
                ranked._winner_line,
                " gives ",
                new,
                " the same record through merged customer ",
                ranked._winner_old,
                " (",
                ranked._winner_via,
                ")",
            ),
        ),
    ]
    name = reason_column(_ID)
    reason = ibis.coalesce(ranked[name], ibis.cases(*cases, else_=_NONE))
    ranked = ranked.mutate(**{name: reason})
    ranked = ranked.mutate(_rejected=ranked._rejected | ranked[name].notnull())
    return ranked.select(*rows.columns)
