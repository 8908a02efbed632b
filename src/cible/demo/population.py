"""The customers of the synthetic retailer: who they are and when they were active.

Each customer gets a planted group (see :mod:`cible.demo.groups`), a French identity
(names from Faker's ``fr_FR`` lists drawn with numpy, an e-mail address built from the
name at a French provider, a phone number), a commune, declared interests, and the
window of time in which they buy and browse. Everything is drawn in vectorised
numpy and kept in one :class:`pandas.DataFrame`, one row per customer record.

Examples
--------
>>> import numpy as np
>>> from datetime import date
>>> from cible.demo.places import load_places
>>> from cible.demo.timeline import Period
>>> people = build_population(np.random.default_rng(0), 300, Period.ending(date(2025, 1, 1)),
...                           load_places())
>>> len(people), bool(people["email"].str.contains("@").mean() > 0.9)
(300, True)
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
from faker.providers.person.fr_FR import Provider as FrenchNames
from numpy.typing import NDArray

from cible.demo.groups import LAPSED, PROFILES, column
from cible.demo.places import Places
from cible.demo.textforms import join, pairs
from cible.demo.timeline import DAY, MONTH_DAYS, IntArray, Period, at_shopping_hour

GENDERS = ("female", "male", "other", "unknown")
_GENDER_P = (0.52, 0.45, 0.01, 0.02)
#: Declared interests, written pipe-separated in the ``interests`` attribute.
INTERESTS = (
    "sport",
    "cuisine",
    "high-tech",
    "mode",
    "voyage",
    "lecture",
    "jardinage",
    "bricolage",
    "musique",
    "cinéma",
    "beauté",
    "jeux vidéo",
    "décoration",
    "bien-être",
)
# Interests a group declares more often than the others (weight multipliers).
_INTEREST_BOOSTS = {
    "bargain_hunter": {"mode": 2.0, "beauté": 2.0, "cuisine": 1.5},
    "loyal_regular": {"cuisine": 3.0, "jardinage": 2.0, "lecture": 2.0, "décoration": 2.0},
    "premium_spender": {"high-tech": 4.0, "voyage": 2.0, "jeux vidéo": 1.5},
    "window_shopper": {"high-tech": 1.5, "mode": 1.5, "jeux vidéo": 1.5},
    "social_influencer": {"mode": 3.0, "beauté": 3.0, "voyage": 2.0, "musique": 1.5},
    "lapsed": {},
}
_PROVIDERS = (
    ("gmail.com", 0.30),
    ("orange.fr", 0.16),
    ("hotmail.fr", 0.12),
    ("free.fr", 0.10),
    ("yahoo.fr", 0.07),
    ("laposte.net", 0.06),
    ("sfr.fr", 0.06),
    ("outlook.fr", 0.05),
    ("wanadoo.fr", 0.04),
    ("icloud.com", 0.04),
)
#: Written forms of a French phone number, drawn with these weights.
PHONE_STYLES = ("spaced", "compact", "international spaced", "dotted", "international")
_PHONE_P = (0.45, 0.25, 0.12, 0.10, 0.08)
# Landline prefix (01 to 05) by region; mobiles start with 06 or 07.
_LANDLINE = {
    "Île-de-France": 1,
    "Normandie": 2,
    "Bretagne": 2,
    "Pays de la Loire": 2,
    "Centre-Val de Loire": 2,
    "Hauts-de-France": 3,
    "Grand Est": 3,
    "Bourgogne-Franche-Comté": 3,
    "Auvergne-Rhône-Alpes": 4,
    "Provence-Alpes-Côte d'Azur": 4,
    "Corse": 4,
    "Occitanie": 5,
    "Nouvelle-Aquitaine": 5,
}
# A share of customers leave some contact details empty.
_NO_EMAIL, _NO_PHONE, _NO_BIRTH = 0.03, 0.15, 0.08


def build_population(
    rng: np.random.Generator, size: int, period: Period, places: Places
) -> pd.DataFrame:
    """Draw ``size`` customers, their planted group and their activity window.

    Returns
    -------
    pandas.DataFrame
        One row per customer: ``group`` (position in :data:`~cible.demo.groups.PROFILES`),
        ``behaviour`` (the group whose habits drive their activity), ``stale``,
        ``created``, ``updated``, ``active_from``, ``active_until`` (epoch seconds),
        ``activity`` (per-customer rate multiplier), identity columns as text and
        ``birth`` (epoch seconds, NaN when unknown), ``place`` (row of ``places``).
    """
    group = _planted_groups(rng, size)
    stale = _stale(rng, group, size)
    frame = pd.DataFrame({"group": group, "behaviour": group, "stale": stale})
    frame["original"] = -1
    frame["extra"] = False
    _dates(rng, frame, period)
    frame["activity"] = np.exp(rng.normal(0.0, 0.25, size))
    _identity(rng, frame, period, places)
    return frame


def _planted_groups(rng: np.random.Generator, size: int) -> IntArray:
    shares = column("share")
    counts = np.floor(shares * size).astype(np.int64)
    counts[np.argsort(-(shares * size - counts), kind="stable")[: size - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(PROFILES), dtype=np.int64), counts))


def _stale(rng: np.random.Generator, group: IntArray, size: int) -> NDArray[np.bool_]:
    """About 2% of customers: lapsed ones whose record has not moved for 3 years."""
    lapsed = np.flatnonzero(group == LAPSED)
    wanted = min(lapsed.size, round(0.02 * size))
    stale = np.zeros(size, dtype=bool)
    stale[rng.choice(lapsed, wanted, replace=False)] = True
    return stale


def _dates(rng: np.random.Generator, frame: pd.DataFrame, period: Period) -> None:
    group = frame["group"].to_numpy()
    size = group.size
    low = np.array([g.created_days[0] for g in PROFILES])[group]
    high = np.array([g.created_days[1] for g in PROFILES])[group]
    days = low + np.floor(rng.random(size) * (high - low)).astype(np.int64)
    created = at_shopping_hour(rng, period.start + days * DAY)
    created = np.minimum(created, period.end - DAY)
    active_from = np.maximum(created, period.start)
    active_until = np.full(size, period.end, dtype=np.int64)
    months = np.array([g.active_months or (0.0, 0.0) for g in PROFILES])[group]
    lapses = months[:, 1] > 0
    stop = months[:, 0] + rng.random(size) * (months[:, 1] - months[:, 0])
    active_until[lapses] = period.start + (stop[lapses] * MONTH_DAYS * DAY).astype(np.int64)
    updated = active_from + np.floor(rng.random(size) * (period.end - active_from))
    stale = frame["stale"].to_numpy()
    # Stale records were created and last touched more than three years ago and have
    # done nothing since: no order, no event in the period.
    old = period.start - rng.integers(120, 5 * 365, size) * DAY
    created = np.where(stale, at_shopping_hour(rng, old), created)
    touched = created + np.floor(rng.random(size) * (period.start - 60 * DAY - created))
    frame["created"] = created
    frame["updated"] = np.where(stale, touched, updated).astype(np.int64)
    frame["active_from"] = np.where(stale, period.start, active_from)
    frame["active_until"] = np.where(stale, period.start, active_until)


def _identity(
    rng: np.random.Generator, frame: pd.DataFrame, period: Period, places: Places
) -> None:
    size = len(frame)
    behaviour = frame["behaviour"].to_numpy()
    gender = rng.choice(len(GENDERS), size, p=_GENDER_P)
    female = np.where(gender >= 2, rng.random(size) < 0.5, gender == 0)
    women, men = FrenchNames.first_names_female, FrenchNames.first_names_male
    first_index = np.where(
        female, rng.integers(0, len(women), size), len(women) + rng.integers(0, len(men), size)
    )
    first_names = np.array(women + men, dtype=object)
    surnames = np.array(FrenchNames.last_names, dtype=object)
    # The Faker list runs from the commonest name down; a Zipf-like weight keeps
    # Martin and Bernard frequent without making them everyone.
    rank_weight = 1.0 / (np.arange(surnames.size) + 10.0) ** 0.8
    cdf = np.cumsum(rank_weight / rank_weight.sum())
    last_index = np.minimum(np.searchsorted(cdf, rng.random(size)), surnames.size - 1)
    frame["gender"] = np.array(GENDERS, dtype=object)[gender]
    frame["first_name"] = first_names[first_index]
    frame["last_name"] = surnames[last_index]

    ages = np.clip(rng.normal(column("age")[behaviour], 11.0), 18.0, 88.0)
    birth_day = (period.end - ages * 365.25 * DAY) // DAY * DAY
    frame["birth"] = np.where(rng.random(size) < _NO_BIRTH, np.nan, birth_day)
    place = places.draw(rng, size)
    frame["place"] = place
    frame["email"] = _emails(rng, first_index, last_index, frame["birth"].to_numpy())
    landline = np.array([_LANDLINE[r] for r in places.regions])[place]
    frame["phone_number"] = _phone_numbers(rng, landline)
    frame["phone_style"] = rng.choice(len(PHONE_STYLES), size, p=_PHONE_P)
    frame["phone"] = phone_text(frame["phone_number"].to_numpy(), frame["phone_style"].to_numpy())
    frame.loc[rng.random(size) < _NO_PHONE, "phone"] = ""
    frame["interests"] = _interests(rng, behaviour)


def slug(name: str) -> str:
    """Lower-case ASCII form of a name for e-mail addresses: ``Lefèvre`` -> ``lefevre``.

    Examples
    --------
    >>> slug("Le Goff"), slug("Adélaïde")
    ('legoff', 'adelaide')
    """
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return plain.lower().replace(" ", "").replace("'", "")


def _emails(
    rng: np.random.Generator,
    first_index: IntArray,
    last_index: IntArray,
    birth: NDArray[np.float64],
) -> NDArray[np.object_]:
    women, men = FrenchNames.first_names_female, FrenchNames.first_names_male
    firsts = np.array([slug(n) for n in women + men])[first_index]
    lasts = np.array([slug(n) for n in FrenchNames.last_names])[last_index]
    size = first_index.size
    born = 1970 + np.floor(np.nan_to_num(birth) / (365.25 * DAY))
    years = np.where(np.isnan(birth), rng.integers(1950, 2006, size), born).astype(np.int64)
    yy = np.array([f"{i:02d}" for i in range(100)])[years % 100]
    digits = rng.integers(1, 999, size).astype(str)
    add = np.strings.add
    initial = np.strings.slice(firsts, 0, 1)
    patterns = np.stack(
        [
            add(add(firsts, "."), lasts),
            add(firsts, lasts),
            add(add(initial, "."), lasts),
            add(add(add(firsts, "."), lasts), yy),
            add(add(firsts, "_"), lasts),
            add(add(lasts, "."), firsts),
            add(firsts, digits),
        ]
    )
    choice = rng.choice(7, size, p=(0.38, 0.1, 0.1, 0.15, 0.05, 0.08, 0.14))
    local = patterns[choice, np.arange(size)]
    names, p = zip(*_PROVIDERS, strict=True)
    provider = np.array(names)[rng.choice(len(names), size, p=np.array(p) / sum(p))]
    emails = pd.Series(add(add(local, "@"), provider), dtype=object)
    # Two customers never share an address: a clash gets a number, as providers do.
    clash = emails.duplicated().to_numpy()
    while clash.any():
        suffix = rng.integers(2, 9999, int(clash.sum())).astype(str)
        emails[clash] = add(add(add(local[clash], suffix), "@"), provider[clash])
        clash = emails.duplicated().to_numpy()
    shouting = rng.random(size) < 0.03
    emails[shouting] = emails[shouting].str.title()
    emails[rng.random(size) < _NO_EMAIL] = ""
    return emails.to_numpy()


def _phone_numbers(rng: np.random.Generator, landline: IntArray) -> IntArray:
    """National numbers without the leading 0: 612345678 stands for 06 12 34 56 78."""
    size = landline.size
    mobile = rng.random(size) < 0.8
    prefix = np.where(mobile, rng.choice([6, 7], size, p=(0.8, 0.2)), landline)
    numbers = prefix * 100_000_000 + rng.integers(10_000_000, 100_000_000, size)
    # Move the few blocks the numbering plan leaves unassigned (or gives to overseas
    # departments) to a neighbouring block, so that only the planted mistakes are invalid.
    block = numbers // 1_000_000
    for unassigned, assigned in _UNASSIGNED_BLOCKS.items():
        numbers = np.where(
            block == unassigned, numbers + (assigned - unassigned) * 1_000_000, numbers
        )
    return numbers


#: Two-digit blocks after the prefix that are not metropolitan numbers, and where the
#: demo moves them (ARCEP plan, as `phonenumbers` encodes it).
_UNASSIGNED_BLOCKS = {
    262: 261,
    590: 580,
    594: 584,
    639: 638,
    **{690 + d: 680 + d for d in range(8)},
    **{700 + d: 740 + d for d in range(10, 30)},
}


def phone_text(numbers: IntArray, styles: IntArray) -> NDArray[np.object_]:
    """Write national numbers in the styles of :data:`PHONE_STYLES`.

    Examples
    --------
    >>> phone_text(np.array([612345678] * 5), np.arange(5)).tolist()
    ['06 12 34 56 78', '0612345678', '+33 6 12 34 56 78', '06.12.34.56.78', '+33612345678']
    """
    head = pa.array((numbers // 100_000_000).astype(np.int64)).cast(pa.string())
    p1, p2, p3, p4 = pairs(numbers % 100_000_000, 4)
    forms = [
        join("0", head, " ", p1, " ", p2, " ", p3, " ", p4),
        join("0", head, p1, p2, p3, p4),
        join("+33 ", head, " ", p1, " ", p2, " ", p3, " ", p4),
        join("0", head, ".", p1, ".", p2, ".", p3, ".", p4),
        join("+33", head, p1, p2, p3, p4),
    ]
    table = np.stack([f.to_numpy(zero_copy_only=False) for f in forms])
    return np.asarray(table[styles, np.arange(numbers.size)], dtype=object)


def _interests(rng: np.random.Generator, behaviour: IntArray) -> NDArray[np.object_]:
    weights = np.ones((len(PROFILES), len(INTERESTS)))
    for row, profile in enumerate(PROFILES):
        for name, boost in _INTEREST_BOOSTS[profile.name].items():
            weights[row, INTERESTS.index(name)] = boost
    size = behaviour.size
    # Gumbel top-k: the k largest of log(weight) + Gumbel noise are a weighted draw
    # without replacement, for all rows at once.
    keys = np.log(weights[behaviour]) - np.log(-np.log(rng.random((size, len(INTERESTS)))))
    ranked = np.argsort(-keys, axis=1, kind="stable")
    count = rng.choice(5, size, p=(0.2, 0.25, 0.25, 0.2, 0.1))
    mask = np.zeros(size, dtype=np.int64)
    for slot in range(4):
        mask |= np.where(slot < count, 1 << ranked[:, slot], 0)
    masks, inverse = np.unique(mask, return_inverse=True)
    texts = np.array(
        ["|".join(n for bit, n in enumerate(INTERESTS) if m >> bit & 1) for m in masks.tolist()],
        dtype=object,
    )
    return np.asarray(texts[inverse], dtype=object)
