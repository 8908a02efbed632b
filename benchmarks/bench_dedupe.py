"""Deduplicating 1,000,000 customer profiles: `Workspace.dedupe` against pandas exact matching.

Profiles come from :func:`cible.demo.duplicates.known_duplicates`: French customers,
20% of them registered again once or twice with typos, swapped names, e-mails in
another case or at a new provider, phones written another way, a move, fields left
empty. They are imported into a fresh workspace (not timed), then:

- **Cible**: ``ws.quality.dedupe()``: deterministic rules and the Splink model, grouping,
  golden records, re-pointing, consents, before-images and the merge log, written in
  one transaction;
- **pandas, the obvious way**: e-mails trimmed and lower-cased, then
  ``drop_duplicates`` on them (profiles sharing an address are one person). It
  writes nothing and keeps no undo log.

Both are scored against the truth as pairwise precision and recall of the groups
they form, so that the comparison is honest: pandas is fast and misses every
duplicate whose e-mail changed or is missing.

Run: ``nice .venv/bin/python benchmarks/bench_dedupe.py [--profiles N]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cible import Workspace
from cible.demo.corruptions import SEVERAL
from cible.demo.duplicates import known_duplicates

# Profiles per person: 1 + share * (1 + twice) with the generator's defaults.
_PROFILES_PER_PERSON = 1 + 0.2 * 1.3


def group_pairs(member: pd.Series, group: pd.Series) -> pd.DataFrame:
    """Every unordered pair of members of a group: columns ``a < b``."""
    frame = pd.DataFrame({"id": member.to_numpy(), "group": group.to_numpy()})
    both = frame.merge(frame, on="group", suffixes=("_a", "_b"))
    both = both[both["id_a"] < both["id_b"]]
    return pd.DataFrame({"a": both["id_a"].to_numpy(), "b": both["id_b"].to_numpy()})


def score(found: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    right = len(found.merge(truth, on=["a", "b"]))
    return {
        "pairs": len(found),
        "precision": round(right / max(len(found), 1), 4),
        "recall": round(right / len(truth), 4),
    }


def recall_by_kind(found: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Share of the true pairs of each kind (``a, b, kind``) found in one group."""
    hit = truth.merge(found.assign(hit=True), on=["a", "b"], how="left")["hit"].notna()
    kind = truth["kind"].where(~truth["kind"].str.contains(" + ", regex=False), SEVERAL)
    return {str(k): round(float(v), 3) for k, v in hit.groupby(kind.to_numpy()).mean().items()}


def cible_groups(merges: pd.DataFrame) -> pd.DataFrame:
    members = merges.explode("merged_ids")
    ids = pd.concat([merges["surviving_id"], members["merged_ids"]], ignore_index=True)
    groups = pd.concat([merges["merge_id"], members["merge_id"]], ignore_index=True)
    return group_pairs(ids, groups)


def pandas_exact(profiles: pd.DataFrame) -> tuple[float, pd.DataFrame]:
    started = time.perf_counter()
    key = profiles["email"].str.strip().str.lower().replace("", np.nan)
    known = profiles.assign(key=key).dropna(subset=["key"])
    kept = known.drop_duplicates("key")
    dropped = known[~known.index.isin(kept.index)]
    seconds = time.perf_counter() - started
    merged = dropped.merge(kept[["key", "customer_id"]], on="key", suffixes=("", "_kept"))
    return seconds, pd.concat(
        [
            group_pairs(merged["customer_id"], merged["customer_id_kept"]),
            pd.DataFrame(
                {
                    "a": np.minimum(merged["customer_id"], merged["customer_id_kept"]),
                    "b": np.maximum(merged["customer_id"], merged["customer_id_kept"]),
                }
            ),
        ],
        ignore_index=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    truth = known_duplicates(round(args.profiles / _PROFILES_PER_PERSON), seed=args.seed)
    generated = time.perf_counter() - started
    pairs = truth.pairs[["customer_id", "duplicate_of"]].to_numpy()
    expected = pd.DataFrame({"a": pairs.min(axis=1), "b": pairs.max(axis=1)})
    kinds = expected.assign(kind=truth.pairs["kind"].to_numpy())
    steps: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "profiles.parquet"
        truth.profiles.to_parquet(source)
        with Workspace.create(Path(folder) / "ws") as ws:
            started = time.perf_counter()
            ws.imports.load("customers", source)
            imported = time.perf_counter() - started
            started = time.perf_counter()

            def step(name: str, done: int, total: int) -> None:
                steps.append((name, time.perf_counter() - started))

            result = ws.quality.dedupe(progress=step)
            cible_s = time.perf_counter() - started
            remaining = ws.counts()["customers"]
    pandas_s, pandas_pairs = pandas_exact(truth.profiles)
    timeline = {}
    for (name, at), (_, until) in zip(steps, [*steps[1:], ("end", cible_s)], strict=True):
        timeline[name] = round(timeline.get(name, 0.0) + until - at, 2)
    report = {
        "profiles": len(truth.profiles),
        "true_pairs": len(expected),
        "generate_s": round(generated, 1),
        "import_s": round(imported, 1),
        "cible": {
            "dedupe_s": round(cible_s, 1),
            "steps_s": timeline,
            "merges": len(result.merges),
            "merged_profiles": result.merged_profiles,
            "customers_after": remaining,
            **score(cible_groups(result.merges), expected),
            "recall_by_kind": recall_by_kind(cible_groups(result.merges), kinds),
        },
        "pandas_exact_email": {
            "seconds": round(pandas_s, 2),
            **score(pandas_pairs.drop_duplicates(), expected),
        },
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
