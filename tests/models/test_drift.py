"""Trait drift checked against pandas and scipy references and simulations with known truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2, chi2_contingency, ks_2samp

from cible.models.drift import (
    EPSILON,
    MISSING,
    DriftReport,
    population_stability_index,
    psi_level,
    trait_drift,
)
from cible.models.errors import ModelDataError


def _pandas_psi_numeric(reference: pd.Series, current: pd.Series, bins: int) -> float:
    """PSI the obvious pandas way: reference quantiles, pd.cut, a missing bin, smoothing."""
    cuts = sorted(set(reference.dropna().quantile([i / bins for i in range(1, bins)])))
    edges = [-np.inf, *cuts, np.inf]

    def shares(column: pd.Series) -> pd.Series:
        binned = pd.cut(column, edges, right=True).cat.add_categories("missing").fillna("missing")
        return binned.value_counts(normalize=True, sort=False)

    return _pandas_formula(shares(reference), shares(current))


def _pandas_psi_labels(reference: pd.Series, current: pd.Series) -> float:
    def shares(column: pd.Series) -> pd.Series:
        return column.astype(object).fillna("missing").astype(str).value_counts(normalize=True)

    both = pd.concat([shares(reference), shares(current)], axis=1).fillna(0.0)
    if "missing" not in both.index:
        both.loc["missing"] = 0.0
    return _pandas_formula(both.iloc[:, 0], both.iloc[:, 1])


def _pandas_formula(reference: pd.Series, current: pd.Series) -> float:
    k = len(reference)
    r = (reference.to_numpy() + EPSILON) / (1 + k * EPSILON)
    c = (current.to_numpy() + EPSILON) / (1 + k * EPSILON)
    return float(((c - r) * np.log(c / r)).sum())


@pytest.mark.parametrize("seed", range(6))
def test_numeric_psi_equals_a_pandas_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = rng.integers(30, 300, size=2)
    # Ties (a Poisson count), missing values, a shift and a trait that is mostly zero.
    reference = pd.DataFrame(
        {
            "count": rng.poisson(2.0, n).astype(float),
            "amount": rng.lognormal(3, 1, n),
            "zeros": np.where(rng.random(n) < 0.7, 0.0, rng.exponential(5, n)),
        }
    )
    current = pd.DataFrame(
        {
            "count": rng.poisson(2.5, m).astype(float),
            "amount": rng.lognormal(3.3, 1, m),
            "zeros": np.where(rng.random(m) < 0.5, 0.0, rng.exponential(5, m)),
        }
    )
    reference.loc[rng.random(n) < 0.1, "amount"] = np.nan
    current.loc[rng.random(m) < 0.2, "count"] = np.nan
    bins = int(rng.integers(3, 12))
    report = trait_drift(reference, current, bins=bins)
    for name in reference.columns:
        expected = _pandas_psi_numeric(reference[name], current[name], bins)
        assert report.get(name).psi == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("seed", range(4))
def test_label_psi_equals_a_pandas_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame({"channel": rng.choice(["web", "store", "app", None], 400)})
    # A new value appears and another vanishes: both bins are empty on one side.
    current = pd.DataFrame(
        {"channel": rng.choice(["web", "store", "phone", None], 300, p=[0.5, 0.2, 0.2, 0.1])}
    )
    result = trait_drift(reference, current).get("channel")
    assert result.psi == pytest.approx(
        _pandas_psi_labels(reference["channel"], current["channel"]), rel=1e-12
    )
    assert result.kind == "categorical"
    assert np.isfinite(result.psi)


def test_chi_square_equals_scipy_on_a_pandas_crosstab() -> None:
    rng = np.random.default_rng(3)
    reference = pd.Series(rng.choice(["a", "b", "c"], 500, p=[0.5, 0.3, 0.2]))
    current = pd.Series(rng.choice(["a", "b", "c"], 700, p=[0.4, 0.3, 0.3]))
    both = pd.concat([reference, current], ignore_index=True)
    side = np.r_[np.zeros(500), np.ones(700)]
    expected = chi2_contingency(pd.crosstab(side, both).to_numpy(), correction=False)
    result = trait_drift(reference.to_frame("x"), current.to_frame("x")).get("x")
    assert result.test == "chi2"
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)


@pytest.mark.parametrize(
    ("n", "m", "discrete"), [(300, 200, False), (30_000, 20_000, False), (25_000, 40_000, True)]
)
def test_kolmogorov_smirnov_equals_scipy(n: int, m: int, discrete: bool) -> None:
    # Past 10,000 customers the statistic is computed here from sorted data: it must
    # equal scipy's, ties included, and so must the p-value.
    rng = np.random.default_rng(n)
    if discrete:
        a, b = rng.poisson(4.0, n).astype(float), rng.poisson(4.1, m).astype(float)
    else:
        a, b = rng.normal(0, 1, n), rng.normal(0.03, 1, m)
    expected = ks_2samp(a, b)
    result = trait_drift(pd.DataFrame({"x": a}), pd.DataFrame({"x": b})).get("x")
    assert result.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("delta", [0.2, 0.5])
def test_psi_of_two_normals_tends_to_the_j_divergence(delta: float) -> None:
    # PSI is the binned J-divergence KL(P|Q) + KL(Q|P), which for N(0,1) and N(delta,1)
    # is delta**2. With 50 bins and 400,000 customers a side the binning loses under
    # 1 % and sampling adds about 49 * 2 / 400,000 = 0.00025.
    rng = np.random.default_rng(7)
    n = 400_000
    reference = pd.DataFrame({"x": rng.normal(0.0, 1.0, n)})
    current = pd.DataFrame({"x": rng.normal(delta, 1.0, n)})
    psi_20 = trait_drift(reference, current, bins=20).get("x").psi
    psi_50 = trait_drift(reference, current, bins=50).get("x").psi
    assert psi_50 == pytest.approx(delta**2, rel=0.03)
    # More bins lose less of the divergence.
    assert psi_20 < psi_50
    assert psi_20 == pytest.approx(delta**2, rel=0.06)


def test_identical_distributions_give_a_small_psi_and_uniform_p_values() -> None:
    # 400 pairs of samples from one distribution: the PSI averages its sampling noise,
    # (bins - 1)(1/n + 1/m), and the test rejects at 5 % about 5 % of the time, on
    # both the exact (scipy) and the asymptotic (sorted data) paths.
    rng = np.random.default_rng(11)
    for n in (400, 12_000):
        replicates = 400 if n < 10_000 else 150
        psis, p_values, noise = [], [], []
        for _ in range(replicates):
            frame_a = pd.DataFrame({"x": rng.gamma(2.0, 3.0, n)})
            frame_b = pd.DataFrame({"x": rng.gamma(2.0, 3.0, n)})
            result = trait_drift(frame_a, frame_b).get("x")
            psis.append(result.psi)
            p_values.append(result.p_value)
            noise.append(result.psi_noise)
        assert np.mean(psis) == pytest.approx(noise[0], rel=0.1)
        # n m / (n + m) PSI is close to a chi-square with bins - 1 degrees of freedom
        # (Yurdakul 2018): on 400 customers a PSI of 0.1 is not rare (a 99 % quantile
        # of 21.7 / 200 = 0.11), on 12,000 it is out of reach.
        scaled = np.array(psis) * n / 2
        assert np.quantile(scaled, 0.9) == pytest.approx(chi2(9).ppf(0.9), rel=0.15)
        if n > 10_000:
            assert max(psis) < 0.01
        rejected = np.mean(np.array(p_values) < 0.05)
        se = np.sqrt(0.05 * 0.95 / replicates)
        assert abs(rejected - 0.05) < 3.5 * se
        # Roughly uniform: each quarter of [0, 1] holds about a quarter of the p-values.
        quarters = np.histogram(p_values, bins=4, range=(0, 1))[0] / replicates
        assert np.abs(quarters - 0.25).max() < 4 * np.sqrt(0.25 * 0.75 / replicates)


def test_levels_follow_the_convention() -> None:
    assert [psi_level(v) for v in (0.0, 0.099, 0.1, 0.249, 0.25, 3.0)] == [
        "stable",
        "stable",
        "moderate",
        "moderate",
        "major",
        "major",
    ]


def test_a_halved_frequency_is_major_and_an_unchanged_trait_stable() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    reference = pd.DataFrame(
        {"frequency": rng.poisson(6, n), "basket": rng.gamma(4, 10, n), "vip": rng.random(n) < 0.1}
    )
    current = pd.DataFrame(
        {"frequency": rng.poisson(3, n), "basket": rng.gamma(4, 10, n), "vip": rng.random(n) < 0.1}
    )
    report = trait_drift(reference, current)
    assert report.drifted == ("frequency",)
    frequency = report.get("frequency")
    assert frequency.level == "major"
    assert frequency.relative_change == pytest.approx(-0.5, abs=0.02)
    assert frequency.reference_median == 6 and frequency.current_median == 3
    vip = report.get("vip")
    assert vip.kind == "categorical" and vip.level == "stable"
    assert {b.label for b in vip.bins} == {"True", "False", MISSING}
    # With 20,000 customers a side the test sees even the stable trait's noise only
    # at its nominal rate, but the alert never reads it.
    assert report.get("basket").level == "stable"


def test_constant_and_missing_traits() -> None:
    reference = pd.DataFrame({"c": np.full(100, 3.0), "m": np.r_[np.arange(90.0), [np.nan] * 10]})
    same = trait_drift(reference, reference)
    assert same.get("c").psi == 0.0 and same.get("m").psi == 0.0
    assert len(same.get("c").bins) == 3  # (-inf, 3], (3, inf), missing
    # The constant moves up; half of m goes missing: both are major.
    current = pd.DataFrame({"c": np.full(100, 4.0), "m": np.r_[np.arange(50.0), [np.nan] * 50]})
    moved = trait_drift(reference, current)
    assert moved.get("c").level == "major"
    assert np.isfinite(moved.get("c").psi)
    assert moved.get("m").current_missing == 0.5
    assert moved.get("m").level == "major"


def test_a_trait_without_any_value() -> None:
    reference = pd.DataFrame({"x": [np.nan] * 5, "y": pd.Series([None] * 5, dtype=object)})
    result = trait_drift(reference, reference)
    assert result.get("x").p_value is None and result.get("x").reference_mean is None
    assert result.get("y").p_value is None and result.get("y").psi == 0.0


def test_dates_are_skipped_and_nullable_types_read() -> None:
    reference = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "first_order_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
            "orders": pd.array([1, None, 3], dtype="Int64"),
            "channel": pd.array(["web", None, "web"], dtype="string"),
        }
    )
    report = trait_drift(reference, reference)
    assert [t.trait for t in report.traits] == ["orders", "channel"]
    assert "first_order_at" in report.skipped
    assert report.get("orders").kind == "numeric"
    assert report.get("orders").reference_missing == pytest.approx(1 / 3)
    assert report.get("channel").kind == "categorical"


def test_many_labels_are_pooled() -> None:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"city": rng.integers(0, 100, 5000).astype(str)})
    result = trait_drift(reference, reference).get("city")
    assert [b.label for b in result.bins][-2:] == ["(other)", MISSING]
    assert len(result.bins) == 32


def test_report_as_dict_and_frame() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": ["a", "b", "a", "b"]})
    report = trait_drift(frame, frame.assign(x=frame["x"] * 10))
    assert isinstance(report, DriftReport)
    document = report.as_dict()
    json.dumps(document, allow_nan=False)
    assert report.traits[0].bins[0].as_dict() == document["traits"][0]["bins"][0]
    assert document["drifted"] == ["x"]
    assert document["traits"][0]["bins"][0].keys() == {"label", "reference_share", "current_share"}
    table = report.to_frame()
    assert table["trait"].tolist() == ["x", "y"]
    assert table.loc[0, "relative_change"] == pytest.approx(9.0)


def test_population_stability_index_by_hand() -> None:
    # 50/50 -> 30/70: (0.3 - 0.5) ln(0.6) + (0.7 - 0.5) ln(1.4), before smoothing.
    by_hand = -0.2 * np.log(0.6) + 0.2 * np.log(1.4)
    assert population_stability_index(
        np.array([50, 50]), np.array([30, 70]), epsilon=1e-12
    ) == pytest.approx(by_hand, rel=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"bins": 1}, "bins"), ({"epsilon": 0.5}, "epsilon"), ({"traits": ["nope"]}, "no 'nope'")],
)
def test_bad_input(kwargs: dict, message: str) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(ModelDataError, match=message):
        trait_drift(frame, frame, **kwargs)
    with pytest.raises(ModelDataError, match="both hold"):
        trait_drift(frame, frame.iloc[:0])
