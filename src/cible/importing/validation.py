"""Turning staged text into typed values, with the reason whenever that fails.

Every value arrives as text. For each declared field this module builds two Ibis
expressions: the parsed value and a rejection reason (``NULL`` when the value is
fine). The store materialises them in one pass; rows with any reason are rejected and
each reason becomes a line of ``cible rejects``.

Examples
--------
>>> import ibis
>>> from cible.domain.schema import ORDERS
>>> staged = ibis.table({"_line": "int64", "c0": "string", "c1": "string"}, name="s")
>>> checked = check_rows(staged, ORDERS, {"order_id": "c0", "amount": "c1"}, ParseOptions())
>>> "amount__reason" in checked.columns
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from cible.domain.schema import Field, FieldType, Table

#: Date and time layouts recognised without ``--date-format``, after ISO 8601.
#: Day first: the European order, as in French exports.
AUTO_DATE_FORMATS = (
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
)

# A number with a comma before its decimals, thousands optionally grouped by dots.
_COMMA_DECIMAL = r"^[+-]?([0-9]+|[0-9]{1,3}(\.[0-9]{3})+)(,[0-9]+)?$"
# A number with a dot before its decimals, thousands optionally grouped by commas.
_DOT_DECIMAL = r"^[+-]?([0-9]+|[0-9]{1,3}(,[0-9]{3})+)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
# Spaces (including no-break and narrow no-break) group thousands in French; currency
# marks are often left in by spreadsheet exports.
_NOISE = "[\\s\u00a0\u202f'€$£]|EUR"

_NO_NUMBER = ibis.null(dt.float64)
_TRUE = ("true", "1", "yes", "y", "oui", "vrai", "t")
_FALSE = ("false", "0", "no", "n", "non", "faux", "f")


@dataclass(frozen=True)
class ParseOptions:
    """How to read values of one file.

    Parameters
    ----------
    date_format : str
        strftime layout of dates and timestamps; empty recognises ISO 8601 and
        :data:`AUTO_DATE_FORMATS`.
    decimal : str
        ``"."`` or ``","``: the decimal separator of numbers (``auto`` is resolved
        per file by :func:`decimal_evidence` before parsing).
    """

    date_format: str = ""
    decimal: str = "."


@ibis.udf.scalar.builtin(name="try_strptime")  # type: ignore[untyped-decorator]
def _try_strptime(text: str, formats: dt.Array(dt.string)) -> dt.timestamp:  # type: ignore[valid-type]
    """DuckDB's ``try_strptime``: NULL instead of an error when no format fits."""


@ibis.udf.scalar.builtin(name="json_valid")  # type: ignore[untyped-decorator]
def _json_valid(text: str) -> bool:  # type: ignore[empty-body]
    """DuckDB's ``json_valid``."""


def reason_column(name: str) -> str:
    """Name of the column holding the rejection reason of field ``name``."""
    return f"{name}__reason"


def raw_column(name: str) -> str:
    """Name of the column keeping the text field ``name`` was parsed from."""
    return f"_raw_{name}"


def check_rows(staged: Any, table: Table, mapping: dict[str, str], options: ParseOptions) -> Any:
    """Parse mapped columns of ``staged`` into ``table``'s types, with reasons.

    Parameters
    ----------
    staged : ibis.Table
        Text columns plus ``_line``.
    table : Table
        Target canonical table.
    mapping : dict
        Field name -> staged column, for the fields the file provides.
    options : ParseOptions
        Date and number conventions of the file.

    Returns
    -------
    ibis.Table
        ``_line``, ``_first_line`` (first line holding the same key), and for each
        mapped field its typed value, ``<field>__reason`` and ``_raw_<field>``.
    """
    columns: dict[str, Any] = {"_line": staged._line}
    for field in table.fields:
        source = mapping.get(field.name)
        if source is None:
            continue
        text = staged[source].strip().nullif("")
        value, reason = _parse(text, field, options)
        if field.required:
            reason = ibis.cases(
                (text.isnull(), ibis.literal(f"missing {field.name}")), else_=reason
            )
        columns[field.name] = value
        columns[reason_column(field.name)] = reason
        columns[raw_column(field.name)] = staged[source]
    checked = staged.select(**columns)
    key = [checked[name] for name in table.key]
    window = ibis.window(group_by=key, order_by=checked._line)
    return checked.mutate(_first_line=checked._line.min().over(window))


