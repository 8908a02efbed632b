"""Shared fixtures: a fresh workspace and a writer of small files in any encoding."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cible import Workspace

WriteFile = Callable[..., Path]


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """An empty workspace in a temporary folder."""
    with Workspace.create(tmp_path / "ws") as ws:
        yield ws


@pytest.fixture
def write(tmp_path: Path) -> WriteFile:
    """``write(name, text, encoding="utf-8", bom=False)`` -> path of the new file."""

    def _write(name: str, text: str, encoding: str = "utf-8", bom: bool = False) -> Path:
        path = tmp_path / name
        data = text.encode(encoding)
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
        return path

    return _write


def rows(ws: Workspace, table: str, order_by: str) -> list[dict[str, object]]:
    """All rows of ``table`` as dictionaries, sorted."""
    result: list[dict[str, object]] = ws.table(table).order_by(order_by).to_pyarrow().to_pylist()
    return result
