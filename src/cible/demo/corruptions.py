"""The ways a second profile of one person differs from the first, one kind at a time.

A customer file holds second profiles that differ from the first in a few typical
ways: a slip of the keyboard in a name, a nickname, another e-mail address, a move.
Each :class:`Kind` is one of them; :func:`corrupt` gives each copy one kind (a share
of copies get a second one, of another family), so that identity resolution can be
measured kind by kind.

Besides its kind, every copy carries harmless noise: the e-mail address in another
case or with a stray space, the last name in capitals.

Examples
--------
>>> [kind.name for kind in KINDS][:3]
['typo', 'transposition', 'swapped names']
>>> strip_accents("Hélène Lefèvre")
'Helene Lefevre'
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from faker.providers.person.fr_FR import Provider as FrenchNames

from cible.demo.places import Places
from cible.demo.population import PHONE_STYLES, phone_text, slug
from cible.demo.timeline import DAY

NAMES, CONTACTS, PLACE, BIRTH = "names", "contacts", "place", "birth date"
#: A copy's second kind comes from another family than its first.
FAMILIES = (NAMES, CONTACTS, PLACE, BIRTH)

#: Usual short forms of French first names, as people give them when they register.
NICKNAMES = {
    "Alexandre": ("Alex",),
    "Alexandrie": ("Alex",),
    "Alexandria": ("Alex",),
    "Antoinette": ("Toinette",),
    "Auguste": ("Gus",),
    "Augustin": ("Gus",),
    "Benjamin": ("Ben", "Benji"),
    "Bernadette": ("Bernie",),
    "Capucine": ("Capu",),
    "Caroline": ("Caro",),
    "Catherine": ("Cathy", "Cath"),
    "Charlotte": ("Charlie", "Lotte"),
    "Christelle": ("Chris",),
    "Christiane": ("Chris",),
    "Christine": ("Chris", "Titine"),
    "Christophe": ("Chris", "Tof"),
    "Clémence": ("Clem",),
    "Daniel": ("Dan", "Dany"),
    "Danielle": ("Dany",),
    "Dominique": ("Dom",),
    "Dorothée": ("Doro",),
    "Édouard": ("Eddy", "Doudou"),
    "Éléonore": ("Léo", "Léonore"),
    "Élisabeth": ("Babeth", "Lisa", "Élise"),
    "Emmanuel": ("Manu",),
    "Emmanuelle": ("Manue", "Manu"),
    "Frédéric": ("Fred",),
    "Frédérique": ("Fred",),
    "Gabriel": ("Gaby",),
    "Gabrielle": ("Gaby",),
    "Gérard": ("Gégé",),
    "Grégoire": ("Greg",),
    "Guillaume": ("Will",),
    "Isabelle": ("Isa", "Zaza"),
    "Jacqueline": ("Jacky",),
    "Jacques": ("Jacky", "Jacquot"),
    "Jérôme": ("Jéjé",),
    "Joséphine": ("Jo", "Fifine"),
    "Joseph": ("Jo", "Jojo"),
    "Laetitia": ("Laeti",),
    "Laurence": ("Lolo",),
    "Laurent": ("Lolo",),
    "Madeleine": ("Mado",),
    "Marguerite": ("Margot", "Maguy"),
    "Matthieu": ("Matt", "Matthew"),
    "Maurice": ("Momo",),
    "Nathalie": ("Nath",),
    "Nicolas": ("Nico",),
    "Olivier": ("Olive", "Oli"),
    "Patricia": ("Pat", "Patty"),
    "Patrick": ("Pat",),
    "Philippe": ("Phil", "Fifi"),
    "Raymond": ("Ray",),
    "Robert": ("Bob", "Bébert"),
    "Sébastien": ("Seb", "Bastien"),
    "Stéphane": ("Steph",),
    "Stéphanie": ("Steph", "Fanny"),
    "Susanne": ("Suzy", "Suzon"),
    "Suzanne": ("Suzy", "Suzon"),
    "Théodore": ("Théo",),
    "Théophile": ("Théo",),
    "Thibault": ("Tib",),
    "Thibaut": ("Tib",),
    "Thomas": ("Tom", "Tommy"),
    "Timothée": ("Tim", "Timo"),
    "Valentine": ("Val",),
    "Valérie": ("Val",),
    "Véronique": ("Véro",),
    "Victoire": ("Vic",),
    "Victor": ("Vic",),
    "Vincent": ("Vince", "Vinz"),
    "Virginie": ("Virgi",),
    "Xavier": ("Xav",),
    "Zacharie": ("Zach",),
}
# Neighbouring keys on a French (AZERTY) keyboard, for slips of the finger.
_AZERTY = ("azertyuiop", "qsdfghjklm", "wxcvbn")
_PROVIDERS = ("gmail.com", "orange.fr", "free.fr", "hotmail.fr", "outlook.fr", "laposte.net")
_WORDS = ("lulu", "titi", "zaza", "kiki", "loulou", "nounours", "soleil", "bichette", "pepito")


def strip_accents(text: str) -> str:
    """``text`` without diacritics, as typed on a keyboard that lacks them."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _neighbours() -> dict[str, str]:
    near: dict[str, str] = {}
    for row, keys in enumerate(_AZERTY):
        for at, key in enumerate(keys):
            around = keys[max(at - 1, 0) : at] + keys[at + 1 : at + 2]
            for other in (row - 1, row + 1):
                if 0 <= other < len(_AZERTY):
                    around += _AZERTY[other][max(at - 1, 0) : at + 1]
            near[key] = around
    return near


