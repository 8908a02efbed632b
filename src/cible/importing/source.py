"""Recognising what a data file is: format, text encoding, separator.

DuckDB's readers do the parsing; this module only decides how to call them. Files in
a legacy single-byte encoding (latin-1, cp1252: the usual Excel export in France) are
transcoded to a temporary UTF-8 copy first, because DuckDB reads latin-1 but not
cp1252, whose extra characters (euro sign, curly apostrophes, oe ligature) are common
in French text.

The encoding is decided for the whole file: UTF-8 when every line is, or when some
line holds valid UTF-8 multi-byte characters (its other lines are then rejected one by
one, not decoded otherwise); else cp1252 when the whole file decodes so; else latin-1.

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
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cible.domain.errors import ImportFileError
from cible.importing import lines
from cible.store.staging import FileFormat, LineRejection, Staged, widen_csv_field_limit

if TYPE_CHECKING:
    from cible.store.store import Store

_CHUNK = 1 << 20
_DELIMITERS = (",", ";", "\t", "|")
#: Encodings in which every line ends at a \n or \r byte, as in ASCII.
# Bytes that text does not hold: C0 controls but tab, line ends and escape.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f]")
_LINE_SAFE = frozenset({"utf-8", "utf-8-sig", "cp1252", "iso8859-1", "ascii"})


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
    rejected_lines : tuple of LineRejection
        Lines rejected before reading: not text in the file's encoding, holding a NUL
        byte, or too long (see :mod:`cible.importing.lines`).
    """

    path: Path
    readable_path: Path
    format: FileFormat
    encoding: str
    delimiter: str | None = None
    rejected_lines: tuple[LineRejection, ...] = ()

    def cleanup(self) -> None:
        """Remove the transcoded copy, if one was made."""
        if self.readable_path != self.path:
            self.readable_path.unlink(missing_ok=True)


