"""Assignment: a hash of campaign and customer only, stable, with the planned shares."""

from __future__ import annotations

import hashlib

import numpy as np

from cible.activation.campaign_assignment import arm_indices, assign_arms, hash_points
from cible.experiments.srm import check_sample_ratio

SHARES = [0.45, 0.45, 0.1]
IDS = [f"customer-{i}" for i in range(20_000)]


def test_points_are_sha256_of_campaign_and_customer() -> None:
    # Recomputed independently: the audit a reader would do by hand.
    digest = hashlib.sha256(b"spring\x1fcustomer-7").digest()
    expected = (int.from_bytes(digest[:8], "big") >> 11) / 2**53
    assert hash_points("spring", ["customer-7"])[0] == expected
    assert hash_points("spring", ["customer-7"])[0] != hash_points("summer", ["customer-7"])[0]


def test_assignment_is_deterministic_and_stable_as_the_segment_grows() -> None:
    arms = [("a", 0.45), ("b", 0.45), ("holdout", 0.1)]
    first = assign_arms("spring", IDS[:5_000], arms)
    assert first == assign_arms("spring", IDS[:5_000], arms)
    grown = list(reversed(IDS))  # more customers, read in another order
    by_customer = dict(zip(grown, assign_arms("spring", grown, arms), strict=True))
    assert [by_customer[c] for c in IDS[:5_000]] == first


def test_arm_bounds_follow_cumulative_shares() -> None:
    bounds = np.array([0.0, 0.45 - 1e-12, 0.45, 0.9 - 1e-12, 0.9, 1 - 2**-53])
    assert arm_indices(bounds, SHARES).tolist() == [0, 0, 1, 1, 2, 2]
    # shares that do not sum to 1 exactly in floating point still cover [0, 1)
    assert arm_indices([1 - 2**-53], [0.1] * 10).tolist() == [9]


def test_shares_over_20000_customers_pass_the_sample_ratio_check() -> None:
    counts = np.bincount(arm_indices(hash_points("spring", IDS), SHARES), minlength=3)
    check = check_sample_ratio(counts.tolist(), SHARES)
    assert not check.mismatch and check.p_value > 0.001
    assert np.allclose(counts / len(IDS), SHARES, atol=0.01)


def test_a_biased_hash_fails_the_sample_ratio_check() -> None:
    # A hash kept to its first hex digit: 16 buckets cannot make 45/45/10.
    coarse = np.floor(hash_points("spring", IDS) * 16) / 16
    counts = np.bincount(arm_indices(coarse, SHARES), minlength=3)
    assert check_sample_ratio(counts.tolist(), SHARES).mismatch


def test_two_campaigns_assign_independently() -> None:
    # With the campaign in the hash, one campaign's arm says nothing of another's:
    # the cross-tabulation of two 50/50 campaigns holds a quarter in each cell.
    first = arm_indices(hash_points("spring", IDS), [0.5, 0.5])
    second = arm_indices(hash_points("summer", IDS), [0.5, 0.5])
    cells = np.bincount(first * 2 + second, minlength=4)
    assert not check_sample_ratio(cells.tolist(), [0.25] * 4).mismatch
