"""Finding the customer profiles that belong to one person.

Two kinds of evidence, one list of pairs:

* **deterministic**: two profiles with the same normalised e-mail address (trimmed,
  lower case) or the same phone number in E.164 form are one person, unless the
  rest of their profiles contradicts it (names and birth date alone, without the
  prior, weigh below ``deterministic_min_weight``). A key shared by more than
  ``max_profiles_per_key`` profiles (``contact@...``, a shop's phone) is a shared
  contact and proves nothing;
* **probabilistic**: the Splink model of :mod:`cible.quality.splink_model` scores
  pairs on names, birth date, place, e-mail and phone; pairs at or above
  ``min_match_weight`` match.

Accepted pairs are grouped by connected components (if A matches B and B matches C,
all three are one person). Each group carries its weakest pair's match weight and
the rules that linked it.

Examples
--------
>>> import pyarrow as pa
>>> fold_names(pa.array(["  Léa-Marie ", "O'NEIL", "", None])).to_pylist()
['leamarie', 'oneil', None, None]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from cible.domain.config import DedupeSection, EngineSection
from cible.domain.progress import Progress, reporter
from cible.quality.normalisation import normalise_column, normalise_phone
from cible.quality.splink_model import ProfileMatcher

EMAIL, PHONE, PROBABILISTIC = "deterministic-email", "deterministic-phone", "probabilistic"
#: Match rules, in the order a group's rules are listed.
RULES = (EMAIL, PHONE, PROBABILISTIC)
#: The probabilistic model learns from pairs sharing an e-mail address; with fewer
#: than this, only the deterministic rules apply.
MIN_TRAINING_PAIRS = 50
#: Steps :func:`find_duplicates` reports to its progress callback.
STEPS = 5


@dataclass(frozen=True)
class Matches:
    """Groups of profiles found to be one person.

    Attributes
    ----------
    members : pandas.DataFrame
        ``customer_id, group``: one row per profile in a group of two or more.
    groups : pandas.DataFrame
        ``group, size, match_weight, match_rule``: the weakest accepted pair's match
        weight and the rules that linked the group (``+``-separated).
    pairs : pandas.DataFrame
        ``customer_id_l, customer_id_r, match_weight, match_rule``: accepted pairs.
    profiles : int
        Profiles examined.
    model_trained : bool
        Whether the probabilistic model ran (see :data:`MIN_TRAINING_PAIRS`).
    """

    members: pd.DataFrame
    groups: pd.DataFrame
    pairs: pd.DataFrame
    profiles: int
    model_trained: bool


def matching_fields(customers: Any) -> Any:
    """The fields compared, from the ``customers`` Ibis table.

    E-mails are trimmed and lower-cased here, in the database; names, places and
    phones are folded in :func:`match_keys`.
    """
    email = customers.email.strip().lower()
    return customers.select(
        "customer_id",
        "first_name",
        "last_name",
        "birth_date",
        "postal_code",
        "city",
        "phone",
        email=ibis.ifelse(email == "", ibis.null("string"), email),
    )


def fold_names(values: pa.Array) -> pa.Array:
    """Lower case, no accents, letters only; empty gives null. Names compare on this."""
    text = pc.utf8_normalize(values, "NFKD")
    text = pc.replace_substring_regex(text, r"\p{Mn}", "")
    text = pc.replace_substring_regex(pc.utf8_lower(text), r"[^\p{L}]", "")
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def match_keys(fields: pa.Table, *, phone_region: str, max_profiles_per_key: int) -> pa.Table:
    """The columns the model compares, from :func:`matching_fields`.

    See :data:`cible.quality.splink_model.PROFILE_COLUMNS`.
    """
    first = fold_names(fields["first_name"].combine_chunks())
    last = fold_names(fields["last_name"].combine_chunks())
    low = pc.if_else(pc.less_equal(first, last), first, last)
    high = pc.if_else(pc.less_equal(first, last), last, first)
    postal = pc.utf8_upper(pc.utf8_trim_whitespace(fields["postal_code"].combine_chunks()))
    phones = normalise_column(
        fields["phone"].to_pandas(), functools.partial(normalise_phone, region=phone_region)
    )
    return pa.table(
        {
            "unique_id": fields["customer_id"],
            "first_name": first,
            "last_name": last,
            "names_sorted": pc.binary_join_element_wise(low, high, " "),
            "birth_date": fields["birth_date"].cast(pa.date32()),
            "postal_code": pc.if_else(pc.equal(postal, ""), pa.scalar(None, pa.string()), postal),
            "city": fold_names(fields["city"].combine_chunks()),
            "email": _rare(fields["email"].to_pandas(), max_profiles_per_key),
            "phone": _rare(phones, max_profiles_per_key),
        }
    )


def _rare(keys: pd.Series, most: int) -> pa.Array:
    """``keys`` with values held by more than ``most`` profiles set to null."""
    counts = keys.map(keys.value_counts())
    return pa.array(keys.where(counts <= most), pa.string(), from_pandas=True)


def find_duplicates(
    customers: Any,
    settings: DedupeSection,
    *,
    phone_region: str = "FR",
    seed: int = 0,
    encrypted: bool = False,
    engine: EngineSection | None = None,
    progress: Progress | None = None,
) -> Matches:
    """Group the profiles of ``customers`` (an Ibis table) that are one person.

    Parameters
    ----------
    settings : DedupeSection
        Thresholds and rules (``[dedupe]`` in ``cible.toml``).
    phone_region : str
        Region of phone numbers written without a country code.
    seed : int
        Seed of the model's random pairs.
    encrypted : bool
        The workspace is encrypted: the model's scratch files are encrypted too.
    engine : EngineSection, optional
        The workspace's ``[engine]`` limits, held by the model's scratch database too.
    progress : callable, optional
        ``progress(step, done, total)``.
    """
    report = reporter(progress)
    report("reading profiles", 0, STEPS)
    fields = matching_fields(customers).to_pyarrow()
    report("normalising contacts", 1, STEPS)
    keys = match_keys(
        fields, phone_region=phone_region, max_profiles_per_key=settings.max_profiles_per_key
    )
    report("training the model", 2, STEPS)
    scored = _shared_key_pairs(keys)
    trained = int(scored["email"].sum()) >= MIN_TRAINING_PAIRS
    if trained:
        limits = engine or EngineSection()
        matcher = ProfileMatcher(
            seed=seed,
            encrypted=encrypted,
            memory_limit=limits.memory_limit,
            threads=limits.threads,
        ).fit(keys)
        report("scoring pairs", 3, STEPS)
        scored = matcher.predict_pairs(keys, settings.min_match_weight)
    report("grouping", 4, STEPS)
    pairs = _accepted(scored, keys, settings)
    members, groups = _components(pairs)
    report("grouping", 5, STEPS)
    return Matches(members, groups, pairs, keys.num_rows, trained)


def _shared_key_pairs(keys: pa.Table) -> pd.DataFrame:
    """Pairs sharing an e-mail or phone, unscored (match weight NaN).

    A boolean ``email`` column says which share an e-mail address. With too few of
    them to train the model, only deterministic rules accept these pairs.
    """
    frame = keys.select(["unique_id", "email", "phone"]).to_pandas()
    found = []
    for key in ("email", "phone"):
        held = frame.dropna(subset=[key])
        both = held.merge(held, on=key, suffixes=("_l", "_r"))
        both = both[both["unique_id_l"] < both["unique_id_r"]]
        found.append(both[["unique_id_l", "unique_id_r"]].assign(email=key == "email"))
    pairs = pd.concat(found, ignore_index=True)
    pairs = pairs.sort_values("email").drop_duplicates(["unique_id_l", "unique_id_r"], keep="last")
    pairs["match_weight"] = pairs["profile_weight"] = np.nan
    unscored: pd.DataFrame = pairs.reset_index(drop=True)
    return unscored


def _accepted(scored: pd.DataFrame, keys: pa.Table, settings: DedupeSection) -> pd.DataFrame:
    ids = pd.Index(keys["unique_id"].to_pandas())
    left = ids.get_indexer(scored["unique_id_l"])
    right = ids.get_indexer(scored["unique_id_r"])
    rule = np.full(len(scored), PROBABILISTIC, dtype=object)
    for name, column, enabled in (
        (PHONE, "phone", settings.deterministic_phone),
        (EMAIL, "email", settings.deterministic_email),
    ):
        if enabled:
            values = keys[column].to_pandas().to_numpy()
            same = pd.notna(values[left]) & (values[left] == values[right])
            rule[same] = name
    weight = scored["match_weight"].to_numpy(dtype=float)
    deterministic = rule != PROBABILISTIC
    # What the names and birth date say, without the prior: the prior falls as the
    # file grows, and the guard must not turn against a shared contact with it. An
    # unscored deterministic pair (too few profiles for the model) has nothing
    # against it.
    profile = scored["profile_weight"].to_numpy(dtype=float)
    uncontradicted = np.isnan(profile) | (profile >= settings.deterministic_min_weight)
    keep = (deterministic & uncontradicted) | (weight >= settings.min_match_weight)
    pairs = pd.DataFrame(
        {
            "customer_id_l": scored["unique_id_l"].to_numpy()[keep],
            "customer_id_r": scored["unique_id_r"].to_numpy()[keep],
            "match_weight": weight[keep],
            "match_rule": rule[keep],
        }
    )
    return pairs.sort_values(["customer_id_l", "customer_id_r"], ignore_index=True)


def _components(pairs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    if pairs.empty:
        members = pd.DataFrame({"customer_id": pd.Series([], dtype=object), "group": []})
        groups = pd.DataFrame(columns=["group", "size", "match_weight", "match_rule"])
        return members.astype({"group": np.int64}), groups
    ids, codes = np.unique(
        np.concatenate([pairs["customer_id_l"], pairs["customer_id_r"]]), return_inverse=True
    )
    left, right = np.split(codes, 2)
    graph = coo_matrix((np.ones(left.size), (left, right)), shape=(ids.size, ids.size))
    _, label = connected_components(graph, directed=False)
    members = pd.DataFrame({"customer_id": ids, "group": label.astype(np.int64)})
    edges = pairs.assign(group=label[left].astype(np.int64))
    rank = {rule: position for position, rule in enumerate(RULES)}
    groups = edges.groupby("group").agg(
        match_weight=("match_weight", "min"),
        match_rule=("match_rule", lambda rules: "+".join(sorted(set(rules), key=rank.__getitem__))),
    )
    groups.insert(0, "size", members.groupby("group").size())
    return members, groups.reset_index()
