"""The analytic pipeline of a run, on any engine, each step computed once.

The steps are those of :func:`cible.segments.runner.evaluate`, called on the tables
of one engine: raw traits, RFM and lifecycle, typologies, the built-in memberships
and rule segments; then the reports' expressions on those results (segment figures,
revenue, Pareto, overlaps, cohorts, KPI facts, the membership history at a moment)
the data-quality audit's checks on the shop's tables, and an import's judgement of a
staged file. As in a run, each step's result is held in a table of the engine
(:func:`cible.store.engines.load_table`, where a run uses ``Store.hold``) for the
next steps to read. Value and churn scores are fitted in Python in a run; here they
are computed once, from the reference engine's rows, and handed to every engine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from cible.domain.config import WorkspaceConfig
from cible.domain.registry import FieldRegistry
from cible.features.registry import CHURN_TRAITS, TYPOLOGY_TRAITS, VALUE_TRAITS
from cible.features.typology import add_typology
from cible.importing.validation import ParseOptions, judge_rows, parse_rows
from cible.models.bands import risk_bands
from cible.models.value import score_value, value_inputs
from cible.quality.activity_checks import activity_checks
from cible.quality.checks import AuditContext
from cible.quality.customer_checks import customer_checks
from cible.segments.builtin import typology_inputs
from cible.segments.cohorts import cohort_activity
from cible.segments.compiler import compile_members
from cible.segments.definition import SegmentDefinition, parse_definition
from cible.segments.dependencies import evaluation_order
from cible.segments.kpi_facts import email_facts, order_facts
from cible.segments.migration import snapshot
from cible.segments.portfolio import overlap, pareto_segments
from cible.segments.revenue_pareto import segment_revenue
from cible.segments.runner import (
    _full_traits,
    builtin_members,
    exclusive_members,
    raw_traits,
    rfm_lifecycle,
    rule_members,
)
from cible.segments.runner import vocabulary as run_vocabulary
from cible.segments.summary import segment_figures
from cible.store.engines import load_table
from tests.backends.shop import AS_OF, Shop

CONFIG = WorkspaceConfig()
TAGS = {"vip", "newsletter"}

#: Rule segments using every construct of the segment language (docs/segments.md).
DEFINITIONS: list[dict[str, Any]] = [
    {
        "id": "big-spenders",
        "dimension": "spend",
        "priority": 2,
        "where": {"trait": "monetary_value", "op": ">=", "value": 400},
    },
    {
        "id": "recent-mode",
        "dimension": "spend",
        "priority": 1,
        "where": {
            "all": [
                {"trait": "top_category", "op": "in", "value": ["mode", "beauté"]},
                {
                    "trait": "last_order_at",
                    "op": "between",
                    "value": ["2024-06-01T00:00:00", "2024-11-30T12:00:00"],
                },
            ]
        },
    },
    {"id": "no-view-before-buying", "where": {"trait": "view_to_purchase_hours", "op": "is_null"}},
    {
        "id": "west",
        "dimension": "lifecycle",
        "priority": 1,
        "where": {
            "attribute": "region",
            "op": "in",
            "value": ["Bretagne", "Pays de la Loire", "Normandie"],
        },
    },
    {
        "id": "fashion-browsers",
        "where": {
            "event": "Product Viewed",
            "where": {
                "all": [
                    {"property": "category", "op": "=", "value": "mode"},
                    {"property": "price", "op": ">", "value": 20},
                ]
            },
            "count": {"op": ">=", "value": 2},
            "within_days": 365,
        },
    },
    {
        "id": "gift-seekers",
        "where": {
            "event": "product_viewed",
            "where": {"property": "gift", "op": "=", "value": True},
        },
    },
    {
        "id": "odd-categories",
        "where": {
            "event": "product_viewed",
            "where": {"property": "category", "op": "is_null"},
            "within_days": 30,
        },
    },
    {"id": "silent", "where": {"event": "review_written", "count": {"op": "=", "value": 0}}},
    {"id": "mail-ok", "where": {"consent": "email", "purpose": "marketing", "status": "granted"}},
    {"id": "vip", "where": {"tag": "vip"}},
    {"id": "new-subscribers", "where": {"tag": "newsletter", "within_days": 60}},
    {
        "id": "champions-by-mail",
        "where": {"all": [{"in_segment": "rfm-champions"}, {"in_segment": "mail-ok"}]},
    },
    {
        "id": "nested",
        "where": {
            "all": [
                {"in_segment": "big-spenders"},
                {"any": [{"in_segment": "fashion-browsers"}, {"not": {"consent": "sms"}}]},
                {"not": {"trait": "recency_days", "op": ">", "value": 180}},
            ]
        },
    },
]


def long_list_definition(postal_codes: list[str]) -> dict[str, Any]:
    """A ``not_in`` list long enough to be compiled to a literal table."""
    return {
        "id": "elsewhere",
        "where": {"attribute": "postal_code", "op": "not_in", "value": postal_codes},
    }


class Results:
    """Each step's rows on one engine, or the error the step (or one before it) raised.

    A failing step is kept rather than raised, so that the other steps still run and
    only the tests reading this one fail (or are marked as a known gap).
    """

    def __init__(self) -> None:
        self._steps: dict[str, pa.Table | BaseException] = {}

    def __getitem__(self, step: str) -> pa.Table:
        found = self._steps[step]
        if isinstance(found, BaseException):
            raise found
        return found

    def run(self, step: str, compute: Callable[[], pa.Table]) -> None:
        try:
            self._steps[step] = compute()
        except Exception as exc:
            self._steps[step] = exc


def load_shop(engine: Any, shop: Shop) -> dict[str, Any]:
    """Every table of ``shop`` in ``engine``."""
    return {
        name: load_table(engine, name, rows, schema=shop.schemas[name])
        for name, rows in shop.rows.items()
    }


def definitions(shop: Shop) -> list[SegmentDefinition]:
    """:data:`DEFINITIONS` and the long list, parsed as a run parses stored segments."""
    codes = sorted({c for c in shop.rows["customers"].column("postal_code").to_pylist() if c})
    sources = [*DEFINITIONS, long_list_definition(codes[: len(codes) // 2])]
    words = run_vocabulary(FieldRegistry(CONFIG), {s["id"] for s in sources}, TAGS)
    return [parse_definition({"name": s["id"], **s}, words) for s in sources]


def model_scores(reference_inputs: pa.Table, raw: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Value scores and churn bands as a run would hand them to the database.

    Value scores are fitted on the reference engine's inputs, as a run fits them in
    Python. Churn bands stand in for a trained model's: a risk growing with recency.
    """
    value, _ = score_value(reference_inputs.to_pandas(), as_of=AS_OF)
    frame = raw.select(["customer_id", "recency_days"]).to_pandas()
    risk = np.minimum(frame["recency_days"] / 365.0, 1.0)
    churn = pd.DataFrame(
        {
            "customer_id": frame["customer_id"],
            "churn_risk": risk,
            "churn_risk_band": risk_bands(risk).astype(object),
        }
    )
    value_columns = ["customer_id", *(t.name for t in VALUE_TRAITS)]
    churn_columns = ["customer_id", *(t.name for t in CHURN_TRAITS)]
    return (
        pa.Table.from_pandas(value[value_columns], preserve_index=False),
        pa.Table.from_pandas(churn[churn_columns], preserve_index=False),
    )


