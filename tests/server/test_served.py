"""The served file: found while its process lives, stale once it is gone; the token file is
0600; files left in incoming/ over a day are removed."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from cible.server.served import (
    INCOMING,
    SERVED_FILE,
    Served,
    find_server,
    pid_alive,
    read_local_token,
    read_served,
    remove_served,
    remove_stale_incoming,
    write_local_token,
    write_served,
)


def finished_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_live_server_is_found_and_a_dead_one_is_stale(tmp_path: Path):
    write_served(tmp_path, Served("http://127.0.0.1:1", os.getpid(), "2025-01-01T00:00:00"))
    assert find_server(tmp_path) == read_served(tmp_path)
    dead = finished_pid()
    assert not pid_alive(dead)
    write_served(tmp_path, Served("http://127.0.0.1:1", dead, "2025-01-01T00:00:00"))
    assert read_served(tmp_path) is not None and find_server(tmp_path) is None


def test_damaged_file_counts_as_no_server_and_another_pid_is_not_removed(tmp_path: Path):
    (tmp_path / SERVED_FILE).write_text("{not json")
    assert read_served(tmp_path) is None and find_server(tmp_path) is None
    write_served(tmp_path, Served("http://127.0.0.1:1", os.getpid(), "2025-01-01T00:00:00"))
    remove_served(tmp_path, os.getpid() + 1)
    assert (tmp_path / SERVED_FILE).exists()
    remove_served(tmp_path, os.getpid())
    assert not (tmp_path / SERVED_FILE).exists()


def test_local_token_file_is_readable_by_its_owner_only(tmp_path: Path):
    (tmp_path / "cible.serve.token").write_text("old")
    (tmp_path / "cible.serve.token").chmod(0o644)
    write_local_token(tmp_path, "cible_secret")
    mode = stat.S_IMODE((tmp_path / "cible.serve.token").stat().st_mode)
    assert mode == 0o600
    assert read_local_token(tmp_path) == "cible_secret"


def test_files_left_in_incoming_over_a_day_are_removed_and_others_kept(tmp_path: Path):
    assert remove_stale_incoming(tmp_path) == []  # no incoming folder yet
    incoming = tmp_path / INCOMING
    incoming.mkdir()
    for name, hours in (("old.csv", 25), ("fresh.csv", 23)):
        (incoming / name).write_text("customer_id\nC1\n")
        moment = 1_700_000_000 - hours * 3600
        os.utime(incoming / name, (moment, moment))
    (incoming / "folder").mkdir()
    assert remove_stale_incoming(tmp_path, now=1_700_000_000) == ["old.csv"]
    assert sorted(p.name for p in incoming.iterdir()) == ["folder", "fresh.csv"]
