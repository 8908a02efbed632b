"""The literals of the segment language: which values fit an operator, in what form.

A value is checked against the kind of what it is compared with (a number for a
numeric trait, an ISO date for a date attribute, one of the declared values of an
enumeration) and normalised, so that the compiler only ever binds well-typed
literals: timestamps become naive UTC ``datetime``, dates ``date``, enumeration
values lower case, lists tuples.

Examples
--------
>>> coerce_value(">=", 500, Operand("trait 'monetary_value'", ValueKind.NUMBER))
500
>>> coerce_value("between", ["2024-01-01", "2024-02-01T12:00:00+02:00"],
...              Operand("trait 'first_order_at'", ValueKind.TIMESTAMP))
(datetime.datetime(2024, 1, 1, 0, 0), datetime.datetime(2024, 2, 1, 10, 0))
>>> coerce_value("=", "Paris", Operand("trait 'n'", ValueKind.NUMBER))
Traceback (most recent call last):
...
ValueError: trait 'n' holds numbers: expected a number, got string 'Paris'
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any, Literal, get_args

from cible.domain.clock import normalise_as_of
from cible.domain.errors import CibleError
from cible.segments.limits import MAX_LIST, MAX_STRING
from cible.segments.vocabulary import Operand, ValueKind, did_you_mean

#: Every operator of a trait, attribute or property condition.
Op = Literal["=", "!=", "<", "<=", ">", ">=", "in", "not_in", "between", "is_null", "not_null"]
#: Operators of an event count.
CountOp = Literal["=", "!=", "<", "<=", ">", ">=", "between"]

OPS: tuple[str, ...] = get_args(Op)
#: Operators that need an order on values; booleans have none.
ORDERING_OPS = ("<", "<=", ">", ">=", "between")
LIST_OPS = ("in", "not_in")
NULL_OPS = ("is_null", "not_null")


def check_op(operand: Operand, op: str) -> None:
    """Refuse an operator that makes no sense for ``operand`` (ordering booleans)."""
    if operand.kind is ValueKind.BOOLEAN and op in ORDERING_OPS:
        usable = ", ".join(o for o in OPS if o not in ORDERING_OPS)
        raise ValueError(f"op {op!r} does not apply to {operand.label}, a boolean (use {usable})")


def coerce_value(op: str, value: Any, operand: Operand | None = None) -> Any:
    """Check ``value`` against ``op`` and ``operand`` and return it normalised.

    Parameters
    ----------
    op : str
        One of :data:`OPS`.
    value : object
        As parsed from YAML or JSON; ``None`` means the key was absent.
    operand : Operand or None
        What the value is compared with; None for an event property, whose kind is
        read from the value itself.

    Raises
    ------
    ValueError
        With a sentence saying what was expected.
    """
    if op in NULL_OPS:
        if value is not None:
            raise ValueError(f"op {op!r} takes no value")
        return None
    if operand is None:
        value = _as_property_value(value)
    if value is None:
        hint = " (use op 'is_null' or 'not_null' for missing values)" if op in ("=", "!=") else ""
        raise ValueError(f"op {op!r} needs a value{hint}")
    if op in LIST_OPS or op == "between":
        return _coerce_list(op, value, operand)
    if isinstance(value, list | tuple):
        raise ValueError(f"op {op!r} compares with one value, got a list (use 'in' for a list)")
    if operand is None:
        operand = _inferred(op, value)
    return coerce_scalar(value, operand)


def _as_property_value(value: Any) -> Any:
    """YAML reads an unquoted 2024-01-01 as a date; event properties hold it as text."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple) and len(value) <= MAX_LIST:
        return [v.isoformat() if isinstance(v, date) else v for v in value]
    return value


def _coerce_list(op: str, value: Any, operand: Operand | None) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        wanted = "a [low, high] pair" if op == "between" else "a list of values"
        raise ValueError(f"op {op!r} needs {wanted}, got {describe(value)}")
    if op == "between" and len(value) != 2:
        raise ValueError(f"op 'between' needs a [low, high] pair, got {len(value)} values")
    if not value:
        raise ValueError(f"op {op!r} needs at least one value")
    if len(value) > MAX_LIST:
        raise ValueError(f"op {op!r} takes at most {MAX_LIST} values, got {len(value)}")
    if operand is None:
        operand = _inferred(op, value[0])
    items = []
    for index, item in enumerate(value):
        try:
            items.append(coerce_scalar(item, operand))
        except ValueError as exc:
            raise ValueError(f"value[{index}]: {exc}") from None
    if op == "between" and items[0] > items[1]:
        raise ValueError(f"op 'between' needs low <= high, got {items[0]!r} > {items[1]!r}")
    return tuple(items)