def run_pipeline(
    engine: Any,
    tables: dict[str, Any],
    rules: list[SegmentDefinition],
    *,
    models: tuple[pa.Table, pa.Table] | None = None,
) -> Results:
    """Every step on ``engine``; ``models`` are the value and churn scores to use
    (computed from this engine's own results when not given: the reference)."""
    results = Results()
    held: dict[str, Any] = {}

    def hold(name: str, rows: pa.Table) -> pa.Table:
        held[name] = load_table(engine, f"_{name}", rows)
        return rows

    results.run(
        "raw_traits",
        lambda: hold("raw", raw_traits(tables.__getitem__, CONFIG, AS_OF).to_pyarrow()),
    )
    results.run(
        "scores",
        lambda: hold(
            "scores", rfm_lifecycle(held["raw"], tables["orders"], CONFIG, AS_OF).to_pyarrow()
        ),
    )
    typology_columns = ["customer_id", *(t.name for t in TYPOLOGY_TRAITS)]
    results.run(
        "typology",
        lambda: (
            add_typology(
                held["raw"], typology_inputs(CONFIG.typology), min_score=CONFIG.typology.min_score
            )
            .select(*typology_columns)
            .to_pyarrow()
        ),
    )
    results.run("value_inputs", lambda: value_inputs(tables["orders"], AS_OF).to_pyarrow())

    def traits() -> pa.Table:
        value, churn = models or model_scores(results["value_inputs"], results["raw_traits"])
        full = _full_traits(
            held["raw"],
            held["scores"],
            load_table(engine, "_value", value),
            load_table(engine, "_churn", churn),
            CONFIG,
        )
        return hold("traits", full.to_pyarrow())

    results.run("traits", traits)
    results.run("builtin", lambda: hold("builtin", builtin_members(held["traits"]).to_pyarrow()))
    results.run(
        "segments",
        lambda: hold("segments", _segments(tables, held["traits"], held["builtin"], rules)),
    )
    results.run("memberships", lambda: _memberships(held["builtin"], held["segments"], rules))
    run_reports(engine, tables, results, held)
    return results


