"""Churn risk in the workspace: train on past snapshots, score in runs.

Training (``cible churn train``) builds traits at monthly dates over the history,
labels each buyer by whether they bought in the next ``horizon_days``, fits
:class:`cible.models.ChurnModel` on the older dates and evaluates it on the latest,
out of time, against the BG/NBD and recency baselines. The model and its card are
stored; every later run scores ``churn_risk`` and ``churn_risk_band`` with the newest
model (both stay empty until one is trained).

Examples
--------
>>> from datetime import datetime
>>> [d.isoformat()[:10] for d in snapshot_dates(datetime(2024, 1, 1), datetime(2024, 12, 31),
...                                             horizon_days=90)][:3]
['2024-07-01', '2024-08-01', '2024-09-01']
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from cible.domain.clock import utc_now
from cible.domain.errors import CibleError
from cible.domain.progress import Progress, reporter
from cible.models.bands import risk_bands
from cible.models.churn import ChurnModel
from cible.models.model_card import ModelCard
from cible.models.snapshots import build_snapshots, out_of_time_split
from cible.store.store import Store

KIND = "churn"
#: History needed before the first snapshot, so that traits mean something.
WARM_UP_DAYS = 180
MAX_DATES = 24


def snapshot_dates(first: datetime, last: datetime, *, horizon_days: int) -> list[datetime]:
    """Month starts from ``first`` + warm-up to ``last`` - horizon, the latest 24."""
    start = pd.Timestamp(first + timedelta(days=WARM_UP_DAYS)).normalize()
    end = pd.Timestamp(last - timedelta(days=horizon_days))
    months = pd.date_range(start, end, freq="MS")
    return [m.to_pydatetime() for m in months[-MAX_DATES:]]


def train_churn(
    store: Store,
    *,
    horizon_days: int = 90,
    random_state: int = 0,
    progress: Progress | None = None,
    blocked_categories: Collection[str] = (),
) -> tuple[int, ModelCard]:
    """Train, evaluate out of time, store; returns the model id and its card.

    ``blocked_categories`` are product categories revealing special-category data,
    kept out of the category traits (see :func:`cible.models.build_snapshots`).
    """
    report = reporter(progress)
    orders = store.table("orders")
    span = orders.aggregate(first=orders.ordered_at.min(), last=orders.ordered_at.max())
    bounds = span.to_pyarrow().to_pylist()[0]
    if bounds["first"] is None:
        raise CibleError("No order in this workspace: import orders before training.")
    dates = snapshot_dates(bounds["first"], bounds["last"], horizon_days=horizon_days)
    if len(dates) < 2 + horizon_days // 30:
        raise CibleError(
            f"The history ({bounds['first']:%Y-%m-%d} to {bounds['last']:%Y-%m-%d}) is too "
            f"short to train and test a {horizon_days}-day churn model out of time; it needs "
            f"about {WARM_UP_DAYS + 2 * horizon_days + 60} days."
        )
    snapshots = build_snapshots(
        store.table,
        dates,
        horizon_days,
        observation_end=bounds["last"],
        progress=lambda step, done, total: report(step, done, total + 2),
        blocked_categories=blocked_categories,
    )
    train, test = out_of_time_split(snapshots)
    report("fitting", len(dates), len(dates) + 2)
    model = ChurnModel(horizon_days=horizon_days, random_state=random_state).fit(train)
    report("evaluating", len(dates) + 1, len(dates) + 2)
    model.evaluate(test)
    card = model.model_card_
    model_id = store.save_model(kind=KIND, card=card.to_json(), blob=model.dumps(), now=utc_now())
    report("done", len(dates) + 2, len(dates) + 2)
    return model_id, card


def latest_card(store: Store) -> tuple[int, ModelCard] | None:
    """The newest churn model's id and card, or None."""
    found = store.latest_model(KIND)
    return None if found is None else (found[0], ModelCard.from_json(found[1]))


#: The columns of :func:`churn_scores`.
SCORES = pa.schema(
    [("customer_id", pa.string()), ("churn_risk", pa.float64()), ("churn_risk_band", pa.string())]
)


def churn_scores(store: Store, traits: ir.Table, name: str = "_churn") -> ir.Table:
    """``customer_id``, ``churn_risk`` and ``churn_risk_band`` of ``traits``' customers,
    held as temporary table ``name``.

    Scored by the newest stored churn model, page after page
    (:meth:`~cible.store.store.Store.hold_pages`), so that memory does not grow with
    the number of customers; NULL risk and no band without a model.
    """
    found = store.latest_model(KIND)
    if found is None:
        return store.hold(
            name,
            traits.select(
                "customer_id",
                churn_risk=ibis.null(dt.float64),
                churn_risk_band=ibis.null(dt.string),
            ),
        )
    model = ChurnModel.loads(found[2])

    def score(page: pd.DataFrame) -> pd.DataFrame:
        risk = model.predict_proba(page)
        return pd.DataFrame(
            {
                "customer_id": risk.index.to_numpy(dtype=object),
                "churn_risk": risk.to_numpy(dtype=float),
                "churn_risk_band": risk_bands(risk).astype(object).to_numpy(),
            }
        )

    return store.hold_pages(name, traits, score, SCORES)
