"""A shop whose campaign ``spring`` has a known effect, for the experiments tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from cible import Workspace
from cible.activation.campaign_assignment import assign_arms

LAUNCH = datetime(2025, 3, 1, 9)
AS_OF = LAUNCH + timedelta(days=20)
WINDOW = 14
CUSTOMERS = 3_000
#: The true effect: variant "v" multiplies the purchase rate by 1.5 in Paris, by 1 in Lyon.
LIFT = {"paris": 1.5, "lyon": 1.0}
#: The workspace, every order, and each customer's city and arm.
Shop = tuple[Path, pd.DataFrame, pd.DataFrame]


def campaign() -> dict[str, object]:
    return {
        "id": "spring",
        "segments": ["paris", "lyon"],
        "channel": "email",
        "variants": [{"id": "v", "share": 0.5, "message": "crm:spring"}],
        "holdout": 0.5,
        "start": (LAUNCH - timedelta(days=1)).date().isoformat(),
        "end": (LAUNCH + timedelta(days=30)).date().isoformat(),
        "cost": {"fixed": 100, "per_send": 0.05},
    }


def _orders(
    rng: np.random.Generator, ids: list[str], rate: np.ndarray, start: datetime, days: int
) -> pd.DataFrame:
    """Poisson purchases at ``rate`` a day per customer over ``days`` days from ``start``."""
    counts = rng.poisson(rate * days)
    who = np.repeat(np.array(ids), counts)
    seconds = rng.uniform(0, days * 86_400, len(who))
    return pd.DataFrame(
        {
            "customer_id": who,
            "ordered_at": [start + timedelta(seconds=float(s)) for s in seconds],
            "amount": np.round(rng.lognormal(3.5, 0.6, len(who)), 2),
            "status": "completed",
        }
    )


def build_shop(folder: Path) -> Shop:
    """A shop whose campaign has a known effect: the workspace, every order, and each
    customer's city and arm."""
    rng = np.random.default_rng(7)
    ids = [f"c{i:05d}" for i in range(CUSTOMERS)]
    city = np.where(np.arange(CUSTOMERS) % 2 == 0, "paris", "lyon")
    # Purchases a day: 0.02 on average, varied enough that the past predicts the window.
    rate = rng.gamma(0.5, 0.04, CUSTOMERS)
    pd.DataFrame(
        {
            "customer_id": ids,
            "email": [f"{c}@example.com" for c in ids],
            "city": city,
            "created_at": "2024-01-01T00:00:00",
        }
    ).to_csv(folder / "customers.csv", index=False)
    pd.DataFrame(
        {
            "customer_id": ids,
            "channel": "email",
            "purpose": "marketing",
            "status": "granted",
            "recorded_at": "2024-01-01T00:00:00",
        }
    ).to_csv(folder / "consents.csv", index=False)
    before = _orders(rng, ids, rate, LAUNCH - timedelta(days=180), 180)
    arms = assign_arms("spring", sorted(ids), [("v", 0.5), ("holdout", 0.5)])
    arm = dict(zip(sorted(ids), arms, strict=True))
    lift = np.array([LIFT[c] if arm[i] == "v" else 1.0 for i, c in zip(ids, city, strict=True)])
    after = _orders(rng, ids, rate * lift, LAUNCH, 30)
    orders = pd.concat([before, after], ignore_index=True)
    orders.insert(0, "order_id", [f"o{i}" for i in range(len(orders))])
    truth = pd.DataFrame({"customer_id": ids, "city": city, "arm": [arm[i] for i in ids]})
    with Workspace.create(folder / "shop") as ws:
        for kind in ("customers", "consents"):
            ws.imports.load(kind, folder / f"{kind}.csv")
        before_ids = orders.ordered_at < LAUNCH
        orders[before_ids].to_csv(folder / "orders1.csv", index=False)
        ws.imports.load("orders", folder / "orders1.csv")
        for name in ("paris", "lyon"):
            ws.segments.add(
                {
                    "id": name,
                    "name": name,
                    # Cities are stored title-cased (docs/quality.md).
                    "where": {"attribute": "city", "op": "=", "value": name.title()},
                }
            )
        ws.run(as_of=LAUNCH)
        ws.campaigns.add(campaign(), now=LAUNCH)
        ws.campaigns.launch("spring", now=LAUNCH)
        orders[~before_ids].to_csv(folder / "orders2.csv", index=False)
        ws.imports.load("orders", folder / "orders2.csv")
        email_events(truth).to_csv(folder / "events.csv", index=False)
        ws.imports.load("events", folder / "events.csv")
    return folder / "shop", orders, truth


#: E-mail events of the first variant customers: (event, how many customers).
ENGAGEMENT = (
    ("Email Delivered", 40),
    ("Email Opened", 20),
    ("Email Link Clicked", 8),
    ("Unsubscribed", 2),
)


def email_events(truth: pd.DataFrame) -> pd.DataFrame:
    """Events an e-mail service sent back about ``spring``, and one about another campaign."""
    variant = sorted(truth.customer_id[truth.arm == "v"])
    rows = []
    for event, customers in ENGAGEMENT:
        for customer in variant[:customers]:
            for repeat in range(2):  # opened twice: counted once
                rows.append((customer, event, "spring", repeat))
    rows.append((variant[0], "Email Marked as Spam", "other", 0))
    return pd.DataFrame(
        {
            "message_id": [f"e{i}" for i in range(len(rows))],
            "customer_id": [r[0] for r in rows],
            "type": "track",
            "event": [r[1] for r in rows],
            "properties": [f'{{"campaign_id": "{r[2]}"}}' for r in rows],
            "timestamp": [(LAUNCH + timedelta(days=1, minutes=r[3])).isoformat() for r in rows],
        }
    )
