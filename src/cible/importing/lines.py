"""Checking a text file line by line before a reader sees it.

A file is read in blocks of whole lines, so that most of it is checked at the speed
of a byte search and only the blocks holding a problem are split into lines. Three
problems are found per line, wherever the line falls in the file:

- bytes that are not text in the file's encoding (a cp1252 line in a UTF-8 file);
- a NUL byte, which no text holds (in JSON lines, any control byte but tab, which
  JSON never holds unescaped);
- a line longer than :data:`~cible.store.staging.MAX_LINE_BYTES`.

Such a line is rejected, with its number and a reason; the readers then get a UTF-8
copy in which it cannot do harm (see :func:`rewrite`). Lines end with ``\\n``,
``\\r\\n`` or a lone ``\\r``, as DuckDB's and Python's CSV readers count them.

Examples
--------
>>> from pathlib import Path
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> path = folder / "c.csv"
>>> _ = path.write_bytes("id,name\\n1,Hélène\\n".encode() + "2,Hélène\\n".encode("cp1252"))
>>> found = survey(path)
>>> (found.utf8, found.multibyte)
(False, True)
>>> with (folder / "copy.csv").open("wb") as copy:
...     rejected = rewrite(path, "utf-8", copy)
>>> rejected[0].line, rejected[0].reason
(3, 'not valid UTF-8 text (byte 0xe9 at column 4); the rest of the file is UTF-8')
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cible.store.staging import MAX_LINE_BYTES, LineRejection

_CHUNK = 1 << 20
#: Characters of a rejected line kept to show in ``cible rejects``.
_SHOWN = 200
#: What a rejected line becomes in the copy: one empty value, so that the line still
#: counts as a record and the next lines keep their numbers.
_PLACEHOLDER = b'""'
# Control bytes JSON text never holds raw (line ends aside): the JSON lines reader
# splits on one of them.
_JSON_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x0c\x0e-\x1f]")


@dataclass(frozen=True)
class _Block:
    """Whole lines of a file, or the start of one line over the limit."""

    line: int
    data: bytes
    long: bool = False


@dataclass
class Survey:
    """What a first reading of a text file found.

    Attributes
    ----------
    utf8 : bool
        Every line is valid UTF-8.
    multibyte : bool
        Some line is valid UTF-8 holding non-ASCII characters: the file is UTF-8,
        whatever its other lines hold.
    cp1252 : bool
        The whole file decodes as cp1252.
    clean : bool
        No line holds a NUL byte or runs over the length limit.
    """

    utf8: bool = True
    multibyte: bool = False
    cp1252: bool = True
    clean: bool = True


def survey(path: Path, *, json: bool = False) -> Survey:
    """Read ``path`` once and say which encodings fit and whether any line is faulty.

    ``json``: the file is JSON lines, whose lines may not hold control bytes.
    """
    quick = _survey_clean_utf8(path, json)
    if quick is not None:
        return quick
    found = Survey()
    for block in _blocks(path):
        # A block is over the limit only when a line of it is close to it: the
        # rewrite then measures each line.
        if block.long or len(block.data) > MAX_LINE_BYTES or _faulty(block.data, json):
            found.clean = False
        if block.long or block.data.isascii():
            continue
        try:
            block.data.decode("utf-8")
            found.multibyte = True
        except UnicodeDecodeError:
            found.utf8 = False
            if not found.multibyte:
                found.multibyte = any(_multibyte(line) for line in block.data.splitlines())
        if found.cp1252:
            try:
                block.data.decode("cp1252")
            except UnicodeDecodeError:
                found.cp1252 = False
    return found


def _survey_clean_utf8(path: Path, json: bool) -> Survey | None:
    """The common case at the speed of a byte scan: clean UTF-8 text, or None.

    Splitting a file into blocks of whole lines costs more than reading it; a file
    that is valid UTF-8, holds no faulty byte and no line over the limit (checked by
    the distance between line ends across reads) needs no line at all. Anything else
    gets the line-by-line survey, which says where.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    multibyte, cp1252, run = False, True, 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if _faulty(chunk, json):
                return None
            first = _first_end(chunk)
            if first < 0:
                run += len(chunk)
            else:
                if run + first > MAX_LINE_BYTES:
                    return None
                run = len(chunk) - 1 - max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
            if run > MAX_LINE_BYTES:
                return None
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return None
            if not chunk.isascii():
                multibyte = True
                if cp1252:
                    try:
                        chunk.decode("cp1252")
                    except UnicodeDecodeError:
                        cp1252 = False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return Survey(utf8=True, multibyte=multibyte, cp1252=cp1252, clean=True)


