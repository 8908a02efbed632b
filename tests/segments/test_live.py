"""Live refresh: the customers of a micro-batch re-evaluated with the run's expressions.

The property test applies random sequences of event micro-batches live and checks the
open memberships against a batch recompute at the same moment (every customer, the
same population scores), and the per-customer traits and dimensions against a real
``ws.run`` at that moment.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cible import Workspace
from cible.ingest.payloads import Identify, Page, Track
from cible.segments.live import POPULATION_TRAITS, evaluate_customers
from cible.store.tags import TagChange

CUSTOMERS = (
    "customer_id,email,city\nA,a@x.fr,Lyon\nB,b@x.fr,Paris\nC,c@x.fr,Lyon\nP,p@x.fr,Nice\n"
    "L,l@x.fr,Lyon\n"
)
ORDERS = (
    "order_id,customer_id,ordered_at,amount\n"
    "1,A,2024-01-05,600\n2,A,2024-03-01,400\n3,B,2024-01-10,50\n4,C,2024-05-20,80\n"
    "5,B,2024-06-15,70\n6,L,2023-02-01,30\n"
)
EVENTS = (
    "message_id,customer_id,event,properties,timestamp\n"
    'e1,C,product_viewed,"{""category"": ""jeux""}",2024-06-10\n'
    'e2,C,product_viewed,"{""category"": ""jeux""}",2024-06-11\n'
    'e3,A,product_viewed,"{""category"": ""mode""}",2024-06-12\n'
)
BIG_SPENDERS = """
id: big-spenders
name: Big spenders
dimension: value
priority: 10
where: {trait: monetary_value, op: ">=", value: 500}
"""
BROWSERS = """
id: browsers
name: Browsers
dimension: value
priority: 5
where: {trait: product_views_30d, op: ">=", value: 3}
"""
GAMERS = """
id: lyon-gamers
name: Lyon gamers
where:
  all:
    - {attribute: city, op: "=", value: Lyon}
    - {event: product_viewed, where: {property: category, op: "=", value: jeux},
       count: {op: ">=", value: 2}, within_days: 30}
    - not: {in_segment: big-spenders}
"""
QUIET = """
id: quiet
name: Quiet
where:
  all:
    - {event: page, count: {op: "=", value: 0}, within_days: 7}
    - {in_segment: lifecycle-churned}
"""
CHAMPION_BROWSERS = """
id: champion-browsers
name: Champions who browse
where:
  all:
    - {in_segment: rfm-champions}
    - {trait: product_views_90d, op: ">=", value: 1}
"""
TAGGED = """
id: promo-lyon
name: Promo or Lyon VIP
where:
  any:
    - {tag: promo, within_days: 10}
    - all: [{tag: vip}, {attribute: city, op: "=", value: Lyon}]
"""
#: The first run, then every live refresh of the tests.
RUN_AT = datetime(2024, 6, 20)
NOW = datetime(2024, 7, 1)
#: Segments decided by each customer's own behaviour only (no population rank).
OWN_BEHAVIOUR = ("big-spenders", "browsers", "lyon-gamers", "quiet", "promo-lyon")


def _build(folder: Path, run_at: datetime = RUN_AT) -> None:
    with Workspace.create(folder) as ws:
        for kind, text in (("customers", CUSTOMERS), ("orders", ORDERS), ("events", EVENTS)):
            path = folder.parent / f"{kind}.csv"
            path.write_text(text)
            ws.imports.load(kind, path)
        for tag in ("promo", "vip"):
            ws.tags.define(tag)
        for text in (BIG_SPENDERS, BROWSERS, GAMERS, QUIET, CHAMPION_BROWSERS, TAGGED):
            ws.segments.add(text)
        ws.run(as_of=run_at)


@pytest.fixture(scope="module")
def template() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "shop"
        _build(path)
        yield path


@pytest.fixture(scope="module")
def template_now() -> Iterator[Path]:
    """The shop with its latest run at NOW: live refreshes at NOW start from there."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "shop"
        _build(path, run_at=NOW)
        yield path


@pytest.fixture
def shop(template: Path, tmp_path: Path) -> Iterator[Workspace]:
    shutil.copytree(template, tmp_path / "shop")
    with Workspace.open(tmp_path / "shop") as ws:
        yield ws