_NEAR = _neighbours()


class Rows:
    """The identity columns of copies as Python lists, changed row by row."""

    def __init__(self, copies: pd.DataFrame, places: Places) -> None:
        self.places = places
        self.first: list[str] = copies["first_name"].tolist()
        self.last: list[str] = copies["last_name"].tolist()
        self.gender: list[str] = copies["gender"].tolist()
        self.birth: list[float] = copies["birth"].astype(float).tolist()
        self.place: list[int] = copies["place"].astype(np.int64).tolist()
        self.email: list[str] = copies["email"].tolist()
        self.phone: list[str] = copies["phone"].tolist()
        self.number: list[int] = copies["phone_number"].astype(np.int64).tolist()
        self.style: list[int] = copies["phone_style"].astype(np.int64).tolist()
        # Rows whose phone is written again from ``number`` and ``style``.
        self.rewrite: set[int] = set()

    def write(self, copies: pd.DataFrame) -> None:
        """Store the lists back in ``copies``."""
        rewrite = np.array(sorted(i for i in self.rewrite if self.phone[i]), dtype=np.int64)
        if rewrite.size:
            styles = np.array(self.style, dtype=np.int64)[rewrite]
            numbers = np.array(self.number, dtype=np.int64)[rewrite]
            # Style len(PHONE_STYLES) is the international form dialled 0033.
            texts = phone_text(numbers, np.minimum(styles, len(PHONE_STYLES) - 1))
            for row, style, text in zip(rewrite.tolist(), styles.tolist(), texts, strict=True):
                self.phone[row] = "0033" + text[3:] if style == len(PHONE_STYLES) else text
        for column, values in (
            ("first_name", self.first),
            ("last_name", self.last),
            ("birth", self.birth),
            ("place", self.place),
            ("email", self.email),
            ("phone", self.phone),
            ("phone_number", self.number),
            ("phone_style", self.style),
        ):
            copies[column] = values


Rule = Callable[[Rows, int], bool]
Change = Callable[[Rows, int, np.random.Generator], None]


@dataclass(frozen=True)
class Kind:
    """One way a second profile differs from the first.

    Attributes
    ----------
    name : str
        Short name, as reported (``"nickname"``).
    family : str
        What it changes: one of :data:`FAMILIES`.
    description : str
        One sentence for the documentation.
    eligible : callable
        ``eligible(rows, row)``: whether the copy can have this kind (a nickname needs a
        first name that has one).
    change : callable
        ``change(rows, row, rng)`` applies it.
    """

    name: str
    family: str
    description: str
    eligible: Rule
    change: Change


def _any(rows: Rows, row: int) -> bool:
    return True


