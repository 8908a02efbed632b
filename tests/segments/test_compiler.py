"""Compiled segments against a pandas reference on a small hand-made data set."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import ibis
import pandas as pd
import pytest

from cible.domain.config import WorkspaceConfig
from cible.domain.registry import FieldRegistry
from cible.segments import (
    SegmentDefinitionError,
    Vocabulary,
    compile_members,
    compile_predicate,
    compiler,
    parse_definition,
)

AS_OF = datetime(2024, 6, 1)
T = datetime.fromisoformat

TRAITS = {
    "monetary_value": "float64",
    "recency_days": "float64",
    "orders_count": "int64",
    "first_order_at": "timestamp",
    "is_vip": "boolean",
    "favourite_category": "string",
}
REGISTRY = FieldRegistry(
    WorkspaceConfig.model_validate(
        {
            "attributes": {
                "loyalty": {
                    "type": "enum",
                    "values": ["gold", "silver", "bronze"],
                    "category": "value",
                },
                "health": {
                    "sensitivity": "special",
                    "category": "demographic",
                    "legal_basis": "consent art. 9(2)(a)",
                },
            }
        }
    )
)
VOCABULARY = Vocabulary(TRAITS, REGISTRY, segments={"vip", "churn-risk-high"})

CUSTOMER_SCHEMA = {
    "customer_id": "string",
    "monetary_value": "float64",
    "recency_days": "float64",
    "orders_count": "int64",
    "first_order_at": "timestamp",
    "is_vip": "boolean",
    "favourite_category": "string",
    "city": "string",
    "country": "string",
    "gender": "string",
    "birth_date": "date",
    "loyalty": "string",
    "health": "string",
}
# fmt: off
CUSTOMERS = pd.DataFrame(
    [
        ("c1", 800.0, 120.0, 12, T("2020-01-05 10:00"), True, "electronics", "Paris", "FR", "female", date(1980, 5, 1), "gold", "asthma"),
        ("c2", 450.0, 30.0, 4, T("2023-03-01"), False, "books", "Lyon", "FR", "male", date(1992, 11, 20), "silver", None),
        ("c3", None, None, 0, None, False, None, None, "BE", "unknown", None, None, None),
        ("c4", 500.0, 95.5, 7, T("2022-07-14 08:30"), True, "electronics", "Paris", "FR", "other", date(1975, 1, 1), "gold", None),
        ("c5", 20.0, 400.0, 1, T("2024-05-31 23:59:59"), False, "garden", "Marseille", "FR", "female", date(2001, 2, 28), "bronze", None),
        ("c6", 1200.0, 10.0, 25, T("2019-12-31"), False, "books", "Bruxelles", "BE", "male", date(1966, 6, 6), "silver", None),
        ("c7", 75.0, 200.0, 2, T("2021-01-01"), False, "toys", "it's; DROP", "FR", None, date(1999, 9, 9), None, None),
        ("c8", 300.0, 60.0, 3, T("2023-10-10"), True, "electronics", "Lille", "CH", "female", date(1988, 8, 8), "bronze", None),
    ],
    columns=list(CUSTOMER_SCHEMA),
)
EVENT_ROWS = [
    ("c1", "Product Viewed", {"category": "electronics", "price": 120, "gift": True}, "2024-05-25"),
    ("c1", "product_viewed", {"category": "electronics", "price": 80}, "2024-05-20"),
    ("c1", "PRODUCT VIEWED", {"category": "books", "price": 15}, "2024-04-01"),
    ("c1", "product_viewed", {"category": "electronics"}, "2024-06-02"),
    ("c2", "product_viewed", {"category": "electronics", "price": "99"}, "2024-05-30"),
    ("c2", "product_viewed", {"category": None}, "2024-05-29"),
    ("c2", "order_completed", {"total": 45.5}, "2024-05-15"),
    ("c4", "product_viewed", {"category": "electronics", "price": 300}, "2024-05-31 23:59:59"),
    ("c4", "product_viewed", {"category": "electronics", "price": 250}, "2024-06-01 00:00:00"),
    ("c4", "product_viewed", {"category": "Electronics"}, "2024-05-02"),
    ("c5", "product_viewed", None, "2024-05-10"),
    ("c5", "product_viewed", [1, 2], "2024-05-11"),
    ("c6", "email_opened", {"campaign": "june"}, "2024-05-01"),
    ("c6", "product_viewed", {"category": "garden", "price": 40, "gift": False}, "2023-01-01"),
    (None, "product_viewed", {"category": "electronics"}, "2024-05-20"),
    ("ghost", "product_viewed", {"category": "electronics"}, "2024-05-20"),
    ("c8", "Email Opened", {"campaign": "may", "subject": "it's 50%; off"}, "2024-05-05"),
    ("c8", "product_viewed", {"category": "electronics", "price": 120, "tags": ["a"]}, "2024-01-01"),
]
CONSENT_ROWS = [
    ("c1", "email", "marketing", "granted", "2024-01-01"),
    ("c2", "email", "marketing", "withdrawn", "2024-02-01"),
    ("c3", "email", "marketing", "granted", "2024-07-01"),
    ("c4", "sms", "marketing", "granted", "2024-01-01"),
    ("c4", "email", "marketing", "denied", None),
    ("c5", "email", "profiling", "granted", "2024-01-01"),
    ("c6", "email", "marketing", "granted", "2023-01-01"),
    ("c6", "email", "marketing", "withdrawn", "2024-03-01"),
    ("c7", "email", "marketing", "withdrawn", "2023-01-01"),
    ("c7", "email", "marketing", "granted", "2024-03-01"),
    ("c8", "email", "marketing", "granted", None),
    ("ghost", "email", "marketing", "granted", "2024-01-01"),
]
# fmt: on
EVENTS = pd.DataFrame(
    {
        "message_id": [f"m{i}" for i in range(len(EVENT_ROWS))],
        "customer_id": [r[0] for r in EVENT_ROWS],
        "type": "track",
        "event": [r[1] for r in EVENT_ROWS],
        "properties": [None if r[2] is None else json.dumps(r[2]) for r in EVENT_ROWS],
        "timestamp": [T(r[3]) for r in EVENT_ROWS],
    }
)
CONSENTS = pd.DataFrame(
    CONSENT_ROWS, columns=["customer_id", "channel", "purpose", "status", "recorded_at"]
).assign(recorded_at=lambda f: pd.to_datetime(f.recorded_at))
MEMBERSHIP = {"vip": ["c1", "c4", "ghost", None], "churn-risk-high": ["c2", "c6"]}
ALL = set(CUSTOMERS.customer_id)


@pytest.fixture(scope="module")
def con() -> Iterator[Any]:
    backend = ibis.duckdb.connect()
    backend.create_table("customers", ibis.memtable(CUSTOMERS, schema=CUSTOMER_SCHEMA))
    events = ibis.memtable(
        EVENTS,
        schema={
            "message_id": "string",
            "customer_id": "string",
            "type": "string",
            "event": "string",
            "properties": "string",
            "timestamp": "timestamp",
        },
    )
    # The store keeps properties as a JSON column.
    backend.create_table("events", events.mutate(properties=events.properties.cast("json")))
    backend.create_table(
        "consents",
        ibis.memtable(
            CONSENTS,
            schema={
                "customer_id": "string",
                "channel": "string",
                "purpose": "string",
                "status": "string",
                "recorded_at": "timestamp",
            },
        ),
    )
    for segment, members in MEMBERSHIP.items():
        backend.create_table(
            f"members_{segment.replace('-', '_')}",
            ibis.memtable({"customer_id": members}, schema={"customer_id": "string"}),
        )
    yield backend
    backend.disconnect()


def membership(con: Any) -> Callable[[str], Any]:
    return lambda segment_id: con.table(f"members_{segment_id.replace('-', '_')}")


def members(
    con: Any,
    where: dict[str, Any],
    *,
    base: Any = None,
    events: Any = None,
    as_of: datetime = AS_OF,
) -> set[str]:
    definition = parse_definition(
        {"id": "under-test", "name": "Under test", "where": where}, VOCABULARY
    )
    table = compile_members(
        definition,
        base=con.table("customers") if base is None else base,
        events=con.table("events") if events is None else events,
        consents=con.table("consents"),
        as_of=as_of,
        membership=membership(con),
    )
    ids = table.to_pyarrow().column("customer_id").to_pylist()
    assert len(ids) == len(set(ids)), "members are distinct"
    return set(ids)


# --- the pandas reference, written from the language's description, not the compiler


def _scalar(value: Any, series: pd.Series) -> Any:
    if pd.api.types.is_datetime64_any_dtype(series):
        moment = pd.Timestamp(value)
        return moment.tz_convert("UTC").tz_localize(None) if moment.tzinfo else moment
    if series.name == "birth_date":
        return date.fromisoformat(value)
    if series.name in ("gender", "loyalty"):
        return value.lower()
    return value


def _mask(series: pd.Series, op: str, value: Any) -> pd.Series:
    if op == "is_null":
        return series.isna()
    if op == "not_null":
        return series.notna()
    known = series.notna()
    if op in ("in", "not_in"):
        found = series.isin([_scalar(v, series) for v in value])
        return known & (found if op == "in" else ~found)
    if op == "between":
        low, high = (_scalar(v, series) for v in value)
        return known & series.apply(lambda x: pd.notna(x) and bool(low <= x <= high))
    target = _scalar(value, series)
    compare = {
        "=": lambda x: x == target,
        "!=": lambda x: x != target,
        "<": lambda x: x < target,
        "<=": lambda x: x <= target,
        ">": lambda x: x > target,
        ">=": lambda x: x >= target,
    }[op]
    return known & series.apply(lambda x: pd.notna(x) and bool(compare(x)))


def _python_compare(x: Any, op: str, value: Any) -> bool:
    if op == "between":
        return bool(value[0] <= x <= value[1])
    if op == "in":
        return x in value
    if op == "not_in":
        return x not in value
    return bool(
        {
            "=": x == value,
            "!=": x != value,
            "<": x < value,
            "<=": x <= value,
            ">": x > value,
            ">=": x >= value,
        }[op]
    )


def _property_holds(properties: Any, test: dict[str, Any]) -> bool:
    present = isinstance(properties, dict) and test["property"] in properties
    raw = properties[test["property"]] if present else None
    if test["op"] == "is_null":
        return raw is None
    if test["op"] == "not_null":
        return raw is not None
    sample = test["value"][0] if isinstance(test["value"], list) else test["value"]
    if isinstance(sample, bool):
        fits = isinstance(raw, bool)
    elif isinstance(sample, int | float):
        fits = isinstance(raw, int | float) and not isinstance(raw, bool)
    else:
        fits = isinstance(raw, str)
    return fits and _python_compare(raw, test["op"], test["value"])


def reference(where: dict[str, Any], as_of: datetime = AS_OF) -> set[str]:
    if "all" in where:
        return set.intersection(*(reference(c, as_of) for c in where["all"]))
    if "any" in where:
        return set.union(*(reference(c, as_of) for c in where["any"]))
    if "not" in where:
        return ALL - reference(where["not"], as_of)
    if "trait" in where or "attribute" in where:
        column = CUSTOMERS[where.get("trait") or where["attribute"]]
        return set(CUSTOMERS.customer_id[_mask(column, where["op"], where.get("value"))])
    if "in_segment" in where:
        return ALL & set(MEMBERSHIP[where["in_segment"]])
    if "consent" in where:
        key = (where["consent"], where.get("purpose", "marketing"))
        latest: dict[str, tuple[datetime, str]] = {}
        for customer, channel, purpose, status, updated in CONSENT_ROWS:
            moment = datetime.min if updated is None else T(updated)
            if (
                (channel, purpose) == key
                and moment < as_of
                and moment >= latest.get(customer, (datetime.min, ""))[0]
            ):
                latest[customer] = (moment, status)
        wanted = where.get("status", "granted")
        return ALL & {c for c, (_, status) in latest.items() if status == wanted}
    name = where["event"].lower().replace(" ", "_")
    tests = where.get("where")
    tests = [] if tests is None else tests.get("all", [tests])
    since = as_of - timedelta(days=where["within_days"]) if "within_days" in where else datetime.min
    counts = dict.fromkeys(ALL, 0)
    for customer, event, properties, stamp in EVENT_ROWS:
        if (
            customer in counts
            and event.lower().replace(" ", "_") == name
            and since <= T(stamp) < as_of
            and all(_property_holds(properties, t) for t in tests)
        ):
            counts[customer] += 1
    count = where.get("count", {})
    return {
        c
        for c, n in counts.items()
        if _python_compare(n, count.get("op", ">="), count.get("value", 1))
    }


CASES: dict[str, tuple[dict[str, Any], set[str]]] = {
    "trait >=": ({"trait": "monetary_value", "op": ">=", "value": 500}, {"c1", "c4", "c6"}),
    "trait between": (
        {"trait": "monetary_value", "op": "between", "value": [100, 800]},
        {"c1", "c2", "c4", "c8"},
    ),
    "int trait in": ({"trait": "orders_count", "op": "in", "value": [4, 7]}, {"c2", "c4"}),
    "int trait not_in": (
        {"trait": "orders_count", "op": "not_in", "value": [0, 1]},
        ALL - {"c3", "c5"},
    ),
    "trait != skips nulls": (
        {"trait": "monetary_value", "op": "!=", "value": 20},
        ALL - {"c3", "c5"},
    ),
    "trait <": ({"trait": "recency_days", "op": "<", "value": 60}, {"c2", "c6"}),
    "trait <=": ({"trait": "recency_days", "op": "<=", "value": 60}, {"c2", "c6", "c8"}),
    "trait is_null": ({"trait": "monetary_value", "op": "is_null"}, {"c3"}),
    "trait not_null": ({"trait": "first_order_at", "op": "not_null"}, ALL - {"c3"}),
    "timestamp > date": (
        {"trait": "first_order_at", "op": ">", "value": "2023-01-01"},
        {"c2", "c5", "c8"},
    ),
    "timestamp = with offset": (
        {"trait": "first_order_at", "op": "=", "value": "2024-06-01T01:59:59+02:00"},
        {"c5"},
    ),
    "timestamp between": (
        {
            "trait": "first_order_at",
            "op": "between",
            "value": ["2020-01-01", "2022-12-31T23:00:00"],
        },
        {"c1", "c4", "c7"},
    ),
    "boolean trait": ({"trait": "is_vip", "op": "=", "value": True}, {"c1", "c4", "c8"}),
    "boolean trait !=": (
        {"trait": "is_vip", "op": "!=", "value": True},
        {"c2", "c3", "c5", "c6", "c7"},
    ),
    "string trait": (
        {"trait": "favourite_category", "op": "=", "value": "electronics"},
        {"c1", "c4", "c8"},
    ),
    "string trait ordered": (
        {"trait": "favourite_category", "op": "<", "value": "c"},
        {"c2", "c6"},
    ),
    "attribute with quote": ({"attribute": "city", "op": "=", "value": "it's; DROP"}, {"c7"}),
    "enum attribute any case": (
        {"attribute": "gender", "op": "=", "value": "Female"},
        {"c1", "c5", "c8"},
    ),
    "date attribute": ({"attribute": "birth_date", "op": "<", "value": "1980-01-01"}, {"c4", "c6"}),
    "custom enum in": (
        {"attribute": "loyalty", "op": "in", "value": ["gold", "SILVER"]},
        {"c1", "c2", "c4", "c6"},
    ),
    "special with legal basis": ({"attribute": "health", "op": "not_null"}, {"c1"}),
    "attribute not_in": (
        {"attribute": "country", "op": "not_in", "value": ["FR"]},
        {"c3", "c6", "c8"},
    ),
    "event default count": ({"event": "product_viewed"}, {"c1", "c2", "c4", "c5", "c6", "c8"}),
    "event window count": (
        {"event": "Product Viewed", "within_days": 30, "count": {"op": ">=", "value": 2}},
        {"c1", "c2", "c4", "c5"},
    ),
    "event property =": (
        {
            "event": "product_viewed",
            "where": {"property": "category", "op": "=", "value": "electronics"},
        },
        {"c1", "c2", "c4", "c8"},
    ),
    "event property number": (
        {"event": "product_viewed", "where": {"property": "price", "op": ">", "value": 100}},
        {"c1", "c4", "c8"},
    ),
    "event property group in window": (
        {
            "event": "product_viewed",
            "within_days": 30,
            "where": {
                "all": [
                    {"property": "category", "op": "=", "value": "electronics"},
                    {"property": "price", "op": ">=", "value": 100},
                ]
            },
        },
        {"c1", "c4"},
    ),
    "event property boolean": (
        {"event": "product_viewed", "where": {"property": "gift", "op": "=", "value": True}},
        {"c1"},
    ),
    "event property is_null": (
        {"event": "product_viewed", "where": {"property": "category", "op": "is_null"}},
        {"c2", "c5"},
    ),
    "event property not_null": (
        {
            "event": "product_viewed",
            "where": {"property": "price", "op": "not_null"},
            "count": {"op": ">=", "value": 2},
        },
        {"c1"},
    ),
    "event property in": (
        {
            "event": "product_viewed",
            "where": {"property": "category", "op": "in", "value": ["books", "garden"]},
        },
        {"c1", "c6"},
    ),
    "event property not_in": (
        {
            "event": "product_viewed",
            "where": {"property": "category", "op": "not_in", "value": ["electronics"]},
        },
        {"c1", "c4", "c6"},
    ),
    "event property between": (
        {
            "event": "product_viewed",
            "where": {"property": "price", "op": "between", "value": [50, 130.5]},
        },
        {"c1", "c8"},
    ),
    "event count = 0": (
        {"event": "product_viewed", "count": {"op": "=", "value": 0}},
        {"c3", "c7"},
    ),
    "event count < 1 in window": (
        {"event": "product_viewed", "within_days": 30, "count": {"op": "<", "value": 1}},
        {"c3", "c6", "c7", "c8"},
    ),
    "event count <= 1 with filter": (
        {
            "event": "product_viewed",
            "where": {"property": "category", "op": "=", "value": "electronics"},
            "count": {"op": "<=", "value": 1},
        },
        ALL - {"c1"},
    ),
    "event count between": (
        {"event": "product_viewed", "count": {"op": "between", "value": [1, 2]}},
        {"c2", "c4", "c5", "c6", "c8"},
    ),
    "event count != 2": (
        {"event": "product_viewed", "count": {"op": "!=", "value": 2}},
        {"c1", "c3", "c6", "c7", "c8"},
    ),
    "event count > 2": ({"event": "product_viewed", "count": {"op": ">", "value": 2}}, {"c1"}),
    "event name normalised": ({"event": "Email Opened"}, {"c6", "c8"}),
    "event property with quotes": (
        {
            "event": "email_opened",
            "where": {"property": "subject", "op": "=", "value": "it's 50%; off"},
        },
        {"c8"},
    ),
    "unknown event": ({"event": "it's; DROP TABLE events; --"}, set()),
    "unknown event = 0": (
        {"event": "it's; DROP TABLE events; --", "count": {"op": "=", "value": 0}},
        ALL,
    ),
    "consent default": ({"consent": "email"}, {"c1", "c7", "c8"}),
    "consent withdrawn": ({"consent": "email", "status": "withdrawn"}, {"c2", "c6"}),
    "consent denied": ({"consent": "email", "status": "denied"}, {"c4"}),
    "consent sms": ({"consent": "sms"}, {"c4"}),
    "consent profiling": ({"consent": "email", "purpose": "profiling"}, {"c5"}),
    "in_segment": ({"in_segment": "vip"}, {"c1", "c4"}),
    "not in_segment": ({"not": {"in_segment": "churn-risk-high"}}, ALL - {"c2", "c6"}),
    "not keeps nulls": (
        {"not": {"trait": "monetary_value", "op": ">=", "value": 500}},
        {"c2", "c3", "c5", "c7", "c8"},
    ),
    "any": (
        {
            "any": [
                {"trait": "is_vip", "op": "=", "value": True},
                {"consent": "email", "status": "withdrawn"},
            ]
        },
        {"c1", "c2", "c4", "c6", "c8"},
    ),
    "lapsed vip": (
        {
            "all": [
                {"trait": "monetary_value", "op": ">=", "value": 300},
                {"trait": "recency_days", "op": ">", "value": 50},
                {
                    "event": "product_viewed",
                    "where": {"property": "category", "op": "=", "value": "electronics"},
                    "count": {"op": ">=", "value": 1},
                    "within_days": 30,
                },
                {"not": {"in_segment": "churn-risk-high"}},
            ]
        },
        {"c1", "c4"},
    ),
    "nested all any not": (
        {
            "any": [
                {
                    "all": [
                        {"attribute": "country", "op": "=", "value": "FR"},
                        {
                            "not": {
                                "any": [
                                    {"consent": "email"},
                                    {"trait": "is_vip", "op": "=", "value": True},
                                ]
                            }
                        },
                    ]
                },
                {
                    "all": [
                        {"not": {"not": {"attribute": "country", "op": "=", "value": "BE"}}},
                        {"event": "email_opened", "count": {"op": "=", "value": 0}},
                    ]
                },
            ]
        },
        {"c2", "c3", "c5"},
    ),
}


@pytest.mark.parametrize("where, expected", list(CASES.values()), ids=list(CASES))
def test_reference_agrees_with_the_hand_computed_answer(where: dict[str, Any], expected: set[str]):
    assert reference(where) == expected


@pytest.mark.parametrize("where", [w for w, _ in CASES.values()], ids=list(CASES))
def test_compiled_members_match_the_pandas_reference(con: Any, where: dict[str, Any]):
    assert members(con, where) == reference(where)


@pytest.mark.parametrize(
    "as_of", [datetime(2024, 5, 21), datetime(2024, 5, 30, 12), datetime(2025, 1, 1)]
)
def test_any_past_moment_can_be_replayed(con: Any, as_of: datetime):
    for name in (
        "event window count",
        "event property group in window",
        "event count < 1 in window",
        "consent default",
        "consent withdrawn",
    ):
        where = CASES[name][0]
        assert members(con, where, as_of=as_of) == reference(where, as_of), name


def test_an_aware_as_of_is_read_in_utc(con: Any):
    where = CASES["event window count"][0]
    paris = timezone(timedelta(hours=2))
    assert members(con, where, as_of=datetime(2024, 6, 1, 2, tzinfo=paris)) == members(con, where)


def test_restricted_base_gives_the_same_answer_for_those_customers(con: Any):
    customers = con.table("customers")
    touched = customers.filter(customers.customer_id.isin(["c1", "c3", "c5", "c7"]))
    for name, (where, _) in CASES.items():
        assert members(con, where, base=touched) == reference(where) & {"c1", "c3", "c5", "c7"}, (
            name
        )


def test_properties_held_as_json_text_are_read_alike(con: Any):
    as_text = con.table("events").mutate(properties=lambda t: t.properties.cast("string"))
    for name in (
        "event property =",
        "event property number",
        "event property is_null",
        "event property boolean",
    ):
        where = CASES[name][0]
        assert members(con, where, events=as_text) == reference(where), name


def test_timezone_aware_event_timestamps(con: Any):
    aware = con.table("events").mutate(timestamp=lambda t: t.timestamp.cast("timestamp('UTC')"))
    where = CASES["event window count"][0]
    assert members(con, where, events=aware) == reference(where)


def test_predicate_is_never_null(con: Any):
    definition = parse_definition(
        {"id": "x", "name": "X", "where": CASES["nested all any not"][0]}, VOCABULARY
    )
    base = con.table("customers")
    predicate = compile_predicate(
        definition,
        base=base,
        events=con.table("events"),
        consents=con.table("consents"),
        as_of=AS_OF,
        membership=membership(con),
    )
    flags = base.select(flag=predicate).to_pyarrow().column("flag").to_pylist()
    assert None not in flags
    assert sum(flags) == len(CASES["nested all any not"][1])


def test_a_missing_base_column_names_the_condition(con: Any):
    base = con.table("customers").drop("recency_days")
    with pytest.raises(
        SegmentDefinitionError,
        match=r"^where\.all\[1\]\.trait: the customer table has no column 'recency_days'",
    ):
        members(con, CASES["lapsed vip"][0], base=base)


def test_a_base_column_of_another_type_is_refused(con: Any):
    base = con.table("customers").mutate(monetary_value=lambda t: t.monetary_value.cast("string"))
    with pytest.raises(
        SegmentDefinitionError, match=r"^where\.trait: column 'monetary_value' holds string"
    ):
        members(con, CASES["trait >="][0], base=base)


def test_compiled_expression_is_backend_neutral_and_binds_literals(con: Any):
    definition = parse_definition(
        {"id": "x", "name": "X", "where": CASES["attribute with quote"][0]}, VOCABULARY
    )
    table = compile_members(
        definition,
        base=con.table("customers"),
        events=con.table("events"),
        consents=con.table("consents"),
        as_of=AS_OF,
        membership=membership(con),
    )
    sql = ibis.to_sql(table, dialect="postgres")
    assert "'it''s; DROP'" in sql


# --- long in / not_in lists: a literal table instead of a list of literals (issue 11)

LIST_CASES = [name for name, (where, _) in CASES.items() if '"in"' in json.dumps(where)]
LIST_CASES += [name for name, (where, _) in CASES.items() if '"not_in"' in json.dumps(where)]


def test_list_cases_cover_in_and_not_in():
    assert len(LIST_CASES) >= 4


@pytest.mark.parametrize("name", sorted(set(LIST_CASES)))
def test_literal_table_lists_give_the_in_list_answer(
    con: Any, monkeypatch: pytest.MonkeyPatch, name: str
):
    where = CASES[name][0]
    as_literals = members(con, where)
    monkeypatch.setattr(compiler, "LIST_TABLE_MIN", 0)
    assert members(con, where) == as_literals == reference(where)


NULL_LISTS = {
    # c3 holds NULL in every one of these columns.
    "float trait": ("monetary_value", [800.0, 20.0]),
    "int trait": ("orders_count", [4, 7, 0]),
    "mixed numbers": ("monetary_value", [800, 20.0]),
    "timestamp trait": ("first_order_at", ["2020-01-05T10:00:00", "2023-03-01"]),
    "string trait": ("favourite_category", ["books", "toys"]),
}


@pytest.mark.parametrize("threshold", [0, 1_000], ids=["literal table", "literal list"])
@pytest.mark.parametrize("name", list(NULL_LISTS))
def test_a_null_trait_is_in_no_list_and_in_no_excluding_list(
    con: Any, monkeypatch: pytest.MonkeyPatch, name: str, threshold: int
):
    # The behaviour before literal tables, kept: a NULL matches neither `in` nor
    # `not_in`, and so `not: {not_in}` includes it.
    monkeypatch.setattr(compiler, "LIST_TABLE_MIN", threshold)
    trait, values = NULL_LISTS[name]
    customers = con.table("customers")
    # c3 has no orders_count of 0 here: NULL, as every other column of c3.
    base = customers.mutate(
        orders_count=ibis.ifelse(customers.customer_id == "c3", ibis.null(), customers.orders_count)
    )
    found = members(con, {"trait": trait, "op": "in", "value": values}, base=base)
    excluded = members(con, {"trait": trait, "op": "not_in", "value": values}, base=base)
    negated = members(con, {"not": {"trait": trait, "op": "not_in", "value": values}}, base=base)
    assert "c3" not in found | excluded
    assert "c3" in negated
    assert found | excluded == ALL - {"c3"}
    assert negated == found | {"c3"}


def test_a_long_list_compiles_to_one_literal_table(con: Any):
    values = [v + 0.5 for v in range(999)] + [800.0]
    definition = parse_definition(
        {
            "id": "x",
            "name": "X",
            "where": {"trait": "monetary_value", "op": "not_in", "value": values},
        },
        VOCABULARY,
    )
    table = compile_members(
        definition,
        base=con.table("customers"),
        events=con.table("events"),
        consents=con.table("consents"),
        as_of=AS_OF,
        membership=membership(con),
    )
    sql = ibis.to_sql(table, dialect="duckdb")
    assert "memtable" in sql
    assert "998.5" not in sql
    assert set(table.to_pyarrow().column("customer_id").to_pylist()) == ALL - {"c1", "c3"}


def test_long_lists_on_timezone_aware_and_date_columns(con: Any, monkeypatch: pytest.MonkeyPatch):
    customers = con.table("customers")
    aware = customers.mutate(first_order_at=customers.first_order_at.cast("timestamp('UTC')"))
    dated = {"attribute": "birth_date", "op": "in", "value": ["1980-05-01", "1975-01-01"]}
    stamped = {"trait": "first_order_at", "op": "not_in", "value": ["2020-01-05T11:00:00+01:00"]}
    expected = [members(con, dated, base=aware), members(con, stamped, base=aware)]
    monkeypatch.setattr(compiler, "LIST_TABLE_MIN", 0)
    assert [members(con, dated, base=aware), members(con, stamped, base=aware)] == expected
    assert expected == [{"c1", "c4"}, ALL - {"c1", "c3"}]


def test_an_event_property_list_as_a_literal_table(con: Any, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(compiler, "LIST_TABLE_MIN", 0)
    for name in ("event property in", "event property not_in"):
        where = CASES[name][0]
        assert members(con, where) == reference(where), name


def test_within_days_at_the_start_of_the_calendar(con: Any):
    where = {"event": "product_viewed", "within_days": 30}
    assert members(con, where, as_of=datetime(1, 1, 2)) == set()