def inspect_source(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    shown_as: Path | None = None,
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
    shown_as : Path, optional
        The file's name in messages (default ``path``): a served workspace reads a copy
        whose own path is no business of the user's.

    Raises
    ------
    ImportFileError
        When the file is missing, empty, a folder, or not text/Parquet.
    """
    shown = path if shown_as is None else shown_as
    if not path.exists():
        raise ImportFileError(f"{shown}: no such file.")
    if path.is_dir():
        raise ImportFileError(
            f"{shown} is a folder; give the path of a CSV, Parquet or JSON lines file."
        )
    with path.open("rb") as handle:
        head = handle.read(_CHUNK)
    if not head.removeprefix(codecs.BOM_UTF8).strip():
        raise ImportFileError(f"{shown} is empty.")
    fmt = _detect_format(path, head, shown)
    if fmt is FileFormat.PARQUET:
        return Source(path, path, fmt, "binary")
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not utf16 and _binary(head):
        raise ImportFileError(
            f"{shown} looks like a binary file, not CSV, Parquet or JSON lines text."
        )
    if encoding is not None:
        _check_encoding(encoding, shown)
    found = encoding or ("utf-16" if utf16 else "")
    json = fmt is FileFormat.JSONL
    if found and not _line_safe(found):
        # Lines of UTF-16 and the like do not end at single bytes: transcode the whole
        # file first (strictly), then check the lines of the UTF-8 copy.
        copy = _transcode(path, found, shown)
        try:
            readable, rejected = _defused(copy, "utf-8", fmt, lines.survey(copy, json=json))
        except BaseException:
            copy.unlink(missing_ok=True)
            raise
        if readable != copy:
            copy.unlink(missing_ok=True)
    else:
        checked = lines.survey(path, json=json)
        found = found or _detect_encoding(head, checked)
        if _is_utf8(found) and not checked.utf8 and not checked.multibyte:
            # Only an --encoding given by the user gets here: detection says cp1252.
            raise ImportFileError(
                f"{shown} is not valid UTF-8 text; leave --encoding out to detect it, or "
                "give the right one (e.g. cp1252)."
            )
        readable, rejected = _defused(path, found, fmt, checked)
    if fmt is FileFormat.CSV and rejected and rejected[0].line == 1:
        if readable is not path:
            readable.unlink(missing_ok=True)
        raise ImportFileError(f"{shown}: the header (line 1) was not read: {rejected[0].reason}.")
    sep = None
    if fmt is FileFormat.CSV:
        sep = delimiter or _detect_delimiter(head.decode(_decoding(found), errors="replace"))
    return Source(path, readable, fmt, found, sep, tuple(rejected))


def stage_source(store: Store, source: Source, shown: Path) -> Staged:
    """Read ``source`` into ``store``'s staging tables (see :meth:`Store.stage_file`),
    then delete its readable copy, whatever happened."""
    try:
        return store.stage_file(
            source.readable_path,
            source.format,
            delimiter=source.delimiter,
            shown_as=shown,
            rejected_lines=source.rejected_lines,
        )
    finally:
        source.cleanup()


def _binary(head: bytes) -> bool:
    """Whether the file is not text at all, rather than text with a few faulty lines.

    A NUL byte rejects its line only (see :mod:`cible.importing.lines`), unless it is
    in the first line (the header, or the first record), or most lines of the first
    megabyte hold control bytes, as compressed or image data does.
    """
    if b"\x00" not in head:
        return False
    rows = head.splitlines()
    if b"\x00" in rows[0]:
        return True
    filled = [line for line in rows if line]
    return 2 * sum(1 for line in filled if _CONTROL.search(line)) > len(filled)


def _detect_format(path: Path, head: bytes, shown: Path) -> FileFormat:
    if head.startswith(b"PAR1"):
        return FileFormat.PARQUET
    by_extension = _EXTENSIONS.get(path.suffix.lower())
    if by_extension is FileFormat.PARQUET:
        raise ImportFileError(f"{shown} has a Parquet extension but is not a Parquet file.")
    if by_extension is not None:
        return by_extension
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
    return FileFormat.JSONL if stripped.startswith(b"{") else FileFormat.CSV


def _detect_encoding(head: bytes, checked: lines.Survey) -> str:
    """UTF-8 when some line is (its other lines are then rejected), else cp1252 or latin-1."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if checked.utf8 or checked.multibyte:
        return "utf-8"
    # cp1252 is latin-1 plus printable characters in 0x80-0x9F; bytes it leaves
    # undefined only occur in true latin-1 files.
    return "cp1252" if checked.cp1252 else "latin-1"


def _check_encoding(encoding: str, shown: Path) -> None:
    try:
        # Decoding refuses codecs that are not text encodings (rot13, hex, base64).
        b"a".decode(encoding, errors="replace")
    except (LookupError, UnicodeError) as exc:
        raise ImportFileError(f"Unknown encoding {encoding!r} for {shown}.") from exc


def _line_safe(encoding: str) -> bool:
    """Whether a line of ``encoding`` text ends at a \\n or \\r byte, as in ASCII."""
    return codecs.lookup(encoding).name in _LINE_SAFE


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _decoding(encoding: str) -> str:
    return "utf-8" if _is_utf8(encoding) else encoding


def _defused(
    path: Path, encoding: str, fmt: FileFormat, checked: lines.Survey
) -> tuple[Path, list[LineRejection]]:
    """A UTF-8 file whose faulty lines cannot harm a reader, and those lines.

    ``path`` itself when it is clean UTF-8 already, else a copy.
    """
    if _is_utf8(encoding) and checked.utf8 and checked.clean:
        return path, []
    handle, name = tempfile.mkstemp(prefix="cible-import-", suffix=f".{fmt.value}")
    target = Path(name)
    try:
        with os.fdopen(handle, "wb") as copy:
            rejected = lines.rewrite(path, _decoding(encoding), copy, json=fmt is FileFormat.JSONL)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target, rejected


def _transcode(path: Path, encoding: str, shown: Path) -> Path:
    """Write a UTF-8 copy of ``path`` next to the system's temporary files (``shown``:
    its name in messages)."""
    handle, name = tempfile.mkstemp(prefix="cible-import-", suffix=path.suffix or ".txt")
    target = Path(name)
    try:
        with (
            path.open("r", encoding=encoding, errors="strict", newline="") as src,
            os.fdopen(handle, "w", encoding="utf-8", newline="") as dst,
        ):
            while chunk := src.read(_CHUNK):
                dst.write(chunk)
    except UnicodeError as exc:
        # Also a UTF-16 file without its byte order mark. The error's position is
        # within a buffer, not the file: it is left out.
        target.unlink(missing_ok=True)
        raise ImportFileError(
            f"{shown} is not valid {encoding} text; give the right encoding with --encoding."
        ) from exc
    return target


def _detect_delimiter(text: str) -> str:
    """The separator that splits the header and the next lines most consistently."""
    widen_csv_field_limit()
    rows = [line for line in io.StringIO(text).read().splitlines()[:20] if line.strip()]
    if not rows:
        return ","
    best, best_score = ",", -1.0
    for candidate in _DELIMITERS:
        widths = [len(row) for row in csv.reader(rows[:-1] or rows, delimiter=candidate)]
        if widths[0] < 2:
            continue
        # Prefer a separator giving the same width on every line, then the widest.
        consistent = sum(1 for w in widths if w == widths[0]) / len(widths)
        score = consistent * 100 + widths[0]
        if score > best_score:
            best, best_score = candidate, score
    return best
