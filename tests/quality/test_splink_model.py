"""The Splink model's parameters against what the known truth says they should be.

m (how often true duplicates agree) is counted on the true pairs of a generated set;
u (how often two random profiles agree) is counted exactly from value frequencies.
"""

from __future__ import annotations

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from cible.demo.duplicates import DuplicateSet, known_duplicates
from cible.quality.matching import match_keys, matching_fields
from cible.quality.splink_model import (
    M_FLOOR,
    PROFILE_COLUMNS,
    ProfileMatcher,
    identity_frequencies,
)

LEVELS = {
    "email": ("whereabouts", "Exact match on email"),
    "names_sorted": ("names", "Exact match on names_sorted"),
    "birth_date": ("birth_date", "Exact match on date of birth"),
}


@pytest.fixture(scope="module")
def fitted() -> tuple[DuplicateSet, pa.Table, ProfileMatcher]:
    truth = known_duplicates(5000, seed=4)
    fields = matching_fields(ibis.memtable(truth.profiles.replace({"": None}))).to_pyarrow()
    keys = match_keys(fields, phone_region="FR", max_profiles_per_key=3)
    return truth, keys, ProfileMatcher(seed=1).fit(keys)


def weight(matcher: ProfileMatcher, comparison: str, level: str, column: str) -> float:
    table = matcher.match_weights_
    row = table[(table["comparison"] == comparison) & (table["level"] == level)]
    assert len(row) == 1, (comparison, level)
    return float(row[column].iloc[0])


@pytest.mark.parametrize("column", ["names_sorted", "birth_date"])
def test_m_probabilities_match_the_true_pairs(
    fitted: tuple[DuplicateSet, pa.Table, ProfileMatcher], column: str
):
    truth, keys, matcher = fitted
    frame = keys.to_pandas().set_index("unique_id")
    left = frame.loc[truth.pairs["customer_id"]]
    right = frame.loc[truth.pairs["duplicate_of"]]
    # The names and birth date are learned from the pairs that share an e-mail address.
    taught = (left["email"].to_numpy() == right["email"].to_numpy()) & left["email"].notna()
    left, right = left[column].to_numpy()[taught], right[column].to_numpy()[taught]
    both = pd.notna(left) & pd.notna(right)
    expected = (left[both] == right[both]).mean()
    learned = weight(matcher, *LEVELS[column], "m")
    assert learned == pytest.approx(expected, abs=0.03)


def test_m_of_the_same_contacts_matches_the_true_pairs(
    fitted: tuple[DuplicateSet, pa.Table, ProfileMatcher],
):
    truth, keys, matcher = fitted
    frame = keys.to_pandas().set_index("unique_id")
    left = frame.loc[truth.pairs["customer_id"]].reset_index()
    right = frame.loc[truth.pairs["duplicate_of"]].reset_index()
    # Contacts and place are learned from the pairs that share names and birth date.
    taught = (left["names_sorted"] == right["names_sorted"]) & (
        left["birth_date"] == right["birth_date"]
    )
    left, right = left[taught], right[taught]
    comparable = [left[c].notna() & right[c].notna() for c in ("email", "phone", "postal_code")]
    # Pairs with nothing to compare fall in the null level, which has no m.
    counted = comparable[0] | comparable[1] | comparable[2]
    same = comparable[0] & comparable[1] & (left["email"] == right["email"])
    same &= left["phone"] == right["phone"]
    expected = same[counted].mean()
    learned = weight(matcher, "whereabouts", "Same e-mail and phone", "m")
    assert learned == pytest.approx(expected, abs=0.03)


@pytest.mark.parametrize("column", ["names_sorted", "birth_date", "email"])
def test_u_probabilities_match_value_frequencies(
    fitted: tuple[DuplicateSet, pa.Table, ProfileMatcher], column: str
):
    _, keys, matcher = fitted
    frame = keys.to_pandas()
    values = frame[column].dropna()

    def agreeing(counts: pd.Series) -> float:
        return float((counts * (counts - 1)).sum()) / (len(values) * (len(values) - 1))

    expected = agreeing(values.value_counts())
    if column == "email":
        # Pairs sharing the phone as well fall in the level above.
        expected -= agreeing(
            frame.dropna(subset=["email", "phone"]).value_counts(["email", "phone"])
        )
    # Random pairs are drawn by sampling profiles: a lumpy column (many customers
    # born on one day) is estimated less closely.
    assert weight(matcher, *LEVELS[column], "u") == pytest.approx(expected, rel=0.3)


