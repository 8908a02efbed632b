"""Compiling a segment definition to Ibis: who belongs, as of a moment.

The ``where`` tree becomes one boolean expression over ``base`` (one row per
customer). Trait and attribute conditions compare ``base`` columns; event, consent
and ``in_segment`` conditions test ``customer_id`` against a subquery (``IN``),
which keeps the whole definition a single filter of ``base``. The same expression
therefore serves the batch run (all customers) and the streaming run (``base``
restricted to the customers an event batch touched), and any past ``as_of`` can be
replayed.

Every leaf is NULL-free (a comparison with a missing value is false), so ``not``
is the exact complement: ``not: {trait: t, op: "=", value: 1}`` includes the
customers whose ``t`` is NULL. Every value is an Ibis literal built from the
validated definition; no text is ever spliced into a query.

An ``in`` or ``not_in`` list longer than :data:`LIST_TABLE_MIN` values is compiled
to a literal table (``ibis.memtable``) tested with ``IN (SELECT ...)``, which the
database plans as a hash semi join (anti join for ``not_in``), rather than a list of
literals: a thousand literals cost Ibis and the database far more to build and plan
than to evaluate (issue 11: 100 lists of 1,000 values added 14.5 s and 1.4 GB to
every run). Values are never NULL, so both forms treat a NULL column alike (NULL,
then false). The Store computes such an expression with its literal tables
(:meth:`cible.store.store.Store.hold`).

Examples
--------
>>> from datetime import datetime
>>> import ibis
>>> from cible.domain.config import WorkspaceConfig
>>> from cible.domain.registry import FieldRegistry
>>> from cible.segments.definition import Vocabulary, parse_definition
>>> vocabulary = Vocabulary({"monetary_value": "float64"}, FieldRegistry(WorkspaceConfig()))
>>> definition = parse_definition({"id": "browsers", "name": "Big browsers", "where": {
...     "all": [{"trait": "monetary_value", "op": ">=", "value": 100},
...             {"event": "Product Viewed", "count": {"op": ">=", "value": 2}}]}},
...     vocabulary)
>>> base = ibis.memtable({"customer_id": ["a", "b"], "monetary_value": [150.0, 900.0]})
>>> events = ibis.memtable({
...     "customer_id": ["a", "a", "b"],
...     "event": ["product_viewed", "Product Viewed", "product_viewed"],
...     "properties": ["{}", "{}", "{}"],
...     "timestamp": [datetime(2024, 1, 1), datetime(2024, 1, 2), datetime(2024, 1, 3)]})
>>> consents = ibis.memtable({"customer_id": ["a"], "channel": ["email"],
...     "purpose": ["marketing"], "status": ["granted"], "recorded_at": [datetime(2024, 1, 1)]})
>>> members = compile_members(definition, base=base, events=events, consents=consents,
...     as_of=datetime(2024, 2, 1), membership=lambda segment_id: base.select("customer_id"))
>>> members.to_pyarrow().column("customer_id").to_pylist()
['a']
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from cible.domain.clock import normalise_as_of
from cible.features.consent import consent_status
from cible.segments.conditions import (
    AllCondition,
    AnyCondition,
    AttributeCondition,
    ConsentCondition,
    InSegmentCondition,
    NotCondition,
    TagCondition,
    TraitCondition,
)
from cible.segments.definition import SegmentDefinition, SegmentDefinitionError
from cible.segments.event_condition import Count, EventCondition, PropertyFilter

#: ``membership(segment_id)`` -> a table with a ``customer_id`` column.
Membership = Callable[[str], Any]

#: ``in`` / ``not_in`` lists longer than this become a literal table joined against.
LIST_TABLE_MIN = 50

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def compile_members(
    definition: SegmentDefinition,
    *,
    base: Any,
    events: Any,
    consents: Any,
    as_of: datetime,
    membership: Membership,
    tags: Any = None,
) -> Any:
    """The members of ``definition`` as of ``as_of``.

    Parameters
    ----------
    definition : SegmentDefinition
        A definition from :func:`~cible.segments.definition.parse_definition`.
    base : ibis.Table
        One row per customer: ``customer_id``, the traits and the profile attributes
        the definition reads. Restrict it to evaluate a few customers only.
    events : ibis.Table
        Canonical ``events`` (``customer_id``, ``event``, ``properties`` as JSON or
        JSON text, ``timestamp``); only events strictly before ``as_of`` count.
    consents : ibis.Table
        The ``consents`` ledger; its current state as of ``as_of`` (see
        :func:`cible.features.consent.current_consents`) decides.
    as_of : datetime
        The moment evaluated; naive means UTC.
    membership : callable
        ``membership(segment_id)`` returns a table with the ``customer_id`` of the
        members of another segment, for ``in_segment`` conditions.
    tags : ibis.Table, optional
        The ``customer_tags`` ledger, for ``tag`` conditions (required when the
        definition holds one).

    Returns
    -------
    ibis.Table
        One column ``customer_id``, one row per member.

    Raises
    ------
    SegmentDefinitionError
        When ``base`` lacks a column the definition reads or holds it with another
        type, naming the condition's path.
    """
    predicate = compile_predicate(
        definition,
        base=base,
        events=events,
        consents=consents,
        as_of=as_of,
        membership=membership,
        tags=tags,
    )
    return base.filter(predicate).select("customer_id").distinct()


def compile_predicate(
    definition: SegmentDefinition,
    *,
    base: Any,
    events: Any,
    consents: Any,
    as_of: datetime,
    membership: Membership,
    tags: Any = None,
) -> Any:
    """The boolean Ibis expression over ``base`` that is true for members.

    Parameters are those of :func:`compile_members`; the expression is never NULL.
    """
    compiler = _Compiler(base, events, consents, normalise_as_of(as_of), membership, tags)
    return compiler.condition(definition.where, "where")


@dataclass(frozen=True)
class _Compiler:
    base: Any
    events: Any
    consents: Any
    as_of: datetime
    membership: Membership
    tags: Any = None

    def condition(self, node: Any, path: str) -> Any:
        if isinstance(node, TraitCondition):
            return self._compare_column(node.trait, node.op, node.value, f"{path}.trait")
        if isinstance(node, AttributeCondition):
            return self._compare_column(node.attribute, node.op, node.value, f"{path}.attribute")
        if isinstance(node, EventCondition):
            return self._event(node)
        if isinstance(node, ConsentCondition):
            return self._consent(node)
        if isinstance(node, TagCondition):
            return self._tag(node, f"{path}.tag")
        if isinstance(node, InSegmentCondition):
            members = self.membership(node.in_segment)
            return self._customer_in(members.filter(members.customer_id.notnull()))
        if isinstance(node, AllCondition):
            return ibis.and_(*self._each(node.all, f"{path}.all"))
        if isinstance(node, AnyCondition):
            return ibis.or_(*self._each(node.any, f"{path}.any"))
        if isinstance(node, NotCondition):
            return ~self.condition(node.not_, f"{path}.not")
        raise TypeError(f"{path}: not a condition: {type(node).__name__}")

    def _each(self, nodes: Sequence[Any], path: str) -> list[Any]:
        return [self.condition(child, f"{path}[{i}]") for i, child in enumerate(nodes)]

    def _customer_in(self, table: Any) -> Any:
        # An IN subquery rather than a join keeps every leaf a predicate on base.
        return self.base.customer_id.isin(table.customer_id).fill_null(False)

    def _compare_column(self, name: str, op: str, value: Any, path: str) -> Any:
        if name not in self.base.columns:
            raise SegmentDefinitionError(f"{path}: the customer table has no column {name!r}")
        column = self.base[name]
        sample = value[0] if isinstance(value, tuple) else value
        if sample is not None and not _fits(column.type(), sample):
            raise SegmentDefinitionError(
                f"{path}: column {name!r} holds {column.type()}, which cannot be compared "
                f"with {type(sample).__name__} values"
            )
        return compare(column, op, value).fill_null(False)

    def _event(self, node: EventCondition) -> Any:
        events = self.events
        stamp = events.timestamp
        kept = [
            events.customer_id.notnull(),
            _normalised(events.event) == _normalised(ibis.literal(node.event, "string")),
            stamp < _literal(self.as_of, stamp.type()),
        ]
        if node.within_days is not None:
            try:
                self.as_of - timedelta(days=node.within_days)
            except OverflowError:  # as_of in the first years of the calendar
                kept.append(stamp >= _literal(datetime.min, stamp.type()))
            else:
                # Subtracted in SQL: as_of stays one literal (cible.features.clock.moment).
                since = _literal(self.as_of, stamp.type()) - ibis.interval(days=node.within_days)
                kept.append(stamp >= since)
        properties = events.properties
        if properties.type().is_string():
            properties = properties.cast("json")
        kept.extend(property_test(properties, f) for f in node.filters)
        matched = events.filter(*kept)
        counts = matched.group_by("customer_id").aggregate(events_matched=ibis._.count())
        holds = count_test(counts.events_matched, node.count)
        if node.count.holds(0):
            # Zero events satisfy the count, so members are everyone but those whose
            # (non-zero) count fails it: customers without events are included.
            return ~self._customer_in(counts.filter(~holds))
        return self._customer_in(counts.filter(holds))

    def _tag(self, node: TagCondition, path: str) -> Any:
        if self.tags is None:
            raise SegmentDefinitionError(f"{path}: tags are not available here")
        ledger = self.tags
        stamp = ledger.changed_at
        as_of = _literal(self.as_of, stamp.type())
        # The latest change of each customer's tag up to as_of decides, as for consents.
        mine = ledger.filter(ledger.tag == ibis.literal(node.tag, "string"), stamp <= as_of)
        latest = mine.mutate(
            _n=ibis.row_number().over(group_by=mine.customer_id, order_by=mine.change_id.desc())
        )
        kept = [latest._n == 0, latest.action == ibis.literal("added", "string")]
        if node.within_days is not None:
            kept.append(latest.changed_at >= as_of - ibis.interval(days=node.within_days))
        return self._customer_in(latest.filter(*kept))

    def _consent(self, node: ConsentCondition) -> Any:
        # The ledger's current state as of as_of, derived in one place for every reader.
        status = consent_status(self.consents, node.consent, node.purpose, self.as_of)
        return self._customer_in(status.filter(status.status == ibis.literal(node.status)))


def compare(column: Any, op: str, value: Any) -> Any:
    """``column op value`` as an Ibis boolean; NULL where ``column`` is NULL.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"x": [1, 5, None]})
    >>> t.select(hit=compare(t.x, "between", (2, 9)).fill_null(False)).to_pyarrow()[0].to_pylist()
    [False, True, False]
    """
    if op == "is_null":
        return column.isnull()
    if op == "not_null":
        return column.notnull()
    dtype = column.type()
    if op in ("in", "not_in"):
        if len(value) > LIST_TABLE_MIN:
            found = column.isin(_literal_table(value, dtype).value)
        else:
            found = column.isin([_literal(v, dtype) for v in value])
        return found if op == "in" else ~found
    if op == "between":
        low, high = value
        return column.between(_literal(low, dtype), _literal(high, dtype))
    return _COMPARE[op](column, _literal(value, dtype))


def property_test(properties: Any, test: PropertyFilter) -> Any:
    """An event property filter as a never-NULL Ibis boolean over a JSON column."""
    raw = properties[test.property]
    if test.op in ("is_null", "not_null"):
        # A missing key reads as SQL NULL, an explicit null as the JSON value null.
        missing = raw.isnull() | (raw.cast("string") == ibis.literal("null", "string"))
        return missing if test.op == "is_null" else ~missing
    sample = test.value[0] if isinstance(test.value, tuple) else test.value
    if isinstance(sample, bool):
        typed = raw.unwrap_as("boolean")
    elif isinstance(sample, int | float):
        typed = raw.unwrap_as("float64")
    else:
        typed = raw.unwrap_as("string")
    return compare(typed, test.op, test.value).fill_null(False)


def count_test(counts: Any, count: Count) -> Any:
    """``counts`` (an integer column) compared as ``count`` says."""
    return compare(counts, count.op, count.value)


def _normalised(name: Any) -> Any:
    # Both sides are lower-cased by the database: Python and SQL disagree on the lower
    # case of a few letters (Turkish dotted I), and a name must match itself.
    return name.lower().replace(" ", "_")


def _fits(dtype: dt.DataType, value: Any) -> bool:
    """Whether a validated value can be compared with a column of ``dtype``."""
    if isinstance(value, bool):
        return bool(dtype.is_boolean())
    if isinstance(value, int | float):
        return bool(dtype.is_numeric())
    if isinstance(value, str):
        return bool(dtype.is_string())
    if isinstance(value, datetime):
        return bool(dtype.is_timestamp())
    if isinstance(value, date):
        return bool(dtype.is_date())
    return False


def _literal_table(values: Sequence[Any], dtype: dt.DataType) -> Any:
    """``values`` as a one-column (``value``) literal table, typed as :func:`_literal` types.

    Each value gets the type :func:`_literal` would give it; a list mixing integers
    and floats is held as float64, the type the database compares such a list in.
    """
    types = {_literal(v, dtype).type() for v in values}
    kind = types.pop() if len(types) == 1 else dt.float64
    arrow = kind.to_pyarrow()
    if isinstance(arrow, pa.TimestampType):
        # Stored literals are naive UTC; Arrow reads naive values of a UTC type as UTC.
        arrow = pa.timestamp("us", tz=arrow.tz)
    distinct = list(dict.fromkeys(values))
    column = pa.array([float(v) for v in distinct] if kind == dt.float64 else distinct, arrow)
    return ibis.memtable(pa.table({"value": column}))


def _literal(value: Any, dtype: dt.DataType) -> Any:
    """``value`` as an Ibis literal fit to be compared with a ``dtype`` column."""
    if isinstance(value, datetime) and dtype.is_timestamp():
        if dtype.timezone is not None:
            return ibis.literal(value.replace(tzinfo=UTC), type=dt.Timestamp(timezone="UTC"))
        return ibis.literal(value, type=dt.timestamp)
    if isinstance(value, date) and not isinstance(value, datetime):
        return ibis.literal(value, type=dt.date)
    if isinstance(value, bool):
        return ibis.literal(value, type=dt.boolean)
    if isinstance(value, str):
        return ibis.literal(value, type=dt.string)
    if isinstance(value, int) and dtype.is_integer() and -(2**63) <= value < 2**63:
        return ibis.literal(value, type=dt.int64)
    return ibis.literal(value, type=dt.float64)
