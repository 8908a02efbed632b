"""A behaviour change planted in the demo's last quarter, for drift checks to find.

With ``--planted-change GROUP``, the customers of one planted group buy half as
often in the last 91 days of the history: each of their orders in that window is
dropped with probability one half, with its lines. The other orders are those the
same seed gives without the change (the file defects, drawn over the orders written,
fall on other rows); ``demo-truth/planted_change.json`` records the change.

Examples
--------
>>> import numpy as np
>>> import pandas as pd
>>> orders = pd.DataFrame({"customer": [0, 0, 1, 1], "ordered_at": [10, 95, 95, 99]})
>>> lines = pd.DataFrame({"order": [0, 1, 2, 3], "product": [5, 6, 7, 8]})
>>> behaviour = np.array([2, 1])
>>> kept = keep_orders(np.random.default_rng(0), orders, behaviour, group=2, since=90, keep=0.0)
>>> kept.tolist()
[True, False, True, True]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from cible.demo.groups import PROFILES
from cible.demo.purchases import Purchases
from cible.demo.timeline import DAY, Period

#: Days before the end of the history from which the group buys less.
WINDOW_DAYS = 91
#: Share of the group's orders kept in that window.
KEEP = 0.5


@dataclass(frozen=True)
class PlantedChange:
    """What changed: the group, from when (epoch seconds), the share of orders kept."""

    group: str
    since: int
    keep: float = KEEP

    @classmethod
    def last_quarter(cls, group: str, period: Period) -> PlantedChange:
        """The group's orders halved over the last :data:`WINDOW_DAYS` days of ``period``."""
        names = [p.name for p in PROFILES]
        if group not in names:
            raise ValueError(f"no planted group {group!r}; use one of {', '.join(names)}")
        return cls(group, period.end - WINDOW_DAYS * DAY)

    def as_dict(self) -> dict[str, object]:
        """Plain data, for the truth file."""
        return {"group": self.group, "since": self.since, "keep": self.keep}


def keep_orders(
    rng: np.random.Generator,
    orders: pd.DataFrame,
    behaviour: npt.NDArray[np.int64],
    *,
    group: int,
    since: int,
    keep: float,
) -> npt.NDArray[np.bool_]:
    """Which orders stay: all but a ``1 - keep`` share of ``group``'s since ``since``."""
    customer = orders["customer"].to_numpy()
    inside = (behaviour[customer] == group) & (orders["ordered_at"].to_numpy() >= since)
    # One draw per order, whatever it is: the same seed thins the same orders.
    kept: npt.NDArray[np.bool_] = ~inside | (rng.random(len(orders)) < keep)
    return kept


def plant(
    rng: np.random.Generator, purchases: Purchases, people: pd.DataFrame, change: PlantedChange
) -> Purchases:
    """``purchases`` with the change applied: dropped orders and their lines removed."""
    group = [p.name for p in PROFILES].index(change.group)
    kept = keep_orders(
        rng,
        purchases.orders,
        people["behaviour"].to_numpy(),
        group=group,
        since=change.since,
        keep=change.keep,
    )
    renumber = np.cumsum(kept) - 1
    lines = purchases.lines[kept[purchases.lines["order"].to_numpy()]].copy()
    lines["order"] = renumber[lines["order"].to_numpy()]
    orders = purchases.orders[kept].reset_index(drop=True)
    return Purchases(orders, lines.reset_index(drop=True))
