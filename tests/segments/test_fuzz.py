"""Whatever a definition holds, it is data: refused with a SegmentDefinitionError or run.

Hostile strings (quotes, semicolons, SQL, JSON paths, unicode) used as values, event
names and property names must match literally or not at all, and leave the
database as it was; any nested data given to ``parse_definition`` must give a
definition or a ``SegmentDefinitionError``, nothing else.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cible.domain.schema import CHANNELS, CONSENT_STATUSES, PURPOSES
from cible.segments import SegmentDefinitionError, compile_members, parse_definition
from cible.segments.literals import OPS
from tests.segments.test_compiler import (
    ALL,
    AS_OF,
    CUSTOMER_SCHEMA,
    CUSTOMERS,
    EVENTS,
    MEMBERSHIP,
    TRAITS,
    VOCABULARY,
    reference,
)

NASTY = [
    "'; DROP TABLE customers; --",
    '"; DROP TABLE customers; --',
    "' OR '1'='1",
    "1; DELETE FROM customers",
    "SELECT * FROM customers",
    "UPDATE customers SET city = 'x'",
    "$$; DROP TABLE customers; $$",
    "\\",
    "\\'",
    "%",
    "_",
    "NULL",
    "null",
    "*",
    "$",
    "$.a",
    "/a",
    "a.b",
    "a[0]",
    "{}",
    "[]",
    "",
    " ",
    "\n",
    "\x00",
    "é",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "İstanbul",
    "straße",
    "\u202eevil",
    "--",
    "/*",
    "*/",
    ";",
    "Paris",
    "it's; DROP",
    "product_viewed",
    "category",
]
STRINGS = st.one_of(st.sampled_from(NASTY), st.text(max_size=20))
FUZZ_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.fixture(scope="module")
def con() -> Iterator[Any]:
    backend = ibis.duckdb.connect()
    backend.create_table("customers", ibis.memtable(CUSTOMERS, schema=CUSTOMER_SCHEMA))
    events = ibis.memtable(
        EVENTS, schema={**dict.fromkeys(EVENTS.columns, "string"), "timestamp": "timestamp"}
    )
    backend.create_table("events", events.mutate(properties=events.properties.cast("json")))
    backend.create_table(
        "consents",
        ibis.memtable(
            pd.DataFrame(
                {
                    "customer_id": ["c1"],
                    "channel": ["email"],
                    "purpose": ["marketing"],
                    "status": ["granted"],
                    "recorded_at": [datetime(2024, 1, 1)],
                }
            )
        ),
    )
    yield backend
    backend.disconnect()


def snapshot(con: Any) -> tuple[list[str], pd.DataFrame]:
    # Straight from DuckDB's catalogue: Ibis registers memtables as temporary tables.
    tables = con.con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog <> 'temp' ORDER BY 1"
    ).fetchall()
    return [name for (name,) in tables], con.table("customers").to_pandas()


def assert_unchanged(con: Any, before: tuple[list[str], pd.DataFrame]) -> None:
    tables, customers = snapshot(con)
    assert tables == before[0]
    pd.testing.assert_frame_equal(customers, before[1])


def run(con: Any, where: Any, *, base: Any = None, events: Any = None) -> set[str] | None:
    """Members of ``where``, or None when the definition is refused."""
    try:
        definition = parse_definition({"id": "fuzz", "name": "Fuzz", "where": where}, VOCABULARY)
    except SegmentDefinitionError:
        return None
    table = compile_members(
        definition,
        base=con.table("customers") if base is None else base,
        events=con.table("events") if events is None else events,
        consents=con.table("consents"),
        as_of=AS_OF,
        membership=lambda segment_id: ibis.memtable(
            {"customer_id": MEMBERSHIP[segment_id]}, schema={"customer_id": "string"}
        ),
    )
    return set(table.to_pyarrow().column("customer_id").to_pylist())


@FUZZ_SETTINGS
@given(value=STRINGS, other=STRINGS)
def test_string_values_match_literally(con: Any, value: str, other: str):
    before = snapshot(con)
    extra = CUSTOMERS.iloc[:2].assign(customer_id=["fuzz-1", "fuzz-2"], city=[value, other])
    customers = con.table("customers")
    base = customers.union(ibis.memtable(extra, schema=CUSTOMER_SCHEMA).cast(customers.schema()))
    cities = dict(zip(CUSTOMERS.customer_id, CUSTOMERS.city, strict=True)) | {
        "fuzz-1": value,
        "fuzz-2": other,
    }

    equal = run(con, {"attribute": "city", "op": "=", "value": value}, base=base)
    assert equal == {c for c, city in cities.items() if city == value}
    listed = run(con, {"attribute": "city", "op": "in", "value": [value, other]}, base=base)
    assert listed == {c for c, city in cities.items() if city in (value, other)}
    trait = run(con, {"trait": "favourite_category", "op": "!=", "value": value})
    assert trait == set(
        CUSTOMERS.customer_id[
            CUSTOMERS.favourite_category.notna() & (CUSTOMERS.favourite_category != value)
        ]
    )
    assert_unchanged(con, before)


PROPERTY_VALUES = st.one_of(
    STRINGS,
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)


@FUZZ_SETTINGS
@given(
    name=STRINGS,
    key=st.one_of(STRINGS, st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_-]{0,10}\Z")),
    value=PROPERTY_VALUES,
)
def test_event_names_and_properties_match_literally(con: Any, name: str, key: str, value: Any):
    before = snapshot(con)
    row = pd.DataFrame(
        {
            "message_id": ["fuzz"],
            "customer_id": ["c3"],
            "type": ["track"],
            "event": [name],
            "properties": [json.dumps({key: value})],
            "timestamp": [datetime(2024, 5, 1)],
        }
    )
    fuzzed = ibis.memtable(
        row, schema={**dict.fromkeys(row.columns, "string"), "timestamp": "timestamp"}
    )
    stored = con.table("events")
    events = stored.union(
        fuzzed.mutate(properties=fuzzed.properties.cast("json")).cast(stored.schema())
    )
    where = {"event": name, "where": {"property": key, "op": "=", "value": value}}
    found = run(con, where, events=events)
    if found is not None:
        # c3 has no other event: it is found exactly when its fuzzed event matches.
        assert "c3" in found
        assert found <= ALL
    assert_unchanged(con, before)


# --- random definitions from the grammar, against the pandas reference

NUMBERS = st.one_of(
    st.sampled_from([0, 1, 20, 75.0, 95.5, 300, 450.0, 500, 800, 1200.5, -1, 10**30]),
    st.floats(-2000, 2000),
)
TEXTS = st.one_of(
    st.sampled_from(
        ["Paris", "FR", "BE", "books", "electronics", "garden", "it's; DROP", "zzz", ""]
    ),
    STRINGS,
)
MOMENTS = st.sampled_from(
    [
        "2020-01-05T10:00:00",
        "2023-01-01",
        "2024-05-31T23:59:59",
        "2024-06-01T01:59:59+02:00",
        "2022-07-14 08:30",
        "2019-12-31",
    ]
)
DAYS = st.sampled_from(["1980-05-01", "1975-01-01", "1990-01-01", "2001-02-28"])
# Beyond floats and the calendar (issue 11): refused with a message, never a crash.
EXTREMES = st.sampled_from(
    [
        10**400,
        -(10**400),
        float("inf"),
        float("-inf"),
        float("nan"),
        1e308,
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+05:00",
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
    ]
)
GARBAGE = st.one_of(
    st.none(),
    EXTREMES,
    NUMBERS,
    TEXTS,
    MOMENTS,
    st.booleans(),
    st.lists(st.one_of(NUMBERS, TEXTS), max_size=3),
)
SUBJECT_VALUES = {
    "monetary_value": NUMBERS,
    "recency_days": NUMBERS,
    "orders_count": st.integers(-1, 30),
    "first_order_at": MOMENTS,
    "is_vip": st.booleans(),
    "favourite_category": TEXTS,
    "city": TEXTS,
    "country": TEXTS,
    "gender": st.sampled_from(["female", "Male", "other", "unknown", "none"]),
    "birth_date": DAYS,
    "loyalty": st.sampled_from(["gold", "SILVER", "bronze", "platinum"]),
    "health": TEXTS,
    "religion": TEXTS,
    "category": TEXTS,
    "price": NUMBERS,
    "gift": st.booleans(),
}


def _value_for(op: str, subject: str) -> st.SearchStrategy[Any]:
    """Mostly a value that fits ``op`` and ``subject``, sometimes anything."""
    scalar = SUBJECT_VALUES.get(subject, TEXTS)
    if op in ("is_null", "not_null"):
        fitting: st.SearchStrategy[Any] = st.none()
    elif op in ("in", "not_in"):
        fitting = st.lists(scalar, min_size=1, max_size=3)
    elif op == "between":
        fitting = st.lists(scalar, min_size=2, max_size=2).map(
            lambda pair: sorted(pair) if len({type(v) for v in pair}) == 1 else pair
        )
    else:
        fitting = scalar
    return st.one_of(fitting, fitting, fitting, GARBAGE)


def _comparison(key: str, subjects: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    def build(subject: str, op: str) -> st.SearchStrategy[dict[str, Any]]:
        value = _value_for(op, subject)
        return (
            st.fixed_dictionaries(
                {key: st.just(subject), "op": st.just(op)}, optional={"value": value}
            )
            if op in ("is_null", "not_null")
            else st.fixed_dictionaries({key: st.just(subject), "op": st.just(op), "value": value})
        )

    names = (
        st.one_of(st.sampled_from(subjects), STRINGS)
        if key != "property"
        else st.one_of(st.sampled_from(subjects), st.sampled_from(["a.b", "$x"]), STRINGS)
    )
    return st.tuples(names, st.sampled_from(OPS)).flatmap(lambda pair: build(*pair))


PROPERTY_FILTER = _comparison("property", ["category", "price", "gift", "campaign"])
COUNTS = st.one_of(
    st.fixed_dictionaries(
        {"op": st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), "value": st.integers(0, 4)}
    ),
    st.fixed_dictionaries(
        {
            "op": st.just("between"),
            "value": st.lists(st.integers(0, 4), min_size=2, max_size=2).map(sorted),
        }
    ),
    st.fixed_dictionaries(
        {
            "op": st.sampled_from([*OPS, "=="]),
            "value": st.one_of(
                st.integers(-1, 4), st.lists(st.integers(0, 4), max_size=3), EXTREMES
            ),
        }
    ),
)
LEAVES = st.one_of(
    _comparison("trait", sorted(TRAITS)),
    _comparison(
        "attribute",
        ["city", "country", "gender", "birth_date", "loyalty", "health", "religion", "nope"],
    ),
    st.fixed_dictionaries(
        {
            "event": st.one_of(
                st.sampled_from(["product_viewed", "Email Opened", "order_completed"]), STRINGS
            )
        },
        optional={
            "where": st.one_of(
                PROPERTY_FILTER,
                st.fixed_dictionaries({"all": st.lists(PROPERTY_FILTER, max_size=3)}),
            ),
            "count": COUNTS,
            "within_days": st.one_of(
                st.integers(1, 400), st.sampled_from([0, -1, "30", 10**30]), EXTREMES
            ),
        },
    ),
    st.fixed_dictionaries(
        {"consent": st.sampled_from([*CHANNELS, "fax"])},
        optional={
            "purpose": st.sampled_from([*PURPOSES, "sales"]),
            "status": st.sampled_from([*CONSENT_STATUSES, "given"]),
        },
    ),
    st.fixed_dictionaries(
        {"in_segment": st.sampled_from(["vip", "churn-risk-high", "nope", "Bad Id"])}
    ),
)
CONDITIONS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.fixed_dictionaries({"all": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"any": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"not": inner}),
    ),
    max_leaves=8,
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(where=CONDITIONS)
def test_random_definitions_are_refused_or_match_the_reference(con: Any, where: dict[str, Any]):
    before = snapshot(con)
    found = run(con, where)
    if found is not None:
        assert found == _reference_with_test_consents(where)
    assert_unchanged(con, before)


def _reference_with_test_consents(where: Any) -> set[str]:
    # This module's consents table holds one row: c1 granted email marketing.
    if "consent" in where:
        wanted = (
            where["consent"],
            where.get("purpose", "marketing"),
            where.get("status", "granted"),
        )
        return {"c1"} if wanted == ("email", "marketing", "granted") else set()
    if "all" in where:
        return set.intersection(*(_reference_with_test_consents(c) for c in where["all"]))
    if "any" in where:
        return set.union(*(_reference_with_test_consents(c) for c in where["any"]))
    if "not" in where:
        return ALL - _reference_with_test_consents(where["not"])
    return reference(where)


# --- arbitrary data

KEYS = st.one_of(
    st.sampled_from(
        [
            "id",
            "name",
            "where",
            "all",
            "any",
            "not",
            "trait",
            "attribute",
            "consent",
            "event",
            "in_segment",
            "op",
            "value",
            "count",
            "within_days",
            "property",
            "purpose",
            "status",
            "en",
            "fr",
            "dimension",
            "priority",
            "color",
            "description",
        ]
    ),
    st.text(max_size=6),
    st.integers(),
    st.none(),
    st.booleans(),
    st.floats(),
)
ANY_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    STRINGS,
    st.sampled_from(OPS),
    st.dates(),
    st.datetimes(),
)
ANY_DATA = st.recursive(
    ANY_SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=30,
)


def _refused_or_parsed(source: Any) -> None:
    with contextlib.suppress(SegmentDefinitionError):
        parse_definition(source, VOCABULARY)


@settings(max_examples=300, deadline=None)
@given(data=ANY_DATA)
def test_any_data_gives_a_definition_or_a_definition_error(data: Any):
    _refused_or_parsed(data)
    _refused_or_parsed({"id": "fuzz", "name": "Fuzz", "where": data})
    _refused_or_parsed({"id": "fuzz", "name": data, "where": {"all": [data, {"not": data}]}})


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=60),
        st.sampled_from(NASTY),
        ANY_DATA.map(lambda d: json.dumps(d, default=str)),
    )
)
def test_any_text_gives_a_definition_or_a_definition_error(text: str):
    _refused_or_parsed(text)
