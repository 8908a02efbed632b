"""Recognising what a data file is: format, text encoding, separator.

DuckDB's readers do the parsing; this module only decides how to call them. Files in
a legacy single-byte encoding (latin-1, cp1252: the usual Excel export in France) are
transcoded to a temporary UTF-8 copy first, because DuckDB reads latin-1 but not
cp1252, whose extra characters (euro sign, curly apostrophes, oe ligature) are common
in French text.

Examples
--------
>>> from pathlib import Path
>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "orders.csv"
>>> _ = path.write_bytes("order_id;amount\\nA1;12,50\\n".encode("cp1252"))
>>> inspect_source(path).delimiter
';'
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cible.domain.errors import ImportFileError
from cible.store.staging import FileFormat

_CHUNK = 1 << 20
_DELIMITERS = (",", ";", "\t", "|")


_EXTENSIONS = {
    ".csv": FileFormat.CSV,
    ".tsv": FileFormat.CSV,
    ".txt": FileFormat.CSV,
    ".parquet": FileFormat.PARQUET,
    ".pq": FileFormat.PARQUET,
    ".jsonl": FileFormat.JSONL,
    ".ndjson": FileFormat.JSONL,
    ".json": FileFormat.JSONL,
}


@dataclass(frozen=True)
class Source:
    """How to read one file.

    Attributes
    ----------
    path : Path
        The file as given by the user (named in messages).
    readable_path : Path
        What the reader opens: ``path`` itself, or a UTF-8 copy.
    format : FileFormat
        Parsing family.
    encoding : str
        Encoding found in the original file.
    delimiter : str or None
        Field separator of a CSV file.
    """

    path: Path
    readable_path: Path
    format: FileFormat
    encoding: str
    delimiter: str | None = None

    def cleanup(self) -> None:
        """Remove the transcoded copy, if one was made."""
        if self.readable_path != self.path:
            self.readable_path.unlink(missing_ok=True)


def inspect_source(
    path: Path, *, encoding: str | None = None, delimiter: str | None = None
) -> Source:
    """Decide how to read ``path``.

    Parameters
    ----------
    path : Path
        File to import.
    encoding : str, optional
        Force a text encoding instead of detecting it.
    delimiter : str, optional
        Force a CSV separator instead of detecting it.

    Raises
    ------
    ImportFileError
        When the file is missing, empty, a folder, or not text/Parquet.
    """
    if not path.exists():
        raise ImportFileError(f"{path}: no such file.")
    if path.is_dir():
        raise ImportFileError(
            f"{path} is a folder; give the path of a CSV, Parquet or JSON lines file."
        )
    with path.open("rb") as handle:
        head = handle.read(_CHUNK)
    if not head.strip():
        raise ImportFileError(f"{path} is empty.")
    fmt = _detect_format(path, head)
    if fmt is FileFormat.PARQUET:
        return Source(path, path, fmt, "binary")
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(
            f"{path} looks like a binary file, not CSV, Parquet or JSON lines text."
        )
    found = encoding or _detect_encoding(path, head)
    if found.lower().replace("_", "-") in ("utf-8", "utf8") and not _decodes(path, "utf-8"):
        raise ImportFileError(
            f"{path} is not valid UTF-8 text; leave --encoding out to detect it, or give the "
            "right one (e.g. cp1252)."
        )
    readable = path if found in ("utf-8", "utf-8-sig") else _transcode(path, found)
    sep = None
    if fmt is FileFormat.CSV:
        text = head.decode(found, errors="replace")
        sep = delimiter or _detect_delimiter(text)
    return Source(path, readable, fmt, found, sep)


def _detect_format(path: Path, head: bytes) -> FileFormat:
    if head.startswith(b"PAR1"):
        return FileFormat.PARQUET
    by_extension = _EXTENSIONS.get(path.suffix.lower())
    if by_extension is FileFormat.PARQUET:
        raise ImportFileError(f"{path} has a Parquet extension but is not a Parquet file.")
    if by_extension is not None:
        return by_extension
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
    return FileFormat.JSONL if stripped.startswith(b"{") else FileFormat.CSV


def _detect_encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _decodes(path, "utf-8"):
        return "utf-8"
    # cp1252 is latin-1 plus printable characters in 0x80-0x9F; bytes it leaves
    # undefined only occur in true latin-1 files.
    return "cp1252" if _decodes(path, "cp1252") else "latin-1"


def _decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file is valid ``encoding`` text (read in chunks)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _transcode(path: Path, encoding: str) -> Path:
    """Write a UTF-8 copy of ``path`` next to the system's temporary files."""
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise ImportFileError(f"Unknown encoding {encoding!r} for {path}.") from exc
    handle, name = tempfile.mkstemp(prefix="cible-import-", suffix=path.suffix or ".txt")
    target = Path(name)
    try:
        with (
            path.open("r", encoding=encoding, errors="strict", newline="") as src,
            os.fdopen(handle, "w", encoding="utf-8", newline="") as dst,
        ):
            while chunk := src.read(_CHUNK):
                dst.write(chunk)
    except UnicodeDecodeError as exc:
        target.unlink(missing_ok=True)
        raise ImportFileError(
            f"{path} is not valid {encoding} text (byte {exc.start}); "
            "give the right encoding with --encoding."
        ) from exc
    return target


def _detect_delimiter(text: str) -> str:
    """The separator that splits the header and the next lines most consistently."""
    lines = [line for line in io.StringIO(text).read().splitlines()[:20] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", -1.0
    for candidate in _DELIMITERS:
        widths = [len(row) for row in csv.reader(lines[:-1] or lines, delimiter=candidate)]
        if widths[0] < 2:
            continue
        # Prefer a separator giving the same width on every line, then the widest.
        consistent = sum(1 for w in widths if w == widths[0]) / len(widths)
        score = consistent * 100 + widths[0]
        if score > best_score:
            best, best_score = candidate, score
    return best