def _parse(text: Any, field: Field, options: ParseOptions) -> tuple[Any, Any]:
    """Typed value and reason for one field; both NULL when the text is empty."""
    kind = field.type
    if kind is FieldType.STRING:
        return text, ibis.null(dt.string)
    if kind is FieldType.ENUM:
        lowered = text.lower()
        ok = lowered.isin(list(field.values))
        expected = ", ".join(field.values)
        reason = ibis.cases(
            (text.notnull() & ~ok, f"unknown value for {field.name} (expected one of: {expected})"),
            else_=ibis.null(dt.string),
        )
        return ibis.cases((ok, lowered), else_=ibis.null(dt.string)), reason
    if kind in (FieldType.NUMBER, FieldType.AMOUNT):
        number = _parse_number(text, options.decimal)
        reason = ibis.cases(
            (text.notnull() & number.isnull(), f"{field.name} is not a number"),
            (
                (number < 0) if kind is FieldType.AMOUNT else ibis.literal(False),
                f"{field.name} is negative",
            ),
            else_=ibis.null(dt.string),
        )
        return number, reason
    if kind is FieldType.INTEGER:
        integer = text.try_cast(dt.int64)
        return integer, _reason_if_unparsed(text, integer, f"{field.name} is not a whole number")
    if kind is FieldType.BOOLEAN:
        lowered = text.lower()
        flag = ibis.cases(
            (lowered.isin(list(_TRUE)), True),
            (lowered.isin(list(_FALSE)), False),
            else_=ibis.null(dt.boolean),
        )
        return flag, _reason_if_unparsed(text, flag, f"{field.name} is not true or false")
    if kind in (FieldType.DATE, FieldType.TIMESTAMP):
        moment = _parse_timestamp(text, options.date_format)
        layout = options.date_format or "a date (ISO 8601 or dd/mm/yyyy)"
        reason = _reason_if_unparsed(text, moment, f"{field.name} is not {layout}")
        return (moment.date() if kind is FieldType.DATE else moment), reason
    if kind is FieldType.JSON:
        valid = _json_valid(text)
        reason = ibis.cases(
            (text.notnull() & ~valid, f"{field.name} is not valid JSON"),
            else_=ibis.null(dt.string),
        )
        return ibis.cases((valid, text), else_=ibis.null(dt.string)).cast(dt.json), reason
    raise NotImplementedError(kind)  # pragma: no cover - every FieldType is handled above


def _reason_if_unparsed(text: Any, value: Any, message: str) -> Any:
    return ibis.cases((text.notnull() & value.isnull(), message), else_=ibis.null(dt.string))


def _parse_number(text: Any, decimal: str) -> Any:
    compact = text.re_replace(_NOISE, "")
    comma_style = compact.replace(".", "").replace(",", ".").try_cast(dt.float64)
    dot_style = compact.replace(",", "").try_cast(dt.float64)
    if decimal == ",":
        return ibis.cases(
            (compact.re_search(_COMMA_DECIMAL), comma_style), else_=ibis.null(dt.float64)
        )
    return ibis.cases((compact.re_search(_DOT_DECIMAL), dot_style), else_=ibis.null(dt.float64))


def decimal_evidence(staged: Any, columns: list[str]) -> Any:
    """Count values that end like a comma decimal (``12,5``) and like a dot one (``12.50``).

    ``auto`` picks the separator with more evidence for the whole file, so that a
    thousands group (``1.500`` or ``1,500``) is read the file's way, never guessed per
    value.
    """
    comma = ibis.literal(0)
    dot = ibis.literal(0)
    for column in columns:
        text = staged[column].re_replace(_NOISE, "")
        comma = comma + text.re_search(r",[0-9]{1,2}$").cast(dt.int64).sum().fill_null(0)
        dot = dot + text.re_search(r"\.[0-9]{1,2}$").cast(dt.int64).sum().fill_null(0)
    return staged.aggregate(comma=comma, dot=dot)


def _parse_timestamp(text: Any, date_format: str) -> Any:
    if date_format:
        return _try_strptime(text, ibis.literal([date_format], type="array<string>"))
    iso = text.try_cast(dt.Timestamp(timezone="UTC")).cast(dt.Timestamp())
    european = _try_strptime(text, ibis.literal(list(AUTO_DATE_FORMATS), type="array<string>"))
    return ibis.coalesce(iso, european)
