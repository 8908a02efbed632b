"""Detection of format, encoding and separator."""

from __future__ import annotations

from pathlib import Path

import pytest

from cible.domain.errors import ImportFileError
from cible.importing.source import inspect_source
from cible.store.staging import FileFormat
from tests.conftest import WriteFile


@pytest.mark.parametrize(
    ("text", "sep"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2,5;3\n", ";"),
        ("a\tb\n1\t2\n", "\t"),
        ("a|b\n1|2\n", "|"),
        ('nom;adresse\n"Dupont";"1, rue de la Paix"\n', ";"),
    ],
)
def test_delimiter(write: WriteFile, text: str, sep: str):
    assert inspect_source(write("f.csv", text)).delimiter == sep


def test_encodings(write: WriteFile):
    assert inspect_source(write("a.csv", "a;b\né;€\n")).encoding == "utf-8"
    assert inspect_source(write("b.csv", "a;b\né;€\n", bom=True)).encoding == "utf-8-sig"
    cp = inspect_source(write("c.csv", "a;b\né;€ œ\n", encoding="cp1252"))
    assert cp.encoding == "cp1252"
    assert cp.readable_path.read_text(encoding="utf-8") == "a;b\né;€ œ\n"
    cp.cleanup()
    assert not cp.readable_path.exists()
    # 0x81 is undefined in cp1252, so this can only be latin-1.
    assert inspect_source(write("d.csv", "a;b\né;\x81\n", encoding="latin-1")).encoding == "latin-1"


def test_formats(write: WriteFile, tmp_path):
    assert inspect_source(write("x.jsonl", '{"a": 1}\n')).format is FileFormat.JSONL
    assert inspect_source(write("x.data", '{"a": 1}\n')).format is FileFormat.JSONL
    assert inspect_source(write("x.data", "a,b\n1,2\n")).format is FileFormat.CSV


def test_utf8_file_with_one_cp1252_line_stays_utf8(tmp_path):
    path = tmp_path / "c.csv"
    rows = ["customer_id,first_name"] + [f"c{i},Hélène" for i in range(1000)]
    path.write_bytes(("\n".join(rows) + "\n").encode() + "c9999,Hélène\n".encode("cp1252"))
    source = inspect_source(path)
    assert source.encoding == "utf-8"
    assert [r.line for r in source.rejected_lines] == [1002]
    source.cleanup()


def test_a_long_cell_does_not_break_separator_detection(write: WriteFile):
    # Python's csv module stops at 131,072 characters by default.
    path = write("c.csv", "customer_id;note\nc1;" + "x" * 200_000 + "\nc2;y\n")
    assert inspect_source(path).delimiter == ";"


def test_nul_in_a_later_line_is_not_a_binary_file(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"customer_id\nc1\nc\x002\n")
    assert [r.line for r in inspect_source(path).rejected_lines] == [3]


def test_header_that_is_not_text_refuses_the_file(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes("customer_id,prénom\n".encode("cp1252") + "c1,Zoé\n".encode())
    with pytest.raises(ImportFileError, match=r"the header \(line 1\) was not read: not valid"):
        inspect_source(path)


@pytest.mark.parametrize(
    ("encoding", "message"),
    [
        ("utf-16", "is not valid utf-16 text; give the right encoding"),
        ("rot13", "Unknown encoding 'rot13'"),
        ("nope", "Unknown encoding 'nope'"),
    ],
)
def test_unusable_encoding_given_is_one_sentence(write: WriteFile, encoding: str, message: str):
    path = write("c.csv", "customer_id\nc1\n")
    with pytest.raises(ImportFileError, match=message):
        inspect_source(path, encoding=encoding)


def test_ascii_given_rejects_the_lines_that_are_not(write: WriteFile):
    source = inspect_source(write("c.csv", "customer_id,name\nc1,Zoé\nc2,Ana\n"), encoding="ascii")
    assert [(r.line, r.reason) for r in source.rejected_lines] == [
        (2, "not valid ascii text (byte 0xc3 at column 6)")
    ]
    source.cleanup()


def test_refusals_name_the_file_as_shown_not_its_path(tmp_path: Path):
    copy = tmp_path / "incoming" / "0123456789abcdef-clients.csv"
    copy.parent.mkdir()
    shown = Path("clients.csv")
    cases = [
        (bytes(range(256)) * 50, {}, "clients.csv looks like a binary file"),
        (b"\n", {}, "clients.csv is empty"),
        (b"a,b\n", {"encoding": "rot13"}, "Unknown encoding 'rot13' for clients.csv"),
        (b"\xff\xfea", {"encoding": "utf-16-be"}, "clients.csv is not valid utf-16"),
    ]
    for content, options, message in cases:
        copy.write_bytes(content)
        with pytest.raises(ImportFileError) as refused:
            inspect_source(copy, shown_as=shown, **options)
        assert str(refused.value).startswith(message) and str(tmp_path) not in str(refused.value)
    copy.unlink()
    with pytest.raises(ImportFileError, match=r"^clients.csv: no such file"):
        inspect_source(copy, shown_as=shown)
