"""Customer service and marketing spend of the synthetic retailer, for the KPIs.

:func:`acquisition_channels` draws how each customer was acquired (the customers
file's ``acquisition_channel``); :func:`write_service_files` then reads the written
customers and orders back, as a user would, and writes three small files:

- ``surveys.csv``: an NPS question after about 6% of purchases, and a satisfaction
  (CSAT, 1-5) question after most solved tickets; answers lean on the group's mood
  only through chance, so no segment is planted there;
- ``tickets.csv``: a support ticket after about 4% of purchases (delivery, refund,
  product, account), closed within three days unless it is recent;
- ``acquisition_costs.csv``: what each channel cost each month, about its customers
  acquired that month times the channel's cost per customer, with some noise.

Each draw has its own random stream, spawned from the demo's seed beside the others,
so the rest of the demo is what the seed gives without these files.

Examples
--------
>>> import numpy as np
>>> channels = acquisition_channels(np.random.default_rng(0), 1000)
>>> sorted(set(channels) - {""}) == sorted(CHANNEL_CAC)
True
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

#: Acquisition channel -> mean cost of acquiring one customer through it, in euros.
CHANNEL_CAC = {
    "paid_search": 38.0,
    "social_ads": 27.0,
    "affiliates": 18.0,
    "referral": 9.0,
    "store": 12.0,
    "organic": 0.0,
}
# Shares of the channels above; the rest (about 8%) have no known channel.
_CHANNEL_SHARES = (0.22, 0.2, 0.1, 0.12, 0.18, 0.1)
#: Support topics and the channels tickets come in by.
TOPICS = ("delivery", "refund", "product", "account")
TICKET_CHANNELS = ("email", "phone", "chat")
# NPS scores 0..10 and CSAT 1..5, as a mostly content clientele gives them.
_NPS_WEIGHTS = np.array([2, 1, 1, 2, 2, 5, 6, 10, 18, 24, 29], dtype=float)
_CSAT_WEIGHTS = np.array([8, 7, 15, 35, 35], dtype=float)
_SURVEYED = 0.06
_TICKETED = 0.04


def acquisition_channels(rng: np.random.Generator, customers: int) -> NDArray[np.str_]:
    """One acquisition channel per customer, ``""`` for about 8% (unknown)."""
    names = np.array([*CHANNEL_CAC, ""])
    shares = np.array([*_CHANNEL_SHARES, 1 - sum(_CHANNEL_SHARES)])
    return np.asarray(names[rng.choice(len(names), customers, p=shares)])


def _read_back(out_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Valid customers (id, channel, creation) and their completed purchases, from the files."""
    customers = pd.read_csv(
        out_dir / "customers.csv", sep=";", dtype=str, encoding="cp1252", keep_default_na=False
    )
    customers = customers[customers["customer_id"] != ""].drop_duplicates("customer_id")
    customers = customers.assign(
        created=pd.to_datetime(customers["created_at"], format="%d/%m/%Y %H:%M:%S", errors="coerce")
    )
    orders = pd.read_csv(
        out_dir / "orders.csv", sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False
    )
    orders = orders.assign(
        at=pd.to_datetime(orders["ordered_at"], format="%d/%m/%Y %H:%M:%S", errors="coerce")
    )
    kept = (
        orders["at"].notna()
        & (orders["status"] == "completed")
        & orders["customer_id"].isin(customers["customer_id"])
        & ~orders["order_id"].duplicated()
    )
    return customers, orders[kept].sort_values("order_id").reset_index(drop=True)


def _after(
    rng: np.random.Generator, start: pd.Series, low_hours: int, high_hours: int
) -> pd.Series:
    hours = rng.integers(low_hours, high_hours, len(start))
    return start.reset_index(drop=True) + pd.to_timedelta(hours, "h")


def _stamp(moments: pd.Series) -> pd.Series:
    stamped: pd.Series = moments.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return stamped


