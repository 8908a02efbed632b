import numpy as np
import pytest

from cible.experiments import ExperimentError, holm_correction


def _holm_reference(p_values):
    """Holm (1979) step-down, written plainly: sorted p times (m - rank), running maximum."""
    p = np.asarray(p_values)
    m = len(p)
    order = np.argsort(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_equals_the_step_down_procedure_on_random_p_values(seed):
    rng = np.random.default_rng(seed)
    p_values = rng.beta(0.5, 3.0, size=rng.integers(2, 15))
    result = holm_correction(p_values, alpha=0.05)
    reference = _holm_reference(p_values)
    assert result.adjusted_p_values == pytest.approx(tuple(reference), abs=1e-12)
    assert result.rejected == tuple(bool(r) for r in reference <= 0.05)


def test_a_worked_example_by_hand():
    # Four segments: the smallest p-value is multiplied by 4, the next by 3, and so on,
    # each kept at least as large as the one before.
    result = holm_correction([0.01, 0.04, 0.03, 0.005])
    assert result.adjusted_p_values == pytest.approx((0.03, 0.06, 0.06, 0.02))
    assert result.rejected == (True, False, False, True)


def test_p_values_outside_zero_one_are_refused():
    with pytest.raises(ExperimentError, match="between 0 and 1"):
        holm_correction([0.2, 1.5])
    with pytest.raises(ExperimentError, match="at least one"):
        holm_correction([])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_statsmodels_multipletests(seed):
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(seed)
    p_values = np.round(rng.uniform(0, 0.2, 12), 3)  # rounded: ties included
    rejected, adjusted, _, _ = multipletests(p_values, alpha=0.05, method="holm")
    result = holm_correction(p_values, alpha=0.05)
    assert np.allclose(result.adjusted_p_values, adjusted, rtol=0, atol=1e-12)
    assert result.rejected == tuple(bool(r) for r in rejected)
