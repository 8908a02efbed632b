"""The fairness report: statistics against scipy, scikit-learn and pandas, the planted
proxy flagged and the fair segment not, the null rate, refusals and the audit log."""

from __future__ import annotations

import math
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, fisher_exact
from scipy.stats.contingency import association

from cible import Workspace
from cible.domain.config import WorkspaceConfig
from cible.segments.fairness import FairnessError, FairnessReport
from cible.segments.fairness_stats import cramers_v as cramer
from cible.segments.fairness_stats import (
    disparate_impact,
    flag,
    independence_p_value,
    proxy_accuracy,
    proxy_level,
)
from tests.segments.fairness_shop import (
    CUSTOMERS as CUSTOMERS_IN_RUN,
)
from tests.segments.fairness_shop import PLANTED_CODES, build_shop, config, population


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shop(tmp_path_factory.mktemp("fairness"))


@pytest.fixture(scope="module")
def report(shop: Path) -> FairnessReport:
    with Workspace.open(shop) as ws:
        return ws.fairness.report("origin", actor="auditor")


def _segment(report: FairnessReport, segment_id: str):  # type: ignore[no-untyped-def]
    return next(s for d in report.dimensions for s in d.segments if s.segment_id == segment_id)


def _dimension(report: FairnessReport, dimension: str):  # type: ignore[no-untyped-def]
    return next(d for d in report.dimensions if d.dimension == dimension)


# -- statistics against their references ---------------------------------------------


def test_rates_ratio_and_fisher_equal_a_pandas_and_scipy_computation() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "group": rng.choice(["x", "y", "z", "tiny"], p=[0.5, 0.3, 0.19, 0.01], size=2000),
            "member": rng.random(2000) < 0.3,
        }
    )
    frame.loc[frame.group == "y", "member"] &= rng.random((frame.group == "y").sum()) < 0.6
    base = frame.group.value_counts().to_dict()
    members = frame[frame.member].group.value_counts().to_dict()
    test = disparate_impact(members, base, min_group_size=30)

    rates = frame.groupby("group").member.mean()
    large = rates[frame.group.value_counts() >= 30]
    assert test.ratio == pytest.approx(large.min() / large.max())
    assert (test.lowest, test.highest) == (large.idxmin(), large.idxmax())
    by_group = {r.group: r for r in test.rates}
    assert by_group["tiny"].too_small and not by_group["x"].too_small
    for group, rate in rates.items():
        assert by_group[group].selection_rate == pytest.approx(rate)
        assert by_group[group].share_in_base == pytest.approx((frame.group == group).mean())
        share = (frame[frame.member].group == group).mean()
        assert by_group[group].share_in_segment == pytest.approx(share)
    low, high = large.idxmin(), large.idxmax()
    crossed = pd.crosstab(frame.group, frame.member).reindex(columns=[True, False])
    table = crossed.loc[[low, high]].to_numpy()
    # Three groups large enough: three pairs could have been compared.
    assert test.p_value == pytest.approx(min(1.0, fisher_exact(table).pvalue * 3))


def test_cramers_v_and_the_chi_square_equal_scipy_and_the_formula() -> None:
    table = np.array([[30, 12, 5], [8, 40, 9], [0, 0, 0], [11, 10, 30]])
    kept = table[[0, 1, 3]]
    chi2, p, _, _ = chi2_contingency(kept, correction=False)
    by_hand = math.sqrt(chi2 / (kept.sum() * (min(kept.shape) - 1)))
    assert cramer(table) == pytest.approx(by_hand)
    assert cramer(table) == pytest.approx(association(kept, method="cramer"))
    assert independence_p_value(table) == pytest.approx(p)
    assert cramer([[5, 5]]) is None and independence_p_value([[1], [2]]) is None


