"""Simulated customers for the experiment tests: vectorised, seeded, with known truth."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cible.experiments import ArmStats

FloatArray = npt.NDArray[np.float64]


def revenue(
    rng: np.random.Generator, shape: tuple[int, ...], buy_rate: float = 0.3, scale: float = 1.0
) -> FloatArray:
    """Zero-inflated lognormal revenue: most recipients buy nothing, a few spend a lot."""
    bought = rng.random(shape) < buy_rate
    return np.where(bought, scale * rng.lognormal(mean=3.0, sigma=1.0, size=shape), 0.0)


def arms(values: FloatArray) -> list[ArmStats]:
    """One `ArmStats` per row of a (experiments, customers) matrix."""
    n = values.shape[1]
    sums, squares = values.sum(axis=1), (values**2).sum(axis=1)
    return [ArmStats(n, float(s), float(q)) for s, q in zip(sums, squares, strict=True)]


def arms_with_covariate(values: FloatArray, covariate: FloatArray) -> list[ArmStats]:
    """One `ArmStats` with covariate sums per row of two (experiments, customers) matrices."""
    n = values.shape[1]
    sums = zip(
        values.sum(axis=1),
        (values**2).sum(axis=1),
        covariate.sum(axis=1),
        (covariate**2).sum(axis=1),
        (covariate * values).sum(axis=1),
        strict=True,
    )
    return [ArmStats(n, *(float(s) for s in row)) for row in sums]
