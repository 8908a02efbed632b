"""A workspace held in PostgreSQL (``[engine] backend = "postgres://..."``).

The same shop is loaded into a DuckDB workspace and a PostgreSQL one, each runs
twice, and every stored result is compared: open memberships, the history of
entries and exits, every trait. Then two processes append the same events to the
PostgreSQL workspace at once, as two servers behind one address would.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa
import pytest

from cible import Workspace
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import WorkspaceError
from cible.store.events import EVENT_SCHEMA, append_events
from cible.store.store import Store
from tests.backends.engines import postgres_address
from tests.backends.shop import Shop
from tests.backends.workspaces import (
    assert_same_history,
    assert_same_records,
    assert_same_traits,
    two_runs,
)

EVENTS = 400


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A schema of its own on the test server (and two beside it), dropped at the end."""
    with postgres_address("cible_ws", "_imports", "_privacy") as address:
        yield address


@pytest.fixture(scope="module")
def runs(shop: Shop, postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each engine's stored results after two runs of the same shop."""
    results = {}
    for engine, backend in (("duckdb", "duckdb"), ("postgres", postgres_url)):
        results[engine] = two_runs(
            tmp_path_factory.mktemp(engine) / "ws", {"backend": backend}, shop
        )
    return results


def test_runs_record_the_same_counts(runs: dict[str, Any]) -> None:
    assert_same_records(runs["postgres"], runs["duckdb"])


def test_membership_history_is_the_same(runs: dict[str, Any]) -> None:
    assert_same_history(runs["postgres"], runs["duckdb"])


def test_every_trait_is_the_same(runs: dict[str, Any]) -> None:
    assert_same_traits(runs["postgres"], runs["duckdb"])


def _append(url: str, start: Any, rows: pa.Table, matched: pa.Table) -> None:
    store = Store.open_postgres(url)
    try:
        start.wait(timeout=60)
        for offset in range(0, rows.num_rows, 50):
            batch = rows.slice(offset, 50)
            ids = set(batch.column("message_id").to_pylist())
            mine = matched.filter(
                pa.array([m in ids for m in matched.column("message_id").to_pylist()])
            )
            append_events(
                store.connection,
                batch,
                [],
                window_start=datetime(2020, 1, 1),
                matched=mine,
            )
    finally:
        store.close()


def test_two_servers_store_each_event_once(runs: dict[str, Any], postgres_url: str) -> None:
    now = datetime(2025, 1, 2, 12)
    rows = pa.Table.from_pylist(
        [
            {
                "message_id": f"race-{i}",
                "customer_id": f"c-{i % 7}",
                "anonymous_id": None,
                "type": "track",
                "event": "Product Viewed",
                "properties": "{}",
                "timestamp": now,
                "received_at": now,
                "context": "{}",
            }
            for i in range(EVENTS)
        ],
        schema=EVENT_SCHEMA,
    )
    matched = pa.table(
        {
            "customer_id": [f"c-{i % 7}" for i in range(0, EVENTS, 10)],
            "message_id": [f"race-{i}" for i in range(0, EVENTS, 10)],
            "automation_id": ["welcome"] * (EVENTS // 10),
        }
    )
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    workers = [
        context.Process(target=_append, args=(postgres_url, start, rows, matched)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    with psycopg.connect(
        postgres_url.rsplit("/", 1)[0].replace("postgres://", "postgresql://", 1)
    ) as con:
        schema = postgres_url.rsplit("/", 1)[1]
        count = con.execute(
            f'SELECT count(*), count(DISTINCT message_id) FROM "{schema}".events '
            "WHERE message_id LIKE 'race-%'"
        ).fetchone()
        started = con.execute(
            f"SELECT count(*) FROM \"{schema}\".outbox WHERE kind = 'event' AND subject LIKE 'race-%'"
        ).fetchone()
    assert count == (EVENTS, EVENTS)
    assert started == (EVENTS // 10,)


@pytest.mark.parametrize(
    ("backend", "words"),
    [
        ("spark://local[2]", r"\[engine.spark\] master"),
        ("mysql://db/shop", "is not a backend"),
    ],
)
def test_an_unknown_backend_is_refused(backend: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        WorkspaceConfig.model_validate({"engine": {"backend": backend}})


def test_an_unreachable_server_is_one_sentence(tmp_path: Path) -> None:
    config = WorkspaceConfig.model_validate(
        {"engine": {"backend": "postgres://nobody@127.0.0.1:1/none/cible"}}
    )
    with pytest.raises(WorkspaceError, match=r"Cannot connect to PostgreSQL at 127\.0\.0\.1:1"):
        Workspace.create(tmp_path / "ws", config=config)
    assert not (tmp_path / "ws").exists()


#: The demo's files, each with the mistakes the demo plants (rejects, flags).
DEMO_FILES = (
    ("customers", "customers.csv"),
    ("orders", "orders.csv"),
    ("order_lines", "order_lines.parquet"),
    ("events", "events.parquet"),
    ("consents", "consents.jsonl"),
)


def test_imports_and_merges_store_as_on_duckdb(
    shop: Shop, postgres_url: str, tmp_path: Path
) -> None:
    with Workspace.open(shop.folder) as demo:
        attributes = demo.config.attributes
    stored = {}
    # Merges stamp the profiles they change with the moment they ran, which differs.
    started = pd.Timestamp.now(tz="UTC").tz_localize(None) - pd.Timedelta(minutes=1)
    for engine, backend in (("duckdb", "duckdb"), ("postgres", postgres_url + "_imports")):
        config = WorkspaceConfig.model_validate(
            {"engine": {"backend": backend}, "attributes": attributes}
        )
        with Workspace.create(tmp_path / engine, config=config) as ws:
            results = [
                ws.imports.load(kind, shop.folder / "demo-files" / name)
                for kind, name in DEMO_FILES
            ]
            # Duplicates merged, then the first merge undone: before-images restored.
            ws.quality.dedupe()
            merged = ws.table("merges").order_by("merge_id").to_pandas()
            ws.quality.undo_merge(int(merged["merge_id"].iloc[0]))
            # Files imported again after merges: ids merged away point at survivors.
            results += [
                ws.imports.load(kind, shop.folder / "demo-files" / name)
                for kind, name in DEMO_FILES[:2]
            ]
            stored[engine] = {
                "merges": [
                    (row.surviving_id, sorted(_json(row.merged_ids))) for row in merged.itertuples()
                ],
                "counts": [
                    (r.status, r.read, r.loaded, r.inserted, r.rejected, r.flagged) for r in results
                ],
                **{
                    name: ws.table(name).to_pandas()
                    for name in ("import_issues", *(kind for kind, _ in DEMO_FILES))
                },
            }
    duck, pg = stored["duckdb"], stored["postgres"]
    assert pg["counts"] == duck["counts"]
    assert pg["merges"] == duck["merges"] and duck["merges"]
    assert any(counts[4] for counts in duck["counts"])  # the demo's mistakes were met
    for name in ("import_issues", *(kind for kind, _ in DEMO_FILES)):
        left, right = _comparable(pg[name], started), _comparable(duck[name], started)
        pd.testing.assert_frame_equal(left[right.columns], right, check_dtype=False, obj=name)


def _json(value: Any) -> Any:
    # JSON: parsed by DuckDB, text on PostgreSQL.
    return json.loads(value) if isinstance(value, str) else value


def _comparable(frame: pd.DataFrame, started: pd.Timestamp) -> pd.DataFrame:
    frame = frame.drop(columns=["file"], errors="ignore").copy()
    if "updated_at" in frame:
        frame["updated_at"] = frame["updated_at"].where(frame["updated_at"] < started, started)
    for column in ("properties", "context"):
        if column in frame:
            frame[column] = [None if v is None else json.dumps(_json(v)) for v in frame[column]]
    frame = frame.astype(object).where(frame.notna(), None)
    order = list(frame.columns)
    return frame.sort_values(order, key=lambda column: column.astype(str)).reset_index(drop=True)


def test_an_erased_customer_is_gone_and_stays_out_of_imports(
    shop: Shop, postgres_url: str, tmp_path: Path
) -> None:
    with Workspace.open(shop.folder) as demo:
        attributes = demo.config.attributes
    config = WorkspaceConfig.model_validate(
        {"engine": {"backend": postgres_url + "_privacy"}, "attributes": attributes}
    )
    files = shop.folder / "demo-files"
    with Workspace.create(tmp_path / "ws", config=config) as ws:
        for kind, name in DEMO_FILES[:3]:
            ws.imports.load(kind, files / name)
        orders = ws.table("orders")
        customer = str(orders.customer_id.execute().dropna().sort_values().iloc[0])
        erasure = ws.privacy.erase(customer, actor="test", reason="request")
        assert erasure.deleted["customers"] == 1 and erasure.deleted["orders"] > 0
        for name in ("customers", "orders", "order_lines", "consents"):
            table = ws.table(name)
            if "customer_id" in table.columns:
                assert table.filter(table.customer_id == customer).count().execute() == 0
        again = ws.imports.load("customers", files / "customers.csv")
        assert again.rejected > 0
        customers = ws.table("customers")
        assert customers.filter(customers.customer_id == customer).count().execute() == 0


def test_a_live_refresh_during_another_process_run_is_left_to_the_sweep(
    runs: dict[str, Any], postgres_url: str, tmp_path: Path
) -> None:
    # This server's folder on the workspace the runs above left.
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "cible.toml").write_text(f'[engine]\nbackend = "{postgres_url}"\n')
    running = Store.open_postgres(postgres_url)  # another server, in the middle of a run
    try:
        with Workspace.open(folder) as ws, running.history_turn():
            customer = str(ws.table("customers").customer_id.execute().iloc[0])
            done = ws.segments.refresh([customer])
            assert done.deferred and done.customers == 0
        with Workspace.open(folder) as ws:
            done = ws.segments.refresh([customer])
            assert not done.deferred and done.customers == 1
    finally:
        running.close()
