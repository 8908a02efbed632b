"""The error an experiment analysis raises on purpose; its message names what is wrong."""

from __future__ import annotations

from cible.domain.errors import CibleError


class ExperimentError(CibleError):
    """Statistics, shares or cells an analysis cannot use (named in the message)."""


def check_alpha(alpha: float) -> None:
    """Refuse a significance level outside (0, 1).

    Examples
    --------
    >>> check_alpha(0.05)
    >>> check_alpha(5)
    Traceback (most recent call last):
    ...
    cible.experiments.errors.ExperimentError: alpha must lie strictly between 0 and 1 (got 5).
    """
    if not 0 < alpha < 1:
        raise ExperimentError(f"alpha must lie strictly between 0 and 1 (got {alpha}).")