def rewrite(
    path: Path, encoding: str, target: BinaryIO, *, json: bool = False
) -> list[LineRejection]:
    """Write a UTF-8 copy of ``path`` to ``target``; return the lines it rejects.

    ``encoding`` is ``utf-8``, ``utf-8-sig``, ``cp1252`` or ``latin-1``: encodings in
    which a line ends at a ``\\n`` or ``\\r`` byte. A rejected line is replaced in the
    copy by one empty value, or, when only some of its bytes are not text, by its
    text with those bytes replaced, so that quotes opened on it still close.
    """
    decoding = "utf-8" if encoding.lower().replace("_", "-").startswith("utf") else encoding
    rejected: list[LineRejection] = []
    for block in _blocks(path):
        if block.long:
            shown = _shown(block.data, decoding)
            rejected.append(LineRejection(block.line, shown, _too_long()))
            target.write(_PLACEHOLDER + b"\n")
            continue
        try:
            text = block.data.decode(decoding)
        except UnicodeDecodeError:
            text = None
        if text is not None and not _faulty(block.data, json):
            data = block.data if decoding == "utf-8" else text.encode("utf-8")
            if len(data) <= MAX_LINE_BYTES:
                target.write(data)
                continue
        for number, line in enumerate(block.data.splitlines(keepends=True), start=block.line):
            target.write(_checked_line(number, line, decoding, rejected, json))
    return rejected


def _faulty(data: bytes, json: bool) -> bool:
    return b"\x00" in data or (json and _JSON_CONTROL.search(data) is not None)


def _checked_line(
    number: int, line: bytes, encoding: str, rejected: list[LineRejection], json: bool
) -> bytes:
    """The line as it goes into the copy; a rejection is appended when it is faulty."""
    content = line.rstrip(b"\r\n")
    end = line[len(content) :]
    reason = None
    try:
        text = content.decode(encoding)
    except UnicodeDecodeError as exc:
        column = len(content[: exc.start].decode(encoding)) + 1
        name = "UTF-8" if encoding == "utf-8" else encoding
        reason = f"not valid {name} text (byte 0x{content[exc.start]:02x} at column {column})"
        if encoding == "utf-8":
            reason += "; the rest of the file is UTF-8"
        text = content.decode(encoding, errors="replace")
    if reason is None and "\x00" in text:
        reason = f"a NUL byte at column {text.index(chr(0)) + 1}: the line is not text"
    elif reason is None and json and (control := _JSON_CONTROL.search(content)):
        column = len(content[: control.start()].decode(encoding)) + 1
        reason = f"not valid JSON: control byte 0x{control[0][0]:02x} at column {column}"
    data = text.encode("utf-8")
    if len(data) > MAX_LINE_BYTES:
        reason, data = _too_long(), _PLACEHOLDER
    if reason is not None:
        rejected.append(LineRejection(number, _shown(content, encoding), reason))
        # A CSV line keeps its text, so that a quote opened on it still closes; NUL
        # bytes stay out of the copy, so that no reader decides what they mean. A JSON
        # line stands alone: it leaves nothing a reader could stumble on.
        data = _PLACEHOLDER if json else data.replace(b"\x00", "\ufffd".encode())
    return data + end


def _too_long() -> str:
    return f"line longer than {MAX_LINE_BYTES:,} bytes, the most Cible reads"


def _shown(content: bytes, encoding: str) -> str:
    """The start of a rejected line, its faulty bytes written as ``\\xe9``."""
    text = content[: _SHOWN * 4].decode(encoding, errors="backslashreplace")[:_SHOWN]
    return text.replace("\x00", "\\x00")


def _multibyte(line: bytes) -> bool:
    if line.isascii():
        return False
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _blocks(path: Path) -> Iterator[_Block]:
    """Whole lines of ``path`` in blocks of about a megabyte.

    A line over the limit is given alone, cut to its start, and the rest of it is
    skipped without being held in memory.
    """
    line, carry = 1, b""
    skipping = drop_lf = False
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if drop_lf and chunk.startswith(b"\n"):
                chunk = chunk[1:]
            drop_lf = False
            if skipping:
                end = _first_end(chunk)
                if end < 0:
                    continue
                skipping = False
                if chunk[end : end + 2] == b"\r\n":
                    end += 1
                elif chunk[end:] == b"\r":
                    drop_lf = True
                chunk = chunk[end + 1 :]
            data = carry + chunk
            cut = _whole_lines(data)
            if cut:
                yield _Block(line, data[:cut])
                line += _ends(data[:cut])
            carry = data[cut:]
            if len(carry) > MAX_LINE_BYTES:
                yield _Block(line, carry[: _SHOWN * 4], long=True)
                line, carry, skipping = line + 1, b"", True
    if carry:
        long = len(carry) > MAX_LINE_BYTES
        yield _Block(line, carry[: _SHOWN * 4] if long else carry, long=long)


def _whole_lines(data: bytes) -> int:
    """Length of the start of ``data`` made of whole lines.

    A final ``\\r`` is left out: the ``\\n`` of a ``\\r\\n`` may come with the next read.
    """
    return max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1


def _first_end(data: bytes) -> int:
    ends = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
    return min(ends) if ends else -1


def _ends(data: bytes) -> int:
    """Number of line ends in ``data``."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