def _typo(rows: Rows, row: int, rng: np.random.Generator) -> None:
    names = rows.first if rng.random() < 0.5 else rows.last
    name = names[row]
    at = int(rng.integers(1, max(len(name) - 1, 2)))
    how = int(rng.integers(0, 3))
    if how == 0 and len(name) > 3:
        names[row] = name[:at] + name[at + 1 :]
    elif how == 1 or name[at : at + 1].lower() not in _NEAR:
        names[row] = name[:at] + name[at : at + 1] + name[at:]
    else:
        near = _NEAR[name[at].lower()]
        names[row] = name[:at] + near[int(rng.integers(0, len(near)))] + name[at + 1 :]


def _transposition(rows: Rows, row: int, rng: np.random.Generator) -> None:
    names = rows.first if rng.random() < 0.5 else rows.last
    name = names[row]
    spots = [i for i in range(1, len(name) - 1) if name[i] != name[i + 1]]
    if not spots:  # "Guy": the other name
        names = rows.last if names is rows.first else rows.first
        name = names[row]
        spots = [i for i in range(0, len(name) - 1) if name[i] != name[i + 1]]
    at = spots[int(rng.integers(0, len(spots)))]
    names[row] = name[:at] + name[at + 1] + name[at] + name[at + 2 :]


def _swap(rows: Rows, row: int, rng: np.random.Generator) -> None:
    rows.first[row], rows.last[row] = rows.last[row], rows.first[row]


def _has_nickname(rows: Rows, row: int) -> bool:
    return rows.first[row] in NICKNAMES


def _nickname(rows: Rows, row: int, rng: np.random.Generator) -> None:
    forms = NICKNAMES[rows.first[row]]
    rows.first[row] = forms[int(rng.integers(0, len(forms)))]


def _hyphenated(rows: Rows, row: int, rng: np.random.Generator) -> None:
    first, last = rows.first[row], rows.last[row]
    if "-" in first and rng.random() < 0.7:
        head, _, tail = first.partition("-")
        rows.first[row] = (head, f"{head} {tail}", head + tail.lower())[int(rng.integers(0, 3))]
    elif " " in last:
        rows.last[row] = last.replace(" ", "-" if rng.random() < 0.5 else "")
    else:
        # A married or double name: the partner's name joined with a hyphen.
        other = FrenchNames.last_names[int(rng.integers(0, len(FrenchNames.last_names)))]
        rows.last[row] = f"{last}-{other}" if rng.random() < 0.7 else f"{other}-{last}"


def _has_accents(rows: Rows, row: int) -> bool:
    return not (rows.first[row] + rows.last[row]).isascii()


def _accents(rows: Rows, row: int, rng: np.random.Generator) -> None:
    rows.first[row] = strip_accents(rows.first[row])
    rows.last[row] = strip_accents(rows.last[row])
    if rng.random() < 0.5:
        rows.first[row] = rows.first[row].upper()


def _has_email(rows: Rows, row: int) -> bool:
    return rows.email[row] != ""


def _has_phone(rows: Rows, row: int) -> bool:
    return rows.phone[row] != ""


def _has_contact(rows: Rows, row: int) -> bool:
    return _has_email(rows, row) or _has_phone(rows, row)


def _has_birth(rows: Rows, row: int) -> bool:
    return not np.isnan(rows.birth[row])


def new_email(rows: Rows, row: int, rng: np.random.Generator) -> str:
    """Another address: a new provider, another pattern of the names, or a pseudonym."""
    first, last = slug(rows.first[row]), slug(rows.last[row])
    old = rows.email[row].strip().lower().partition("@")[0] or f"{first}.{last}"
    provider = _PROVIDERS[int(rng.integers(0, len(_PROVIDERS)))]
    number = int(rng.integers(1, 1000))
    how = rng.random()
    if how < 0.4:
        local = f"{old}{number}"
    elif how < 0.75:
        local = (f"{first[:1]}{last}", f"{last}.{first}", f"{first}{number}")[
            int(rng.integers(0, 3))
        ]
    else:
        local = f"{_WORDS[int(rng.integers(0, len(_WORDS)))]}{number}"
    return f"{local}@{provider}"


def _other_email(rows: Rows, row: int, rng: np.random.Generator) -> None:
    rows.email[row] = new_email(rows, row, rng)


