"""What sets a group of customers apart from the whole base, trait by trait.

:func:`contrast` compares a group (a cluster, a segment, a persona) with the base it
was drawn from. For a numeric trait it compares means; for a label (``top_channel``)
it compares, value by value, the share of customers holding it, which is the mean of
an indicator. Each comparison gives:

- the **lift**, group mean over base mean (only when both are non-negative and the
  base mean is positive: a ratio of signed quantities means nothing);
- the **standardized difference** ``(group mean - base mean) / base std``, an effect
  size that does not depend on how many customers the group holds;
- the **test value** ``z`` of Lebart, Morineau & Piron (*Statistique exploratoire
  multidimensionnelle*, 1995, section 2.5.2), the number of standard errors between
  the group mean and the base mean when the group is drawn at random, without
  replacement, from the base::

      z = (group mean - base mean) / sqrt(base variance / n * (N - n) / (N - 1))

  with ``n`` and ``N`` the customers with a value in the group and in the base, and
  the base variance taken with divisor ``N``. Unlike a two-sample test it accounts
  for the group being part of the base: a group of the whole base has ``z = 0``.
  ``|z| > 2`` is the usual reading of "sets the group apart".

Traits are ranked by ``|z|``; within one group this is the order of the standardized
differences too, since every trait shares the same ``n`` but for missing values.
Missing values are left out of both means.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from cible.features import get_trait
>>> frame = pd.DataFrame({"frequency": [1, 1, 2, 8, 9, 9], "top_channel": list("wwswss")})
>>> rows = contrast(frame, np.array([0, 0, 0, 1, 1, 1], bool),
...                 [get_trait("frequency"), get_trait("top_channel")], top=2)
>>> [(c.trait, c.level, round(c.lift, 2), round(c.z, 2)) for c in rows]
[('frequency', None, 1.73, 2.22), ('top_channel', 'w', 0.67, -0.75)]
>>> rows[0].text["en"]
'Purchases: 8.67 on average against 5 for the whole base (x1.73)'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cible.domain.schema import Category
from cible.features import Trait
from cible.models.clustering.wording import format_value
from cible.models.errors import ModelDataError

#: Most values of one label compared, the most frequent in the base.
MAX_LEVELS = 30

_NUMERIC = ("float64", "int64")
# Stand-ins that format a label's share as a percentage and a lift as a plain number.
_SHARE = Trait("share", "float64", "share", Category.BEHAVIOURAL, "", "")
_PLAIN = Trait("ratio", "float64", "", Category.BEHAVIOURAL, "", "")


@dataclass(frozen=True)
class TraitContrast:
    """How one trait, or one value of a label, differs in a group from the base.

    Attributes
    ----------
    trait : str
        Trait name.
    level : str or None
        For a label trait, the value whose share is compared; None for a number.
    mean_in, mean_base : float
        Mean in the group and in the whole base (a share for a label value).
    lift : float or None
        ``mean_in / mean_base``; None when the ratio means nothing (see the module).
    difference : float
        Standardized difference, ``(mean_in - mean_base) / base std``.
    z : float
        Test value (see the module); ``|z| > 2`` sets the group apart.
    n_in, n_base : int
        Customers with a value, in the group and in the base.
    text : Mapping
        One sentence per language, ``{"en": ..., "fr": ...}``.
    """

    trait: str
    level: str | None
    mean_in: float
    mean_base: float
    lift: float | None
    difference: float
    z: float
    n_in: int
    n_base: int
    text: Mapping[str, str]


def contrast(
    frame: pd.DataFrame, in_group: np.ndarray, traits: Sequence[Trait], top: int = 5
) -> list[TraitContrast]:
    """The ``top`` traits that set a group apart from the whole base, largest ``|z|`` first.

    Parameters
    ----------
    frame : DataFrame
        The whole base, one row per customer, one column per trait (others ignored).
    in_group : ndarray of bool
        Which rows of ``frame`` belong to the group, in row order.
    traits : sequence of Trait
        Traits to compare; numeric ones by their mean, labels (``string``) value by
        value by their share. Timestamps and traits absent from ``frame`` are skipped.
    top : int, default 5
        How many comparisons to return.

    Returns
    -------
    list of TraitContrast
        At most ``top``, ranked by ``|z|``, ties in the order of ``traits``.
        Traits constant over the base, or without a value in the group, are left out.

    Raises
    ------
    ModelDataError
        When ``in_group`` does not match the rows of ``frame``, is empty, or
        ``top`` is not a positive whole number.
    """
    mask = _check(frame, in_group, top)
    found: list[TraitContrast] = []
    for trait in traits:
        if trait.name not in frame.columns:
            continue
        column = frame[trait.name]
        if trait.dtype in _NUMERIC:
            values = pd.to_numeric(column, errors="coerce").to_numpy(np.float64, na_value=np.nan)
            found.extend(_compare(trait, None, values, mask))
        elif trait.dtype == "string":
            labels = column.astype("object").where(column.notna(), None)
            present = labels.notna().to_numpy()
            for level in labels.value_counts().index[:MAX_LEVELS]:
                indicator = np.where(present, (labels == level).to_numpy(), np.nan)
                found.extend(_compare(trait, str(level), indicator.astype(np.float64), mask))
    found.sort(key=lambda c: -abs(c.z))
    return found[:top]


def _check(frame: pd.DataFrame, in_group: np.ndarray, top: int) -> np.ndarray:
    mask = np.asarray(in_group)
    if mask.dtype != np.bool_:
        raise ModelDataError(f"in_group must hold booleans, got {mask.dtype} values.")
    if mask.shape != (len(frame),):
        raise ModelDataError(
            f"in_group has shape {mask.shape}, but the table has {len(frame)} rows: "
            "give one boolean per row."
        )
    if not mask.any():
        raise ModelDataError("in_group selects no customer: the group is empty.")
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise ModelDataError(f"top must be a positive whole number, got {top!r}.")
    return mask


def _compare(
    trait: Trait, level: str | None, values: np.ndarray, mask: np.ndarray
) -> list[TraitContrast]:
    known = ~np.isnan(values)
    base = values[known]
    group = values[known & mask]
    n_base, n_in = base.size, group.size
    if n_in == 0:
        return []
    std = float(base.std())
    if std == 0.0:
        return []
    mean_base, mean_in = float(base.mean()), float(group.mean())
    spread = std**2 / n_in * (n_base - n_in) / (n_base - 1) if n_base > 1 else 0.0
    z = (mean_in - mean_base) / np.sqrt(spread) if spread > 0 else 0.0
    lift = mean_in / mean_base if mean_base > 0 and mean_in >= 0 else None
    return [
        TraitContrast(
            trait=trait.name,
            level=level,
            mean_in=mean_in,
            mean_base=mean_base,
            lift=lift,
            difference=(mean_in - mean_base) / std,
            z=float(z),
            n_in=int(n_in),
            n_base=int(n_base),
            text=_sentences(trait, level, mean_in, mean_base, lift),
        )
    ]


def _sentences(
    trait: Trait, level: str | None, mean_in: float, mean_base: float, lift: float | None
) -> dict[str, str]:
    unit = trait if level is None else _SHARE
    texts = {}
    for language, (average, against, colon) in _WORDS.items():
        # A marketer reads the label; the column name only when a trait has none.
        label = trait.label_in(language) or trait.name
        subject = label if level is None else f"{label} = {level}"
        times = "" if lift is None else f" (x{format_value(_PLAIN, lift, language)})"
        middle = average if level is None else ""
        texts[language] = (
            f"{subject}{colon} {format_value(unit, mean_in, language)}{middle} "
            f"{against} {format_value(unit, mean_base, language)}"
            f"{_WHOLE[language]}{times}"
        )
    return texts


_WORDS = {
    "en": (" on average", "against", ":"),
    "fr": (" en moyenne", "contre", " :"),
}
_WHOLE = {"en": " for the whole base", "fr": " pour l'ensemble de la base"}
