"""Exported files: no cell a spreadsheet would run, no JSON a parser refuses."""

from __future__ import annotations

import csv
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cible.activation.formats import (
    FORMULA_STARTS,
    ExportFormat,
    neutralise,
    to_csv,
    write,
)

HOSTILE = ["=1+2", "+33612345678", "-2+3", "@SUM(1)", "\t=cmd", "\r=cmd", '=HYPERLINK("x")']


def _read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_cells_are_prefixed_with_a_quote(value: str):
    table = pa.table({"customer_id": [value], "top_category": [value]})
    rows = _read_csv(to_csv(table))
    assert rows[1] == ["'" + value, "'" + value]


def test_header_names_and_json_cells_are_neutralised_too():
    table = pa.table({"=cmd": ["a"], "props": [[1.0, float("inf")]]})
    rows = _read_csv(to_csv(table))
    assert rows[0] == ["'=cmd", "props"]
    assert rows[1] == ["a", "[1.0, null]"]


def test_numbers_and_plain_text_are_unchanged():
    table = pa.table(
        {"name": ["Hélène", "O'Neil"], "amount": [-5.5, 2.0], "n": [-3, 4], "flag": [True, None]}
    )
    rows = _read_csv(to_csv(table))
    assert rows[1:] == [["Hélène", "-5.5", "-3", "True"], ["O'Neil", "2.0", "4", ""]]


@given(st.lists(st.text(max_size=30), min_size=1, max_size=20))
def test_no_csv_cell_starts_a_formula_and_the_text_is_kept(values: list[str]):
    table = pa.table({"value": pa.array(values, pa.string())})
    cells = [row[0] for row in _read_csv(to_csv(table))[1:]]
    assert not any(cell.startswith(FORMULA_STARTS) for cell in cells)
    restored = [
        c[1:] if c.startswith("'") and c.lstrip("'").startswith(FORMULA_STARTS) else c
        for c in cells
    ]
    assert restored == values


def test_json_has_no_nan_or_infinity():
    table = pa.table({"x": [1.0, float("nan"), float("inf"), -float("inf")]})
    buffer = io.BytesIO()
    write(table, buffer, ExportFormat.JSON)
    assert json.loads(buffer.getvalue()) == [{"x": 1.0}, {"x": None}, {"x": None}, {"x": None}]


def test_json_lines_and_parquet_round_trip():
    table = pa.table({"customer_id": ["=a", "b"], "amount": [1.5, None]})
    lines = io.BytesIO()
    write(table, lines, ExportFormat.JSONL)
    # JSON keeps text as it is: no spreadsheet runs it.
    assert [json.loads(line) for line in lines.getvalue().splitlines()] == table.to_pylist()
    parquet = io.BytesIO()
    write(table, parquet, ExportFormat.PARQUET)
    parquet.seek(0)
    assert pq.read_table(parquet).equals(table)


@pytest.mark.parametrize(
    ("suffix", "fmt"),
    [(".csv", "csv"), (".JSON", "json"), (".jsonl", "jsonl"), (".parquet", "parquet"), ("", "csv")],
)
def test_format_from_suffix(suffix: str, fmt: str):
    assert ExportFormat.from_suffix(suffix) == fmt


def test_neutralise_leaves_safe_text():
    assert neutralise("Lyon") == "Lyon"
    assert neutralise("") == ""
    assert neutralise(" =1") == " =1"


def test_a_value_that_starts_with_a_quote_and_a_formula_character_comes_back_whole():
    # Regression (found by the property above): "'@" was written as is and read back "@".
    cells = [row[0] for row in _read_csv(to_csv(pa.table({"v": ["'@", "@", "'", "''="]})))[1:]]
    assert cells == ["''@", "'@", "'", "'''="]
