"""Performance drift against scikit-learn, brute-force DeLong and simulations with known truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import brier_score_loss, roc_auc_score

from cible.models.errors import ModelDataError
from cible.models.model_card import ModelCard
from cible.models.performance_drift import (
    calibration_slope,
    delong_se,
    hanley_mcneil_se,
    performance_drift,
)


def _card(auc: float, rows: int = 20_000, churn_rate: float = 0.3) -> ModelCard:
    return ModelCard(
        model="churn",
        created_at="2025-01-01T00:00:00+00:00",
        parameters={},
        data={"evaluation": {"rows": rows, "churn_rate": churn_rate}},
        features=[],
        feature_importance=[],
        metrics={"model": {"roc_auc": auc, "brier": 0.18, "mean_risk": churn_rate}},
        library_versions={},
    )


def _binormal(
    n: int, separation: float, rng: np.random.Generator, rate: float = 0.3
) -> tuple[np.ndarray, np.ndarray]:
    """Churners' latent score N(d, 1), stayers' N(0, 1): AUC = Phi(d / sqrt 2).

    The risk is the exact posterior probability of churn given the score, so it is
    calibrated: logit = log(rate / (1 - rate)) + d x - d^2 / 2.
    """
    label = (rng.random(n) < rate).astype(np.int64)
    x = rng.normal(np.where(label == 1, separation, 0.0), 1.0)
    logit = np.log(rate / (1 - rate)) + separation * x - separation**2 / 2
    return label, 1 / (1 + np.exp(-logit))


def _delong_brute_force(label: np.ndarray, score: np.ndarray) -> float:
    """DeLong (1988) from its definition: the pairwise comparison matrix."""
    positives, negatives = score[label == 1], score[label == 0]
    psi = (positives[:, None] > negatives[None, :]) + 0.5 * (
        positives[:, None] == negatives[None, :]
    )
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return float(np.sqrt(v10.var(ddof=1) / v10.size + v01.var(ddof=1) / v01.size))


@pytest.mark.parametrize("seed", range(5))
def test_auc_and_brier_equal_scikit_learn_and_delong_its_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    label, risk = _binormal(800, 1.0, rng)
    # Rounded risks tie: midranks must count ties as half, as the definition does.
    risk = np.round(risk, 2)
    result = performance_drift(_card(0.8), label, risk)
    assert result.auc == pytest.approx(roc_auc_score(label, risk), rel=1e-12)
    assert result.brier == pytest.approx(brier_score_loss(label, risk), rel=1e-12)
    assert result.auc_se == pytest.approx(_delong_brute_force(label, risk), rel=1e-10)
    assert delong_se(label, risk) == result.auc_se


def test_auc_and_its_standard_errors_match_the_truth_by_simulation() -> None:
    # 400 periods of 2,000 customers with a known AUC: the mean AUC is the truth, and
    # both standard errors are the spread of the AUCs across periods.
    rng = np.random.default_rng(1)
    separation = 1.2
    truth = norm.cdf(separation / np.sqrt(2))
    aucs, ses = [], []
    for _ in range(400):
        label, risk = _binormal(2_000, separation, rng)
        aucs.append(roc_auc_score(label, risk))
        ses.append(delong_se(label, risk))
    spread = np.std(aucs, ddof=1)
    assert np.mean(aucs) == pytest.approx(truth, abs=3 * spread / np.sqrt(400))
    assert np.mean(ses) == pytest.approx(spread, rel=0.1)
    assert hanley_mcneil_se(truth, 600, 1_400) == pytest.approx(spread, rel=0.15)


def test_a_model_as_good_as_its_card_is_rarely_obsolete_and_a_worse_one_is() -> None:
    rng = np.random.default_rng(2)
    separation = 1.2
    card = _card(float(norm.cdf(separation / np.sqrt(2))))  # 0.80
    same = [
        performance_drift(card, *_binormal(3_000, separation, rng)).obsolete for _ in range(200)
    ]
    assert np.mean(same) <= 0.05
    # AUC 0.70: a drop of 0.10, well beyond 0.05 with 3,000 customers.
    worse = [performance_drift(card, *_binormal(3_000, 0.74, rng)) for _ in range(50)]
    assert all(r.obsolete for r in worse)
    assert np.mean([r.auc_drop for r in worse]) == pytest.approx(0.1, abs=0.01)
    # AUC 0.77: a drop under the tolerance is never obsolete.
    slight = [performance_drift(card, *_binormal(3_000, 1.04, rng)).obsolete for _ in range(50)]
    assert not any(slight)


def test_calibration_slope_recovers_a_known_overconfidence() -> None:
    # The model doubles the true logit: its risks are too extreme, the slope is 1/2.
    rng = np.random.default_rng(3)
    eta = rng.normal(-0.5, 1.0, 40_000)
    label = (rng.random(eta.size) < 1 / (1 + np.exp(-eta))).astype(int)
    slope, se = calibration_slope(label, 1 / (1 + np.exp(-2 * eta)))
    assert slope == pytest.approx(0.5, abs=3 * se)
    result = performance_drift(_card(0.7), label, 1 / (1 + np.exp(-2 * eta)))
    assert result.recalibrate
    calibrated = performance_drift(_card(0.7), label, 1 / (1 + np.exp(-eta)))
    assert calibrated.calibration_slope == pytest.approx(
        1.0, abs=3 * calibrated.calibration_slope_se
    )
    assert calibrated.observed_over_expected == pytest.approx(1.0, abs=0.03)
    assert not calibrated.recalibrate


def test_risks_that_underestimate_churn_need_recalibrating() -> None:
    # Churn rose from 30 % to 45 % while the risks stayed: calibration in the large fails.
    rng = np.random.default_rng(4)
    label, risk = _binormal(5_000, 1.2, rng, rate=0.45)
    shifted = 1 / (
        1 + np.exp(-(np.log(risk / (1 - risk)) - np.log(0.45 / 0.55) + np.log(0.3 / 0.7)))
    )
    result = performance_drift(_card(0.8), label, shifted)
    assert result.observed_over_expected > 1.25
    assert result.recalibrate
    assert not result.obsolete  # the ranking is as good as ever


def test_as_dict_and_a_card_without_its_evaluation_size() -> None:
    rng = np.random.default_rng(5)
    label, risk = _binormal(500, 1.0, rng)
    card = ModelCard(
        model="churn",
        created_at="2025-01-01T00:00:00+00:00",
        parameters={},
        data={},
        features=[],
        feature_importance=[],
        metrics={"model": {"roc_auc": 0.75}},
        library_versions={},
    )
    result = performance_drift(card, label, risk)
    assert result.card_auc_se is None and result.card_brier is None
    assert result.as_dict()["rows"] == 500


@pytest.mark.parametrize(
    ("label", "risk", "message"),
    [
        ([0, 1, 0], [0.1, 0.2], "differ in shape"),
        ([0, 0, 0, 0], [0.1, 0.2, 0.3, 0.4], "two churners"),
        ([0, 1, 0, 1], [0.1, 1.2, 0.3, 0.4], "between 0 and 1"),
        ([0, 2, 0, 1], [0.1, 0.2, 0.3, 0.4], "0 .stayed."),
    ],
)
def test_bad_input(label: list[int], risk: list[float], message: str) -> None:
    with pytest.raises(ModelDataError, match=message):
        performance_drift(_card(0.8), label, risk)


def test_a_card_never_evaluated_is_refused() -> None:
    card = ModelCard("churn", "2025-01-01", {}, {}, [], [], {}, {})
    with pytest.raises(ModelDataError, match="no evaluation metrics"):
        performance_drift(card, [0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8])
