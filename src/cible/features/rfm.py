"""RFM scores by quintile and the named RFM segments.

Scores run from 1 to 5 among customers with at least one purchase: R from recency
(most recent = 5), F from frequency, M from monetary value. A score is
``1 + floor(5 * rank / n)`` where ``rank`` is the 0-based position of the first
customer holding the same value: equal values always get the same score, whatever
the order of rows, so ties are handled deterministically (many one-order customers
share F = 1). Monetary value is ranked at the cent: a parallel sum adds amounts in no
fixed order, and 649.06 against 649.0600000000001 must stay a tie. Named segments come
from the R and F scores, first matching rule wins. The rules are data the caller
hands over: a run passes the built-in ones (``segments/builtin/rfm.yaml``, overridable
with ``[rfm.NAME]`` in ``cible.toml``; :func:`cible.segments.builtin.rfm_rules`).

Examples
--------
>>> import ibis
>>> from cible.domain.config import RfmRule
>>> rules = [("top", RfmRule(r=[4, 5], f=[4, 5])), ("recent", RfmRule(r=[3, 5], f=[1, 5])),
...          ("other", RfmRule(r=[1, 5], f=[1, 5]))]
>>> t = ibis.memtable({"customer_id": ["a", "b", "c", "d", "e", "f"],
...                    "recency_days": [1.0, 10.0, 40.0, 100.0, 200.0, None],
...                    "frequency": [9, 5, 3, 1, 1, 0],
...                    "monetary_value": [900.0, 90.0, 60.0, 30.0, 10.0, 0.0]})
>>> scored = add_rfm(t, rules).order_by("customer_id").to_pyarrow().to_pylist()
>>> [(row["rfm_score"], row["rfm_segment"]) for row in scored]  # doctest: +NORMALIZE_WHITESPACE
[('555', 'top'), ('444', 'top'), ('333', 'recent'), ('212', 'other'), ('111', 'other'),
 (None, None)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from cible.domain.config import RfmRule

#: Columns :func:`add_rfm` adds.
RFM_COLUMNS = ("rfm_r", "rfm_f", "rfm_m", "rfm_score", "rfm_segment")


def _score(value: Any, buyers: Any, *, descending: bool = False) -> Any:
    key = value.desc() if descending else value.asc()
    window = ibis.window(order_by=key, group_by=[buyers])
    rank = ibis.rank().over(window)
    size = value.count().over(ibis.window(group_by=[buyers]))
    return ibis.cases(
        (buyers, (1 + (5 * rank / size).floor()).cast(dt.int64)), else_=ibis.null(dt.int64)
    )


def add_rfm(traits: Any, rules: Sequence[tuple[str, RfmRule]]) -> Any:
    """Add R, F, M scores (1-5), ``rfm_score`` ("545") and ``rfm_segment`` to ``traits``.

    Parameters
    ----------
    traits : ibis.Table
        Needs ``recency_days``, ``frequency`` and ``monetary_value``.
    rules : sequence of (str, RfmRule)
        Named segments in matching order: the first rule whose R and F ranges hold a
        customer's scores names its segment; NULL when none does.

    Examples
    --------
    Amounts equal to the cent share a score, whatever the last bits of their sums:

    >>> import ibis
    >>> t = ibis.memtable({"customer_id": list("abcde"), "recency_days": [1.0] * 5,
    ...                    "frequency": [1] * 5,
    ...                    "monetary_value": [649.0600000000001, 649.06, 649.06, 10.0, 900.0]})
    >>> rules = [("anyone", RfmRule(r=[1, 5], f=[1, 5]))]
    >>> add_rfm(t, rules).order_by("customer_id").rfm_m.to_pyarrow().to_pylist()
    [2, 2, 2, 1, 5]
    """
    buyers = traits.frequency.fill_null(0) > 0
    scored = traits.mutate(
        # Rank buyers only: prospects get no score rather than the lowest.
        rfm_r=_score(traits.recency_days, buyers, descending=True),
        rfm_f=_score(traits.frequency, buyers),
        rfm_m=_score(traits.monetary_value.round(2), buyers),
    )
    branches = [
        (
            scored.rfm_r.between(rule.r[0], rule.r[1]) & scored.rfm_f.between(rule.f[0], rule.f[1]),
            ibis.literal(segment_id),
        )
        for segment_id, rule in rules
    ]
    return scored.mutate(
        rfm_score=scored.rfm_r.cast(dt.string)
        .concat(scored.rfm_f.cast(dt.string))
        .concat(scored.rfm_m.cast(dt.string)),
        rfm_segment=ibis.cases(*branches, else_=ibis.null(dt.string)),
    )
