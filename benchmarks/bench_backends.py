"""One shop's import and runs in a DuckDB workspace and in a PostgreSQL one.

The shop of ``bench_run.py`` (customers, products, orders, order lines, events,
consents as Parquet, five rule segments) is imported with ``Workspace.imports.load``
into a workspace on the embedded DuckDB (the default) and into one held in PostgreSQL
(``[engine] backend``, the local server unless ``--postgres`` names another), each
in its own process so that its peak memory is its own; then ``ws.run`` twice, a day
apart, the second one updating the history. Both sides' row counts and open
memberships per segment are compared: they must be equal. The PostgreSQL schema is
dropped at the end.

Run: ``.venv/bin/python benchmarks/bench_backends.py [--orders N --customers N
--events N]``; prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg

from bench_run import (
    AS_OF,
    FILES,
    SEGMENTS,
    _in_child,
    _peak_rss_mb,
    generate,
)
from cible import Workspace
from cible.domain.config import WorkspaceConfig

POSTGRES = os.environ.get("CIBLE_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")


def import_and_run(folder: Path, backend: str, name: str) -> dict[str, Any]:
    """Import every file into a new workspace on ``backend``, add the rule segments,
    run twice; the times, the rows and the open memberships per segment."""
    config = WorkspaceConfig.model_validate(
        {"workspace": {"name": name}, "engine": {"backend": backend}}
    )
    imports: dict[str, float] = {}
    rows: dict[str, int] = {}
    runs = []
    with Workspace.create(folder / name, config=config) as ws:
        for kind in FILES:
            start = time.perf_counter()
            result = ws.imports.load(kind, folder / f"{kind.replace('-', '_')}.parquet")
            imports[kind] = round(time.perf_counter() - start, 2)
            rows[kind] = result.loaded
        for text in SEGMENTS:
            ws.segments.add(text)
        for days in (1, 0):
            start = time.perf_counter()
            record = ws.run(as_of=AS_OF - timedelta(days=days))
            runs.append(
                {
                    "seconds": round(time.perf_counter() - start, 2),
                    "memberships": record.memberships,
                    "entered": record.entered,
                    "exited": record.exited,
                }
            )
        history = ws.table("segment_memberships")
        open_ = history.filter(history.exited_at.isnull())
        members = open_.group_by("segment_id").agg(n=open_.count()).to_pandas()
    return {
        "import_s": imports,
        "import_total_s": round(sum(imports.values()), 2),
        "rows": rows,
        "runs": runs,
        "members": dict(zip(members["segment_id"], members["n"].astype(int), strict=True)),
        "peak_rss_mb": _peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--postgres", default=POSTGRES, help="server and database")
    args = parser.parse_args()
    schema = f"cible_bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="cible-backends-") as tmp:
        folder = Path(tmp)
        generated = _in_child(generate, folder, args.customers, args.orders, args.events)
        duck = _in_child(import_and_run, folder, "duckdb", "duck")
        try:
            pg = _in_child(import_and_run, folder, f"{args.postgres.rstrip('/')}/{schema}", "pg")
        finally:
            address = args.postgres.replace("postgres://", "postgresql://", 1)
            with psycopg.connect(address, autocommit=True) as admin:
                admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    same = duck["rows"] == pg["rows"] and duck["members"] == pg["members"]
    print(
        json.dumps(
            {
                "sizes": {
                    "customers": args.customers,
                    "orders": args.orders,
                    "events": args.events,
                },
                "generate_s": round(generated["generate_s"], 2),
                "duckdb": duck,
                "postgres": pg,
                "same_rows_and_members": same,
            }
        )
    )
    if not same:
        raise SystemExit("DuckDB and PostgreSQL disagree: see the JSON above.")


if __name__ == "__main__":
    main()