def _open(ws: Workspace) -> set[tuple[str, str]]:
    history = ws.table("segment_memberships")
    rows = history.filter(history.exited_at.isnull()).select("segment_id", "customer_id")
    return {(r["segment_id"], r["customer_id"]) for r in rows.to_pyarrow().to_pylist()}


def _views(customer: str, category: str, days_ago: list[int], tag: str) -> list[Track]:
    return [
        Track.model_validate(
            {
                "userId": customer,
                "event": "product_viewed",
                "properties": {"category": category},
                "timestamp": (NOW - timedelta(days=d)).isoformat(),
                "messageId": f"{tag}-{i}",
            }
        )
        for i, d in enumerate(days_ago)
    ]


def test_a_batch_moves_its_customers_and_writes_history_and_outbox(shop: Workspace):
    before = _open(shop)
    assert ("lyon-gamers", "L") not in before
    shop.events.append(_views("L", "jeux", [1, 2, 3], "l"), received_at=NOW)
    done = shop.segments.refresh(["L"], as_of=NOW)
    assert (done.customers, done.entered, done.exited) == (1, 2, 0)
    after = _open(shop)
    assert after - before == {("lyon-gamers", "L"), ("browsers", "L")}
    # Browsers outranks the built-in value tier L held in the exclusive dimension.
    assert {s for s, c in before - after} <= {s for s, c in before if c == "L"}
    history = shop.table("segment_memberships").to_pandas()
    entered = history[(history.customer_id == "L") & (history.segment_id == "lyon-gamers")]
    assert entered.entered_run.isna().all() and (entered.entered_at == NOW).all()
    outbox = {(r.customer_id, r.segment_id, r.transition) for r in shop.store.pending_transitions()}
    assert {("L", "lyon-gamers", "entered"), ("L", "browsers", "entered")} <= outbox
    assert all(
        r.source == "live" and r.occurred_at == NOW for r in shop.store.pending_transitions()
    )
    traits = shop.traits().to_pandas().set_index("customer_id")
    assert traits.loc["L", "product_views_30d"] == 3


def test_population_scores_come_from_the_latest_run(shop: Workspace):
    before = shop.traits().to_pandas().set_index("customer_id")
    shop.events.append(_views("A", "mode", [1, 2], "a"), received_at=NOW)
    shop.segments.refresh(["A"], as_of=NOW)
    after = shop.traits().to_pandas().set_index("customer_id")
    for column in POPULATION_TRAITS:
        assert before.loc["A", column] == after.loc["A", column] or (
            before.loc[["A"], column].isna().all() and after.loc[["A"], column].isna().all()
        ), column
    # The two new views and the stored one of 2024-06-12.
    assert after.loc["A", "product_views_30d"] == 3
    # Time passed: recency is measured at the refresh.
    assert after.loc["A", "recency_days"] == before.loc["A", "recency_days"] + 11
    assert set(after.index) == set(before.index)


def test_time_passing_makes_customers_exit(shop: Workspace):
    assert ("lyon-gamers", "C") in _open(shop)
    later = NOW + timedelta(days=30)
    done = shop.segments.refresh(["C"], as_of=later, source="sweep")
    assert ("lyon-gamers", "C") not in _open(shop)
    assert done.exited >= 1
    exits = [r for r in shop.store.pending_transitions() if r.transition == "exited"]
    assert ("C", "lyon-gamers", "sweep") in {(r.customer_id, r.segment_id, r.source) for r in exits}


def test_many_customers_are_read_by_a_join_with_the_same_result(
    shop: Workspace, monkeypatch: pytest.MonkeyPatch
):
    from cible.segments import live

    shop.events.append(_views("L", "jeux", [1, 2, 3], "l"), received_at=NOW)
    ids = shop.table("customers").customer_id.to_pyarrow().to_pylist()
    listed = _members_of(shop, ids)
    monkeypatch.setattr(live, "_LISTED", 1)  # a sweep page's way: one join per table
    joined = _members_of(shop, ids)
    assert listed == joined and ("lyon-gamers", "L") in joined


