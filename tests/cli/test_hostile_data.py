"""Every command on hostile data and a hostile environment: one sentence, never a traceback.

Issue 11: markup and escape sequences in names and values, infinite and huge stored
amounts, dates at the edge of the calendar, unwritable outputs, a full disk at commit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner, Result

from cible import Workspace
from cible.cli.app import app
from cible.store import writer
from cible.store.transaction import transaction

runner = CliRunner()

#: A name that closes a Rich tag it never opened, then moves the cursor and rings.
MARKUP = "[/bold]"
ESCAPE = "\x1b[2J\x07"


def cible(*args: str) -> Result:
    return runner.invoke(app, list(args))


def _strict_json(text: str) -> Any:
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} printed in JSON"))


def _no_traceback(result: Result, code: int = 0) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    ws = folder / "ws"
    assert cible("init", str(ws)).exit_code == 0
    customers = folder / "[bold red]customers.csv"
    customers.write_text(
        "customer_id,first_name,city,email\n"
        f"c1,{MARKUP},{ESCAPE}town,[/x]\n"
        f"c2,:smile: [red]x,\u202eevil\x9b31m,bad{ESCAPE}\n"
        "c3,Ann,Paris,ann@example.com\n",
        encoding="utf-8",
    )
    orders = folder / "orders.csv"
    lines = [f"o{i},c{1 + i % 3},2025-01-{1 + i % 28:02d},{10 + i}" for i in range(12)]
    orders.write_text(
        "order_id,customer_id,ordered_at,amount\n"
        + "\n".join(lines)
        + "\no99,c1,2025-01-05,[/x]\n",
        encoding="utf-8",
    )
    for kind, path in [("customers", customers), ("orders", orders)]:
        _no_traceback(cible("import", kind, str(path), "-w", str(ws)))
    # Stored directly: whatever the import accepts, output must cope with these.
    with Workspace.open(ws) as opened:
        opened.store.connection.execute(
            "UPDATE orders SET amount = CASE order_id WHEN 'o0' THEN 'inf'::DOUBLE "
            "WHEN 'o1' THEN 1e200 ELSE amount END"
        )
    definition = folder / "weird.yaml"
    definition.write_text(
        "id: weird\ndimension: custom\n"
        'name: {en: "[/bold]\\e[31m", fr: "[/i]"}\n'
        'description: {en: "[/red] all \\u202e", fr: "y"}\n'
        "where: {trait: frequency, op: '>=', value: 1}\n",
        encoding="utf-8",
    )
    _no_traceback(cible("segments", "add", str(definition), "-w", str(ws)))
    _no_traceback(cible("run", "--as-of", "2025-02-01", "-w", str(ws)))
    return ws


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["rejects"],
        ["segments", "list"],
        ["segments", "show", "weird"],
        ["segments", "persona", "weird"],
        ["segments", "show", "rfm-champions"],
        ["audit"],
        ["dedupe", "--dry-run"],
    ],
    ids=" ".join,
)
def test_markup_and_escapes_in_data_are_printed_as_text(hostile: Path, command: list[str]):
    result = cible(*command, "-w", str(hostile))
    _no_traceback(result)
    for raw_character in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert raw_character not in result.output


def test_data_shows_as_written(hostile: Path):
    listed = cible("segments", "list", "-w", str(hostile)).output
    assert "[/bold]" in listed
    shown = cible("segments", "show", "weird", "-w", str(hostile)).output
    assert "[/bold]\\x1b[31m" in shown and "[/red] all \\u202e" in shown
    assert "[/x]" in cible("rejects", "-w", str(hostile)).output
    assert (
        "[/i]" in cible("segments", "persona", "weird", "--lang", "fr", "-w", str(hostile)).output
    )


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["rejects"],
        ["segments", "list"],
        ["segments", "show", "weird"],
        ["segments", "persona", "weird"],
        ["audit"],
    ],
    ids=" ".join,
)
def test_json_is_strict_with_infinite_and_huge_amounts(hostile: Path, command: list[str]):
    result = cible(*command, "-w", str(hostile), "--json")
    _no_traceback(result)
    _strict_json(result.stdout)


def test_infinite_revenue_shows_as_null_and_dash(hostile: Path):
    listed = _strict_json(cible("segments", "list", "-w", str(hostile), "--json").stdout)
    weird = next(s for s in listed if s["id"] == "weird")
    assert weird["revenue"] is None and weird["revenue_share"] is None
    table = cible("segments", "list", "-w", str(hostile)).output
    assert not re.search(r"\b(nan|inf)\b", table, re.IGNORECASE)


def test_report_has_no_nan(hostile: Path, tmp_path: Path):
    page = tmp_path / "r.html"
    _no_traceback(cible("report", "--output", str(page), "-w", str(hostile)))
    text = page.read_text(encoding="utf-8")
    assert "NaN" not in text and "nan" not in text and "\u221e" not in text


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("file.txt/r.html", "a part of the path is a file, not a folder"),
        ("missing/r.html", "the folder does not exist"),
        (".", "it is a folder"),
    ],
)
def test_report_to_an_unwritable_path_is_one_sentence(
    hostile: Path, tmp_path: Path, where: str, reason: str
):
    (tmp_path / "file.txt").write_text("x")
    target = tmp_path / where
    result = cible("report", "--output", str(target), "-w", str(hostile))
    _no_traceback(result, 1)
    assert f"Cannot write {target}: {reason}; nothing was written." in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_disk_full_at_commit_is_one_sentence(
    hostile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    class FullDisk:
        def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
            self.con = con

        def execute(self, sql: str, *args: Any) -> Any:
            if sql == "COMMIT":  # DuckDB ends the transaction when its commit fails
                self.con.execute("ROLLBACK")
                raise duckdb.IOException("IO Error: No space left on device")
            return self.con.execute(sql, *args)

    monkeypatch.setattr(writer, "transaction", lambda con: transaction(FullDisk(con)))
    before = _strict_json(cible("status", "-w", str(hostile), "--json").stdout)
    orders = tmp_path / "more.csv"
    orders.write_text("order_id,customer_id,ordered_at,amount\nn1,c3,2025-01-09,5\n")
    result = cible("import", "orders", str(orders), "-w", str(hostile))
    _no_traceback(result, 1)
    assert (
        "Error: Disk full while writing the workspace (IO Error: No space left on device); "
        "nothing was changed." in result.output
    )
    assert "no transaction is active" not in result.output
    assert _strict_json(cible("status", "-w", str(hostile), "--json").stdout) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--as-of", "0001-01-01"], "give a date between the years 1900 and 2999"),
        (["run", "--as-of", "0001-01-01T00:00+05:00"], "between the years 1900 and 2999"),
        (["run", "--as-of", "2025-02-30"], "give a date like 2025-01-31"),
        (["segments", "list", "--lang", "xx"], "--lang 'xx': use one of en, fr."),
        (["segments", "show", "weird", "--lang", "xx"], "use one of en, fr."),
        (["report", "--lang", "xx"], "use one of en, fr."),
        (["clv", "evaluate", "--calibration-end", "0001-01-01"], "between the years"),
        (["clv", "evaluate", "--calibration-end", "2025-01-02", "--lang", "de"], "en, fr."),
    ],
)
def test_bad_options_are_one_sentence(hostile: Path, args: list[str], message: str):
    result = cible(*args, "-w", str(hostile))
    _no_traceback(result, 1)
    assert message in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["rejects", "--limit", "-5"],
        ["demo", "--seed", "-1"],
        ["cluster", "--random-state", "-1"],
    ],
)
def test_out_of_range_numbers_are_usage_errors(hostile: Path, args: list[str]):
    result = cible(*args, "-w", str(hostile))
    _no_traceback(result, 2)


def test_run_with_an_offset_is_converted_to_utc(hostile: Path):
    result = cible("run", "--as-of", "2025-02-01T05:00+05:00", "-w", str(hostile), "--json")
    _no_traceback(result)
    assert _strict_json(result.stdout)["as_of"].startswith("2025-02-01T00:00")


def test_init_under_a_file_is_one_sentence(tmp_path: Path):
    (tmp_path / "file.txt").write_text("x")
    result = cible("init", str(tmp_path / "file.txt" / "ws"))
    _no_traceback(result, 1)
    assert "a part of the path is a file, not a folder" in result.output


def test_errors_show_control_characters_escaped(hostile: Path, tmp_path: Path):
    missing = tmp_path / f"[bold]{ESCAPE}.csv"
    result = cible("import", "orders", str(missing), "-w", str(hostile))
    _no_traceback(result, 1)
    assert "\x1b" not in result.output
    assert "[bold]\\x1b[2J\\x07.csv: no such file" in result.output
