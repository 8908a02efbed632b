"""Writing an Arrow table as CSV, JSON, JSON lines or Parquet, safe to open.

Two hazards are handled here, for every file Cible writes from data:

- **Formula injection** (OWASP "CSV injection"): a spreadsheet runs a cell that starts
  with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula, so a
  customer id or a product category such as ``=HYPERLINK(...)`` would reach a
  marketer's spreadsheet as live code. Such text cells are prefixed with ``'``, which
  spreadsheets show as text. Numbers are written as numbers (``-5`` stays ``-5``).
- **Non-finite numbers**: JSON has no NaN or infinity; they are written as ``null``
  (:mod:`cible.domain.json_values`).

Examples
--------
>>> import pyarrow as pa
>>> table = pa.table({"customer_id": ["=1+2", "c2"], "amount": [-5.0, float("nan")]})
>>> to_csv(table).decode().splitlines()
['customer_id,amount', "'=1+2,-5.0", 'c2,']
>>> print(to_json_lines(table).decode(), end="")
{"customer_id": "=1+2", "amount": -5.0}
{"customer_id": "c2", "amount": null}
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from cible.domain.json_values import dumps_json

#: First characters a spreadsheet reads as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(StrEnum):
    """File formats of an export."""

    CSV = "csv"
    JSON = "json"
    JSONL = "jsonl"
    PARQUET = "parquet"

    @classmethod
    def from_suffix(cls, suffix: str) -> ExportFormat:
        """The format of a file named ``*.suffix``; CSV for anything unknown."""
        return {
            ".json": cls.JSON,
            ".jsonl": cls.JSONL,
            ".ndjson": cls.JSONL,
            ".parquet": cls.PARQUET,
            ".pq": cls.PARQUET,
        }.get(suffix.lower(), cls.CSV)


def neutralise(value: str) -> str:
    """``value`` prefixed with ``'`` when a spreadsheet would run it as a formula.

    A value that already starts with quotes followed by a formula character gets one
    more, so that removing one leading quote from the cells that start with quotes
    and a formula character gives back every value as it was (``'@`` is written
    ``''@``).

    Examples
    --------
    >>> neutralise("=HYPERLINK(\\"http://x\\")"), neutralise("Lyon"), neutralise("-")
    ('\\'=HYPERLINK("http://x")', 'Lyon', "'-")
    >>> neutralise("'@home")
    "''@home"
    """
    return "'" + value if value.lstrip("'").startswith(FORMULA_STARTS) else value


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, dict | list):
        return neutralise(dumps_json(value))
    return "" if value is None else value


def _csv_rows(table: pa.Table) -> Iterable[list[Any]]:
    for batch in table.to_batches(max_chunksize=10_000):
        columns = [column.to_pylist() for column in batch.columns]
        for row in zip(*columns, strict=True):
            yield [_cell(value) for value in row]


def write(table: pa.Table, handle: BinaryIO, fmt: ExportFormat) -> None:
    """Write ``table`` to a binary ``handle`` in ``fmt``.

    CSV cells are neutralised against formula injection (header names included) and
    JSON carries no NaN or infinity; Parquet keeps the column types as they are.
    """
    if fmt is ExportFormat.PARQUET:
        pq.write_table(table, handle)
        return
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="", write_through=True)
    try:
        if fmt is ExportFormat.CSV:
            # RFC 4180 line ends: with "\n" alone, the csv module would not quote a
            # value holding a lone carriage return, which then splits the row.
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow([neutralise(name) for name in table.column_names])
            writer.writerows(_csv_rows(table))
        elif fmt is ExportFormat.JSONL:
            for row in table.to_pylist():
                text.write(dumps_json(row) + "\n")
        else:
            text.write(dumps_json(table.to_pylist(), indent=2) + "\n")
        text.flush()
    finally:
        text.detach()


def to_csv(table: pa.Table) -> bytes:
    """``table`` as neutralised CSV bytes (see :func:`write`)."""
    return _to_bytes(table, ExportFormat.CSV)


def to_json_lines(table: pa.Table) -> bytes:
    """``table`` as JSON lines bytes with non-finite numbers as null."""
    return _to_bytes(table, ExportFormat.JSONL)


def _to_bytes(table: pa.Table, fmt: ExportFormat) -> bytes:
    buffer = io.BytesIO()
    write(table, buffer, fmt)
    return buffer.getvalue()