def test_tables_beyond_the_index_budget_give_the_same_result(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from cible.store import indexes

    shutil.copytree(template, tmp_path / "shop")
    with Workspace.open(tmp_path / "shop") as ws:
        ids = ws.table("customers").customer_id.to_pyarrow().to_pylist()
        indexed = _members_of(ws, ids[:3])
    # No memory for any index: the next open drops them; look-ups read zone maps.
    monkeypatch.setattr(indexes, "INDEX_SHARE", 0.0)
    with Workspace.open(tmp_path / "shop") as ws:
        left = ws.store.connection.sql(
            "SELECT count(*) FROM duckdb_indexes() JOIN duckdb_tables() USING (table_name) "
            "WHERE estimated_size > 0"
        ).fetchall()
        assert left == [(0,)]  # (an empty table's index costs nothing: it stays)
        assert _members_of(ws, ids[:3]) == indexed and indexed


def _members_of(ws: Workspace, ids: list[str]) -> set[tuple[str, str]]:
    _, members = evaluate_customers(ws.store, ws.registry, ws.config, ids, NOW)
    rows = members.select("segment_id", "customer_id").to_pyarrow().to_pylist()
    return {(r["segment_id"], r["customer_id"]) for r in rows}


def test_nothing_changes_before_the_first_run(workspace: Workspace):
    assert workspace.segments.refresh(["A"]).customers == 0


def test_unknown_and_anonymous_customers(shop: Workspace):
    before = _open(shop)
    # An id the customers table does not hold has no traits and no segment.
    assert shop.segments.refresh(["nobody"], as_of=NOW).entered == 0
    page = Page.model_validate({"anonymousId": "cookie", "messageId": "p1"})
    link = Identify.model_validate({"anonymousId": "cookie", "userId": "P", "messageId": "i1"})
    shop.events.append([page, link], received_at=NOW)
    done = shop.segments.refresh([], anonymous_ids=["cookie"], as_of=NOW)
    assert done.customers == 1
    assert _open(shop) - before <= {(s, "P") for s, _ in _open(shop)}


def _all_members(ws: Workspace, as_of: datetime) -> set[tuple[str, str]]:
    ids = ws.table("customers").customer_id.to_pyarrow().to_pylist()
    _, members = evaluate_customers(ws.store, ws.registry, ws.config, ids, as_of)
    rows = members.select("segment_id", "customer_id").to_pyarrow().to_pylist()
    return {(r["segment_id"], r["customer_id"]) for r in rows}


_PEOPLE = st.sampled_from(["A", "B", "C", "P", "L", "stranger"])
_EVENT = st.tuples(
    _PEOPLE,
    st.sampled_from(["jeux", "mode"]),
    st.integers(min_value=0, max_value=45),
    st.booleans(),
)


_TAG_CHANGE = st.tuples(
    _PEOPLE,
    st.sampled_from(["promo", "vip"]),
    st.sampled_from(["added", "removed"]),
    st.integers(min_value=0, max_value=20),
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=st.lists(st.lists(_EVENT, min_size=1, max_size=6), min_size=1, max_size=4),
    tag_changes=st.lists(_TAG_CHANGE, max_size=6),
    days_later=st.integers(min_value=1, max_value=60),
)
def test_live_equals_batch_recompute(
    template_now: Path,
    batches: list[list[tuple[str, str, int, bool]]],
    tag_changes: list[tuple[str, str, str, int]],
    days_later: int,
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        shutil.copytree(template_now, Path(folder) / "shop")
        with Workspace.open(Path(folder) / "shop") as ws:
            # Tags set and removed at past moments, each change refreshed live.
            known = set(ws.table("customers").customer_id.to_pyarrow().to_pylist())
            for who, tag, action, days_ago in tag_changes:
                if who not in known:
                    continue
                at = NOW - timedelta(days=days_ago, minutes=5)
                ws.store.record_tag_changes(
                    [TagChange(who, tag, action)], at=at, actor="test", source="api"
                )
                ws.segments.refresh([who], as_of=NOW)
            for b, batch in enumerate(batches):
                messages: list[Track | Page] = []
                for i, (who, category, days_ago, is_page) in enumerate(batch):
                    stamp = (NOW - timedelta(days=days_ago, hours=1)).isoformat()
                    body = {"userId": who, "timestamp": stamp, "messageId": f"{b}-{i}"}
                    if is_page:
                        messages.append(Page.model_validate(body))
                    else:
                        body |= {"event": "product_viewed", "properties": {"category": category}}
                        messages.append(Track.model_validate(body))
                ws.events.append(messages, received_at=NOW)
                ws.segments.refresh({who for who, *_ in batch}, as_of=NOW)
            _check_against_batch(ws, NOW)
            # Time passes: a sweep of everyone moves customers as a batch run would.
            later = NOW + timedelta(days=days_later)
            ids = ws.table("customers").customer_id.to_pyarrow().to_pylist()
            ws.segments.refresh(ids, as_of=later, source="sweep")
            _check_against_batch(ws, later)


def _check_against_batch(ws: Workspace, moment: datetime) -> None:
    live = _open(ws)
    # One evaluator: every customer at once gives what the micro-batches gave.
    assert live == _all_members(ws, moment)
    live_traits = ws.traits().to_pandas().set_index("customer_id").sort_index()
    # A real run at the same moment re-ranks the population, but agrees on whatever
    # each customer's own behaviour decides. (It leaves the workspace as it found it
    # for the next check: the same behaviour, a later run.)
    ws.run(as_of=moment)
    assert _own(live) == _own(_open(ws))
    run_traits = ws.traits().to_pandas().set_index("customer_id").sort_index()
    mine = [c for c in run_traits.columns if c not in POPULATION_TRAITS]
    assert live_traits[mine].equals(run_traits[mine])


def _own(members: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The memberships each customer's own behaviour decides: rules and lifecycle.

    Browsers and big spenders share the exclusive ``value`` dimension with the value
    tiers, whose ranks a run recomputes; lyon-gamers reads big-spenders before that
    dimension is resolved, so it is decided by behaviour alone.
    """
    return {m for m in members if m[0] in OWN_BEHAVIOUR or m[0].startswith("lifecycle-")}


def test_a_traits_table_from_an_older_release_gains_the_new_traits(shop: Workspace):
    # Regression: a workspace upgraded to traits it has never run (orders_90d,
    # revenue_90d) failed every live refresh until its next run.
    con = shop.store.connection
    con.execute("DROP INDEX customer_traits_customer_id_idx")
    con.execute(
        "CREATE OR REPLACE TABLE customer_traits AS "
        "SELECT * EXCLUDE (orders_90d, revenue_90d) FROM customer_traits"
    )
    # As the older release left it: indexed (DuckDB alters no indexed table).
    con.execute("CREATE INDEX customer_traits_customer_id_idx ON customer_traits (customer_id)")
    shop.events.append(_views("L", "jeux", [1, 2, 3], "old"), received_at=NOW)
    done = shop.segments.refresh(["L"], as_of=NOW)
    assert done.customers == 1
    traits = shop.table("customer_traits").to_pandas().set_index("customer_id")
    assert {"orders_90d", "revenue_90d"} <= set(traits.columns)
    assert traits.loc["L", "orders_90d"] >= 0 and traits.orders_90d.isna().sum() > 0
    indexes = {r[0] for r in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
    assert "customer_traits_customer_id_idx" in indexes


def test_a_refresh_dated_before_an_objection_still_applies_it(shop: Workspace, tmp_path: Path):
    # The objection is dated after the refresh's moment (NOW) but before today.
    assert any(c == "A" for _, c in _open(shop))
    path = tmp_path / "objection.csv"
    path.write_text(
        "customer_id,channel,purpose,status,recorded_at\nA,email,profiling,withdrawn,2025-01-01\n"
    )
    shop.imports.load("consents", path)
    shop.segments.refresh(["A", "C"], as_of=NOW)
    assert not any(c == "A" for _, c in _open(shop))
    assert any(c == "C" for _, c in _open(shop))
    # Refreshes replay recorded steps: the next one, for the others, reads it too.
    shop.segments.refresh(["A", "B"], as_of=NOW + timedelta(days=1))
    assert not any(c == "A" for _, c in _open(shop))
