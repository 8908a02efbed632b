"""Import of a 1,000,000-row orders CSV: `cible import` against pandas written the obvious way.

Both sides read the same French-style file (``;`` separator, decimal comma,
dd/mm/yyyy dates, a few bad rows), apply the same checks (required ids, dates,
non-negative amounts, known channel, duplicate ids, known customers) and store the
valid rows and the rejects in a DuckDB file. The script checks that both load the same
number of rows, then prints the timings and the ratio.

Run: ``make bench`` or ``.venv/bin/python benchmarks/bench_import.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from cible import Workspace

CHANNELS = ["web", "app", "store", "phone", "marketplace"]


def make_file(path: Path, rows: int, customers: int, seed: int = 7) -> None:
    """Write the orders file, with about 0.5% of rows broken in assorted ways."""
    rng = np.random.default_rng(seed)
    seconds = rng.integers(0, 3 * 365 * 86400, rows)
    moments = pd.Timestamp("2023-01-01") + pd.to_timedelta(seconds, unit="s")
    amount = np.round(rng.gamma(2.0, 30.0, rows), 2)
    frame = pd.DataFrame(
        {
            "order_id": [f"O{i:08d}" for i in range(rows)],
            "customer_id": [f"C{c:07d}" for c in rng.integers(0, customers, rows)],
            "ordered_at": moments.strftime("%d/%m/%Y %H:%M:%S"),
            "amount": [f"{a:.2f}".replace(".", ",") for a in amount],
            "currency": "EUR",
            "discount_amount": "0,00",
            "channel": np.array(CHANNELS)[rng.integers(0, len(CHANNELS), rows)],
            "status": "completed",
        }
    )
    bad = rng.choice(rows, size=rows // 200, replace=False)
    kinds = np.arange(len(bad)) % 5
    frame.loc[bad[kinds == 0], "amount"] = "-12,00"
    frame.loc[bad[kinds == 1], "ordered_at"] = "31/02/2024 10:00:00"
    frame.loc[bad[kinds == 2], "channel"] = "fax"
    frame.loc[bad[kinds == 3], "order_id"] = "O00000001"
    frame.loc[bad[kinds == 4], "amount"] = "abc"
    pacsv.write_csv(
        pa.Table.from_pandas(frame, preserve_index=False),
        path,
        write_options=pacsv.WriteOptions(delimiter=";", quoting_style="none"),
    )


def customers_frame(customers: int) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [f"C{c:07d}" for c in range(customers)]})


def run_cible(folder: Path, path: Path, customers: pd.DataFrame) -> tuple[float, int, int]:
    customer_file = folder / "customers.parquet"
    customers.to_parquet(customer_file)
    with Workspace.create(folder / "ws") as ws:
        ws.imports.load("customers", customer_file)
        start = time.perf_counter()
        result = ws.imports.load("orders", path)
        elapsed = time.perf_counter() - start
    return elapsed, result.loaded, result.rejected


def run_pandas(folder: Path, path: Path, customers: pd.DataFrame) -> tuple[float, int, int]:
    """Read, validate and insert the way most people would write it with pandas."""
    con = duckdb.connect(str(folder / "pandas.duckdb"))
    con.execute(
        "CREATE TABLE orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DOUBLE, currency VARCHAR, discount_amount DOUBLE, channel VARCHAR, "
        "status VARCHAR)"
    )
    con.execute(
        "CREATE TABLE rejects (line BIGINT, column_name VARCHAR, value VARCHAR, reason VARCHAR)"
    )
    start = time.perf_counter()
    df = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    df["line"] = np.arange(len(df)) + 2
    bad = pd.Series(False, index=df.index)
    issues = []

    def reject(mask: pd.Series, column: str, reason: str) -> None:
        issues.append(
            pd.DataFrame(
                {
                    "line": df.loc[mask, "line"],
                    "column_name": column,
                    "value": df.loc[mask, column],
                    "reason": reason,
                }
            )
        )
        bad[mask] = True

    reject(df["order_id"] == "", "order_id", "missing order_id")
    ordered_at = pd.to_datetime(df["ordered_at"], format="%d/%m/%Y %H:%M:%S", errors="coerce")
    reject(ordered_at.isna(), "ordered_at", "not a date")
    amount = pd.to_numeric(df["amount"].str.replace(",", ".", regex=False), errors="coerce")
    reject(amount.isna(), "amount", "not a number")
    reject(amount < 0, "amount", "negative")
    discount_text = df["discount_amount"].str.replace(",", ".", regex=False)
    discount = pd.to_numeric(discount_text, errors="coerce")
    reject(discount.isna() | (discount < 0), "discount_amount", "not a positive number")
    reject(~df["channel"].str.lower().isin(CHANNELS), "channel", "unknown value")
    reject(df["order_id"].duplicated(), "order_id", "duplicate order_id")
    good = ~bad
    unknown = good & ~df["customer_id"].isin(customers["customer_id"])
    issues.append(
        pd.DataFrame(
            {
                "line": df.loc[unknown, "line"],
                "column_name": "customer_id",
                "value": df.loc[unknown, "customer_id"],
                "reason": "unknown customer (loaded anyway)",
            }
        )
    )
    rejects = pd.concat(issues, ignore_index=True)
    rows = df.loc[good].assign(
        ordered_at=ordered_at[good], amount=amount[good], discount_amount=discount[good]
    )[
        [
            "order_id",
            "customer_id",
            "ordered_at",
            "amount",
            "currency",
            "discount_amount",
            "channel",
            "status",
        ]
    ]
    con.register("new_rows", rows)
    con.register("new_rejects", rejects)
    con.execute("BEGIN TRANSACTION")
    con.execute("INSERT INTO orders SELECT * FROM new_rows")
    con.execute("INSERT INTO rejects SELECT * FROM new_rejects")
    con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed, len(rows), int(bad.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    customers = customers_frame(args.customers)
    with tempfile.TemporaryDirectory(prefix="cible-bench-") as tmp:
        folder = Path(tmp)
        path = folder / "orders.csv"
        make_file(path, args.rows, args.customers)
        timings: dict[str, list[float]] = {"cible": [], "pandas": []}
        for i in range(args.repeat):
            run = folder / f"run{i}"
            run.mkdir()
            t_cible, loaded_c, rejected_c = run_cible(run, path, customers)
            t_pandas, loaded_p, rejected_p = run_pandas(run, path, customers)
            assert (loaded_c, rejected_c) == (loaded_p, rejected_p), (
                f"results differ: cible {loaded_c}/{rejected_c}, pandas {loaded_p}/{rejected_p}"
            )
            timings["cible"].append(t_cible)
            timings["pandas"].append(t_pandas)
    best = {k: min(v) for k, v in timings.items()}
    print(
        json.dumps(
            {
                "rows": args.rows,
                "loaded": loaded_c,
                "rejected": rejected_c,
                "cible_s": round(best["cible"], 3),
                "pandas_s": round(best["pandas"], 3),
                "speedup": round(best["pandas"] / best["cible"], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
