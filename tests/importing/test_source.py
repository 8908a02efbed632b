"""Detection of format, encoding and separator."""

from __future__ import annotations

import pytest

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
