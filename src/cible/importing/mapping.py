"""Matching a file's columns to a table's fields, and spotting the wrong kind of file.

A field is matched by an explicit mapping (``--map amount=Montant`` or
``[import.mappings.orders]`` in ``cible.toml``) or else by its own name, ignoring
case, spaces, dashes and accents-free punctuation (``Customer ID`` matches
``customer_id``). A field mapped to ``None`` (or ``""``) takes no column, even one
bearing its name: the web preview's "not imported" choice.

Examples
--------
>>> from cible.domain.schema import ORDERS
>>> resolve_columns(["Order ID", "customer_id", "ordered_at", "Montant"], ORDERS,
...                 {"amount": "Montant"}).fields["order_id"]
'Order ID'
>>> match_columns(["order_id", "customer_id", "amount"], ORDERS, {"amount": None})
{'order_id': 'order_id', 'customer_id': 'customer_id'}
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cible.domain.aliases import COLUMN_ALIASES
from cible.domain.errors import ImportFileError
from cible.domain.schema import IMPORT_KINDS, Category, Table


@dataclass(frozen=True)
class ColumnMatch:
    """Result of matching.

    Attributes
    ----------
    fields : dict
        Field name -> column name in the file.
    ignored : list of str
        File columns no field uses.
    """

    fields: dict[str, str]
    ignored: list[str]


def normalise(name: str) -> str:
    """Comparable form of a column name: lower case, no accents, words joined by ``_``."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^0-9a-z]+", "_", plain.strip().lower()).strip("_")


def resolve_columns(
    columns: list[str],
    table: Table,
    mapping: Mapping[str, str | None],
    *,
    path: Path | None = None,
    generated: frozenset[str] = frozenset(),
) -> ColumnMatch:
    """Match ``columns`` to ``table``; raise when a required field has no column.

    ``generated`` names required fields the importer can derive when absent.

    Raises
    ------
    ImportFileError
        Unknown field or column in ``mapping``, or a required field not found.
    """
    where = f"{path}: " if path else ""
    fields = match_columns(columns, table, mapping, path=path)
    used = set(fields.values())
    missing = missing_fields(fields, table, generated)
    if missing:
        raise ImportFileError(
            f"{where}no column for required field(s) {', '.join(missing)} of {table.name} "
            f"(columns found: {', '.join(columns)}); map one with --map {missing[0]}=COLUMN."
        )
    return ColumnMatch(fields, [c for c in columns if c not in used])


def missing_fields(
    fields: dict[str, str], table: Table, generated: frozenset[str] = frozenset()
) -> list[str]:
    """Required fields of ``table`` (``a or b`` for a one-of group) without a column."""
    missing = [
        f.name for f in table.fields if f.required and f.name not in fields.keys() | generated
    ]
    missing += [" or ".join(group) for group in table.one_of if not fields.keys() & set(group)]
    return missing


def match_columns(
    columns: list[str],
    table: Table,
    mapping: Mapping[str, str | None],
    *,
    path: Path | None = None,
) -> dict[str, str]:
    """Field -> column of ``columns`` for ``table``: ``mapping`` first, then names and
    aliases; required fields may stay without a column (:func:`resolve_columns` checks).

    A field that ``mapping`` maps to ``None`` or ``""`` is left out: no column is
    matched to it by name.

    Raises
    ------
    ImportFileError
        Unknown field or column in ``mapping``, or two columns that could both be a field.
    """
    where = f"{path}: " if path else ""
    by_normal: dict[str, str] = {}
    clashes: dict[str, list[str]] = {}
    for column in columns:
        key = normalise(column)
        clashes.setdefault(key, []).append(column)
        by_normal.setdefault(key, column)
    fields: dict[str, str] = {}
    left_out: set[str] = set()
    for target, source in mapping.items():
        if target not in table.names:
            raise ImportFileError(
                f"{where}--map names {target!r}, which is not a field of {table.name} "
                f"(fields: {', '.join(table.names)})."
            )
        if not source:
            left_out.add(target)
            continue
        found = source if source in columns else by_normal.get(normalise(source))
        if found is None:
            raise ImportFileError(
                f"{where}--map {target}={source}: the file has no column {source!r} "
                f"(columns: {', '.join(columns)})."
            )
        fields[target] = found
    taken = set(fields.values())
    for name in table.names:
        if name in fields or name in left_out:
            continue
        for key in (normalise(name), *COLUMN_ALIASES.get(name, ())):
            if key in by_normal and by_normal[key] not in taken:
                if len(clashes[key]) > 1:
                    both = " and ".join(repr(c) for c in clashes[key])
                    raise ImportFileError(
                        f"{where}columns {both} could both be {name}; choose one with "
                        f"--map {name}=COLUMN."
                    )
                fields[name] = by_normal[key]
                taken.add(by_normal[key])
                break
    return fields


def informative(match: ColumnMatch, table: Table) -> bool:
    """Whether the file gives ``table`` more than keys, references and bookkeeping."""
    plain = set(table.subject or table.key) | set(table.references)
    return any(
        name not in plain and table.field(name).category is not Category.TECHNICAL
        for name in match.fields
    )


def check_kind(columns: Iterable[str], table: Table, tables: Iterable[Table], path: Path) -> None:
    """Refuse a file whose columns fit another kind better than ``table``.

    Called when the columns give ``table`` nothing but keys, or miss a required field.

    Raises
    ------
    ImportFileError
        Naming the kind the file most likely holds.
    """
    normal = {normalise(c) for c in columns}
    scores = {t.name: len(normal & set(t.names)) for t in tables}
    best = max(scores, key=lambda name: scores[name])
    chosen = scores[table.name]
    if best != table.name and scores[best] > chosen:
        kind = next(k for k, name in IMPORT_KINDS.items() if name == best)
        wanted = next(k for k, name in IMPORT_KINDS.items() if name == table.name)
        article = "an" if kind[0] in "aeiou" else "a"
        raise ImportFileError(
            f"{path} looks like {article} {kind} file, not {wanted}: its columns match "
            f"{scores[best]} fields of {best} and {chosen} of {table.name}. "
            f"Did you mean `cible import {kind} {path}`?"
        )
