"""Workspace settings as stored in ``cible.toml``, validated with pydantic.

Examples
--------
>>> from cible.domain.config import WorkspaceConfig
>>> cfg = WorkspaceConfig.model_validate(
...     {"attributes": {"loyalty_tier": {"type": "enum", "values": ["gold", "silver"],
...                                      "category": "value"}}}
... )
>>> cfg.attributes["loyalty_tier"].values
['gold', 'silver']
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cible.domain.schema import CANONICAL_TABLES, Category, FieldType, Sensitivity

# No double underscore: Cible names its own working columns ``<field>__reason``.
_SNAKE = re.compile(r"^[a-z](?!.*__)[a-z0-9_]{0,62}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceSection(_Strict):
    """``[workspace]``: identity and regional defaults."""

    name: str = "cible"
    default_region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "FR"
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"


class ImportSection(_Strict):
    """``[import]``: defaults for ``cible import``."""

    #: strftime format of dates in files; empty means recognise ISO and French forms.
    date_format: str = ""
    #: Decimal separator of amounts: "auto", "." or ",".
    decimal: Annotated[str, Field(pattern=r"^(auto|\.|,)$")] = "auto"
    #: Per kind, canonical column -> column name in the file.
    mappings: dict[str, dict[str, str]] = {}

    @field_validator("mappings")
    @classmethod
    def _known_kinds(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for kind in value:
            if kind.replace("-", "_") not in CANONICAL_TABLES:
                known = ", ".join(CANONICAL_TABLES)
                raise ValueError(f"unknown kind {kind!r} in import.mappings (known: {known})")
        normalised = {kind.replace("-", "_"): mapping for kind, mapping in value.items()}
        for kind, mapping in normalised.items():
            fields = CANONICAL_TABLES[kind].names
            for target in mapping:
                # Custom customer attributes are checked when the registry is built.
                if target not in fields and kind != "customers":
                    raise ValueError(
                        f"[import.mappings.{kind}] maps {target!r}, which is not a field of "
                        f"{kind} (fields: {', '.join(fields)})"
                    )
        return normalised


class LifecycleSection(_Strict):
    """``[lifecycle]``: thresholds of the lifecycle stages (docs/segments.md).

    "At risk" and "lapsed" are relative to a customer's own rhythm (mean days between
    purchases) when they have bought at least twice, else absolute.
    """

    new_days: Annotated[int, Field(gt=0)] = 90
    loyal_min_orders: Annotated[int, Field(ge=2)] = 4
    at_risk_factor: Annotated[float, Field(gt=1)] = 1.5
    lapsed_factor: Annotated[float, Field(gt=1)] = 3.0
    at_risk_days: Annotated[int, Field(gt=0)] = 120
    lapsed_days: Annotated[int, Field(gt=0)] = 240
    churned_days: Annotated[int, Field(gt=0)] = 365
    reactivated_days: Annotated[int, Field(gt=0)] = 90

    @model_validator(mode="after")
    def _ordered(self) -> LifecycleSection:
        if not self.at_risk_days < self.lapsed_days < self.churned_days:
            raise ValueError("at_risk_days < lapsed_days < churned_days must hold")
        if not self.at_risk_factor < self.lapsed_factor:
            raise ValueError("at_risk_factor must be smaller than lapsed_factor")
        return self


class RfmRule(_Strict):
    """One named RFM segment: ranges of the R and F scores (1-5, inclusive)."""

    r: Annotated[list[int], Field(min_length=2, max_length=2)]
    f: Annotated[list[int], Field(min_length=2, max_length=2)]


class AttributeDeclaration(_Strict):
    """``[attributes.NAME]``: a custom customer attribute."""

    type: FieldType = FieldType.STRING
    category: Category = Category.PSYCHOGRAPHIC
    sensitivity: Sensitivity = Sensitivity.NONE
    values: list[str] = []
    description: str = ""
    legal_basis: str | None = None

    @model_validator(mode="after")
    def _enum_has_values(self) -> AttributeDeclaration:
        if self.type is FieldType.ENUM and not self.values:
            raise ValueError("an enum attribute needs a non-empty 'values' list")
        if self.type is not FieldType.ENUM and self.values:
            raise ValueError("'values' only applies to attributes of type 'enum'")
        self.values = [v.lower() for v in self.values]
        return self


class WorkspaceConfig(_Strict):
    """The whole of ``cible.toml``."""

    workspace: WorkspaceSection = WorkspaceSection()
    import_: Annotated[ImportSection, Field(alias="import")] = ImportSection()
    attributes: dict[str, AttributeDeclaration] = {}
    lifecycle: LifecycleSection = LifecycleSection()
    #: Named RFM segments, first match wins; empty keeps the built-in mapping.
    rfm: dict[str, RfmRule] = {}

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("attributes")
    @classmethod
    def _valid_names(
        cls, value: dict[str, AttributeDeclaration]
    ) -> dict[str, AttributeDeclaration]:
        taken = set(CANONICAL_TABLES["customers"].names)
        for name in value:
            if not _SNAKE.match(name):
                raise ValueError(
                    f"attribute name {name!r} must be snake_case: a lower-case letter, "
                    "then letters, digits or single underscores"
                )
            if name in taken:
                raise ValueError(f"attribute {name!r} is already a built-in customer field")
        return value