#: The moment the membership history is read at, between entries and exits.
HISTORY_AT = AS_OF - timedelta(days=7)
#: KPI moments: the run's and a month before, each with its period and the one before.
MOMENTS = pa.table(
    {
        "moment_id": pa.array([1, 2], pa.int64()),
        "as_of": [AS_OF, AS_OF - timedelta(days=30)],
        "period_start": [AS_OF - timedelta(days=90), AS_OF - timedelta(days=120)],
        "previous_start": [AS_OF - timedelta(days=180), AS_OF - timedelta(days=210)],
    }
)


def membership_history(memberships: pa.Table) -> pa.Table:
    """A history of two runs built from the memberships: every membership entered
    30 or 10 days before ``AS_OF``, every third one exited 5 days before it, so that
    read at :data:`HISTORY_AT` some are open, some not yet entered, some exited."""
    rows = memberships.select(["segment_id", "dimension", "customer_id"]).to_pylist()
    for i, row in enumerate(rows):
        row["entered_at"] = AS_OF - timedelta(days=30 if i % 2 else 10)
        row["exited_at"] = AS_OF - timedelta(days=5) if i % 3 == 0 else None
    return pa.Table.from_pylist(
        rows,
        schema=pa.schema(
            [
                ("segment_id", pa.string()),
                ("dimension", pa.string()),
                ("customer_id", pa.string()),
                ("entered_at", pa.timestamp("us")),
                ("exited_at", pa.timestamp("us")),
            ]
        ),
    )


def run_reports(
    engine: Any, tables: dict[str, Any], results: Results, held: dict[str, Any]
) -> None:
    """The reports' expressions on ``engine``: segment figures and revenue, the Pareto
    view, overlaps between dimensions, cohorts, KPI facts and the membership history
    read at a moment (:mod:`cible.segments`), each from the traits and memberships
    this engine computed."""
    members: dict[str, Any] = {}

    def memberships() -> Any:
        if "table" not in members:
            members["table"] = load_table(engine, "_memberships", results["memberships"])
        return members["table"]

    results.run("figures", lambda: segment_figures(held["traits"], memberships()).to_pyarrow())
    results.run(
        "revenue", lambda: segment_revenue(held["traits"], memberships(), "value").to_pyarrow()
    )
    results.run("pareto", lambda: pareto_segments(held["traits"], memberships(), 0.2).to_pyarrow())
    results.run("overlap", lambda: overlap(memberships(), "rfm", "lifecycle").to_pyarrow())
    results.run(
        "cohorts",
        lambda: cohort_activity(
            tables["orders"], tables["customers"].select("customer_id"), AS_OF
        ).to_pyarrow(),
    )

    def facts() -> pa.Table:
        moments = load_table(engine, "_moments", MOMENTS)
        by_orders = order_facts(tables["orders"], moments).to_pyarrow()
        by_mail = email_facts(tables["events"], moments).to_pyarrow()
        # One row per moment and customer in each: told apart by their source.
        return pa.concat_tables(
            [
                by_orders.append_column("_source", pa.array(["orders"] * by_orders.num_rows)),
                by_mail.select(by_orders.column_names).append_column(
                    "_source", pa.array(["mail"] * by_mail.num_rows)
                ),
            ]
        )

    results.run("kpi_facts", facts)

    def history() -> pa.Table:
        stored = load_table(engine, "_history", membership_history(results["memberships"]))
        return snapshot(stored, "rfm", HISTORY_AT).to_pyarrow()

    results.run("history", history)

    def audit() -> pa.Table:
        context = AuditContext(_Tables(tables), FieldRegistry(CONFIG), CONFIG, AS_OF)  # type: ignore[arg-type]
        checks = customer_checks(context) + activity_checks(context)
        return pa.Table.from_pylist(
            [
                {
                    "check_id": c.id,
                    "affected": c.affected,
                    "denominator": c.denominator,
                    "examples": " | ".join(c.examples),
                }
                for c in checks
            ]
        )

    results.run("audit", audit)
    results.run("import", lambda: judged_import(engine))