def test_proxy_accuracy_agrees_with_the_best_rule_computed_by_pandas() -> None:
    # With one categorical feature, predicting the group g that maximises P(segment | g)
    # is the rule that maximises balanced accuracy; on 6,000 customers its in-sample
    # score and the cross-validated one agree closely.
    table = np.array([[900, 300, 200], [400, 1100, 300], [200, 400, 2200]])
    rates = table / table.sum(axis=0)
    best = rates.argmax(axis=1)
    in_sample = np.mean([rates[best == g, g].sum() for g in range(table.shape[1])])
    assert proxy_accuracy(table) == pytest.approx(in_sample, abs=0.01)
    independent = np.array([[500, 500], [1500, 1500]])
    assert proxy_accuracy(independent) == pytest.approx(0.5, abs=0.03)
    # A large base is subsampled exactly: the estimate does not move.
    assert proxy_accuracy(table * 20, max_rows=6_000) == pytest.approx(in_sample, abs=0.02)


def test_flags_need_both_a_low_ratio_and_significance_after_holm() -> None:
    base = {"a": 1000, "b": 1000}
    strong = disparate_impact({"a": 300, "b": 100}, base)
    noisy = disparate_impact({"a": 5, "b": 3}, base)
    mild = disparate_impact({"a": 300, "b": 280}, base)
    decided = flag([strong, noisy, mild])
    assert decided.below_four_fifths == (True, True, False)
    assert decided.flagged == (True, False, False)
    raw = [t.p_value for t in (strong, noisy, mild)]
    order = np.argsort(raw)
    assert decided.adjusted_p_values[order[0]] == pytest.approx(min(1.0, 3 * raw[order[0]]))
    assert proxy_level(0.05, 1e-9) == "weak"


def test_random_segments_are_rarely_flagged() -> None:
    """The null simulation: segments drawn at random, whatever the group, in reports
    of ten segments of 10 to 1,500 members out of 3,000 customers (three groups)."""
    rng = np.random.default_rng(11)
    base = {"a": 1500, "b": 900, "c": 600}
    population = np.repeat(list(base), list(base.values()))
    reports, flagged_reports, flagged_segments, below = 400, 0, 0, 0
    for _ in range(reports):
        tests = []
        for size in rng.integers(10, 1500, size=10):
            chosen = rng.choice(population, size=size, replace=False)
            groups, counts = np.unique(chosen, return_counts=True)
            tests.append(disparate_impact(dict(zip(groups, counts.tolist(), strict=True)), base))
        decided = flag(tests)
        flagged_reports += any(decided.flagged)
        flagged_segments += sum(decided.flagged)
        below += sum(decided.below_four_fifths)
    # Holm keeps the chance of any false flag in a report under 5%; the ratio alone
    # would have flagged many small segments.
    assert flagged_reports / reports <= 0.05
    assert flagged_segments / (10 * reports) <= 0.01
    assert below / (10 * reports) > 0.05


# -- the report on a workspace ----------------------------------------------------------


def test_the_report_equals_a_pandas_reference(shop: Path, report: FairnessReport) -> None:
    customers, _ = population()
    customers = customers.assign(origin=customers.origin.replace("", np.nan))
    known = customers.dropna(subset=["origin"])
    assert report.customers == len(customers)
    assert report.missing == customers.origin.isna().sum()
    assert {g.group: g.customers for g in report.groups} == known.origin.value_counts().to_dict()

    with Workspace.open(shop, read_only=True) as ws:
        loyal_ids = set(ws.segments.members("loyal").customer_id.to_pyarrow().to_pylist())
    memberships = {
        "centre": customers.postal_code.isin(PLANTED_CODES),
        "loyal": customers.customer_id.isin(loyal_ids),
    }
    for segment_id, member in memberships.items():
        found = _segment(report, segment_id)
        assert found.size == member.sum()
        assert found.missing == (member & customers.origin.isna()).sum()
        rates = known.assign(member=member[known.index]).groupby("origin").member.mean()
        assert {g.group: g.selection_rate for g in found.groups} == pytest.approx(rates.to_dict())
        assert found.disparate_impact == pytest.approx(rates.min() / rates.max())
        crossed = pd.crosstab(member[known.index], known.origin).to_numpy()
        assert found.cramers_v == pytest.approx(association(crossed, method="cramer"))
    # One segment in a dimension: the dimension's proxy is the segment's.
    geo = _dimension(report, "geo")
    assert geo.cramers_v == pytest.approx(_segment(report, "centre").cramers_v)
    assert geo.customers == len(known)

    # The responsible trait: postal code alone against origin, as pandas counts it.
    postal = _segment(report, "centre").traits[0]
    crossed = pd.crosstab(known.postal_code, known.origin).to_numpy()
    assert postal.field == "postal_code" and postal.bins == 20
    assert postal.cramers_v == pytest.approx(association(crossed, method="cramer"))


