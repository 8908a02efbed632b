"""A past win-back campaign in the retailer demo, with a known effect to measure.

Five weeks before the end of the history, customers at risk or lapsed (lifecycle) who
consent to marketing e-mails are assigned to ``winback`` (80% get a 15% discount, 20%
are kept as the holdout). The demo then plants the campaign's effect: each customer of
the variant arm buys, with probability :data:`EXTRA_PURCHASE`, one more order in the
14 days after their assignment, at 15% off. The holdout gets nothing, so
``cible experiments analyse winback`` should find a lift in conversion and revenue
per customer, and the report's campaigns section shows it.

The planted truth (orders added per customer of the variant arm, their mean amount)
is returned with the summary, so the estimate can be checked against it.

Examples
--------
>>> DEFINITION_ID, HOLDOUT_SHARE
('winback', 0.2)
"""

from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from cible.workspace import Workspace

DEFINITION_ID = "winback"
HOLDOUT_SHARE = 0.2
#: Chance that a customer of the variant arm buys once more thanks to the campaign.
EXTRA_PURCHASE = 0.08
#: The added orders: lognormal amounts (median about 55) at 15% off.
AMOUNT_LOG_MEAN, AMOUNT_LOG_SD, DISCOUNT = 4.0, 0.5, 0.15
WINDOW_DAYS = 14


def definition(end: date) -> dict[str, Any]:
    """The campaign, launched five weeks before ``end`` (the last day of the history)."""
    start = end - timedelta(days=35)
    return {
        "id": DEFINITION_ID,
        "name": {
            "en": "Win-back: 15% off for customers at risk",
            "fr": "Reconquête : -15 % pour les clients à risque",
        },
        "segments": ["lifecycle-at-risk", "lifecycle-lapsed"],
        "channel": "email",
        "variants": [
            {
                "id": "minus-15",
                "share": 1 - HOLDOUT_SHARE,
                "message": "crm:winback-15",
                "offer": {"kind": "discount", "value": 15},
            }
        ],
        "holdout": HOLDOUT_SHARE,
        "start": start.isoformat(),
        "end": (end - timedelta(days=5)).isoformat(),
        "cost": {"fixed": 300, "per_send": 0.01, "discount_share": 1},
    }


def plant_campaign(
    ws: Workspace, folder: Path, rng: np.random.Generator, end: date
) -> dict[str, Any]:
    """Launch ``winback`` at its start, import its planted orders; return the truth.

    The workspace is run as of the launch (the campaign targets the segments of that
    moment); the caller runs it again so that traits and segments are current and see
    the added orders.
    """
    found = definition(end)
    launched_at = datetime.combine(date.fromisoformat(found["start"]), time(9))
    # Segments as they were at the launch: today's at-risk customers are, by definition,
    # those who have not bought lately, and would leave the holdout with nothing.
    ws.run(as_of=launched_at)
    ws.campaigns.add(found, actor="demo", now=launched_at)
    launch = ws.campaigns.launch(DEFINITION_ID, actor="demo", now=launched_at)
    treated = sorted(
        row.customer_id
        for row in ws.store.campaign_assignments(DEFINITION_ID)
        if row.eligible and row.arm != "holdout"
    )
    buys = rng.random(len(treated)) < EXTRA_PURCHASE
    buyers = [c for c, b in zip(treated, buys, strict=True) if b]
    amounts = np.round(rng.lognormal(AMOUNT_LOG_MEAN, AMOUNT_LOG_SD, len(buyers)), 2)
    offsets = rng.uniform(0, WINDOW_DAYS * 86_400, len(buyers))
    path = folder / "campaign_orders.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["order_id", "customer_id", "ordered_at", "amount", "discount_amount", "status"]
        )
        for n, (customer, amount, offset) in enumerate(
            zip(buyers, amounts, offsets, strict=True), start=1
        ):
            moment = launched_at + timedelta(seconds=float(offset))
            discount = round(float(amount) * DISCOUNT / (1 - DISCOUNT), 2)
            writer.writerow(
                [
                    f"WB{n:06d}",
                    customer,
                    moment.isoformat(timespec="seconds"),
                    amount,
                    discount,
                    "completed",
                ]
            )
    imported = ws.imports.load("orders", path)
    return {
        "campaign": DEFINITION_ID,
        "launched_at": launched_at,
        "targeted": launch["targeted"],
        "eligible": launch["eligible"],
        "planted_orders": imported.as_dict()["loaded"],
        "planted_revenue_per_treated": float(amounts.sum()) / max(len(treated), 1),
    }
