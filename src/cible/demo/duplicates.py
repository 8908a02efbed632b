"""Second profiles of the same person, as a CRM accumulates them over the years.

About 3% of customers registered again later under a new customer id: a typo in the
name, the address typed in capitals or with a stray space, the phone written another
way, sometimes first and last name swapped or a move to a nearby commune. Identity
resolution should pair each copy with its original; the pairs are the truth written
to ``duplicate_pairs.parquet``.

:func:`known_duplicates` draws a stand-alone set of customer profiles for measuring
identity resolution: a share of persons have one or two copies, each differing from
the original in one kind of way (:mod:`cible.demo.corruptions`), some in two; every
pair of profiles of one person is listed with how they differ, and namesakes who are
different persons are listed apart.

Examples
--------
>>> import numpy as np
>>> with_typo("Martin", np.random.default_rng(1)) != "Martin"
True
>>> found = known_duplicates(200, seed=3)
>>> len(found.profiles) > 200, found.pairs.columns.tolist()
(True, ['customer_id', 'duplicate_of', 'kind'])
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from faker.providers.person.fr_FR import Provider as FrenchNames
from numpy.typing import NDArray

from cible.demo.corruptions import corrupt
from cible.demo.places import Places, load_places
from cible.demo.population import PHONE_STYLES, build_population, phone_text, slug
from cible.demo.textforms import padded
from cible.demo.timeline import DAY, Period

#: Share of customers who have a second profile.
DUPLICATE_SHARE = 0.03


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
    copies = later_copies(rng, people, source, period)
    _mess_names(rng, copies)
    _mess_contacts(rng, copies)
    moved = rng.random(count) < 0.25
    copies.loc[moved, "place"] = places.nearby[copies.loc[moved, "place"].to_numpy()]
    copies.loc[rng.random(count) < 0.2, "birth"] = np.nan
    copies.loc[rng.random(count) < 0.1, "gender"] = "unknown"
    copies.loc[rng.random(count) < 0.5, "interests"] = ""
    return copies


def later_copies(
    rng: np.random.Generator, people: pd.DataFrame, source: NDArray[np.int64], period: Period
) -> pd.DataFrame:
    """Return the rows of ``people`` listed in ``source`` as profiles registered later.

    A copy has ``group = -1`` (it is not a planted customer of its own), ``original``
    set to the row it copies, and its own creation and update times, after the
    original's; its identity is still the original's.
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
        ``customer_id, duplicate_of, kind``: every pair of profiles of the same person,
        the later profile first, and how they differ: the name of a
        :data:`~cible.demo.corruptions.KINDS` member, or several joined with ``" + "``
        (a copy given two kinds, or two copies of one person).
    lookalikes : pandas.DataFrame
        ``customer_id, lookalike_of, kind``: different persons who bear the same first
        and last name, ``kind`` ``"same name, same town"`` (another birth date) or
        ``"same name, elsewhere"``. They must not be merged.
    """

    profiles: pd.DataFrame
    pairs: pd.DataFrame
    lookalikes: pd.DataFrame


def known_duplicates(
    persons: int,
    *,
    share: float = 0.2,
    twice: float = 0.3,
    second: float = 0.15,
    lookalikes: float = 0.03,
    seed: int = 0,
    end_date: dt.date = dt.date(2025, 1, 1),
) -> DuplicateSet:
    """Draw ``persons`` French customers, ``share`` of them with messy copies.

    Parameters
    ----------
    persons : int
        Distinct persons, lookalikes included.
    share : float
        Share of persons who registered again; ``twice`` of those did so twice.
    second : float
        Share of copies that differ from the original in two kinds instead of one.
    lookalikes : float
        Share of persons who bear the name of another person: half of them live in
        the same commune (born another year), half elsewhere.
    seed : int
        Same seed, same profiles.
    end_date : date
        Day after the last registration.

    Returns
    -------
    DuplicateSet
        Profiles in random order under ids ``P0000001``..., the true pairs with how
        they differ (:func:`cible.demo.corruptions.corrupt`), and the lookalikes.
        8% of persons have a compound first name (``Marie-Hélène``).
    """
    rng = np.random.default_rng(seed)
    period = Period.ending(end_date)
    places = load_places()
    people = build_population(rng, persons, period, places)
    _compound_first_names(rng, people)
    alike = _lookalikes(rng, people, round(lookalikes * persons))
    once = np.sort(rng.choice(persons, round(share * persons), replace=False))
    again = np.sort(rng.choice(once, round(twice * once.size), replace=False))
    frames = [people.assign(original=np.arange(persons), kind="")]
    for source in (once, again):
        copies = later_copies(rng, people, source, period)
        frames.append(copies.assign(kind=corrupt(rng, copies, places, second=second)))
    rows = pd.concat(frames, ignore_index=True)
    _one_mailbox_per_person(rows)
    order = rng.permutation(len(rows))
    ids = np.asarray(padded(order + 1, 7, "P").to_numpy(zero_copy_only=False), dtype=object)
    pairs = _true_pairs(rows["original"].to_numpy(), rows["kind"].to_numpy(), ids)
    alike = alike.assign(
        customer_id=ids[alike["customer_id"]], lookalike_of=ids[alike["lookalike_of"]]
    )
    return DuplicateSet(_profiles(rows, ids, places), pairs, alike)


def _one_mailbox_per_person(rows: pd.DataFrame) -> None:
    """Give a number to the addresses that the generator handed to two persons.

    Drawn from names, ``bernard.henri@hotmail.fr`` comes out for several persons of a
    large file, and a copy's new address can be another person's; a mail provider
    gives an address to one mailbox only, so the second person gets
    ``bernard.henri2@hotmail.fr``, as a provider would propose. The copies of one
    person keep sharing theirs.
    """
    emails = rows["email"].to_numpy(dtype=object).copy()
    key = pd.Series(emails).str.strip().str.lower()
    taken = set(key[key != ""])
    first_holder: dict[str, int] = {}
    numbers: dict[tuple[str, int], int] = {}
    person = rows["original"].to_numpy()
    for row, address in enumerate(key.tolist()):
        if not address:
            continue
        owner = int(person[row])
        if first_holder.setdefault(address, owner) == owner:
            continue
        if (address, owner) not in numbers:
            local, _, domain = address.partition("@")
            number = 2
            while f"{local}{number}@{domain}" in taken:
                number += 1
            taken.add(f"{local}{number}@{domain}")
            numbers[address, owner] = number
        # The number goes before the @ of the address as written (case, spaces).
        written = str(emails[row])
        at = written.index("@")
        emails[row] = f"{written[:at]}{numbers[address, owner]}{written[at:]}"
    rows["email"] = emails


def _compound_first_names(rng: np.random.Generator, people: pd.DataFrame) -> None:
    """Give 8% of ``people`` a compound first name of the same list (``Jean-Luc``)."""
    women, men = FrenchNames.first_names_female, FrenchNames.first_names_male
    chosen = np.flatnonzero(rng.random(len(people)) < 0.08)
    first = people["first_name"].to_numpy()
    draws = rng.random(chosen.size).tolist()
    for row, draw in zip(chosen.tolist(), draws, strict=True):
        names = women if first[row] in women else men
        other = names[int(draw * len(names))]
        if other != first[row]:
            first[row] = f"{first[row]}-{other}"
    people["first_name"] = first


def _lookalikes(rng: np.random.Generator, people: pd.DataFrame, count: int) -> pd.DataFrame:
    """Turn the last ``count`` of ``people`` into namesakes of others; return the pairs."""
    size = len(people)
    alike = np.arange(size - count, size)
    # A namesake in the same town is told apart by the birth date: both are known.
    same_town = rng.random(count) < 0.5
    born = np.flatnonzero(~np.isnan(people["birth"].to_numpy()[: size - count]))
    target = np.where(
        same_town,
        rng.choice(born, count, replace=False),
        rng.choice(size - count, count, replace=False),
    )
    for column in ("first_name", "last_name", "gender"):
        people.loc[alike, column] = people[column].to_numpy()[target]
    people.loc[alike[same_town], "place"] = people["place"].to_numpy()[target[same_town]]
    # A namesake is born on another day, at least a year apart.
    birth = people["birth"].to_numpy()
    near = np.abs(birth[alike] - birth[target]) < 366 * DAY
    shift = rng.integers(400, 8000, count) * rng.choice([-1, 1], count) * DAY
    people.loc[alike[near], "birth"] = birth[alike[near]] + shift[near]
    missing = same_town & np.isnan(birth[alike])
    people.loc[alike[missing], "birth"] = (birth[target] + shift)[missing]
    emails = people["email"].to_numpy()
    firsts, lasts = people["first_name"].to_numpy(), people["last_name"].to_numpy()
    for row, number in zip(alike.tolist(), rng.integers(1, 1000, count).tolist(), strict=True):
        if emails[row]:
            first, last = slug(str(firsts[row])), slug(str(lasts[row]))
            domain = emails[row].partition("@")[2].lower()
            emails[row] = f"{first}.{last}{number}@{domain}"
    people["email"] = emails
    kind = np.where(same_town, "same name, same town", "same name, elsewhere")
    return pd.DataFrame({"customer_id": alike, "lookalike_of": target, "kind": kind})


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


def _true_pairs(
    original: NDArray[np.int64], kind: NDArray[np.object_], ids: NDArray[np.object_]
) -> pd.DataFrame:
    """Every pair of rows copying the same person, the later row first, and their kinds."""
    rows = pd.DataFrame({"person": original, "row": np.arange(original.size), "kind": kind})
    both = rows.merge(rows, on="person", suffixes=("", "_other"))
    both = both[both["row"] > both["row_other"]]
    # A copy differs from the original by its kind, from another copy by both kinds.
    kinds = np.where(
        both["kind_other"] == "", both["kind"], both["kind_other"] + " + " + both["kind"]
    )
    return pd.DataFrame(
        {
            "customer_id": ids[both["row"].to_numpy()],
            "duplicate_of": ids[both["row_other"].to_numpy()],
            "kind": kinds,
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
