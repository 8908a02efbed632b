"""Files are written whole or not at all, and failures say why in one sentence."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from cible.store import files
from cible.store.files import OutputError, atomic_file


def test_a_full_disk_keeps_the_old_file_and_leaves_no_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    target = tmp_path / "report.html"
    target.write_text("old")

    def full(_descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    expected = r"report\.html: the disk is full; nothing was written"
    with pytest.raises(OutputError, match=expected), atomic_file(target) as handle:
        handle.write(b"new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_an_error_inside_the_block_leaves_no_file(tmp_path: Path):
    target = tmp_path / "out.csv"
    with pytest.raises(KeyboardInterrupt), atomic_file(target) as handle:
        handle.write(b"half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("relative", "reason"),
    [("missing/out.csv", "the folder does not exist"), ("file/out.csv", "is a file, not a folder")],
)
def test_paths_that_cannot_be_written(tmp_path: Path, relative: str, reason: str):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match=reason), atomic_file(tmp_path / relative) as handle:
        handle.write(b"x")


def test_a_folder_is_not_overwritten(tmp_path: Path):
    with pytest.raises(OutputError, match="it is a folder"), atomic_file(tmp_path) as handle:
        handle.write(b"x")


def test_the_file_gets_the_usual_permissions(tmp_path: Path):
    target = tmp_path / "out.csv"
    with atomic_file(target) as handle:
        handle.write(b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
