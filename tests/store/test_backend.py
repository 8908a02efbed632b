"""The limits of ``[engine]`` on the workspace's DuckDB connection."""

from __future__ import annotations

from pathlib import Path

import pytest

from cible import Workspace
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import ConfigError
from cible.workspace import load_config


def _setting(ws: Workspace, name: str) -> str:
    return str(ws.store.connection.sql(f"SELECT current_setting('{name}')").fetchall()[0][0])


def test_engine_limits_hold_on_every_connection(tmp_path: Path) -> None:
    config = WorkspaceConfig.model_validate(
        {"workspace": {"name": "small"}, "engine": {"memory_limit": "200MB", "threads": 1}}
    )
    with Workspace.create(tmp_path / "ws", config=config) as ws:
        assert _setting(ws, "threads") == "1"
        # DuckDB prints the limit back in its own unit: 200 MB is 190.7 MiB.
        assert _setting(ws, "memory_limit") == "190.7 MiB"
        # Sorting more than the limit spills to disk instead of failing.
        rows = ws.store.connection.sql(
            "SELECT count(*) FROM (SELECT range AS n, md5(range::VARCHAR) AS h "
            "FROM range(3000000) ORDER BY h)"
        ).fetchall()
        assert rows == [(3_000_000,)]
        # The file rewritten after an erasure is reopened under the same limits.
        ws.store.rewrite_file()
        assert _setting(ws, "threads") == "1"
    with Workspace.open(tmp_path / "ws", read_only=True) as ws:
        assert _setting(ws, "memory_limit") == "190.7 MiB"


def test_without_engine_section_duckdb_keeps_its_defaults(tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "ws") as ws:
        assert int(_setting(ws, "threads")) >= 1


def test_a_size_without_unit_names_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "cible.toml"
    path.write_text('[engine]\nmemory_limit = "6"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="memory_limit") as caught:
        load_config(path)
    assert "6GB" in str(caught.value)


def test_a_memory_limit_too_small_to_open_is_refused_with_its_minimum(tmp_path: Path) -> None:
    path = tmp_path / "cible.toml"
    path.write_text('[engine]\nmemory_limit = "10KB"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="at least 128MiB"):
        load_config(path)
