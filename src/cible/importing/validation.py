"""Turning staged text into typed values, with the reason whenever that fails.

Every value arrives as text. For each declared field this module builds two Ibis
expressions: the parsed value (:func:`parse_rows`) and, over the stored parsed
values, a rejection reason (:func:`judge_rows`, ``NULL`` when the value is fine).
Rows with any reason are rejected and each reason becomes a line of
``cible rejects``.

Values are bounded as well as parsed, so that no later command meets a value it
cannot compute with: numbers must be finite and within ``[import] max_number`` (amounts
are not negative), dates and timestamps within ``[import] min_date`` and ``max_date``,
and text at most :data:`MAX_TEXT_CHARS` characters.

Examples
--------
>>> import ibis
>>> from cible.domain.schema import ORDERS
>>> staged = ibis.table({"_line": "int64", "c0": "string", "c1": "string"}, name="s")
>>> parsed = parse_rows(staged, ORDERS, {"order_id": "c0", "amount": "c1"}, ParseOptions())
>>> "amount__reason" in judge_rows(parsed, ORDERS, ParseOptions()).columns
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from cible.domain.aliases import VALUE_ALIASES
from cible.domain.config import DEFAULT_MAX_DATE, DEFAULT_MAX_NUMBER, DEFAULT_MIN_DATE
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
_NOISE = (" ", "\u00a0", "\u202f", "'", "€", "$", "£", "EUR")

_EVIDENCE_ROWS = 50_000
#: Longest text value (string or JSON field) kept, in characters; a line can hold ten
#: times more (see :data:`cible.store.staging.MAX_LINE_BYTES`), but no name, address
#: or event payload does.
MAX_TEXT_CHARS = 100_000
_NO_NUMBER = ibis.null(dt.float64)
_NON_FINITE = ("nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity")
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
    max_number : float
        Largest magnitude of a number; larger ones, and non-finite ones, are rejected.
    min_date, max_date : date
        Plausible range of dates and timestamps (``max_date`` included, whole day).
    """

    date_format: str = ""
    decimal: str = "."
    max_number: float = DEFAULT_MAX_NUMBER
    min_date: date = DEFAULT_MIN_DATE
    max_date: date = DEFAULT_MAX_DATE


@ibis.udf.scalar.builtin(name="try_strptime")  # type: ignore[untyped-decorator]
def _try_strptime(text: str, formats: dt.Array(dt.string)) -> dt.timestamp:  # type: ignore[valid-type]
    """DuckDB's ``try_strptime``: NULL instead of an error when no format fits."""


@ibis.udf.scalar.builtin(name="json_valid")  # type: ignore[untyped-decorator]
def _json_valid(text: str) -> bool:  # type: ignore[empty-body]
    """DuckDB's ``json_valid``."""


def reason_column(name: str) -> str:
    """Name of the column holding the rejection reason of field ``name``."""
    return f"{name}__reason"


def present_column(name: str) -> str:
    """Name of the boolean column telling whether field ``name`` had any text."""
    return f"_has_{name}"


def parse_rows(staged: Any, table: Table, mapping: dict[str, str], options: ParseOptions) -> Any:
    """Parse mapped text columns of ``staged`` into ``table``'s types.

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
        ``_line`` and, for each mapped field, its typed value (``NULL`` when the text
        is empty or cannot be parsed) and, unless it is a string, ``_has_<field>``,
        whether it had text.
    """
    columns: dict[str, Any] = {"_line": staged._line}
    for field in table.fields:
        source = mapping.get(field.name)
        if source is not None:
            text = _text(staged[source])
            aliases = VALUE_ALIASES.get(f"{table.name}.{field.name}", {})
            columns[field.name] = _parse(text, field, options, aliases)
            if field.type is not FieldType.STRING:
                # A flag, not a copy of the text: storing strings twice costs more
                # than parsing them, and reasons only need to know there was text.
                # A string's own value already tells.
                columns[present_column(field.name)] = text.notnull()
    return staged.select(**columns)