def _no_email(rows: Rows, row: int, rng: np.random.Generator) -> None:
    rows.email[row] = ""


def _no_phone(rows: Rows, row: int, rng: np.random.Generator) -> None:
    rows.phone[row] = ""


def _no_contact(rows: Rows, row: int, rng: np.random.Generator) -> None:
    rows.email[row] = rows.phone[row] = ""


def _phone_written(rows: Rows, row: int, rng: np.random.Generator) -> None:
    # One of the other written forms, the 0033 one (style len(PHONE_STYLES)) included.
    forms = len(PHONE_STYLES) + 1
    rows.style[row] = (rows.style[row] + int(rng.integers(1, forms))) % forms
    rows.rewrite.add(row)


def _move(rows: Rows, row: int, rng: np.random.Generator) -> None:
    place = rows.place[row]
    # Half move next door, half anywhere in the country.
    if rng.random() < 0.5:
        moved = int(rows.places.nearby[place])
    else:
        moved = int(rows.places.draw(rng, 1)[0])
    rows.place[row] = moved if moved != place else int(rows.places.nearby[place])
    # A landline stays behind; a mobile moves with its owner.
    if rows.phone[row] and rows.number[row] // 100_000_000 < 6:
        rows.number[row] = int(rng.integers(1, 6)) * 100_000_000 + int(rng.integers(10**7, 10**8))
        rows.rewrite.add(row)


def _move_anew(rows: Rows, row: int, rng: np.random.Generator) -> None:
    _move(rows, row, rng)
    rows.email[row] = new_email(rows, row, rng) if rng.random() < 0.7 else ""
    if rng.random() < 0.6:
        rows.number[row] = int(rng.choice([6, 7])) * 100_000_000 + int(rng.integers(10**7, 10**8))
        rows.phone[row] = "x"  # written from the number on the way out
        rows.rewrite.add(row)
    else:
        rows.phone[row] = ""