#: An orders file as the importer stages it: text columns and line numbers, with
#: the mistakes files carry (a date in another layout, a comma decimal, an unknown
#: status, a repeated key, a missing customer, text that is no number or date).
STAGED_ORDERS = pa.table(
    {
        "_line": pa.array(range(2, 10), pa.int64()),
        "order_id": ["o1", "o2", "o3", "o4", "o4", "o6", "o7", "o8"],
        "customer_id": ["a", "b", "c", "d", "d", None, "e", "f"],
        "ordered_at": [
            "2024-03-01T10:00:00",
            "2024-03-02 11:30:00+02:00",
            "02/03/2024",
            "2024-03-04",
            "2024-03-05",
            "2024-03-06",
            "yesterday",
            "1850-01-01",
        ],
        "amount": ["10.5", "12", "abc", "7.25", "8", "9", "1e400", "-3"],
        "status": ["completed", "Annulée", "pending", "weird", None, "returned", "", "completed"],
    }
)


def judged_import(engine: Any) -> pa.Table:
    """Each staged line's parsed values and rejection reasons (``parse_rows``, then
    ``judge_rows``), as an import judges a file before writing it."""
    table = FieldRegistry(CONFIG).table("orders")
    mapping = {name: name for name in STAGED_ORDERS.column_names if name != "_line"}
    options = ParseOptions()
    staged = load_table(engine, "_staged", STAGED_ORDERS)
    parsed = load_table(engine, "_parsed", parse_rows(staged, table, mapping, options).to_pyarrow())
    return judge_rows(parsed, table, options).to_pyarrow()


class _Tables:
    """What an audit's checks read of a workspace (``table``), on one engine."""

    def __init__(self, tables: dict[str, Any]) -> None:
        self._tables = tables

    def table(self, name: str) -> Any:
        return self._tables[name]


def _memberships(builtin: Any, segments: Any, rules: list[SegmentDefinition]) -> pa.Table:
    """Built-in and rule memberships, one segment per customer in exclusive dimensions."""
    pieces = [rule_members(rule, segments.filter(segments.segment_id == rule.id)) for rule in rules]
    contested = {rule.dimension for rule in rules if rule.dimension is not None}
    return exclusive_members(ibis.union(builtin, *pieces), contested).to_pyarrow()


def _segments(
    tables: dict[str, Any], traits: Any, builtin: Any, rules: list[SegmentDefinition]
) -> pa.Table:
    """The members of every rule, in one query (``segment_id``, ``customer_id``).

    A rule that names another reads its expression rather than a held table: one
    query per engine instead of one per rule (each costs seconds on Spark).
    """
    base = traits.join(tables["customers"], "customer_id")
    evaluated: dict[str, Any] = {}

    def membership(segment_id: str) -> Any:
        if segment_id in evaluated:
            return evaluated[segment_id]
        return builtin.filter(builtin.segment_id == segment_id).select("customer_id")

    by_id = {rule.id: rule for rule in rules}
    for segment_id in evaluation_order(rules):
        evaluated[segment_id] = compile_members(
            by_id[segment_id],
            base=base,
            events=tables["events"],
            consents=tables["consents"],
            as_of=AS_OF,
            membership=membership,
            tags=tables["customer_tags"],
        )
    pieces = [
        members.select(segment_id=ibis.literal(segment_id), customer_id="customer_id")
        for segment_id, members in evaluated.items()
    ]
    return ibis.union(*pieces).to_pyarrow()
