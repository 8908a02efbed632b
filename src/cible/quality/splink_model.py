"""A probabilistic model of when two customer profiles belong to one person (Splink).

The model is Fellegi and Sunter's (1969), as Splink implements it: each compared
field falls into a level (exact, close, different, missing), and each level adds
``log2(m / u)`` to a pair's match weight, where ``m`` is how often true duplicates
fall into that level and ``u`` how often two random profiles do. ``u`` is counted on
random pairs, ``m`` learned by expectation maximisation on pairs that share an
e-mail address, then on pairs that share their names and birth date; exact
agreements on names and birth date are weighted by how rare the value is among
identities (term frequencies, :func:`identity_frequencies`), so that two
``Marie Martin`` count for less than two ``Honorine Vasseur``.

Compared fields: the two names, with swapped first and last names and a typo in
either recognised; birth date; and the whereabouts: e-mail, phone, postal code and
city as one comparison, since a person who moves changes them together (a move to
the next town still agrees on the department). Only pairs that agree on at
least one blocking key are scored: e-mail, phone, both names, a name and the birth
date, or the birth date and the postal code. That keeps a million profiles to tens
of millions of pairs instead of 5e11.

Splink runs on its own in-memory DuckDB, so that none of its working tables ever
reaches the workspace file; the connection is closed when a call returns.

Examples
--------
>>> matcher = ProfileMatcher(seed=3)
>>> matcher.seed, matcher.u_pairs
(3, 5000000.0)
>>> list(PROFILE_COLUMNS)[:3]
['unique_id', 'first_name', 'last_name']
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import ColumnExpression, DuckDBAPI, Linker, SettingsCreator, block_on
from splink.internals.exceptions import EMTrainingException

from cible.store.scratch import scratch_database

#: Columns :meth:`ProfileMatcher.fit` expects: ids, folded names (``names_sorted`` is
#: both names in alphabetical order), birth date, place, normalised e-mail and phone.
PROFILE_COLUMNS = (
    "unique_id",
    "first_name",
    "last_name",
    "names_sorted",
    "birth_date",
    "postal_code",
    "city",
    "email",
    "phone",
)

#: Smallest m probability of a level: a disagreement that one duplicate in a thousand
#: shows costs at most about 10 of match weight.
M_FLOOR = 1e-3
#: Comparisons that say who a person is, as opposed to where they live and how to
#: reach them: the deterministic rules ask them whether a shared contact is one person.
PROFILE_COMPARISONS = ("names", "birth_date")
#: Columns whose exact agreements weigh by rarity (Splink's term frequencies).
TF_COLUMNS = ("names_sorted", "first_name", "last_name", "birth_date")
#: What tells one person from another when counting how common a value is.
IDENTITY = ("names_sorted", "birth_date")
# Pairs scored by the model: each rule is a key both profiles share.
_BLOCKING = (
    ("email",),
    ("phone",),
    ("names_sorted",),
    ("last_name", "birth_date"),
    ("first_name", "birth_date"),
    ("birth_date", "postal_code"),
)


class ProfileMatcher:
    """Scores pairs of customer profiles with a Fellegi-Sunter model trained by Splink.

    Parameters
    ----------
    u_pairs : float
        Random pairs drawn to estimate how often fields agree by chance.
    seed : int
        Seed of that draw: the same profiles always give the same model.
    encrypted : bool
        The workspace is encrypted: what Splink's database spills to disk while it
        works (the profiles) is encrypted too (:mod:`cible.store.scratch`).
    memory_limit, threads : optional
        The workspace's ``[engine]`` limits, held by Splink's database too: matching
        a large base spills beyond ``memory_limit`` instead of taking the machine.

    Attributes
    ----------
    model_ : dict
        The trained Splink model (settings with every m and u probability), as
        Splink saves it to JSON.
    match_weights_ : pandas.DataFrame
        One row per comparison level: ``comparison``, ``level``, ``m``, ``u`` and
        ``match_weight`` (``log2(m / u)``), for reading what the model learned.

    Examples
    --------
    >>> ProfileMatcher(u_pairs=1e6).u_pairs
    1000000.0
    """

    def __init__(
        self,
        *,
        u_pairs: float = 5e6,
        seed: int = 0,
        encrypted: bool = False,
        memory_limit: str | None = None,
        threads: int | None = None,
    ) -> None:
        self.u_pairs = u_pairs
        self.seed = seed
        self.encrypted = encrypted
        self.memory_limit = memory_limit
        self.threads = threads

    def _scratch(self) -> dict[str, Any]:
        limits = {"memory_limit": self.memory_limit, "threads": self.threads}
        return {"encrypted": self.encrypted, "config": {k: str(v) for k, v in limits.items() if v}}

    def fit(self, profiles: pa.Table) -> ProfileMatcher:
        """Estimate the model on ``profiles`` (columns :data:`PROFILE_COLUMNS`).

        Raises
        ------
        splink.internals.exceptions.EMTrainingException
            When no two profiles share an e-mail address: there is nothing to learn from.
        """
        _check_columns(profiles)
        with _linker(profiles, _settings(), **self._scratch()) as linker:
            training = linker.training
            training.estimate_probability_two_random_records_match(
                [block_on("email"), block_on("phone")], recall=0.8
            )
            training.estimate_u_using_random_sampling(max_pairs=self.u_pairs, seed=self.seed)
            # Shared e-mails teach the names and birth date; shared names and birth
            # date then teach the whereabouts (e-mail, phone and place).
            training.estimate_parameters_using_expectation_maximisation(block_on("email"))
            # Without such a pair, the whereabouts keep Splink's default m probabilities.
            with suppress(EMTrainingException):
                training.estimate_parameters_using_expectation_maximisation(
                    block_on("names_sorted", "birth_date")
                )
            self.model_ = _floor_m(linker.misc.save_model_to_json())
        self.match_weights_ = _match_weights(self.model_)
        return self

    def predict_pairs(self, profiles: pa.Table, min_match_weight: float) -> pd.DataFrame:
        """Pairs of ``profiles`` scored at ``min_match_weight`` or more, and contact pairs.

        Scored are the pairs sharing a blocking key at ``min_match_weight`` or more,
        and every pair sharing an e-mail address or a phone number whatever its
        weight, so that the deterministic rules can weigh the rest of the profile.

        Returns
        -------
        pandas.DataFrame
            ``unique_id_l, unique_id_r, match_weight, profile_weight``, one row per
            unordered pair. ``profile_weight`` is what the names and birth date alone
            say, without the prior or the whereabouts (see :data:`PROFILE_COMPARISONS`).
        """
        if not hasattr(self, "model_"):
            raise RuntimeError("ProfileMatcher.predict_pairs called before fit")
        _check_columns(profiles)
        model = {**self.model_, "retain_intermediate_calculation_columns": True}
        contacts = {
            **model,
            "blocking_rules_to_generate_predictions": [
                block_on(key).get_blocking_rule("duckdb").as_dict()  # type: ignore[no-untyped-call]
                for key in ("email", "phone")
            ],
        }
        frames = []
        for settings, threshold in ((model, min_match_weight), (contacts, None)):
            with _linker(profiles, settings, **self._scratch()) as linker:
                scored = linker.inference.predict(
                    threshold_match_weight=threshold, warning_mode="never"
                )
                frames.append(_weights(scored.as_pandas_dataframe()))  # type: ignore[no-untyped-call]
        both = pd.concat(frames, ignore_index=True)
        return both.drop_duplicates(["unique_id_l", "unique_id_r"], ignore_index=True)


def _weights(frame: pd.DataFrame) -> pd.DataFrame:
    """The pairs of a Splink prediction with their match weight and profile weight."""
    # Splink writes each comparison's weight (mw_) and, for a term frequency level,
    # its adjustment (mw_tf_adj_); a null adjustment is none.
    profile = np.zeros(len(frame))
    for comparison in PROFILE_COMPARISONS:
        profile += frame[f"mw_{comparison}"].to_numpy(dtype=float)
        adjustment = f"mw_tf_adj_{comparison}"
        if adjustment in frame:
            profile += np.nan_to_num(frame[adjustment].to_numpy(dtype=float))
    return pd.DataFrame(
        {
            "unique_id_l": frame["unique_id_l"].to_numpy(),
            "unique_id_r": frame["unique_id_r"].to_numpy(),
            "match_weight": frame["match_weight"].to_numpy(dtype=float),
            "profile_weight": profile,
        }
    )


def identity_frequencies(profiles: pa.Table, column: str) -> pa.Table:
    """How common each value of ``column`` is among identities, not profiles.

    An identity is a distinct pair of names and birth date. Counted per profile, a
    person's own second profile makes their name look twice as common as it is, and
    the match of their two profiles weighs a point less; counted per identity, the
    copies of one person count once.

    Returns
    -------
    pyarrow.Table
        ``column`` and ``tf_<column>``, the share of identities holding the value, as
        Splink's term frequency tables have them.

    Examples
    --------
    >>> profiles = pa.table(
    ...     {"names_sorted": ["ann bo", "ann bo", "cy di"], "birth_date": [1, 1, 2]}
    ... )
    >>> identity_frequencies(profiles, "names_sorted").to_pydict()
    {'names_sorted': ['ann bo', 'cy di'], 'tf_names_sorted': [0.5, 0.5]}
    """
    keys = sorted({column, *IDENTITY})
    identities = profiles.select(keys).group_by(keys, use_threads=False).aggregate([])
    counts = identities.group_by([column], use_threads=False).aggregate([([], "count_all")])
    counts = counts.filter(pc.is_valid(counts[column]))
    share = pc.divide(
        counts["count_all"].cast(pa.float64()), float(pc.sum(counts["count_all"]).as_py() or 1)
    )
    return pa.table({column: counts[column], f"tf_{column}": share})


def _check_columns(profiles: pa.Table) -> None:
    missing = [c for c in PROFILE_COLUMNS if c not in profiles.column_names]
    if missing:
        raise ValueError(f"profiles lack the columns {missing}")


def _settings() -> SettingsCreator:
    names = cl.CustomComparison(
        output_column_name="names",
        comparison_description="First and last names, swaps and typos included",
        comparison_levels=[
            cll.And(cll.NullLevel("first_name"), cll.NullLevel("last_name")),
            cll.ExactMatchLevel("names_sorted").configure(tf_adjustment_column="names_sorted"),
            cll.And(
                cll.JaroWinklerLevel("first_name", 0.92), cll.JaroWinklerLevel("last_name", 0.92)
            ),
            # Swapped names with a typo in one of them.
            cll.JaroWinklerLevel("names_sorted", 0.92),
            cll.And(
                cll.JaroWinklerLevel("first_name", 0.8), cll.JaroWinklerLevel("last_name", 0.8)
            ),
            cll.ExactMatchLevel("last_name").configure(tf_adjustment_column="last_name"),
            cll.ExactMatchLevel("first_name").configure(tf_adjustment_column="first_name"),
            cll.ElseLevel(),
        ],
    )
    # Where a person lives and how to reach them change together: a person who moves
    # often registers again with a new address, e-mail and phone at once. Compared
    # one by one, the three changes would count as three independent pieces of
    # evidence against the match, and the names and birth date of a mover could not
    # outweigh them; one comparison learns how often they change together.
    # (Postal code and city say the same thing twice, so they are one field here.)
    no_contact = cll.And(cll.NullLevel("email"), cll.NullLevel("phone"))
    same_place = cll.And(cll.ExactMatchLevel("postal_code"), cll.ExactMatchLevel("city"))
    near = cll.Or(
        cll.ExactMatchLevel("postal_code"),
        cll.ExactMatchLevel("city"),
        cll.ExactMatchLevel(ColumnExpression("postal_code").substr(1, 2)),
    )
    whereabouts = cl.CustomComparison(
        output_column_name="whereabouts",
        comparison_description="E-mail, phone and place",
        comparison_levels=[
            cll.And(no_contact, cll.And(cll.NullLevel("postal_code"), cll.NullLevel("city"))),
            cll.And(cll.ExactMatchLevel("email"), cll.ExactMatchLevel("phone")).configure(
                label_for_charts="Same e-mail and phone"
            ),
            cll.ExactMatchLevel("email"),
            cll.ExactMatchLevel("phone"),
            cll.And(same_place, no_contact).configure(
                label_for_charts="Same place, no contact to compare"
            ),
            same_place.configure(label_for_charts="Same place, other contacts"),
            near.configure(label_for_charts="Same postal code, city or department"),
            # Made only of null tests, Splink would take it for the null level.
            cll.And(no_contact).configure(
                label_for_charts="Elsewhere, no contact to compare", is_null_level=False
            ),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            names,
            cl.DateOfBirthComparison("birth_date", input_is_string=False).configure(
                term_frequency_adjustments=True
            ),
            whereabouts,
        ],
        blocking_rules_to_generate_predictions=[block_on(*keys) for keys in _BLOCKING],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


@contextmanager
def _linker(
    profiles: pa.Table,
    settings: SettingsCreator | dict[str, Any],
    *,
    encrypted: bool,
    config: dict[str, str],
) -> Iterator[Linker]:
    """A Splink linker on a private in-memory DuckDB, closed on exit."""
    with scratch_database(encrypted=encrypted, config=config) as con:
        yield from _linker_on(DuckDBAPI(con), profiles, settings)


def _linker_on(
    api: DuckDBAPI, profiles: pa.Table, settings: SettingsCreator | dict[str, Any]
) -> Iterator[Linker]:
    # Splink reports every training step at WARNING level; Cible reports its own
    # progress, so those messages are held back while it runs.
    splink_logger = logging.getLogger("splink")
    level = splink_logger.level
    splink_logger.setLevel(logging.ERROR)
    try:
        frame = api.register(profiles, dataset_display_name="profiles")
        linker = Linker(frame, settings, log_level=None)
        for column in TF_COLUMNS:
            table = api.register(identity_frequencies(profiles, column))
            linker.table_management.register_term_frequency_lookup(table, column)
        yield linker
    finally:
        splink_logger.setLevel(level)


def _floor_m(model: dict[str, Any]) -> dict[str, Any]:
    """``model`` with no m probability below :data:`M_FLOOR`.

    Trained on clean pairs, expectation maximisation drives the m of a level it sees
    rarely among duplicates to 1e-70, and Splink gives a level it never sees 1e-6:
    either lets that one field veto any match. In a trained comparison, a level left
    without m is one the duplicates never reached either, so it gets the floor too
    rather than Splink's generic default; an untrained comparison keeps the defaults.
    """
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        if not any(isinstance(lv.get("m_probability"), float) for lv in levels):
            continue
        for level in levels:
            m = level.get("m_probability")
            if not isinstance(m, float) or m < M_FLOOR:
                level["m_probability"] = M_FLOOR
    return model


def _match_weights(model: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            # Splink writes a sentence instead of a number for an unobserved level.
            m, u = (level.get(k) for k in ("m_probability", "u_probability"))
            m = m if isinstance(m, float) else math.nan
            u = u if isinstance(u, float) else math.nan
            rows.append(
                {
                    "comparison": comparison["output_column_name"],
                    "level": level.get("label_for_charts", level["sql_condition"]),
                    "m": m,
                    "u": u,
                    "match_weight": math.log2(m / u) if m > 0 and u > 0 else math.nan,
                }
            )
    return pd.DataFrame(rows)