def _birth(rows: Rows, row: int, rng: np.random.Generator) -> None:
    how = rng.random()
    if how < 0.4:
        rows.birth[row] = np.nan
        return
    day = np.datetime64(int(rows.birth[row] // DAY), "D")
    year, month, date = (int(x) for x in str(day).split("-"))
    if how < 0.6 and date <= 12 and date != month:
        # Day and month the other way round, as a date typed mm/dd.
        typed = np.datetime64(f"{year:04d}-{date:02d}-{month:02d}", "D")
    elif how < 0.8:
        typed = day + int(rng.choice([-1, 1]))
    else:
        typed = np.datetime64(f"{year + int(rng.choice([-1, 1])):04d}-{month:02d}-01", "D") + (
            date - 1
        )
    rows.birth[row] = float(typed.astype(np.int64) * DAY)


#: The kinds, in the order they are reported.
KINDS = (
    Kind("typo", NAMES, "a letter missing, doubled or hit next to it, in one name", _any, _typo),
    Kind(
        "transposition", NAMES, "two neighbouring letters swapped in one name", _any, _transposition
    ),
    Kind("swapped names", NAMES, "first and last name given the other way round", _any, _swap),
    Kind("nickname", NAMES, "the usual short form of the first name", _has_nickname, _nickname),
    Kind(
        "hyphenated name",
        NAMES,
        "a compound first name cut or written without its hyphen, a double last name",
        _any,
        _hyphenated,
    ),
    Kind("accents dropped", NAMES, "names typed without accents", _has_accents, _accents),
    Kind("other e-mail", CONTACTS, "another e-mail address", _has_email, _other_email),
    Kind("no e-mail", CONTACTS, "the e-mail address left empty", _has_email, _no_email),
    Kind("no phone", CONTACTS, "the phone left empty", _has_phone, _no_phone),
    Kind(
        "no e-mail or phone", CONTACTS, "neither e-mail nor phone given", _has_contact, _no_contact
    ),
    Kind(
        "phone written another way",
        CONTACTS,
        "the same number in another written form (0033, +33, dots, spaces)",
        _has_phone,
        _phone_written,
    ),
    Kind("moved", PLACE, "another commune, nearby or far; a landline changes", _any, _move),
    Kind(
        "moved, new contacts",
        PLACE,
        "another commune, another or no e-mail, another or no phone: only the names and "
        "birth date are left",
        _has_birth,
        _move_anew,
    ),
    Kind(
        "birth date",
        BIRTH,
        "birth date left empty, a day or a year off, or day and month swapped",
        _has_birth,
        _birth,
    ),
)
#: Name of the pairs whose two profiles differ by more than one kind.
SEVERAL = "two or more kinds"


def corrupt(
    rng: np.random.Generator, copies: pd.DataFrame, places: Places, *, second: float = 0.15
) -> list[str]:
    """Give each row of ``copies`` one kind of :data:`KINDS`, in place; return their names.

    Each row draws its kind fairly among those it can have, each kind on about as
    many rows (:func:`_spread`). ``second`` of the rows get a second kind of another
    family, named ``"first + second"``. Every row then gets harmless noise (the
    e-mail's case and spacing, the last name's case).
    """
    rows = Rows(copies, places)
    count = len(copies)
    chosen = _spread(rng, rows, count)
    labels = [KINDS[k].name for k in chosen]
    for row, k in enumerate(chosen):
        KINDS[k].change(rows, row, rng)
    for row in np.flatnonzero(rng.random(count) < second).tolist():
        family = KINDS[chosen[row]].family
        others = [k for k, kind in enumerate(KINDS) if kind.family != family]
        allowed = [k for k in others if KINDS[k].eligible(rows, row)]
        extra = allowed[int(rng.integers(0, len(allowed)))]
        KINDS[extra].change(rows, row, rng)
        labels[row] = f"{labels[row]} + {KINDS[extra].name}"
    _noise(rng, rows)
    rows.write(copies)
    return labels


def _spread(rng: np.random.Generator, rows: Rows, count: int) -> list[int]:
    """A kind per row, each kind on about as many rows, drawn fairly among those eligible.

    A row draws its kind among the kinds it can have, with weights that even out the
    expected number of rows per kind. Filling the scarcest kinds first instead would
    leave the rows that fit few kinds (an original without phone or birth date) to
    the last kinds filled, and give those kinds several times their natural share of
    hard copies: such a row is no likelier to get another e-mail than any other.
    """
    eligible = np.array(
        [[kind.eligible(rows, row) for kind in KINDS] for row in range(count)], dtype=float
    ).reshape(count, len(KINDS))
    # Iterative scaling of one weight per kind; a kind with fewer eligible rows than
    # its share ends with all the weight it can use.
    weight = np.ones(len(KINDS))
    target = count / len(KINDS)
    for _ in range(100):
        share = eligible * weight
        share /= share.sum(axis=1, keepdims=True)
        weight = np.clip(weight * target / np.maximum(share.sum(axis=0), 1e-12), 1e-9, 1e9)
    share = eligible * weight
    share /= share.sum(axis=1, keepdims=True)
    # Rows in random order; a kind that has had its share already is drawn less, so
    # that the counts stay close to even (a plain draw leaves some kinds 20% short).
    left = np.full(len(KINDS), target)
    chosen = [0] * count
    draws = rng.random(count).tolist()
    for row, draw in zip(rng.permutation(count).tolist(), draws, strict=True):
        odds = share[row] * np.maximum(left, 0.5)
        k = int(np.searchsorted(np.cumsum(odds), draw * odds.sum(), side="right"))
        k = min(k, len(KINDS) - 1)
        chosen[row] = k
        left[k] -= 1
    return chosen


def _noise(rng: np.random.Generator, rows: Rows) -> None:
    draws = rng.random((len(rows.email), 3)).tolist()
    for row, (how, side, caps) in enumerate(draws):
        email = rows.email[row]
        if email:
            if how < 0.3:
                local, _, domain = email.partition("@")
                rows.email[row] = f"{local.title()}@{domain.capitalize()}"
            elif how < 0.45:
                rows.email[row] = f" {email}" if side < 0.5 else f"{email} "
            elif how < 0.55:
                rows.email[row] = email.upper()
        if caps < 0.15:
            rows.last[row] = rows.last[row].upper()
