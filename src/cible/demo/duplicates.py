"""Second profiles of the same person, as a CRM accumulates them over the years.

About 3% of customers registered again later under a new customer id: a typo in the
name, the address typed in capitals or with a stray space, the phone written another
way, sometimes first and last name swapped or a move to a nearby commune. Identity
resolution should pair each copy with its original; the pairs are the truth written
to ``duplicate_pairs.parquet``.

Examples
--------
>>> import numpy as np
>>> with_typo("Martin", np.random.default_rng(1)) != "Martin"
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cible.demo.places import Places
from cible.demo.population import PHONE_STYLES, phone_text
from cible.demo.timeline import Period

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
    return pd.concat([people, copies], ignore_index=True)


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