def test_the_planted_proxy_is_flagged_and_the_fair_segment_is_not(
    report: FairnessReport,
) -> None:
    centre = _segment(report, "centre")
    assert centre.flagged and centre.disparate_impact is not None
    assert centre.disparate_impact < 0.8 and (centre.adjusted_p_value or 1) < 1e-6
    assert (centre.lowest_group, centre.highest_group) == ("b", "a")
    assert [t.field for t in centre.traits] == ["postal_code"]
    assert (centre.traits[0].cramers_v or 0) > 0.3
    geo = _dimension(report, "geo")
    assert geo.proxy == "strong" and (geo.balanced_accuracy or 0) > 0.65
    assert geo.chance_accuracy == 0.5

    loyal = _segment(report, "loyal")
    assert not loyal.flagged and (loyal.disparate_impact or 0) > 0.8 and loyal.traits == ()
    assert _dimension(report, "loyalty").proxy == "weak"
    assert (_dimension(report, "loyalty").balanced_accuracy or 1) < 0.55

    # Through in_segment, the mixed segment's postal codes are found responsible, and
    # the order count it also reads is not.
    mixed = _segment(report, "centre-loyal")
    assert mixed.flagged
    assert [t.field for t in mixed.traits] == ["postal_code", "frequency"]
    assert (mixed.traits[1].cramers_v or 1) < 0.1
    assert report.flagged_segments == ("centre", "centre-loyal")
    # Built-in dimensions on behaviour drawn at random are not flagged.
    assert all(not s.flagged for d in report.dimensions[:2] for s in d.segments)


def test_one_dimension_and_the_audit_log(shop: Path, report: FairnessReport) -> None:
    with Workspace.open(shop) as ws:
        only = ws.fairness.report("origin", dimension="loyalty")
        entries = ws.audit_log.entries(action="privacy.fairness")
    assert [d.dimension for d in only.dimensions] == ["loyalty"]
    assert entries[0].target == "origin" and entries[0].actor == "cli"
    assert any(e.actor == "auditor" and "centre" in str(e.detail) for e in entries)
    data = report.as_dict()
    assert data["flagged_segments"] == ["centre", "centre-loyal"]
    assert data["dimensions"][0]["segments"][0]["groups"][0]["group"] == "a"


@pytest.mark.parametrize(
    ("attribute", "dimension", "reason"),
    [
        ("religion", None, "Unknown attribute 'religion': declare it in cible.toml"),
        ("city", None, "'city' has sensitivity 'none'"),
        ("loyalty_card", None, "'loyalty_card' has sensitivity 'none'"),
        ("customer_id", None, "'customer_id' has 3000 distinct values, more than 20"),
        ("email", None, "'email' has 0 distinct value(s)"),
        ("birth_date", None, "'birth_date' is of type date"),
        ("origin", "nowhere", "No dimension 'nowhere' in the latest run; known: geo"),
    ],
)
def test_refusals_name_the_reason(
    shop: Path, attribute: str, dimension: str | None, reason: str
) -> None:
    with Workspace.open(shop) as ws, pytest.raises(FairnessError) as raised:
        ws.fairness.report(attribute, dimension=dimension)
    assert reason in str(raised.value)


def test_a_workspace_without_a_run_is_refused(tmp_path: Path) -> None:
    with (
        Workspace.create(tmp_path / "empty", config=config()) as ws,
        pytest.raises(FairnessError, match="No run yet"),
    ):
        ws.fairness.report("origin")


