"""Rows of an import that carry a suppressed customer id, e-mail or phone: rejected.

The suppression list (:mod:`cible.store.privacy`) holds salted digests of the ids,
e-mails and phones of customers who were erased or asked never to be contacted or
held again. Before the checked rows of an import are committed, each of those fields
is hashed the same way in the database and a row whose digest is listed is rejected
with the reason ``suppressed``, on that field, like any other reject. The reject keeps
no value (:meth:`cible.store.store.Store.blank_suppressed_rejects`): the workspace
does not hold the value again.

Examples
--------
>>> import ibis
>>> from cible.store.privacy import digest
>>> checked = ibis.memtable({"_line": [2, 3], "customer_id": ["A1", "B1"],
...                          "_rejected": [False, False]})
>>> listed = ibis.memtable({"kind": ["customer_id"], "digest": [digest("s", "customer_id", "B1")],
...                         "reason": ["erased"]})
>>> rows = reject(checked, listed, "s").order_by("_line").to_pyarrow().to_pylist()
>>> [(r["customer_id"], r["_rejected"], r["customer_id__reason"]) for r in rows]
[('A1', False, None), ('B1', True, 'suppressed')]
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.datatypes as dt

from cible.importing.validation import reason_column
from cible.store.privacy import KINDS
from cible.store.store import Store
from cible.store.writer import CHECKED

#: The reason a reject of a suppressed value gives.
REASON = "suppressed"

_NONE = ibis.null(dt.string)


def reject_suppressed(store: Store) -> None:
    """Reject the checked rows of an import whose id, e-mail or phone is suppressed.

    Nothing is rewritten when the list is empty or the file has none of those fields.
    """
    checked = store.table(CHECKED)
    if not any(kind in checked.columns for kind in KINDS) or not store.has_suppressions():
        return
    store.hold(CHECKED, reject(checked, store.table("suppressions"), store.privacy_salt()))


def reject(checked: Any, listed: Any, salt: str) -> Any:
    """``checked`` with rows carrying a listed value rejected, reason on that field.

    Parameters
    ----------
    checked : ibis.Table
        Checked rows: typed fields, ``<field>__reason`` columns, ``_rejected``.
    listed : ibis.Table
        The suppression list: ``kind``, ``digest``.
    salt : str
        The workspace's salt.
    """
    columns = {name: checked[name] for name in checked.columns}
    rejected = checked._rejected
    for kind in KINDS:
        if kind not in checked.columns:
            continue
        value = _normalised(kind, checked[kind].cast(dt.string))
        hashed = (ibis.literal(f"{salt}{kind}:") + value).hexdigest("sha256")
        hit = value.notnull() & hashed.isin(listed.filter(listed.kind == kind).digest)
        name = reason_column(kind)
        previous = columns.get(name, _NONE)
        columns[name] = ibis.cases((hit & previous.isnull(), REASON), else_=previous)
        rejected = rejected | hit
    columns["_rejected"] = rejected
    return checked.select(**columns)


def _normalised(kind: str, value: Any) -> Any:
    # As cible.store.privacy.normalise does it in Python.
    if kind == "email":
        return value.strip().lower()
    if kind == "phone":
        return value.re_replace(r"[^0-9]", "")
    return value
