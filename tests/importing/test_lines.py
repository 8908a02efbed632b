"""Line checks before reading: encoding, NUL bytes, length; line numbers as readers count."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cible.importing import lines
from cible.store.staging import MAX_LINE_BYTES


def _rewrite(path: Path, encoding: str = "utf-8", json: bool = False) -> tuple[bytes, list]:
    copy = io.BytesIO()
    rejected = lines.rewrite(path, encoding, copy, json=json)
    return copy.getvalue(), rejected


def test_one_cp1252_line_in_a_utf8_file_is_that_line_only(tmp_path: Path):
    path = tmp_path / "c.csv"
    good = ["customer_id,first_name"] + [f"c{i},Hélène" for i in range(1000)]
    path.write_bytes(("\n".join(good) + "\n").encode() + "c9999,Hélène\n".encode("cp1252"))
    found = lines.survey(path)
    assert (found.utf8, found.multibyte, found.clean) == (False, True, True)
    copy, rejected = _rewrite(path)
    assert [(r.line, r.value, r.reason) for r in rejected] == [
        (
            1002,
            "c9999,H\\xe9l\\xe8ne",
            "not valid UTF-8 text (byte 0xe9 at column 8); the rest of the file is UTF-8",
        )
    ]
    # Good lines are copied byte for byte; the bad one keeps its separators.
    assert copy.decode().splitlines()[1] == "c0,Hélène"
    assert copy.decode().splitlines()[-1] == "c9999,H\ufffdl\ufffdne"


def test_a_legacy_file_has_no_utf8_multibyte_character(tmp_path: Path):
    path = tmp_path / "c.csv"
    path.write_bytes("id,name\n1,Hélène\n2,Zoé €\n".encode("cp1252"))
    found = lines.survey(path)
    assert (found.utf8, found.multibyte, found.cp1252) == (False, False, True)
    copy, rejected = _rewrite(path, "cp1252")
    assert (copy.decode(), rejected) == ("id,name\n1,Hélène\n2,Zoé €\n", [])


def test_nul_byte_rejects_its_line_wherever_it_falls(tmp_path: Path):
    path = tmp_path / "c.csv"
    # One NUL within the first kilobyte, one after two megabytes.
    filler = "".join(f"c{i},x\n" for i in range(400_000))
    path.write_bytes(b"id,v\nc,a\x00b\n" + filler.encode() + b"d,\x00\n")
    assert not lines.survey(path).clean
    copy, rejected = _rewrite(path)
    assert [(r.line, r.value) for r in rejected] == [(2, "c,a\\x00b"), (400_003, "d,\\x00")]
    assert rejected[0].reason == "a NUL byte at column 4: the line is not text"
    assert b"\x00" not in copy


@pytest.mark.parametrize("extra", [5, 3 << 20])
def test_a_line_over_the_limit_is_skipped_without_being_held(tmp_path: Path, extra: int):
    path = tmp_path / "c.csv"
    with path.open("wb") as handle:
        handle.write(b"id,v\r\n1,a\r\n2,")
        handle.write(b"x" * (MAX_LINE_BYTES + extra))
        handle.write(b"\r\n3,c\r\n")
    assert not lines.survey(path).clean
    copy, rejected = _rewrite(path)
    assert [(r.line, r.reason) for r in rejected] == [
        (3, "line longer than 10,000,000 bytes, the most Cible reads")
    ]
    assert rejected[0].value == "2," + "x" * 198
    # The line becomes one empty value; the next line keeps its number (4).
    assert copy.splitlines() == [b"id,v", b"1,a", b'""', b"3,c"]


def test_lone_carriage_returns_end_lines(tmp_path: Path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"id,v\r1,a\r2,\xe9\r3,\xc3\xa9\r")
    _, rejected = _rewrite(path)
    assert [r.line for r in rejected] == [3]


def test_json_lines_may_not_hold_control_bytes(tmp_path: Path):
    path = tmp_path / "e.jsonl"
    path.write_bytes(b'{"a":"x"}\n{"a":"x\x01y"}\n{"a":"\tz"}\n')
    assert lines.survey(path).clean
    assert not lines.survey(path, json=True).clean
    copy, rejected = _rewrite(path, json=True)
    assert [(r.line, r.reason) for r in rejected] == [
        (2, "not valid JSON: control byte 0x01 at column 8")
    ]
    assert copy == b'{"a":"x"}\n""\n{"a":"\tz"}\n'


@pytest.mark.parametrize("offset", [-1, -2, 0])
def test_the_quick_survey_agrees_with_the_line_by_line_one(tmp_path: Path, offset: int):
    # A two-byte character straddling a read, then a line that spans three reads.
    path = tmp_path / "c.csv"
    head = b"x" * (lines._CHUNK + offset) + "é,1\n".encode()
    path.write_bytes(head + b"y" * (3 * lines._CHUNK) + b"\nz,\xc3\xa9\n")
    quick = lines._survey_clean_utf8(path, json=False)
    assert quick == lines.Survey(utf8=True, multibyte=True, cp1252=True, clean=True)
    assert lines.survey(path) == quick
    # Bytes a cp1252 file never holds (0x81 in "Á" written in UTF-8) are seen too.
    path.write_bytes("Á\n".encode())
    assert lines.survey(path).cp1252 is False


def test_the_quick_survey_hands_faulty_files_to_the_line_by_line_one(tmp_path: Path):
    path = tmp_path / "c.csv"
    for data in (b"a\n\xe9\n", b"a\x00\n", "é".encode()[:1], b"a" * (MAX_LINE_BYTES + 1)):
        path.write_bytes(data)
        assert lines._survey_clean_utf8(path, json=False) is None
    path.write_bytes(b'{"a": "\x01"}\n')
    assert lines._survey_clean_utf8(path, json=True) is None
    assert lines._survey_clean_utf8(path, json=False) is not None
