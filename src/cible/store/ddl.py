"""Column types and ``CREATE TABLE`` statements derived from the field registry."""

from __future__ import annotations

from cible.domain.schema import Field, FieldType, Table
from cible.store.sql import quote

_SQL_TYPES = {
    FieldType.STRING: "VARCHAR",
    FieldType.INTEGER: "BIGINT",
    FieldType.NUMBER: "DOUBLE",
    FieldType.AMOUNT: "DOUBLE",
    FieldType.BOOLEAN: "BOOLEAN",
    FieldType.DATE: "DATE",
    FieldType.TIMESTAMP: "TIMESTAMP",
    FieldType.ENUM: "VARCHAR",
    FieldType.JSON: "JSON",
}


def sql_type(field: Field) -> str:
    """The DuckDB column type storing ``field``."""
    return _SQL_TYPES[field.type]


def create_table(table: Table) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for a canonical table."""
    columns = ",\n  ".join(f"{quote(f.name)} {sql_type(f)}" for f in table.fields)
    return f"CREATE TABLE IF NOT EXISTS {quote(table.name)} (\n  {columns}\n)"


def add_column(table: Table, field: Field) -> str:
    """``ALTER TABLE ... ADD COLUMN`` for a custom attribute declared after creation."""
    return (
        f"ALTER TABLE {quote(table.name)} ADD COLUMN IF NOT EXISTS "
        f"{quote(field.name)} {sql_type(field)}"
    )