def write_service_files(
    out_dir: Path, rngs: list[np.random.Generator], end_date: dt.date
) -> list[tuple[str, Path]]:
    """Write surveys, tickets and acquisition costs beside the customers and orders.

    ``rngs`` are three random streams (tickets, surveys, costs); ``end_date`` is the
    day after the history. Returns ``(kind, path)`` pairs in import order.
    """
    tickets_rng, surveys_rng, costs_rng = rngs
    customers, orders = _read_back(out_dir)
    end = pd.Timestamp(end_date)

    chosen = orders[tickets_rng.random(len(orders)) < _TICKETED].reset_index(drop=True)
    opened = _after(tickets_rng, chosen["at"], 2, 240)
    closed = _after(tickets_rng, opened, 1, 72)
    done = closed < end - pd.Timedelta(days=2)
    keep = opened < end
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"TK{i:07d}" for i in range(1, len(chosen) + 1)],
            "customer_id": chosen["customer_id"],
            "opened_at": _stamp(opened),
            "closed_at": _stamp(closed).where(done, ""),
            "channel": np.array(TICKET_CHANNELS)[
                tickets_rng.integers(0, len(TICKET_CHANNELS), len(chosen))
            ],
            "topic": np.array(TOPICS)[tickets_rng.integers(0, len(TOPICS), len(chosen))],
            "status": np.where(done, "closed", "open"),
        }
    )[keep]

    asked = orders[surveys_rng.random(len(orders)) < _SURVEYED].reset_index(drop=True)
    nps_at = _after(surveys_rng, asked["at"], 24, 24 * 14)
    nps = pd.DataFrame(
        {
            "customer_id": asked["customer_id"],
            "answered_at": nps_at,
            "kind": "nps",
            "score": surveys_rng.choice(11, len(asked), p=_NPS_WEIGHTS / _NPS_WEIGHTS.sum()),
        }
    )
    solved = tickets[tickets["status"] == "closed"].reset_index(drop=True)
    answer = surveys_rng.random(len(solved)) < 0.6
    csat_at = pd.to_datetime(solved["closed_at"], format="%Y-%m-%dT%H:%M:%SZ") + pd.to_timedelta(
        surveys_rng.integers(1, 48, len(solved)), "h"
    )
    csat = pd.DataFrame(
        {
            "customer_id": solved["customer_id"],
            "answered_at": csat_at,
            "kind": "csat",
            "score": 1 + surveys_rng.choice(5, len(solved), p=_CSAT_WEIGHTS / _CSAT_WEIGHTS.sum()),
        }
    )[answer]
    answers = pd.concat([nps, csat], ignore_index=True)
    answers = answers[answers["answered_at"] < end].sort_values(["answered_at", "customer_id"])
    surveys = pd.DataFrame(
        {
            "response_id": [f"SV{i:07d}" for i in range(1, len(answers) + 1)],
            "customer_id": answers["customer_id"].to_numpy(),
            "answered_at": _stamp(answers["answered_at"]).to_numpy(),
            "kind": answers["kind"].to_numpy(),
            "score": answers["score"].to_numpy(),
        }
    )

    costs = _monthly_costs(costs_rng, customers, orders, end)
    files = {
        "surveys": out_dir / "surveys.csv",
        "tickets": out_dir / "tickets.csv",
        "acquisition-costs": out_dir / "acquisition_costs.csv",
    }
    for kind, frame in (("surveys", surveys), ("tickets", tickets), ("acquisition-costs", costs)):
        frame.to_csv(files[kind], index=False, encoding="utf-8", lineterminator="\n")
    return list(files.items())


def _monthly_costs(
    rng: np.random.Generator, customers: pd.DataFrame, orders: pd.DataFrame, end: pd.Timestamp
) -> pd.DataFrame:
    """Per paid channel and month: about acquired customers times the channel's CAC."""
    first = orders.groupby("customer_id")["at"].min()
    acquired = customers.set_index("customer_id")["created"].fillna(first).dropna()
    channel = customers.set_index("customer_id")["acquisition_channel"].reindex(acquired.index)
    month = acquired.dt.to_period("M")
    stacked = pd.crosstab(channel, month).stack()
    counts = {key: int(value) for key, value in zip(stacked.index, stacked.to_numpy(), strict=True)}
    rows = []
    months = pd.period_range(month.min(), (end - pd.Timedelta(days=1)).to_period("M"), freq="M")
    for name, cac in CHANNEL_CAC.items():
        if cac == 0:
            continue  # organic acquisitions cost nothing to buy
        for period in months:
            count = counts.get((name, period), 0)
            noise = float(rng.lognormal(0.0, 0.15))
            rows.append(
                {
                    "channel": name,
                    "period_start": period.start_time.strftime("%Y-%m-%d"),
                    "period_end": period.end_time.strftime("%Y-%m-%d"),
                    "cost": round((count + 2) * cac * noise, 2),
                    "currency": "EUR",
                }
            )
    return pd.DataFrame(rows)
