"""Lifetime value in a run: BG/NBD + Gamma-Gamma fitted on the buyers, traits scored back.

The per-customer inputs (repeat purchase days, recency, age, mean repeat spend) are
aggregated in the database; only that one-row-per-customer table comes to Python, where
:mod:`cible.clv` fits the models (identical histories merged) and scores everyone. The
time unit is the day. Purchases on the same day count as one, as in the models' papers.

Above :data:`FIT_BUYERS` buyers, the models are fitted on a random sample of that many
(fixed seed; the spend model on every repeat buyer if the sample holds too few) and
score every buyer. Four parameters need far fewer customers than a
large base holds: the standard errors grow by the square root of the sampling ratio
(about 2x for 800,000 buyers, when they are already a fraction of a percent of each
estimate), while the fit, whose cost grows with the number of distinct histories,
takes a fraction of the time.

Traits added (NULL for prospects, and for everyone when the models cannot be fitted, in
which case the run carries on and says why):

- ``probability_alive``: probability the customer still buys (BG/NBD), the quantity
  :meth:`cible.clv.BetaGeoModel.expected_probability_alive` returns;
- ``expected_orders_90d``: expected purchases in the next 90 days;
- ``clv_12m``: expected spend over 12 months, discounted 1% a month (Gamma-Gamma x BG/NBD);
- ``expected_next_order_at``: ``as_of`` plus the expected gap at the current expected
  rate (90 / expected_orders_90d days), NULL when that exceeds ten years;
- ``value_tier``: ``platinum`` (top 5% of buyers by ``clv_12m``), ``gold`` (next 15%),
  ``silver`` (next 30%), ``bronze`` (the rest).

Examples
--------
>>> import pandas as pd
>>> inputs = pd.DataFrame({"customer_id": ["a"], "repeat_purchases": [0], "recency": [0.0],
...                        "T": [10.0], "mean_repeat_value": [0.0]})
>>> scores, note = score_value(inputs, as_of=pd.Timestamp("2024-01-01").to_pydatetime())
>>> note.startswith("lifetime value skipped")
True
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from cible.clv import BetaGeoModel, GammaGammaModel, ModelError
from cible.features.orders import is_purchase
from cible.store.store import Store

_DAY = 86_400.0
#: Value tiers by share of buyers, highest first.
TIERS = (("platinum", 0.05), ("gold", 0.20), ("silver", 0.50), ("bronze", 1.0))
VALUE_COLUMNS = (
    "probability_alive",
    "expected_orders_90d",
    "clv_12m",
    "expected_next_order_at",
    "value_tier",
)
_MIN_BUYERS = 20
#: Buyers the models are fitted on, at most (see the module docstring).
FIT_BUYERS = 200_000


def value_inputs(orders: Any, as_of: datetime) -> Any:
    """Repeat purchases, recency, T (days) and mean repeat spend per buyer, as an Ibis table."""
    bought = orders.filter(
        orders.ordered_at < as_of,
        is_purchase(orders),
        orders.customer_id.notnull(),
    )
    days = bought.group_by(
        customer_id=bought.customer_id, day=bought.ordered_at.truncate("D")
    ).aggregate(spend=bought.amount.sum())
    per = days.group_by("customer_id").aggregate(
        n=days.count(),
        first=days.day.min(),
        last=days.day.max(),
        total=days.spend.sum(),
        first_spend=days.spend.argmin(days.day),
    )
    moment = ibis.literal(as_of).epoch_seconds()
    return per.select(
        "customer_id",
        repeat_purchases=per.n - 1,
        recency=(per["last"].epoch_seconds() - per["first"].epoch_seconds()) / _DAY,
        T=(moment - per["first"].epoch_seconds()) / _DAY,
        mean_repeat_value=ibis.cases(
            (per.n > 1, (per.total - per.first_spend) / (per.n - 1)), else_=0.0
        ),
    )


def score_value(
    inputs: pd.DataFrame, *, as_of: datetime, fit_buyers: int = FIT_BUYERS
) -> tuple[pd.DataFrame, str]:
    """Fit the models on ``inputs`` (a sample of ``fit_buyers`` at most) and score every row.

    Returns the scores and a note that says what was fitted, or why the value traits
    were left empty. :func:`hold_value_scores` does the same in the database, page by
    page, for a run.
    """
    # Rows come from the database in no fixed order; sorting makes the fits, and so
    # the tiers, identical between runs on the same data.
    inputs = inputs.sort_values("customer_id", ignore_index=True)
    empty = pd.DataFrame({"customer_id": inputs["customer_id"]})
    for column in VALUE_COLUMNS:
        empty[column] = None
    repeat = inputs[_repeat_spenders(inputs)]
    data = inputs.set_index("customer_id")
    fitted = data if len(data) <= fit_buyers else data.take(sample_positions(len(data), fit_buyers))
    models, note = _fit(fitted, lambda: repeat.set_index("customer_id"), len(inputs), len(repeat))
    if models is None:
        return empty, note
    scores = _score(models, data, as_of)
    scores["value_tier"] = _tiers(scores["clv_12m"])
    return scores, note


def hold_value_scores(
    store: Store,
    inputs: ir.Table,
    *,
    as_of: datetime,
    fit_buyers: int = FIT_BUYERS,
    name: str = "_value",
) -> tuple[ir.Table, str]:
    """:func:`score_value` of ``inputs`` (:func:`value_inputs`), held as table ``name``.

    Only the fitting sample comes to Python whole: the same rows :func:`score_value`
    draws (positions in the id order, same seed), so both give the same scores. Every
    buyer is then scored a page at a time (:meth:`~cible.store.store.Store.hold_pages`)
    and the tiers ranked in the database: memory does not grow with the base.
    """
    numbered = store.hold(
        f"{name}_inputs",
        inputs.mutate(_position=ibis.row_number().over(order_by="customer_id")),
    )
    buyers = int(numbered.count().to_pyarrow().as_py())
    spenders = numbered.filter(_repeat_spenders(numbered))
    n_spenders = int(spenders.count().to_pyarrow().as_py())
    if buyers <= fit_buyers:
        fitted = numbered.order_by("_position").to_pandas()
    else:
        positions = sample_positions(buyers, fit_buyers)
        wanted = ibis.memtable({"_position": positions}, schema={"_position": "int64"})
        found = numbered.semi_join(wanted, "_position").to_pandas()
        # In the sample's own order, as pandas draws it: the fit then adds its terms in
        # the same order and finds the same parameters to the last bit.
        fitted = found.set_index("_position").loc[positions].reset_index()
    models, note = _fit(
        fitted.drop(columns="_position").set_index("customer_id"),
        lambda: (
            spenders.order_by("customer_id").drop("_position").to_pandas().set_index("customer_id")
        ),
        buyers,
        n_spenders,
    )
    if models is None:
        scored = store.hold(
            f"{name}_scores",
            inputs.select(
                "customer_id",
                probability_alive=ibis.null(dt.float64),
                expected_orders_90d=ibis.null(dt.float64),
                clv_12m=ibis.null(dt.float64),
                expected_next_order_at=ibis.null(dt.timestamp),
            ),
        )
    else:
        scored = store.hold_pages(
            f"{name}_scores",
            numbered.drop("_position"),
            lambda page: _score(models, page.set_index("customer_id"), as_of),
            SCORES,
        )
    held = store.hold(name, _tier_column(scored, empty=models is None))
    # Two copies of every buyer's row less on a connection a server keeps open.
    store.drop_held(f"{name}_inputs", f"{name}_scores")
    return held, note


#: The columns :func:`_score` gives each page.
SCORES = pa.schema(
    [
        ("customer_id", pa.string()),
        ("probability_alive", pa.float64()),
        ("expected_orders_90d", pa.float64()),
        ("clv_12m", pa.float64()),
        ("expected_next_order_at", pa.timestamp("ns")),
    ]
)


def sample_positions(size: int, count: int) -> np.ndarray:
    """The positions :meth:`pandas.DataFrame.sample` draws for ``count`` rows of ``size``
    with ``random_state=0``: fixed, so that a run is the same on the same data.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": range(10)})
    >>> list(frame.take(sample_positions(10, 3)).x) == list(frame.sample(3, random_state=0).x)
    True
    """
    return np.random.RandomState(0).choice(size, size=count, replace=False).astype(np.intp)


def _repeat_spenders(inputs: Any) -> Any:
    """Buyers who came back and spent: those the spend model is fitted on."""
    return (inputs["repeat_purchases"] > 0) & (inputs["mean_repeat_value"] > 0)


def _fit(
    fitted: pd.DataFrame,
    every_spender: Callable[[], pd.DataFrame],
    buyers: int,
    spenders: int,
) -> tuple[tuple[BetaGeoModel, GammaGammaModel] | None, str]:
    """BG/NBD and Gamma-Gamma fitted on the sample ``fitted`` (indexed by customer), or
    None and why not; ``every_spender`` reads all repeat spenders when the sample holds
    too few to fit the spend, ``buyers`` and ``spenders`` count the whole base."""
    if buyers < _MIN_BUYERS or spenders < _MIN_BUYERS:
        return None, (
            f"lifetime value skipped: {buyers} buyers, {spenders} repeat buyers "
            f"(at least {_MIN_BUYERS} of each are needed)"
        )
    sample_spenders = fitted[_repeat_spenders(fitted)]
    if len(sample_spenders) < _MIN_BUYERS:
        # A sample of a base with few repeat buyers may hold too few to fit the spend.
        sample_spenders = every_spender()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            purchases = BetaGeoModel().fit(
                fitted["repeat_purchases"], fitted["recency"], fitted["T"]
            )
            spend = GammaGammaModel().fit(
                sample_spenders["repeat_purchases"].to_numpy(),
                sample_spenders["mean_repeat_value"].to_numpy(),
            )
    except ModelError as exc:
        return None, f"lifetime value skipped: {exc}"
    sampled = f" (fitted on a sample of {len(fitted):,})" if len(fitted) < buyers else ""
    note = (
        f"lifetime value: BG/NBD {_params(purchases.params_)}, "
        f"Gamma-Gamma {_params(spend.params_)} on {buyers:,} buyers{sampled}"
    )
    return (purchases, spend), note


def _score(
    models: tuple[BetaGeoModel, GammaGammaModel], data: pd.DataFrame, as_of: datetime
) -> pd.DataFrame:
    """Every value trait but the tier of the buyers of ``data`` (indexed by customer)."""
    purchases, spend = models
    repeats, recency, age = data["repeat_purchases"], data["recency"], data["T"]
    expected = purchases.expected_purchases(90, repeats, recency, age).to_numpy()
    alive = purchases.expected_probability_alive(repeats, recency, age).to_numpy()
    scores = pd.DataFrame(
        {
            "customer_id": data.index,
            "probability_alive": alive,
            "expected_orders_90d": expected,
            "clv_12m": spend.customer_lifetime_value(
                purchases,
                repeats,
                recency,
                age,
                data["mean_repeat_value"],
                horizon_months=12,
                discount_rate=0.01,
                period_days=1,
            ).to_numpy(),
        }
    )
    gap_days = np.where(expected > 90 / 3650, 90 / np.maximum(expected, 1e-12), np.nan)
    scores["expected_next_order_at"] = pd.Timestamp(as_of) + pd.to_timedelta(gap_days, unit="D")
    return scores


def _tier_column(scored: ir.Table, *, empty: bool) -> ir.Table:
    """``scored`` with ``value_tier``, ranked as :func:`_tiers` ranks (NULL when ``empty``)."""
    if empty:
        return scored.mutate(value_tier=ibis.null(dt.string))
    clv = scored.clv_12m
    # pandas' rank(ascending=False, method="min"), from 1, over every row (a missing
    # value counts in the total and ends bronze).
    total = int(scored.count().to_pyarrow().as_py())
    share = (ibis.rank().over(order_by=ibis.desc(clv, nulls_first=False)) + 1) / total
    branches = [(clv.notnull() & (share <= cut), ibis.literal(tier)) for tier, cut in TIERS]
    return scored.mutate(value_tier=ibis.cases(*branches, else_=ibis.literal("bronze")))


def _params(params: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.3g}" for k, v in params.items())


def _tiers(clv: pd.Series) -> pd.Series:
    # Rank from the top: ties share the better tier, whatever the row order.
    share = clv.rank(ascending=False, method="min") / len(clv)
    tier = pd.Series("bronze", index=clv.index, dtype=object)
    for name, cut in reversed(TIERS):
        tier[share <= cut] = name
    return tier
