"""The field registry: canonical tables plus the custom attributes a workspace declares.

Examples
--------
>>> from cible.domain.config import WorkspaceConfig
>>> from cible.domain.registry import FieldRegistry
>>> registry = FieldRegistry(WorkspaceConfig.model_validate(
...     {"attributes": {"religion": {"sensitivity": "special", "category": "demographic"}}}))
>>> registry.table("customers").field("religion").usable_for_targeting
False
"""

from __future__ import annotations

from collections.abc import Iterator

from cible.domain.config import WorkspaceConfig
from cible.domain.errors import ImportFileError
from cible.domain.schema import CANONICAL_TABLES, IMPORT_KINDS, Field, Table


class FieldRegistry:
    """Every table and attribute a workspace knows, with category and sensitivity.

    Parameters
    ----------
    config : WorkspaceConfig
        Settings whose ``attributes`` extend the ``customers`` table.
    """

    def __init__(self, config: WorkspaceConfig) -> None:
        custom = tuple(
            Field(
                name,
                decl.type,
                decl.category,
                decl.sensitivity,
                values=tuple(decl.values),
                description=decl.description,
                legal_basis=decl.legal_basis,
            )
            for name, decl in config.attributes.items()
        )
        self._tables = dict(CANONICAL_TABLES)
        self._tables["customers"] = CANONICAL_TABLES["customers"].with_fields(custom)
        self.custom_fields: tuple[Field, ...] = custom
        #: Product categories (lower case) revealing special-category data without a
        #: legal basis -> the kind of data they reveal: rules may not name them.
        self.special_categories: dict[str, str] = {
            name: flagged.reveals
            for name, flagged in config.privacy.special_categories.items()
            if not flagged.legal_basis
        }

    def table(self, name: str) -> Table:
        """Return the table called ``name`` (canonical name, with underscores)."""
        return self._tables[name]

    def tables(self) -> Iterator[Table]:
        """Iterate over all tables in import order."""
        return iter(self._tables.values())

    def fields(self) -> Iterator[tuple[Table, Field]]:
        """Iterate over every ``(table, field)`` pair."""
        for table in self._tables.values():
            for f in table.fields:
                yield table, f

    def table_for_kind(self, kind: str) -> Table:
        """Resolve an import kind as typed by a user (``order-lines``) to its table."""
        name = IMPORT_KINDS.get(kind.strip().lower().replace("_", "-"))
        if name is None:
            known = ", ".join(IMPORT_KINDS)
            raise ImportFileError(f"Unknown kind {kind!r}: use one of {known}.")
        return self._tables[name]
