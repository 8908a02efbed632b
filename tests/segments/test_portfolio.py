"""Portfolio guardrails against pandas references on small random memberships."""

from __future__ import annotations

import math

import ibis
import numpy as np
import pandas as pd
import pytest

from cible.segments.portfolio import (
    coverage,
    micro_segments,
    overlap,
    pareto_segments,
    pareto_summary,
)
from cible.segments.summary import segment_figures


def shop(seed: int = 0, size: int = 200) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Traits with tied amounts and prospects; three dimensions, one not exclusive."""
    rng = np.random.default_rng(seed)
    ids = [f"c{i:03d}" for i in range(size)]
    frequency = rng.integers(0, 4, size)
    traits = pd.DataFrame(
        {
            "customer_id": ids,
            "frequency": frequency,
            # Rounded to tens: many ties, including at the top-20% boundary.
            "monetary_value": np.where(frequency > 0, np.round(rng.gamma(1.5, 80, size), -1), 0),
            "recency_days": np.where(frequency > 0, rng.uniform(1, 300, size), np.nan),
        }
    )
    rows = []
    for customer in ids:
        rows.append((f"v{rng.integers(0, 4)}", "value", customer))
        if rng.random() < 0.7:  # a dimension that leaves some customers out
            rows.append((f"t{rng.integers(0, 3)}", "typology", customer))
        for tag in ("r0", "r1"):  # not exclusive: a customer can be in both
            if rng.random() < 0.2:
                rows.append((tag, "rules", customer))
    members = pd.DataFrame(rows, columns=["segment_id", "dimension", "customer_id"])
    # A tiny segment, for the micro-segment floor.
    members.loc[len(members)] = ("tiny", "rules", ids[0])
    return traits, members


def ref_top(traits: pd.DataFrame, top_share: float) -> pd.DataFrame:
    buyers = traits[traits.frequency > 0].sort_values(
        ["monetary_value", "customer_id"], ascending=[False, True]
    )
    return buyers.head(math.ceil(top_share * len(buyers)))


@pytest.fixture
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return shop()


@pytest.mark.parametrize("top_share", [0.2, 0.33])
def test_pareto_summary_matches_pandas(data: tuple[pd.DataFrame, pd.DataFrame], top_share: float):
    traits, _ = data
    got = pareto_summary(ibis.memtable(traits), top_share).to_pyarrow().to_pylist()[0]
    top = ref_top(traits, top_share)
    buyers = traits[traits.frequency > 0]
    assert got["buyers"] == len(buyers)
    assert got["top_customers"] == len(top) == math.ceil(top_share * len(buyers))
    assert got["revenue_share"] == pytest.approx(
        top.monetary_value.sum() / buyers.monetary_value.sum()
    )


def test_pareto_segments_match_pandas(data: tuple[pd.DataFrame, pd.DataFrame]):
    traits, members = data
    got = pareto_segments(ibis.memtable(traits), ibis.memtable(members), 0.2).to_pandas()
    top = set(ref_top(traits, 0.2).customer_id)
    want = members.assign(is_top=members.customer_id.isin(top)).groupby("segment_id")
    got = got.set_index("segment_id").sort_index()
    assert list(got.index) == sorted(members.segment_id.unique())
    assert got.top_customers.to_dict() == want.is_top.sum().to_dict()
    np.testing.assert_allclose(got.share_of_top, (want.is_top.sum() / len(top)).sort_index())
    np.testing.assert_allclose(got.top_density, want.is_top.mean().sort_index())
    # An exclusive dimension that covers everyone holds every top customer once.
    assert got.loc[["v0", "v1", "v2", "v3"], "share_of_top"].sum() == pytest.approx(1)


@pytest.mark.parametrize(("x", "y"), [("value", "typology"), ("rules", "rules")])
def test_overlap_matches_pandas(data: tuple[pd.DataFrame, pd.DataFrame], x: str, y: str):
    _, members = data
    got = overlap(ibis.memtable(members), x, y).to_pandas()
    a = members[members.dimension == x]
    b = members[members.dimension == y]
    pairs = a.merge(b, on="customer_id", suffixes=("_x", "_y"))
    want = pairs.groupby(["segment_id_x", "segment_id_y"]).size()
    got = got.set_index(["segment_x", "segment_y"]).sort_index()
    assert got.customers.to_dict() == want.to_dict()
    for (sx, sy), row in got.iterrows():
        ids_x = set(a.customer_id[a.segment_id == sx])
        ids_y = set(b.customer_id[b.segment_id == sy])
        assert row.jaccard == pytest.approx(len(ids_x & ids_y) / len(ids_x | ids_y))
    if x == y:
        assert got.loc[("r0", "r0"), "jaccard"] == 1.0


def test_coverage_matches_pandas(data: tuple[pd.DataFrame, pd.DataFrame]):
    traits, members = data
    got = coverage(ibis.memtable(traits), ibis.memtable(members)).to_pandas()
    got = got.set_index("dimension").sort_index()
    covered = members.groupby("dimension").customer_id.nunique().sort_index()
    assert got.covered.to_dict() == covered.to_dict()
    assert got.uncovered.to_dict() == (len(traits) - covered).to_dict()
    assert got.loc["value", "uncovered"] == 0
    assert got.loc["typology", "uncovered_share"] == pytest.approx(
        1 - covered["typology"] / len(traits)
    )


def test_micro_segments_match_pandas(data: tuple[pd.DataFrame, pd.DataFrame]):
    traits, members = data
    figures = segment_figures(ibis.memtable(traits), ibis.memtable(members))
    got = micro_segments(figures, min_size=45, min_revenue_share=0.2).to_pandas()
    joined = members.merge(traits, on="customer_id")
    size = joined.groupby("segment_id").size()
    share = joined.groupby("segment_id").monetary_value.sum() / traits.monetary_value.sum()
    flagged = sorted(size.index[(size < 45) | (share < 0.2)])
    got = got.set_index("segment_id").sort_index()
    assert list(got.index) == flagged and "tiny" in flagged
    assert got.too_small.to_dict() == (size[flagged] < 45).to_dict()
    assert got.low_revenue.to_dict() == (share[flagged] < 0.2).to_dict()


def test_pareto_of_a_base_without_buyers_is_empty():
    traits = pd.DataFrame(
        {"customer_id": ["a"], "frequency": [0], "monetary_value": [0.0], "recency_days": [None]}
    )
    row = pareto_summary(ibis.memtable(traits), 0.2).to_pyarrow().to_pylist()[0]
    assert (row["buyers"], row["top_customers"], row["revenue_share"]) == (0, 0, None)