def judge_rows(parsed: Any, table: Table, options: ParseOptions) -> Any:
    """Add a rejection reason per field, the first line of each key, and ``_rejected``.

    Works on the output of :func:`parse_rows` once stored, so that each parsing
    expression is evaluated once rather than again inside every reason.

    Returns
    -------
    ibis.Table
        ``parsed`` plus ``<field>__reason``, ``_first_line`` (first line holding the
        same key) and ``_rejected`` (any reason, or a repeated key).
    """
    reasons: dict[str, Any] = {}
    for field in table.fields:
        if field.name not in parsed.columns:
            continue
        flag = present_column(field.name)
        present = parsed[flag] if flag in parsed.columns else parsed[field.name].notnull()
        reason = _reason(present, parsed[field.name], field, options)
        if field.required:
            reason = ibis.cases((~present, ibis.literal(f"missing {field.name}")), else_=reason)
        reasons[reason_column(field.name)] = reason
    for group in table.one_of:
        present = [parsed[name].notnull() for name in group if name in parsed.columns]
        first = reason_column(group[0])
        if first in reasons:
            nobody = ~ibis.or_(*present) if present else ibis.literal(True)
            message = f"needs one of {' or '.join(group)}"
            reasons[first] = ibis.cases((nobody, message), else_=reasons[first])
    # Duplicate keys are found by grouping, which hashes; a window would sort.
    keys = [k for k in table.key if k in parsed.columns]
    # Optional key columns (a ledger's source or date) may be empty: an empty value
    # equals an empty one, as grouping treats them.
    needed = [k for k in keys if table.field(k).required]
    with_key = parsed.filter(*[parsed[k].notnull() for k in needed])
    repeated = (
        with_key.group_by(keys)
        .aggregate(_first=with_key._line.min(), _count=with_key._line.count())
        .filter(lambda t: t._count > 1)
    )
    joined = parsed.left_join(repeated, [parsed[k].identical_to(repeated[k]) for k in keys]).drop(
        *[f"{k}_right" for k in keys]
    )
    first_line = ibis.coalesce(joined._first, joined._line)
    typed = [f.name for f in table.fields if f.name in parsed.columns]
    judged = joined.select("_line", *typed, _first_line=first_line, **reasons)
    problems = [judged[name].notnull() for name in reasons]
    return judged.mutate(_rejected=ibis.or_(judged._line != judged._first_line, *problems))


def _one_of(text: Any, values: tuple[str, ...]) -> Any:
    """Equality chain: DuckDB turns an ``IN`` list into a join, much slower here."""
    return ibis.or_(*[text == value for value in values])


@ibis.udf.scalar.builtin(name="strip_accents")  # type: ignore[untyped-decorator]
def _strip_accents(text: str) -> str:  # type: ignore[empty-body]
    """DuckDB's ``strip_accents``."""


@ibis.udf.scalar.builtin(name="trim")  # type: ignore[untyped-decorator]
def _trim_spaces(text: str) -> str:  # type: ignore[empty-body]
    """DuckDB's one-argument ``trim``: spaces only, twice as fast as a character set."""


def _text(raw: Any) -> Any:
    return _trim_spaces(raw).nullif("")


def _without_noise(text: Any) -> Any:
    """Drop thousands spaces and currency marks; plain replaces beat one regex."""
    for mark in _NOISE:
        text = text.replace(mark, "")
    return text


def _parse(
    text: Any, field: Field, options: ParseOptions, aliases: dict[str, str] | None = None
) -> Any:
    """Typed value of one field; NULL when the text is empty or does not parse."""
    kind = field.type
    if kind is FieldType.STRING:
        return text
    if kind is FieldType.ENUM:
        lowered = text.lower()
        known = ibis.cases((_one_of(lowered, field.values), lowered), else_=ibis.null(dt.string))
        if not aliases:
            return known
        # Other spellings (``Femme``, ``annulée``) are compared without accents.
        plain = _strip_accents(lowered)
        return ibis.coalesce(known, plain.substitute(aliases, else_=ibis.null(dt.string)))
    if kind in (FieldType.NUMBER, FieldType.AMOUNT):
        return _parse_number(text, options.decimal)
    if kind is FieldType.INTEGER:
        return text.try_cast(dt.int64)
    if kind is FieldType.BOOLEAN:
        lowered = text.lower()
        return ibis.cases(
            (_one_of(lowered, _TRUE), True),
            (_one_of(lowered, _FALSE), False),
            else_=ibis.null(dt.boolean),
        )
    if kind in (FieldType.DATE, FieldType.TIMESTAMP):
        moment = _parse_timestamp(text, options.date_format)
        return moment.date() if kind is FieldType.DATE else moment
    if kind is FieldType.JSON:
        return ibis.cases((_json_valid(text), text), else_=ibis.null(dt.string)).cast(dt.json)
    raise NotImplementedError(kind)  # pragma: no cover - every FieldType is handled above


def _reason(present: Any, value: Any, field: Field, options: ParseOptions) -> Any:
    """Why the text of ``field`` gave no usable value (NULL when it did)."""
    kind = field.type
    unparsed = present & value.isnull()
    none = ibis.null(dt.string)
    name = field.name
    if kind in (FieldType.STRING, FieldType.JSON):
        long = value.cast(dt.string).length() > MAX_TEXT_CHARS
        too_long = f"{name} is longer than {MAX_TEXT_CHARS:,} characters"
        if kind is FieldType.STRING:
            return ibis.cases((long, too_long), else_=none)
        return ibis.cases((unparsed, f"{name} is not valid JSON"), (long, too_long), else_=none)
    if kind is FieldType.ENUM:
        expected = ", ".join(field.values)
        message = f"unknown value for {name} (expected one of: {expected})"
    elif kind in (FieldType.NUMBER, FieldType.AMOUNT, FieldType.INTEGER):
        return _number_reason(unparsed, value, field, options.max_number)
    elif kind is FieldType.BOOLEAN:
        message = f"{name} is not true or false"
    else:
        return _date_reason(unparsed, value, field, options)
    return ibis.cases((unparsed, message), else_=none)


