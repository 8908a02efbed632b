"""Arbitrary data through import, run and every command: no traceback, valid JSON, safe CSV.

Each example writes files of every kind whose cells mix plausible values with hostile
ones (Rich markup, terminal escapes, spreadsheet formulas, NUL bytes, huge and
non-finite numbers, dates at the edges of the calendar), imports them, runs, and then
calls each command as a user would, with and without ``--json``. A command may refuse
with one sentence (exit status 1); it may not crash, print invalid JSON, let an escape
sequence reach the terminal or write a CSV cell a spreadsheet would run.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import traceback
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from cible.cli.app import app

TEXT = [
    "[/bold]",
    "[red]x[/red]",
    "[link=http://x]y[/link]",
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;http://x\x07link",
    "=1+2",
    "+33 6",
    "-2+3",
    "@SUM(1)",
    "\t=cmd",
    "\r=cmd",
    "a\x08b",
    "\x9b31m",
    "nul\x00byte",
    "\u202etxt",
    "Hélène",
    "",
    '"',
    "x" * 300,
]
NUMBERS = [
    "1e309",
    "-1e309",
    "nan",
    "inf",
    "-inf",
    "1e200",
    "-0",
    "12,50",
    "1 234,56 €",
    "99999999999999999999999",
    "1e-320",
    "10",
    "-5",
    "0",
]
DATES = [
    "0000-01-01",
    "0001-01-01",
    "10000-01-01",
    "9999-12-31T23:59:59-05:00",
    "1900-02-29",
    "31/12/2024",
    "2025-01-01",
    "1970-01-01T00:00:00+14:00",
    "2262-04-12",
    "1677-09-21",
    "2024-11-30T10:00:00",
]

text = st.one_of(st.sampled_from(TEXT), st.text(max_size=12))
number = st.one_of(st.sampled_from(NUMBERS), st.floats().map(repr), st.just("25"))
moment = st.one_of(st.sampled_from(DATES), st.just("2025-01-15"))
FORMULA = ("=", "+", "-", "@", "\t", "\r")
# Control characters that must never reach a terminal raw (escape, bell, backspace, CSI).
CONTROLS = ("\x1b", "\x07", "\x08", "\x9b", "\x00")


@st.composite
def shops(draw: Any) -> dict[str, list[list[str]]]:
    ids = [f"c{i}" for i in range(8)] + draw(st.lists(text, min_size=1, max_size=3))
    customers = [
        [
            cid,
            draw(st.sampled_from([f"{i}@example.com", *TEXT[:4]])),
            draw(text),
            draw(text),
            draw(moment),
            draw(st.sampled_from(["FR", "ZZ", "=1"])),
        ]
        for i, cid in enumerate(ids)
    ]
    orders = [
        [
            f"o{i}",
            draw(st.sampled_from(ids)),
            draw(moment),
            draw(number),
            draw(text),
            draw(st.sampled_from(["paid", "cancelled", "[/x]"])),
        ]
        for i in range(draw(st.integers(8, 20)))
    ]
    products = [[f"p{i}", draw(text), draw(text), draw(number)] for i in range(3)]
    lines = [[o[0], f"p{i % 3}", draw(number), draw(number)] for i, o in enumerate(orders)]
    consents = [
        [cid, "email", "marketing", draw(st.sampled_from(["granted", "denied", "x"]))]
        for cid in ids
    ]
    events = [
        {
            "message_id": f"m{i}",
            "customer_id": draw(st.sampled_from(ids)),
            "type": "track",
            "event": draw(text),
            "timestamp": draw(moment),
            "properties": {"category": draw(text), "value": draw(number)},
        }
        for i in range(draw(st.integers(0, 6)))
    ]
    return {"customers": customers, "orders": orders, "products": products,
            "order_lines": lines, "consents": consents, "events": events}  # fmt: skip


HEADERS = {
    "customers": ["customer_id", "email", "first_name", "city", "birth_date", "country"],
    "orders": ["order_id", "customer_id", "ordered_at", "amount", "channel", "status"],
    "products": ["product_id", "name", "category", "price"],
    "order_lines": ["order_id", "product_id", "quantity", "unit_price"],
    "consents": ["customer_id", "channel", "purpose", "status"],
}

SEGMENT = {
    "id": "hostile",
    "name": {"en": "[/bold]\x1b[31m", "fr": '=HYPERLINK("x")'},
    "description": "[link=x]\x07",
    "where": {"trait": "frequency", "op": ">=", "value": 1},
}


def _check(result: Result, args: list[str]) -> None:
    shown = f"cible {' '.join(args)}:\n{result.output}"
    assert result.exit_code in (0, 1), shown
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert result.exc_info is not None
        raise AssertionError(shown + "".join(traceback.format_exception(*result.exc_info)))
    assert "Traceback" not in result.output, shown
    if "--json" in args and result.exit_code == 0:
        json.loads(result.stdout, parse_constant=_refuse)
    elif "--json" not in args:
        assert not any(c in result.output for c in CONTROLS), shown


def _refuse(constant: str) -> None:
    raise AssertionError(f"{constant} is not JSON")


def _no_formula(path: Path) -> None:
    if not path.exists():
        return
    for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")):
        assert not any(cell.startswith(FORMULA) for cell in row), row


def _write(folder: Path, shop: dict[str, list[Any]]) -> list[tuple[str, Path]]:
    files = []
    for kind, header in HEADERS.items():
        path = folder / f"{kind}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(shop[kind])
        files.append((kind.replace("_", "-"), path))
    events = folder / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in shop["events"]) or "{}\n")
    files.append(("events", events))
    return files


#: Every hostile value at least once, in every kind of file.
EVERY_HOSTILE_VALUE: dict[str, list[Any]] = {
    "customers": [[t, t, t, t, d, "FR"] for t, d in zip(TEXT, DATES * 2, strict=False)],
    "orders": [
        [
            f"o{i}",
            TEXT[i % len(TEXT)],
            DATES[i % len(DATES)],
            NUMBERS[i % len(NUMBERS)],
            TEXT[i % len(TEXT)],
            "paid",
        ]
        for i in range(40)
    ],
    "products": [[f"p{i}", t, t, NUMBERS[i]] for i, t in enumerate(TEXT[:3])],
    "order_lines": [[f"o{i}", f"p{i % 3}", NUMBERS[i % 14], "2"] for i in range(40)],
    "consents": [[t, "email", "marketing", "granted"] for t in TEXT],
    "events": [
        {
            "message_id": "m1",
            "customer_id": "=1+2",
            "type": "track",
            "event": "[/bold]",
            "timestamp": "2025-01-01",
            "properties": {"category": "=cmd", "value": 1e308},
        }
    ],
}


# Two drawn shops beside the explicit one, which holds every hostile value: each example
# runs every command twice (text and --json), about 40 s.
@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(shops())
@example(EVERY_HOSTILE_VALUE)
def test_hostile_data_never_crashes_a_command(shop: dict[str, list[Any]]):
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        ws = str(folder / "ws")

        def cible(*args: str) -> Result:
            arguments = [*args, "-w", ws]
            result = runner.invoke(app, arguments)
            _check(result, arguments)
            return result

        assert cible("init").exit_code == 0
        for kind, path in _write(folder, shop):
            cible("import", kind, str(path))
            cible("import", kind, str(path), "--json")
        (folder / "segment.json").write_text(json.dumps(SEGMENT))
        cible("segments", "validate", str(folder / "segment.json"), "--json")
        cible("segments", "add", str(folder / "segment.json"))
        for json_flag in ((), ("--json",)):
            cible("status", *json_flag)
            cible("rejects", "--limit", "0", *json_flag)
            cible("audit", *json_flag)
            cible("run", "--as-of", "2025-06-30", *json_flag)
            cible("segments", "list", "--lang", "fr", *json_flag)
            for segment in ("hostile", "rfm-champions", "lifecycle-new", "value-high"):
                cible("segments", "show", segment, *json_flag)
                cible("segments", "persona", segment, *json_flag)
                cible("segments", "members", segment, *json_flag)
            cible("dedupe", "--dry-run", *json_flag)
            cible("churn", "card", *json_flag)
            cible("clv", "evaluate", "--calibration-end", "2025-01-31", *json_flag)
        cible("cluster", "--k", "2", "--dimension", "hostile-clusters")
        cible("segments", "show", "hostile-clusters-1", "--json")
        out = folder / "members.csv"
        for channel in ((), ("--channel", "email")):
            cible("segments", "members", "hostile", "--output", str(out), *channel)
            _no_formula(out)
            plain = cible("segments", "members", "lifecycle-new", *channel)
            if plain.exit_code == 0:
                rows = csv.reader(io.StringIO(plain.stdout, newline=""))
                assert not any(c.startswith(FORMULA) for row in rows for c in row)
        cible("report", "--output", str(folder / "report.html"))
        cible("report", "--output", str(folder / "rapport.html"), "--lang", "fr")
        cible("normalise")
        cible("segments", "remove", "hostile")
        cible("run", "--as-of", "2025-07-01")