def test_disagreement_weighs_against_and_no_level_vetoes(
    fitted: tuple[DuplicateSet, pa.Table, ProfileMatcher],
):
    _, _, matcher = fitted
    table = matcher.match_weights_
    assert (table["m"] >= M_FLOOR).all()
    for comparison in ("names", "birth_date", "whereabouts"):
        levels = table[table["comparison"] == comparison]
        assert levels["match_weight"].iloc[0] > 5
        assert levels["match_weight"].iloc[-1] < -2


def test_predicted_pairs_are_unordered_above_the_threshold_or_share_a_contact(
    fitted: tuple[DuplicateSet, pa.Table, ProfileMatcher],
):
    _, keys, matcher = fitted
    pairs = matcher.predict_pairs(keys, 4.0)
    assert list(pairs.columns) == ["unique_id_l", "unique_id_r", "match_weight", "profile_weight"]
    assert (pairs["unique_id_l"] != pairs["unique_id_r"]).all()
    ordered = pairs[["unique_id_l", "unique_id_r"]].apply(sorted, axis=1, result_type="expand")
    assert not ordered.duplicated().any()
    frame = keys.to_pandas().set_index("unique_id")
    left, right = frame.loc[pairs["unique_id_l"]], frame.loc[pairs["unique_id_r"]]
    shared = [
        (left[c].to_numpy() == right[c].to_numpy()) & left[c].notna().to_numpy()
        for c in ("email", "phone")
    ]
    below = (pairs["match_weight"] < 4.0).to_numpy()
    assert below.any()
    assert (shared[0] | shared[1])[below].all()


def test_every_pair_sharing_a_contact_is_scored_whatever_its_weight(
    fitted: tuple[DuplicateSet, pa.Table, ProfileMatcher],
):
    _, keys, matcher = fitted
    # Reference: the pairs sharing an e-mail or phone, counted with pandas.
    frame = keys.to_pandas()
    expected = set()
    for column in ("email", "phone"):
        held = frame.dropna(subset=[column])
        both = held.merge(held, on=column)
        expected |= {
            (min(a, b), max(a, b))
            for a, b in zip(both["unique_id_x"], both["unique_id_y"], strict=True)
            if a != b
        }
    pairs = matcher.predict_pairs(keys, 1000.0)
    ids = zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True)
    found = {(min(a, b), max(a, b)) for a, b in ids}
    assert found == expected
    # The profile weight leaves out the prior and the whereabouts: for a pair
    # sharing its names and birth date, it is far above the match weight's
    # contribution of the prior.
    assert pairs["profile_weight"].notna().all()
    same = frame.set_index("unique_id")
    left, right = same.loc[pairs["unique_id_l"]], same.loc[pairs["unique_id_r"]]
    alike = (left["names_sorted"].to_numpy() == right["names_sorted"].to_numpy()) & (
        left["birth_date"].to_numpy() == right["birth_date"].to_numpy()
    )
    assert (pairs["profile_weight"][alike] > 10).all()


def test_a_person_s_own_profiles_count_once_in_term_frequencies():
    profiles = pa.table(
        {
            "names_sorted": ["ann bo", "ann bo", "ann bo", "cy di", None],
            "birth_date": [1, 1, 2, 3, 4],
            "first_name": ["ann", "ann", "ann", "cy", None],
        }
    )
    # Two profiles of one Ann Bo (same birth date), another Ann Bo, one Cy Di.
    names = identity_frequencies(profiles, "names_sorted").to_pydict()
    assert dict(zip(names["names_sorted"], names["tf_names_sorted"], strict=True)) == {
        "ann bo": pytest.approx(2 / 3),
        "cy di": pytest.approx(1 / 3),
    }
    births = identity_frequencies(profiles, "birth_date").to_pydict()
    assert dict(zip(births["birth_date"], births["tf_birth_date"], strict=True)) == {
        1: pytest.approx(1 / 4),
        2: pytest.approx(1 / 4),
        3: pytest.approx(1 / 4),
        4: pytest.approx(1 / 4),
    }
    assert set(identity_frequencies(profiles, "first_name")["first_name"].to_pylist()) == {
        "ann",
        "cy",
    }


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="lack the columns"):
        ProfileMatcher().fit(pa.table({"unique_id": ["a"]}))
    with pytest.raises(RuntimeError, match="before fit"):
        ProfileMatcher().predict_pairs(pa.table({c: ["a"] for c in PROFILE_COLUMNS}), 0.0)
