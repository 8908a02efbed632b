"""Maximum likelihood on log-parameters: minimise, polish, Hessian, standard errors.

Both CLV models hand this module a function returning the negative log-likelihood
and its analytic gradient with respect to the log of each parameter. Working on the
log scale keeps every parameter positive without bounds, and makes the problem
invariant to the time unit (changing weeks to days only shifts ``log alpha``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from cible.clv.errors import ModelError

FloatArray = npt.NDArray[np.float64]
#: ``log_params -> (negative log-likelihood, gradient)``, both summed over customers.
Objective = Callable[[FloatArray], tuple[float, FloatArray]]

#: Largest absolute log-parameter accepted (e^20 is about 5e8): beyond it the data
#: cannot tell the parameter from infinity or zero, so the "optimum" means nothing.
MAX_ABS_LOG_PARAM = 20.0
#: Largest gradient (per customer, log scale) still called a maximum.
GRADIENT_TOLERANCE = 1e-5
_HESSIAN_STEP = 1e-5
#: Newton steps after BFGS; from where BFGS stops, two reach machine precision.
_NEWTON_STEPS = 4


@dataclass(frozen=True)
class Estimate:
    """Where the likelihood peaks: parameters, their standard errors, the objective."""

    params: FloatArray
    standard_errors: FloatArray
    objective: float


def maximize_likelihood(
    objective: Objective,
    start: FloatArray,
    *,
    names: tuple[str, ...],
    total_weight: float,
    max_iter: int,
    model: str,
    hint: str,
) -> Estimate:
    """Minimise ``objective`` over log-parameters; raise `ModelError` when it fails.

    BFGS with the analytic gradient does the search, on the objective divided by the
    number of customers so that its tolerance means the same on 300 or 3,000,000
    customers. Newton steps with the finite-difference Hessian of the gradient then
    polish the optimum to machine precision, which BFGS alone stops short of; the
    last Hessian also gives the standard errors.
    """
    scale = 1.0 / total_weight

    def scaled(z: FloatArray) -> tuple[float, FloatArray]:
        value, gradient = objective(z)
        return value * scale, gradient * scale

    with np.errstate(all="ignore"):
        result = minimize(
            scaled,
            start,
            jac=True,
            method="BFGS",
            options={"maxiter": max_iter, "gtol": 1e-7},
        )
    z = np.asarray(result.x, dtype=np.float64)
    if result.status == 1 or not np.isfinite(result.fun):
        raise ModelError(_failure(model, "did not converge", hint))
    value, gradient = scaled(z)
    hessian = _hessian(lambda u: scaled(u)[1], z)
    for _ in range(_NEWTON_STEPS):
        step = _newton_step(hessian, gradient)
        if step is None or np.max(np.abs(step)) < 1e-10:
            break
        candidate = z - step
        new_value, new_gradient = scaled(candidate)
        if not np.isfinite(new_value) or new_value > value + 1e-12 * abs(value):
            break
        z, value, gradient = candidate, new_value, new_gradient
        hessian = _hessian(lambda u: scaled(u)[1], z)
    if not np.all(np.isfinite(gradient)) or np.max(np.abs(gradient)) > GRADIENT_TOLERANCE:
        raise ModelError(_failure(model, "did not converge", hint))
    runaway = [name for name, v in zip(names, z, strict=True) if abs(v) > MAX_ABS_LOG_PARAM]
    if runaway:
        raise ModelError(_failure(model, f"sent {', '.join(runaway)} to zero or infinity", hint))
    return Estimate(
        params=np.exp(z),
        standard_errors=_standard_errors(hessian / scale, np.exp(z), model),
        objective=float(value / scale),
    )


def _failure(model: str, what: str, hint: str) -> str:
    return f"The {model} fit {what}. {hint}"


def _hessian(gradient: Callable[[FloatArray], FloatArray], z: FloatArray) -> FloatArray:
    """Central differences of the analytic gradient, symmetrised."""
    size = z.size
    hessian = np.empty((size, size))
    for i in range(size):
        shift = np.zeros(size)
        shift[i] = _HESSIAN_STEP
        hessian[:, i] = (gradient(z + shift) - gradient(z - shift)) / (2 * _HESSIAN_STEP)
    return np.asarray(0.5 * (hessian + hessian.T), dtype=np.float64)


def _newton_step(hessian: FloatArray, gradient: FloatArray) -> FloatArray | None:
    """The Newton step, or None where the Hessian is not positive definite."""
    try:
        factor = np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        return None
    solved = np.linalg.solve(factor.T, np.linalg.solve(factor, gradient))
    return np.asarray(solved, dtype=np.float64)


def _standard_errors(hessian: FloatArray, params: FloatArray, model: str) -> FloatArray:
    """Delta method: se(theta) = theta * se(log theta), from the inverse Hessian."""
    try:
        covariance = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        covariance = np.full_like(hessian, np.nan)
    variances = np.diag(covariance)
    if not np.all(np.isfinite(variances) & (variances > 0)):
        warnings.warn(
            f"The {model} likelihood is flat in some direction at its maximum; "
            "standard errors that cannot be computed are NaN.",
            UserWarning,
            stacklevel=4,
        )
        variances = np.where(variances > 0, variances, np.nan)
    return np.asarray(params * np.sqrt(variances), dtype=np.float64)