def _number_reason(unparsed: Any, value: Any, field: Field, largest: float) -> Any:
    """Why a number is not usable: unparsed, not finite, negative amount, or too large."""
    name = field.name
    whole = field.type is FieldType.INTEGER
    lowest = 0.0 if field.type is FieldType.AMOUNT else -largest
    cases = [(unparsed, f"{name} is not a {'whole ' if whole else ''}number")]
    if not whole:
        cases.append((value.isnan() | value.isinf(), f"{name} is not a finite number"))
    if field.type is FieldType.AMOUNT:
        cases.append((value < 0, f"{name} is negative"))
    # Comparisons, not abs(): abs of the smallest 64-bit integer overflows.
    cases.append(
        (
            (value < lowest) | (value > largest),
            f"{name} is outside the plausible range {_number(lowest)} to {_number(largest)} "
            "(the [import] max_number setting)",
        )
    )
    return ibis.cases(*cases, else_=ibis.null(dt.string))


def _number(value: float) -> str:
    return f"{int(value):,}" if value.is_integer() else f"{value:,}"


def _date_reason(unparsed: Any, value: Any, field: Field, options: ParseOptions) -> Any:
    """Why a date or timestamp is not usable: unparsed, or outside the plausible range."""
    layout = options.date_format or "a date (ISO 8601 or dd/mm/yyyy)"
    day = value if field.type is FieldType.DATE else value.date()
    if field.type is FieldType.DATE:
        early = value < ibis.literal(options.min_date)
    else:
        early = value < ibis.literal(datetime.combine(options.min_date, time()))
    return ibis.cases(
        (unparsed, f"{field.name} is not {layout}"),
        (
            early | (day > ibis.literal(options.max_date)),
            f"{field.name} is outside the plausible range {options.min_date} to "
            f"{options.max_date} (the [import] min_date and max_date settings)",
        ),
        else_=ibis.null(dt.string),
    )


def _parse_number(text: Any, decimal: str) -> Any:
    # Most values are plain (``49,90``): one cheap test sends them to a direct cast,
    # and only the others pay for removing spaces, currency marks and thousands.
    compact = _without_noise(text)
    if decimal == ",":
        plain = text.re_search(r"^-?[0-9]+(,[0-9]+)?$")
        direct = text.replace(",", ".").try_cast(dt.float64)
        grouped = compact.replace(".", "").replace(",", ".").try_cast(dt.float64)
        pattern = _COMMA_DECIMAL
    else:
        plain = text.re_search(r"^-?[0-9]+(\.[0-9]+)?$")
        direct = text.try_cast(dt.float64)
        grouped = compact.replace(",", "").try_cast(dt.float64)
        pattern = _DOT_DECIMAL
    # Spelled infinities and NaN (Parquet floats cast to text, JSON's NaN) are parsed,
    # so that they are rejected as not finite rather than as not numbers.
    return ibis.cases(
        (plain, direct),
        (compact.re_search(pattern), grouped),
        (_one_of(text.lower(), _NON_FINITE), text.try_cast(dt.float64)),
        else_=ibis.null(dt.float64),
    )


def decimal_evidence(staged: Any, columns: list[str]) -> Any:
    """Count values that end like a comma decimal (``12,5``) and like a dot one (``12.50``).

    ``auto`` picks the separator with more evidence for the whole file, so that a
    thousands group (``1.500`` or ``1,500``) is read the file's way, never guessed per
    value. The first rows suffice: a file keeps one convention.
    """
    staged = staged.limit(_EVIDENCE_ROWS)
    comma = ibis.literal(0)
    dot = ibis.literal(0)
    for column in columns:
        text = _without_noise(staged[column])
        comma = comma + text.re_search(r",[0-9]{1,2}$").cast(dt.int64).sum().fill_null(0)
        dot = dot + text.re_search(r"\.[0-9]{1,2}$").cast(dt.int64).sum().fill_null(0)
    return staged.aggregate(comma=comma, dot=dot)


def _parse_timestamp(text: Any, date_format: str) -> Any:
    if date_format:
        return _try_strptime(text, ibis.literal([date_format], type="array<string>"))
    iso = text.try_cast(dt.Timestamp(timezone="UTC")).cast(dt.Timestamp())
    european = _try_strptime(text, ibis.literal(list(AUTO_DATE_FORMATS), type="array<string>"))
    # strptime first: it is several times cheaper than the ISO cast, which CASE then
    # runs only on the rows strptime left unparsed.
    return ibis.cases((european.notnull(), european), else_=iso)