def test_a_personal_field_a_boolean_and_an_empty_segment(tmp_path: Path) -> None:
    rows = [f"c{i},{'female' if i % 3 else 'male'},{str(i % 2 == 1).lower()}" for i in range(300)]
    (tmp_path / "c.csv").write_text("customer_id,gender,disabled\n" + "\n".join(rows) + "\n")
    settings = WorkspaceConfig.model_validate(
        {"attributes": {"disabled": {"type": "boolean", "sensitivity": "special"}}}
    )
    nobody = {"trait": "frequency", "op": ">=", "value": 100}
    with Workspace.create(tmp_path / "shop", config=settings) as ws:
        ws.imports.load("customers", tmp_path / "c.csv")
        ws.segments.add({"id": "nobody", "name": "Nobody", "where": nobody})
        ws.run(as_of=datetime(2025, 1, 1))
        gender = ws.fairness.report("gender")
        disabled = ws.fairness.report("disabled")
    assert [(g.group, g.customers) for g in gender.groups] == [("female", 200), ("male", 100)]
    assert [(g.group, g.customers) for g in disabled.groups] == [("false", 150), ("true", 150)]
    # Everyone is a prospect: a ratio of 1 and nothing to predict from membership.
    lifecycle = _dimension(gender, "lifecycle")
    assert lifecycle.segments[0].disparate_impact == 1.0 and lifecycle.balanced_accuracy is None
    # A segment outside any dimension, without members: audited alone, no ratio.
    alone = gender.dimensions[-1]
    assert alone.dimension is None and alone.segments[0].segment_id == "nobody"
    assert alone.segments[0].size == 0 and alone.segments[0].disparate_impact is None
    assert not gender.flagged_segments and not disabled.flagged_segments


# -- customers who object to profiling ----------------------------------------------


def _with_objectors(shop: Path, folder: Path, count: int) -> tuple[Path, list[str]]:
    """A copy of ``shop`` where ``count`` customers of group ``a`` object to profiling,
    through an imported consents file (which ends their memberships at once)."""
    copy = folder / "shop"
    shutil.copytree(shop, copy)
    customers, _ = population()
    chosen = customers.loc[customers.origin == "a", "customer_id"].head(count).tolist()
    path = folder / "objections.csv"
    path.write_text(
        "customer_id,channel,purpose,status\n"
        + "".join(f"{c},email,profiling,withdrawn\n" for c in chosen)
    )
    with Workspace.open(copy) as ws:
        assert ws.imports.load("consents", path).loaded == count
    return copy, chosen


def test_objectors_are_left_out_of_the_base_and_counted_as_not_profiled(
    shop: Path, tmp_path: Path
) -> None:
    copy, chosen = _with_objectors(shop, tmp_path, 40)
    with Workspace.open(copy) as ws:
        found = ws.fairness.report("origin", dimension="loyalty")
        customers = ws.table("customers").select("customer_id", "origin").to_pandas()
        members = set(ws.segments.members("loyal").customer_id.to_pyarrow().to_pylist())
    assert found.not_profiled == 40 and found.as_dict()["not_profiled"] == 40
    assert found.customers == CUSTOMERS_IN_RUN - 40
    # The reference: rates over the customers who can be members, with pandas.
    base = customers[~customers.customer_id.isin(chosen) & (customers.origin != "")]
    base = base.assign(member=base.customer_id.isin(members))
    expected = base.groupby("origin").member.agg(["size", "sum"])
    assert {g.group: g.customers for g in found.groups} == expected["size"].to_dict()
    loyal = _segment(found, "loyal")
    for rate in loyal.groups:
        assert rate.base == expected.loc[rate.group, "size"]
        assert rate.members == expected.loc[rate.group, "sum"]
        assert rate.selection_rate == pytest.approx(
            expected.loc[rate.group, "sum"] / expected.loc[rate.group, "size"]
        )
    assert not set(chosen) & members


def test_a_report_without_objectors_counts_none_as_not_profiled(report: FairnessReport) -> None:
    assert report.not_profiled == 0
