"""Deterministic assignment of customers to a campaign's arms.

A customer's arm is a function of ``(campaign id, customer id)`` only: the SHA-256
digest of the two (joined by a unit separator, so that no pair of ids runs into
another) gives a number in [0, 1) from its first 53 bits, and the number falls in one
arm by the cumulative shares of the arms in their fixed order (variants, then the
holdout). Nothing else enters: not the order customers are read in, not how many
there are, not the moment. So a customer keeps an arm as the target segment grows or
shrinks, anyone can recompute an assignment to audit it, and two campaigns assign
independently. SHA-256 is hashlib's; the rest is two numpy calls.

Examples
--------
>>> points = hash_points("spring-sale", ["c1", "c2", "c3"])
>>> bool(((points >= 0) & (points < 1)).all())
True
>>> arm_indices([0.1, 0.5, 0.95], [0.45, 0.45, 0.1]).tolist()
[0, 1, 2]
>>> assign_arms("spring-sale", ["c1"], [("a", 0.5), ("b", 0.5)]) == assign_arms(
...     "spring-sale", ["c0", "c1", "c2"], [("a", 0.5), ("b", 0.5)])[1:2]
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

#: Separates the campaign id from the customer id in the hashed text.
SEPARATOR = "\x1f"
_SCALE = float(2**53)


def hash_points(campaign_id: str, customer_ids: Sequence[str]) -> np.ndarray:
    """A number in [0, 1) per customer, from SHA-256 of (campaign id, customer id).

    Parameters
    ----------
    campaign_id : str
    customer_ids : sequence of str

    Returns
    -------
    numpy.ndarray
        float64, one per customer, in the order given.

    Examples
    --------
    >>> float(hash_points("c", ["x"])[0]) == float(hash_points("c", ["y", "x"])[1])
    True
    """
    prefix = f"{campaign_id}{SEPARATOR}"
    first = np.fromiter(
        (
            int.from_bytes(hashlib.sha256(f"{prefix}{c}".encode()).digest()[:8], "big") >> 11
            for c in customer_ids
        ),
        dtype=np.uint64,
        count=len(customer_ids),
    )
    # 53 bits: every value is exact in a float64, and the largest stays below 1.
    return first.astype(np.float64) / _SCALE


def arm_indices(points: Sequence[float] | np.ndarray, shares: Sequence[float]) -> np.ndarray:
    """The arm of each point: the first arm whose cumulative share exceeds it.

    Parameters
    ----------
    points : array-like of float in [0, 1)
    shares : sequence of float
        Each arm's share, in the fixed order, adding to 1.

    Returns
    -------
    numpy.ndarray
        int, the index of each point's arm.

    Examples
    --------
    >>> arm_indices([0.0, 0.2999, 0.3, 0.999], [0.3, 0.7]).tolist()
    [0, 0, 1, 1]
    """
    bounds = np.cumsum(np.asarray(shares, dtype=np.float64))
    # The last bound is 1 exactly, whatever the rounding of the sum: no point falls past it.
    bounds[-1] = 1.0
    return np.searchsorted(bounds, np.asarray(points, dtype=np.float64), side="right")


def assign_arms(
    campaign_id: str, customer_ids: Sequence[str], arms: Sequence[tuple[str, float]]
) -> list[str]:
    """The arm of each customer in a campaign whose ``arms`` are ``(name, share)`` pairs.

    Examples
    --------
    >>> assign_arms("c", ["a", "b"], [("only", 1.0)])
    ['only', 'only']
    """
    names = [name for name, _ in arms]
    found = arm_indices(hash_points(campaign_id, customer_ids), [share for _, share in arms])
    return [names[i] for i in found.tolist()]
