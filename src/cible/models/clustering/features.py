"""Which traits a clustering reads, and why the others are left out.

A clustering describes how customers behave, so by default it reads the *observed*
traits of :data:`cible.features.TRAITS`, numbers and labels, and leaves out, with a
reason each (:class:`ExcludedTrait`, in English and French):

- dates and timestamps (``recency_days`` and ``tenure_days`` carry them as
  durations, which mean the same whatever the date of the run);
- identifiers and bookkeeping (category ``identifier`` or ``technical``);
- anything whose name is a customer profile field of sensitivity ``personal``
  (name, birth date, postal code...) or ``special`` (health, religion...): a special
  field without a recorded legal basis is refused even when asked for;
- traits a run derives from the observed ones (RFM scores, lifecycle stage, value
  tier, lifetime value, churn risk): they restate the same behaviour through another
  model's settings, so using them would count it twice and tie the clusters to those
  models. Name them in ``include`` to use them anyway.

How the chosen traits become numbers is :mod:`cible.models.clustering.preprocessing`.

Examples
--------
>>> from cible.features import TRAITS
>>> choice = choose_features(TRAITS, columns=["frequency", "monetary_value", "top_channel"])
>>> [t.name for t in choice.numeric], [t.name for t in choice.categorical]
(['frequency', 'monetary_value'], ['top_channel'])
>>> {e.trait: e.code for e in choice.excluded}["first_order_at"]
'date'
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from cible.domain.schema import CUSTOMERS, Category, Field, Sensitivity
from cible.features import TRAITS, Trait
from cible.models.errors import ModelDataError

#: The observed traits: those :func:`cible.features.compute_traits` returns.
OBSERVED: frozenset[str] = frozenset(t.name for t in TRAITS)

_NUMERIC = ("float64", "int64")
_HIDDEN_CATEGORIES = (Category.IDENTIFIER, Category.TECHNICAL)


@dataclass(frozen=True)
class ExcludedTrait:
    """A trait the clustering does not read, and why.

    Attributes
    ----------
    trait : str
        Trait name.
    code : str
        Short reason: ``date``, ``identifier``, ``personal``, ``special``,
        ``derived``, ``excluded``, ``absent``, ``empty``, ``near_constant``,
        ``redundant`` or ``too_many_values``.
    reason : Mapping
        The reason as a sentence, ``{"en": ..., "fr": ...}``.
    """

    trait: str
    code: str
    reason: Mapping[str, str]


_REASONS = {
    "date": (
        "a date: durations such as recency_days carry it",
        "une date : les durées comme recency_days la portent",
    ),
    "identifier": (
        "an identifier or bookkeeping field, not a behaviour",
        "un identifiant ou une donnée technique, pas un comportement",
    ),
    "personal": (
        "a personal profile field, kept out of clustering",
        "une donnée personnelle du profil, tenue à l'écart du clustering",
    ),
    "special": (
        "a special-category field without a recorded legal basis",
        "une donnée sensible sans base légale enregistrée",
    ),
    "derived": (
        "derived from other traits by another model; name it in include to use it",
        "dérivé d'autres traits par un autre modèle ; l'inclure explicitement pour l'utiliser",
    ),
    "excluded": ("excluded on request", "exclu à la demande"),
    "absent": ("not a column of the table", "absent de la table"),
    "empty": (
        "no customer of the sample has a value",
        "aucun client de l'échantillon n'a de valeur",
    ),
    "near_constant": (
        "the same value for at least 99% of the sample",
        "la même valeur pour au moins 99 % de l'échantillon",
    ),
    "too_many_values": (
        "a label with too many distinct values to encode",
        "un libellé aux valeurs distinctes trop nombreuses pour être encodé",
    ),
}


def excluded(trait: str, code: str) -> ExcludedTrait:
    """An :class:`ExcludedTrait` with the standard sentence for ``code``.

    Examples
    --------
    >>> excluded("first_order_at", "date").reason["en"]
    'a date: durations such as recency_days carry it'
    """
    english, french = _REASONS[code]
    return ExcludedTrait(trait, code, {"en": english, "fr": french})


def redundant(column: str, twin: str, correlation: float) -> ExcludedTrait:
    """An :class:`ExcludedTrait` for a column that moves with an earlier one.

    Examples
    --------
    >>> redundant("category_count", "frequency", 0.93).reason["fr"]
    'varie avec frequency (corrélation 0,93) : comptée une fois'
    """
    value = f"{correlation:.2f}"
    return ExcludedTrait(
        column,
        "redundant",
        {
            "en": f"moves with {twin} (correlation {value}): counted once",
            "fr": f"varie avec {twin} (corrélation {value.replace('.', ',')}) : comptée une fois",
        },
    )


@dataclass(frozen=True)
class FeatureChoice:
    """The traits a clustering reads, by kind, and those it leaves out.

    Attributes
    ----------
    numeric : tuple of Trait
        Numbers, scaled.
    categorical : tuple of Trait
        Labels, one-hot encoded.
    excluded : tuple of ExcludedTrait
        Everything else, with the reason.
    """

    numeric: tuple[Trait, ...]
    categorical: tuple[Trait, ...]
    excluded: tuple[ExcludedTrait, ...]


def choose_features(
    traits: Sequence[Trait],
    *,
    columns: Collection[str],
    fields: Iterable[Field] = CUSTOMERS.fields,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    observed: Collection[str] = OBSERVED,
) -> FeatureChoice:
    """Choose the traits a clustering reads (rules in the module docstring).

    Parameters
    ----------
    traits : sequence of Trait
        Every trait known: :data:`cible.features.TRAITS` and a run's additions.
    columns : collection of str
        Columns of the table to cluster; a trait without a column is left out.
    fields : iterable of Field
        Customer profile fields with their sensitivity (a workspace passes its
        registry's ``customers`` fields, custom attributes included).
    include : iterable of str, optional
        Traits to read even when derived; None reads the observed ones.
    exclude : iterable of str
        Traits not to read.
    observed : collection of str
        Names of the observed traits; the others are derived.

    Returns
    -------
    FeatureChoice

    Raises
    ------
    ModelDataError
        When ``include`` names an unknown trait or a special-category field without
        legal basis, or when no trait is left.
    """
    by_name = {t.name: t for t in traits}
    profile = {f.name: f for f in fields}
    wanted = None if include is None else list(include)
    for name in wanted or ():
        if name not in by_name:
            raise ModelDataError(f"include names {name!r}, which is not a known trait.")
        field = profile.get(name)
        if field is not None and not field.usable_for_targeting:
            raise ModelDataError(
                f"{name!r} is a special-category field without a recorded legal basis, "
                "so it cannot feed a clustering."
            )
    dropped = set(exclude)
    numeric: list[Trait] = []
    categorical: list[Trait] = []
    left_out: list[ExcludedTrait] = []
    for trait in traits:
        code = _exclusion(trait, profile.get(trait.name), columns, wanted, dropped, observed)
        if code is not None:
            left_out.append(excluded(trait.name, code))
        elif trait.dtype in _NUMERIC:
            numeric.append(trait)
        else:
            categorical.append(trait)
    if not numeric and not categorical:
        raise ModelDataError(
            "no trait is left to cluster on: pass the traits computed by "
            "cible.features.compute_traits, or name some in include."
        )
    return FeatureChoice(tuple(numeric), tuple(categorical), tuple(left_out))


def _exclusion(
    trait: Trait,
    field: Field | None,
    columns: Collection[str],
    wanted: list[str] | None,
    dropped: set[str],
    observed: Collection[str],
) -> str | None:
    if trait.dtype == "timestamp":
        return "date"
    if trait.category in _HIDDEN_CATEGORIES:
        return "identifier"
    if field is not None and not field.usable_for_targeting:
        return "special"
    if field is not None and field.sensitivity is not Sensitivity.NONE and wanted is None:
        return "personal"
    if trait.name in dropped:
        return "excluded"
    if wanted is None and trait.name not in observed:
        return "derived"
    if wanted is not None and trait.name not in wanted:
        return "excluded"
    if trait.name not in columns:
        return "absent"
    return None