def _inferred(op: str, value: Any) -> Operand:
    """The operand of an event property, whose kind only the value tells."""
    if isinstance(value, bool):
        operand = Operand("the property", ValueKind.BOOLEAN)
        check_op(operand, op)
        return operand
    if isinstance(value, int | float):
        return Operand("the property", ValueKind.NUMBER)
    if isinstance(value, str):
        return Operand("the property", ValueKind.STRING)
    raise ValueError(f"expected a string, a number or a boolean, got {describe(value)}")


def coerce_scalar(value: Any, operand: Operand) -> Any:
    """Check one value against ``operand`` and return it normalised.

    Examples
    --------
    >>> coerce_scalar("Female", Operand("attribute 'gender'", ValueKind.STRING,
    ...                                 ("female", "male")))
    'female'
    """
    kind = operand.kind
    if kind is ValueKind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(_expected(operand, "a number", value))
        if not _finite(value):
            raise ValueError(
                f"{operand.label} holds numbers: expected a finite number no larger than "
                f"about 1e308 in size, got {describe(value)}"
            )
        return value
    if kind is ValueKind.BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError(_expected(operand, "true or false", value))
        return value
    if kind is ValueKind.STRING:
        return _string(value, operand)
    if kind is ValueKind.DATE:
        return _date(value, operand)
    return _timestamp(value, operand)


def _finite(number: int | float) -> bool:
    """Whether ``number`` is a finite float, or an integer a float can hold."""
    try:
        return math.isfinite(number)
    except OverflowError:  # an integer such as 10**400, beyond any float
        return False


def _string(value: Any, operand: Operand) -> str:
    if not isinstance(value, str):
        message = _expected(operand, "a string", value)
        if isinstance(value, bool):
            message += " (YAML reads unquoted yes, no, on, off as booleans: quote the value)"
        raise ValueError(message)
    if len(value) > MAX_STRING:
        raise ValueError(f"strings hold at most {MAX_STRING} characters, got {len(value)}")
    if operand.choices:
        lowered = value.lower()
        if lowered not in operand.choices:
            allowed = ", ".join(operand.choices)
            hint = did_you_mean(lowered, operand.choices)
            raise ValueError(
                f"{value!r} is not a value of {operand.label} (one of {allowed}){hint}"
            )
        return lowered
    return value


def _date(value: Any, operand: Operand) -> date:
    if isinstance(value, datetime):
        raise ValueError(_expected(operand, "a date (YYYY-MM-DD)", value))
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) <= MAX_STRING:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(_expected(operand, "an ISO date (YYYY-MM-DD)", value))


def _timestamp(value: Any, operand: Operand) -> datetime:
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and len(value) <= MAX_STRING:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
    if moment is None:
        raise ValueError(_expected(operand, "an ISO date or date-time", value))
    # Stored timestamps are naive UTC: compare like with like.
    try:
        return normalise_as_of(moment)
    except CibleError:
        # A definition's error names the value and the field it was given for.
        raise ValueError(
            f"{operand.label} holds timestamps: {describe(value)} falls outside years "
            "1 to 9999 once converted to UTC"
        ) from None


def _expected(operand: Operand, wanted: str, value: Any) -> str:
    holds = {
        ValueKind.NUMBER: "numbers",
        ValueKind.STRING: "text",
        ValueKind.BOOLEAN: "booleans",
        ValueKind.DATE: "dates",
        ValueKind.TIMESTAMP: "timestamps",
    }[operand.kind]
    return f"{operand.label} holds {holds}: expected {wanted}, got {describe(value)}"


def describe(value: Any) -> str:
    """A short description of a parsed value for messages: ``string 'Paris'``.

    Examples
    --------
    >>> describe(True), describe([1, 2]), describe("Paris")
    ('boolean true', 'a list', "string 'Paris'")
    """
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int) and abs(value) >= 10**30:
        # Never repr a huge integer: Python refuses to write one of over 4,300 digits.
        digits = int(abs(value).bit_length() * math.log10(2)) + 1
        return f"a number of about {digits} digits"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "..."
        return f"string {shown!r}"
    if isinstance(value, datetime | date):
        return f"date {value.isoformat()}"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "null"
    return type(value).__name__
