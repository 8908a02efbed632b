"""A synthetic base with a planted proxy, for the fairness report's tests.

3,000 customers live in 20 postal codes. ``origin`` is a special-category attribute
held for audit only (no legal basis), with groups ``a`` and ``b``: in the five
:data:`PLANTED_CODES` 85% of customers are ``a``, elsewhere 30%; 4% have no value.
Orders are drawn independently of everything (Poisson, mean 1.5), so segments on
order counts are fair by construction.

- ``centre`` (dimension ``geo``): customers of the planted codes -> a proxy for origin.
- ``loyal`` (dimension ``loyalty``): two orders or more -> fair.
- ``centre-loyal`` (dimension ``mixed``): both conditions, and in ``centre`` -> the
  postal code is what is responsible, not the order count.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from cible import Workspace
from cible.domain.config import WorkspaceConfig

AS_OF = datetime(2025, 6, 1)
CUSTOMERS = 3_000
CODES = [f"{75001 + i}" for i in range(20)]
PLANTED_CODES = CODES[:5]

SEGMENTS = [
    {
        "id": "centre",
        "name": {"en": "City centre", "fr": "Centre-ville"},
        "dimension": "geo",
        "where": {"attribute": "postal_code", "op": "in", "value": PLANTED_CODES},
    },
    {
        "id": "loyal",
        "name": {"en": "Loyal", "fr": "Fidèles"},
        "dimension": "loyalty",
        "where": {"trait": "frequency", "op": ">=", "value": 2},
    },
    {
        "id": "centre-loyal",
        "name": {"en": "Loyal in the centre", "fr": "Fidèles du centre"},
        "dimension": "mixed",
        "where": {
            "all": [
                {"in_segment": "centre"},
                {"trait": "frequency", "op": ">=", "value": 1},
            ]
        },
    },
]


def config() -> WorkspaceConfig:
    """``origin``: special category, no legal basis (audit only)."""
    return WorkspaceConfig.model_validate(
        {
            "attributes": {
                "origin": {
                    "type": "enum",
                    "values": ["a", "b"],
                    "sensitivity": "special",
                    "category": "demographic",
                },
                "loyalty_card": {"type": "string", "category": "value"},
            }
        }
    )


def population(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The customers (id, postal code, city, origin) and their orders."""
    rng = np.random.default_rng(seed)
    codes = rng.choice(CODES, size=CUSTOMERS)
    planted = np.isin(codes, PLANTED_CODES)
    origin = np.where(rng.random(CUSTOMERS) < np.where(planted, 0.85, 0.30), "a", "b")
    origin = np.where(rng.random(CUSTOMERS) < 0.04, "", origin)
    ids = [f"c{i:05d}" for i in range(CUSTOMERS)]
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "postal_code": codes,
            "city": [f"Paris {code[-2:]}" for code in codes],
            "origin": origin,
            "loyalty_card": rng.choice(["yes", "no"], size=CUSTOMERS),
            "created_at": "2023-01-01",
        }
    )
    counts = rng.poisson(1.5, size=CUSTOMERS)
    owner = np.repeat(ids, counts)
    days = rng.integers(1, 700, size=len(owner))
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(owner))],
            "customer_id": owner,
            "ordered_at": [
                (pd.Timestamp("2025-05-31") - pd.Timedelta(days=int(d))).date() for d in days
            ],
            "amount": rng.integers(10, 200, size=len(owner)),
        }
    )
    return customers, orders


def build_shop(folder: Path) -> Path:
    """The workspace under ``folder``, its segments added and run as of :data:`AS_OF`."""
    folder.mkdir(parents=True, exist_ok=True)
    customers, orders = population()
    shop = folder / "shop"
    with Workspace.create(shop, config=config()) as ws:
        for kind, frame in (("customers", customers), ("orders", orders)):
            path = folder / f"{kind}.csv"
            frame.to_csv(path, index=False)
            ws.imports.load(kind, path)
        for segment in SEGMENTS:
            ws.segments.add(segment)
        ws.run(as_of=AS_OF)
    return shop
