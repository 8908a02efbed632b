"""Second profiles of the same person, as a CRM accumulates them over the years.

About 3% of customers registered again later under a new customer id: a typo in the
name, the address typed in capitals or with a stray space, the phone written another
way, sometimes first and last name swapped or a move to a nearby commune. Identity
resolution should pair each copy with its original; the pairs are the truth written
to ``duplicate_pairs.parquet``.

:func:`known_duplicates` draws a stand-alone set of customer profiles for measuring
identity resolution: a share of persons have one or two messy copies, and every pair
of profiles of one person is listed.

Examples
--------
>>> import numpy as np
>>> with_typo("Martin", np.random.default_rng(1)) != "Martin"
True
>>> found = known_duplicates(200, seed=3)
>>> len(found.profiles) > 200, found.pairs.columns.tolist()
(True, ['customer_id', 'duplicate_of'])
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from cible.demo.places import Places, load_places
from cible.demo.population import PHONE_STYLES, build_population, phone_text
from cible.demo.textforms import padded
from cible.demo.timeline import DAY, Period

#: Share of customers who have a second profile.
DUPLICATE_SHARE = 0.03
# Where an address moves when a person changes provider.
_NEW_PROVIDERS = ("gmail.com", "orange.fr", "free.fr", "hotmail.fr", "outlook.fr")


def add_duplicates(
    rng: np.random.Generator, people: pd.DataFrame, period: Period, places: Places
) -> pd.DataFrame:
    """Return ``people`` followed by messy copies of about 3% of them.

    A copy has ``group = -1`` (it is not a planted customer of its own), ``original``
    set to the row it copies and ``behaviour`` inherited from it, so that the few
    orders it gets look like the person's.
    """
    count = round(DUPLICATE_SHARE * len(people))
    source = np.sort(rng.choice(len(people), count, replace=False))
    return pd.concat([people, messy_copies(rng, people, source, period, places)], ignore_index=True)


def messy_copies(
    rng: np.random.Generator,
    people: pd.DataFrame,
    source: NDArray[np.int64],
    period: Period,
    places: Places,
) -> pd.DataFrame:
    """Return one messy copy of each row of ``people`` listed in ``source``.

    A copy is registered later than its original and differs the way second profiles
    do: typos, swapped or capitalised names, the e-mail's case or spacing, another
    written form of the phone, a move to a nearby commune, fields left empty.
    """
    count = source.size
    copies = people.iloc[source].reset_index(drop=True).copy()
    copies["original"] = source
    copies["group"] = -1
    copies["stale"] = False
    base = np.maximum(copies["created"].to_numpy(), period.start)
    created = base + np.floor(rng.uniform(0.1, 0.9, count) * (period.end - base))
    copies["created"] = created.astype(np.int64)
    copies["updated"] = (
        created + np.floor(rng.random(count) * 0.3 * (period.end - created))
    ).astype(np.int64)
    copies["active_from"] = copies["created"]
    copies["active_until"] = period.end
    _mess_names(rng, copies)
    _mess_contacts(rng, copies)
    moved = rng.random(count) < 0.25
    copies.loc[moved, "place"] = places.nearby[copies.loc[moved, "place"].to_numpy()]
    copies.loc[rng.random(count) < 0.2, "birth"] = np.nan
    copies.loc[rng.random(count) < 0.1, "gender"] = "unknown"
    copies.loc[rng.random(count) < 0.5, "interests"] = ""
    return copies


@dataclass(frozen=True)
class DuplicateSet:
    """Customer profiles with known duplicates.

    Attributes
    ----------
    profiles : pandas.DataFrame
        One row per profile, with the canonical ``customers`` columns (``customer_id``,
        ``email``, ``phone``, names, ``birth_date``, ``gender``, ``postal_code``,
        ``city``, ``region``, ``country``, ``created_at``, ``updated_at``); empty text
        is an empty string.
    pairs : pandas.DataFrame
        ``customer_id, duplicate_of``: every pair of profiles of the same person, the
        later profile first.
    """

    profiles: pd.DataFrame
    pairs: pd.DataFrame


def known_duplicates(
    persons: int,
    *,
    share: float = 0.2,
    twice: float = 0.3,
    seed: int = 0,
    end_date: dt.date = dt.date(2025, 1, 1),
) -> DuplicateSet:
    """Draw ``persons`` French customers, ``share`` of them with messy copies.

    Parameters
    ----------
    persons : int
        Distinct persons.
    share : float
        Share of persons who registered again; ``twice`` of those did so twice.
    seed : int
        Same seed, same profiles.
    end_date : date
        Day after the last registration.

    Returns
    -------
    DuplicateSet
        Profiles in random order under ids ``P0000001``..., and the true pairs.
        Copies carry the faults of :func:`messy_copies` and, besides, what changes
        between two registrations years apart: a fifth of international numbers
        written ``0033...``, 8% new e-mail providers, 8% new mobile numbers, 3% birth
        dates typed a day or a year off.
    """
    rng = np.random.default_rng(seed)
    period = Period.ending(end_date)
    places = load_places()
    people = build_population(rng, persons, period, places)
    once = np.sort(rng.choice(persons, round(share * persons), replace=False))
    again = np.sort(rng.choice(once, round(twice * once.size), replace=False))
    frames = [people.assign(original=np.arange(persons))]
    frames += [messy_copies(rng, people, source, period, places) for source in (once, again)]
    rows = pd.concat(frames, ignore_index=True)
    _change_details(rng, rows, np.arange(len(rows)) >= persons)
    order = rng.permutation(len(rows))
    ids = np.asarray(padded(order + 1, 7, "P").to_numpy(zero_copy_only=False), dtype=object)
    return DuplicateSet(_profiles(rows, ids, places), _true_pairs(rows["original"].to_numpy(), ids))


def _change_details(rng: np.random.Generator, rows: pd.DataFrame, copy: NDArray[np.bool_]) -> None:
    size = len(rows)
    phones = rows["phone"].to_numpy().astype(str)
    dialled = copy & np.strings.startswith(phones, "+33") & (rng.random(size) < 0.2)
    rows.loc[dialled, "phone"] = np.strings.add("0033", np.strings.slice(phones[dialled], 3, None))
    emails = rows["email"].to_numpy().astype(str)
    moved = copy & (emails != "") & (rng.random(size) < 0.08)
    # A new address keeps the habit of the old one; the number keeps it someone else's.
    count = int(moved.sum())
    local = np.array([e.partition("@")[0] for e in emails[moved].tolist()], dtype=str)
    number = rng.integers(100, 1000, count).astype(str)
    provider = np.array(_NEW_PROVIDERS)[rng.integers(0, len(_NEW_PROVIDERS), count)]
    rows.loc[moved, "email"] = np.strings.add(np.strings.add(local, number), "@" + provider)
    renewed = np.flatnonzero(copy & (rng.random(size) < 0.08))
    prefix = rng.choice([6, 7], renewed.size) * 100_000_000
    mobiles = prefix + rng.integers(10**7, 10**8, renewed.size)
    rows.loc[renewed, "phone"] = phone_text(mobiles, np.zeros(renewed.size, dtype=np.int64))
    birth = rows["birth"].to_numpy()
    slip = copy & ~np.isnan(birth) & (rng.random(size) < 0.03)
    off = np.where(rng.random(size) < 0.5, DAY, 365 * DAY) * rng.choice([-1, 1], size)
    rows.loc[slip, "birth"] = birth[slip] + off[slip]


def _profiles(rows: pd.DataFrame, ids: NDArray[np.object_], places: Places) -> pd.DataFrame:
    place = rows["place"].to_numpy()
    birth = rows["birth"].to_numpy()
    days = np.where(np.isnan(birth), 0, birth // DAY).astype("datetime64[D]")
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "email": rows["email"].to_numpy(),
            "phone": rows["phone"].to_numpy(),
            "first_name": rows["first_name"].to_numpy(),
            "last_name": rows["last_name"].to_numpy(),
            "birth_date": pd.Series(days).where(~np.isnan(birth)),
            "gender": rows["gender"].to_numpy(),
            "postal_code": np.array(places.postal_codes, dtype=object)[place],
            "city": np.array(places.names, dtype=object)[place],
            "region": np.array(places.regions, dtype=object)[place],
            "country": "FR",
            "created_at": rows["created"].to_numpy().astype("datetime64[s]"),
            "updated_at": rows["updated"].to_numpy().astype("datetime64[s]"),
        }
    )
    return frame.sort_values("customer_id", ignore_index=True)


def _true_pairs(original: NDArray[np.int64], ids: NDArray[np.object_]) -> pd.DataFrame:
    """Every pair of rows copying the same person, the later row first."""
    rows = pd.DataFrame({"person": original, "row": np.arange(original.size)})
    both = rows.merge(rows, on="person", suffixes=("", "_other"))
    both = both[both["row"] > both["row_other"]]
    return pd.DataFrame(
        {
            "customer_id": ids[both["row"].to_numpy()],
            "duplicate_of": ids[both["row_other"].to_numpy()],
        }
    ).reset_index(drop=True)


def with_typo(name: str, rng: np.random.Generator) -> str:
    """Return ``name`` with one slip of the keyboard: swapped, missing or doubled letter."""
    if len(name) < 3:
        return name + name[-1]
    at = int(rng.integers(1, len(name) - 1))
    kind = int(rng.integers(0, 3))
    if kind == 0 and name[at] != name[at + 1]:
        return name[:at] + name[at + 1] + name[at] + name[at + 2 :]
    if kind == 1:
        return name[:at] + name[at + 1 :]
    return name[:at] + name[at] + name[at:]


def _mess_names(rng: np.random.Generator, copies: pd.DataFrame) -> None:
    first = copies["first_name"].tolist()
    last = copies["last_name"].tolist()
    draws = rng.random((len(copies), 4))
    for row, (typo, which, swap, caps) in enumerate(draws.tolist()):
        if typo < 0.55:
            if which < 0.5:
                first[row] = with_typo(first[row], rng)
            else:
                last[row] = with_typo(last[row], rng)
        if swap < 0.1:
            first[row], last[row] = last[row], first[row]
        if caps < 0.15:
            last[row] = last[row].upper()
    copies["first_name"] = first
    copies["last_name"] = last


def _mess_contacts(rng: np.random.Generator, copies: pd.DataFrame) -> None:
    emails = copies["email"].tolist()
    draws = rng.random((len(copies), 2))
    for row, (how, side) in enumerate(draws.tolist()):
        email = emails[row]
        if not email:
            continue
        if how < 0.35:
            local, _, domain = email.partition("@")
            emails[row] = f"{local.title()}@{domain.capitalize()}"
        elif how < 0.55:
            emails[row] = f" {email}" if side < 0.5 else f"{email} "
        elif how < 0.65:
            emails[row] = email.upper()
        elif how < 0.75:
            emails[row] = ""
    copies["email"] = emails
    # Another written form of the same number, or none at all.
    shift = rng.integers(1, len(PHONE_STYLES), len(copies))
    style = (copies["phone_style"].to_numpy() + shift) % len(PHONE_STYLES)
    copies["phone_style"] = style
    text = phone_text(copies["phone_number"].to_numpy(), style)
    had_phone = copies["phone"].to_numpy() != ""
    dropped = rng.random(len(copies)) < 0.2
    copies["phone"] = np.where(had_phone & ~dropped, text, "")
