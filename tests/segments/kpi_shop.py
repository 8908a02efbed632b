"""A small generated shop for the KPI tests: customers with acquisition channels,
orders, e-mail events, survey answers, tickets and acquisition costs, two snapshots
and a run."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from cible import Workspace

NOW = datetime(2024, 7, 1)
SNAPSHOTS = (datetime(2024, 5, 1), datetime(2024, 6, 1))
CHANNELS = ("social", "search", "")


def _shop(rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    n = 90
    ids = [f"c{i:03d}" for i in range(n)]
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 150, n), "D")
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "email": [f"{c}@example.com" for c in ids],
            "acquisition_channel": rng.choice(CHANNELS, n),
            # A third have no creation date: their first purchase acquires them.
            "created_at": [t if rng.random() > 0.33 else pd.NaT for t in created],
        }
    )
    k = 700
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(k)],
            "customer_id": rng.choice(ids[:75], k),
            "ordered_at": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 182 * 24, k), "h"),
            "amount": np.round(rng.gamma(2.0, 30.0, k), 2),
            "status": rng.choice(
                ["completed", "", "cancelled", "returned", "pending"],
                k,
                p=[0.6, 0.25, 0.05, 0.05, 0.05],
            ),
        }
    )
    e = 900
    events = pd.DataFrame(
        {
            "message_id": [f"m{i}" for i in range(e)],
            "customer_id": rng.choice(ids, e),
            "type": "track",
            "event": rng.choice(
                ["Email Delivered", "Email Opened", "Email Link Clicked", "Product Viewed"],
                e,
                p=[0.45, 0.25, 0.1, 0.2],
            ),
            "timestamp": pd.Timestamp("2024-03-01")
            + pd.to_timedelta(rng.integers(0, 122 * 24, e), "h"),
        }
    )
    s = 160
    kind = rng.choice(["nps", "csat", "ces"], s)
    surveys = pd.DataFrame(
        {
            "response_id": [f"r{i}" for i in range(s)],
            "customer_id": rng.choice(ids, s),
            "answered_at": pd.Timestamp("2024-03-01")
            + pd.to_timedelta(rng.integers(0, 122 * 24, s), "h"),
            "kind": kind,
            "score": np.where(kind == "nps", rng.integers(0, 11, s), rng.integers(1, 6, s)).astype(
                float
            ),
        }
    )
    t = 80
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"t{i}" for i in range(t)],
            "customer_id": rng.choice(ids, t),
            "opened_at": pd.Timestamp("2024-03-01")
            + pd.to_timedelta(rng.integers(0, 122 * 24, t), "h"),
        }
    )
    costs = pd.DataFrame(
        {
            "channel": ["social", "social", "search", "search", "search", "tv"],
            "period_start": [
                date(2024, 1, 1),
                date(2024, 2, 1),
                date(2024, 1, 1),
                date(2024, 3, 1),
                date(2024, 3, 10),
                date(2024, 1, 1),
            ],
            "period_end": [
                date(2024, 1, 31),
                None,
                date(2024, 2, 29),
                None,
                date(2024, 3, 20),
                None,
            ],
            "cost": [900.0, 400.0, 1200.0, 600.0, 150.0, 5000.0],
        }
    )
    return {
        "customers": customers,
        "orders": orders,
        "events": events,
        "surveys": surveys,
        "tickets": tickets,
        "acquisition_costs": costs,
    }


def _write(frame: pd.DataFrame, path: Path) -> Path:
    text = frame.copy()
    for column in text.columns:
        if pd.api.types.is_datetime64_any_dtype(text[column]):
            text[column] = text[column].dt.strftime("%Y-%m-%dT%H:%M:%S").fillna("")
    text.to_csv(path, index=False)
    return path


KINDS = ("customers", "orders", "events", "surveys", "tickets", "acquisition_costs")


def build_shop(folder: Path, seed: int = 7) -> tuple[Path, dict[str, pd.DataFrame]]:
    """The shop's workspace at ``folder / "shop"`` and the rows its files hold."""
    data = _shop(np.random.default_rng(seed))
    with Workspace.create(folder / "shop") as ws:
        for kind in KINDS:
            path = _write(data[kind], folder / f"{kind}.csv")
            result = ws.imports.load(kind.replace("_", "-"), path)
            assert result.rejected == 0, kind
        for moment in SNAPSHOTS:
            ws.snapshots.take(moment)
        ws.run(as_of=NOW)
    return folder / "shop", data
