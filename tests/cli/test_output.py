"""Rendering helpers: strict JSON, text that is never markup, all-or-nothing files."""

from __future__ import annotations

import io
import json
import math
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from cible.cli import output
from cible.cli.output import json_text, number, percent, print_table, visible, write_file
from cible.domain.errors import CibleError


def _strict(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_text_writes_non_finite_numbers_as_null():
    payload = {
        "nan": math.nan,
        "nested": [{"inf": math.inf}, (-math.inf, 1.5)],
        "numpy": np.float64("inf"),
        "array": np.array([1.0, np.nan]),
        "decimal": Decimal("NaN"),
        "big": Decimal("1e400"),
    }
    assert _strict(json_text(payload)) == {
        "nan": None,
        "nested": [{"inf": None}, [None, 1.5]],
        "numpy": None,
        "array": [1.0, None],
        "decimal": None,
        "big": "1E+400",
    }


def test_json_text_escapes_characters_a_terminal_would_act_on():
    text = json_text({"name": "a\x1b[2Jb\x9b31m\u202ec"})
    assert "\x1b" not in text and "\x9b" not in text and "\u202e" not in text
    assert _strict(text) == {"name": "a\x1b[2Jb\x9b31m\u202ec"}


def test_visible_shows_control_characters_as_escapes():
    assert visible("a\x1b[31mb\x07c\x08d\re\x9bf\u202eg\nh") == (
        "a\\x1b[31mb\\x07c\\x08d\\x0de\\x9bf\\u202eg\\x0ah"
    )
    assert visible("Hélène [/bold] :smile:") == "Hélène [/bold] :smile:"


def test_number_and_percent_show_a_dash_for_non_finite_values():
    assert [number(math.inf), number(math.nan, ",.2f"), number(None)] == ["-", "-", "-"]
    assert [percent(math.nan), percent(-math.inf), percent(0.5)] == ["-", "-", "50.0%"]


def test_print_table_never_reads_data_as_markup(monkeypatch: pytest.MonkeyPatch):
    screen = io.StringIO()
    monkeypatch.setattr(output, "console", Console(file=screen, width=200, color_system=None))
    print_table("[/bold] title", ["[/x]"], [("[/bold]",), ("\x1b[2J",), (math.nan,), (None,)])
    shown = screen.getvalue()
    assert "[/bold]" in shown and "title" in shown and "[/x]" in shown
    assert "\x1b" not in shown and "\\x1b[2J" in shown


def test_progress_descriptions_are_not_markup(monkeypatch: pytest.MonkeyPatch):
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120)
    monkeypatch.setattr(output, "errors", terminal)
    with output.progress_bars() as bars:
        bars.task("import [/x]\x1b[2J.csv")("reading", 1, 2)
    assert "\x1b[2J" not in screen.getvalue().replace("\x1b[2K", "")


def test_write_file_replaces_the_target_and_leaves_no_temporary(tmp_path: Path):
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")
    write_file(target, "nouveau é")
    assert target.read_text(encoding="utf-8") == "nouveau é"
    write_file(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_write_file_to_dev_full_says_the_disk_is_full():
    with pytest.raises(CibleError, match=r"^Cannot write /dev/full: the disk is full"):
        write_file(Path("/dev/full"), "x" * 100_000)


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("file.txt/out.html", "a part of the path is a file, not a folder"),
        ("missing/out.html", "the folder does not exist"),
        ("folder", "it is a folder"),
    ],
)
def test_write_file_names_the_path_and_the_reason(tmp_path: Path, where: str, reason: str):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "folder").mkdir()
    target = tmp_path / where
    with pytest.raises(CibleError) as caught:
        write_file(target, "data")
    assert str(caught.value) == f"Cannot write {target}: {reason}; nothing was written."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "folder"]
    assert list((tmp_path / "folder").iterdir()) == []


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(_VALUES)
def test_json_text_is_always_strict_json(value: Any):
    text = json_text(value)
    _strict(text)
    assert not set(text) & {"\x1b", "\x07", "\x9b", "\u202e"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_SCALARS, st.text()), max_size=5), st.text())
def test_print_table_prints_any_text_without_control_characters(
    rows: list[tuple[Any, str]], title: str
):
    screen = io.StringIO()
    original = output.console
    output.console = Console(file=screen, width=100, color_system=None)
    try:
        print_table(title, ["value", "text"], rows)
    finally:
        output.console = original
    assert not any(
        0x80 <= ord(c) < 0xA0 or (ord(c) < 0x20 and c != "\n") for c in screen.getvalue()
    )
