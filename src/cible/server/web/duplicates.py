"""What the duplicates pages show: groups of profiles side by side with their match
probability, and the merges done."""

from __future__ import annotations

import json
import math
from typing import Any

from cible.workspace import Workspace

#: Groups of a dedupe shown (the first, by surviving id); merges listed per page.
GROUPS_SHOWN, MERGES_PAGE = 50, 50
#: A profile's fields shown side by side.
PROFILE_FIELDS = (
    "customer_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_date",
    "postal_code",
    "city",
    "created_at",
)


def probability(weight: float | None) -> float | None:
    """Splink's match probability of a match weight (``log2`` of the odds), or None.

    Examples
    --------
    >>> probability(0.0), probability(None), round(probability(10.0), 4)
    (0.5, None, 0.999)
    """
    if weight is None or math.isnan(weight):
        return None
    return float(1.0 / (1.0 + 2.0 ** (-weight)))


def proposals(ws: Workspace, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The first groups of a dedupe job's result, each with its profiles side by side
    (the surviving one first) and its match probability."""
    groups = (result.get("proposed") or result.get("applied") or [])[:GROUPS_SHOWN]
    ids = sorted({i for g in groups for i in (g["surviving_id"], *g["merged_ids"])})
    customers = ws.table("customers")
    columns = [c for c in PROFILE_FIELDS if c in customers.columns]
    rows = customers.filter(customers.customer_id.isin(ids)).select(*columns).to_pyarrow()
    profiles = {row["customer_id"]: row for row in rows.to_pylist()}
    return [
        {
            "merge_id": group["merge_id"],
            "surviving_id": group["surviving_id"],
            "merged_ids": group["merged_ids"],
            "match_rule": group["match_rule"],
            "match_weight": group["match_weight"],
            "probability": probability(group["match_weight"]),
            "profiles": [
                profiles.get(i, {"customer_id": i})
                for i in (group["surviving_id"], *group["merged_ids"])
            ],
        }
        for group in groups
    ]


def merges_page(ws: Workspace, number: int) -> dict[str, Any]:
    table = ws.table("merges")
    total = int(table.count().execute())
    rows = (
        table.order_by(table.merge_id.desc())
        .limit(MERGES_PAGE, offset=(number - 1) * MERGES_PAGE)
        .to_pyarrow()
        .to_pylist()
    )
    for row in rows:
        ids = row["merged_ids"]
        row["merged_ids"] = json.loads(ids) if isinstance(ids, str) else list(ids or [])
        row["probability"] = probability(row["match_weight"])
    return {
        "merges": rows,
        "total": total,
        "page": number,
        "pages": max(1, -(-total // MERGES_PAGE)),
    }
