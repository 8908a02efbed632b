"""Settings of ``[privacy]``: retention periods and product categories that reveal art. 9 data.

``prospect_days`` and ``customer_inactive_days`` say how long Cible keeps people it no
longer sees (GDPR art. 5(1)(e); docs/privacy-access.md, "Retention").
``[privacy.special_categories.NAME]`` flags a product category whose purchase reveals
special-category data by deduction (a pharmacy, religious food, health products): it
is then treated as a special field (docs/privacy.md, "Special categories").

Examples
--------
>>> PrivacySection().prospect_days, PrivacySection().customer_inactive_days
(1095, 1825)
>>> import pydantic
>>> try:
...     PrivacySection.model_validate({"prospect_days": 0})
... except pydantic.ValidationError as exc:
...     print(exc.errors()[0]["msg"])
Input should be greater than or equal to 1
>>> section = PrivacySection.model_validate(
...     {"special_categories": {" Pharmacy ": {"reveals": "health"},
...                             "Halal": {"reveals": "religion", "legal_basis": "consent"}}})
>>> sorted(section.special_categories), section.blocked_categories()
(['halal', 'pharmacy'], frozenset({'pharmacy'}))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The kinds of data of GDPR article 9 a product category may reveal.
Art9Kind = Literal[
    "health",
    "religion",
    "ethnicity",
    "political_opinion",
    "sexual_orientation",
    "trade_union",
    "genetic",
    "biometric",
]


class SpecialCategory(BaseModel):
    """``[privacy.special_categories.NAME]``: what a product category reveals, and on what basis.

    Without a ``legal_basis`` its purchases count in no category trait, and rules may
    not name it; with one (an explicit consent, say) it is used like any category.
    """

    model_config = ConfigDict(extra="forbid")

    reveals: Art9Kind
    legal_basis: str = ""

    @field_validator("legal_basis")
    @classmethod
    def _stripped(cls, value: str) -> str:
        return value.strip()


class PrivacySection(BaseModel):
    """``[privacy]``: retention periods, listed by ``cible privacy retention``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    #: A prospect (no order, no event) is past retention this many days after the
    #: record was created: three years by default, the CNIL's usual period.
    prospect_days: Annotated[int, Field(ge=1, le=36_500)] = 1_095
    #: A customer is past retention this many days after their last order or event.
    customer_inactive_days: Annotated[int, Field(ge=1, le=36_500)] = 1_825
    #: Product categories (compared without case) that reveal special-category data.
    special_categories: dict[str, SpecialCategory] = {}

    @field_validator("special_categories")
    @classmethod
    def _lower_names(cls, value: dict[str, SpecialCategory]) -> dict[str, SpecialCategory]:
        named = {}
        for name, flagged in value.items():
            key = name.strip().lower()
            if not key:
                raise ValueError("a special category needs a name (the product category)")
            named[key] = flagged
        return named

    def blocked_categories(self) -> frozenset[str]:
        """Flagged categories (lower case) without a legal basis: kept out of targeting."""
        return frozenset(n for n, c in self.special_categories.items() if not c.legal_basis)


#: String operators that match a part of a value, and how each matches a fragment
#: against a category's name: a fragment of a flagged category's name (``pharm``)
#: selects that category's events as surely as its whole name does.
PARTIAL_OPS: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda name, fragment: fragment in name,
    "not_contains": lambda name, fragment: fragment in name,
    "starts_with": lambda name, fragment: name.startswith(fragment),
    "ends_with": lambda name, fragment: name.endswith(fragment),
}


def special_category_problem(
    flagged: Mapping[str, str], value: object, op: str = "="
) -> str | None:
    """Why ``value`` may not appear in a rule with operator ``op``, or None.

    ``flagged`` maps each product category (lower case) flagged as special-category
    data without a legal basis to what it reveals (``FieldRegistry.special_categories``).
    A value (or any value of a list) naming one, compared without case and
    surrounding spaces, is refused whatever the operator; with a partial operator
    (:data:`PARTIAL_OPS`), a fragment is refused when it matches a part of a flagged
    name where the operator looks (``contains "pharm"``, ``starts_with "phar"``,
    ``ends_with "macy"``). Rules over segments and automation triggers share it.

    Examples
    --------
    >>> flagged = {"pharmacy": "health"}
    >>> special_category_problem(flagged, ["books", " Pharmacy"])[:60]
    "'Pharmacy' is a product category flagged as special-category"
    >>> special_category_problem(flagged, "pharm", "contains")[:45]
    "'pharm' (contains) matches part of 'pharmacy'"
    >>> special_category_problem(flagged, "pharm"), special_category_problem(flagged, "macy",
    ...                                                                      "starts_with")
    (None, None)
    """
    if not flagged:
        return None
    partial = PARTIAL_OPS.get(op)
    for item in value if isinstance(value, tuple | list) else (value,):
        if not isinstance(item, str):
            continue
        given = item.strip()
        key = given.lower()
        if key in flagged:
            return (
                f"{given!r} is a product category flagged as special-category data "
                f"({flagged[key]}) {_NO_BASIS}"
            )
        if partial is None or not key:
            # An empty fragment matches every value alike: it singles out no category.
            continue
        for name, reveals in sorted(flagged.items()):
            if partial(name, key):
                return (
                    f"{given!r} ({op}) matches part of {name!r}, a product category flagged "
                    f"as special-category data ({reveals}) {_NO_BASIS}"
                )
    return None


_NO_BASIS = (
    "with no recorded legal basis, so no rule may target it; record a legal_basis for it "
    "under [privacy.special_categories] in cible.toml if the law allows it"
)
