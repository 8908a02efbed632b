"""DESIGN.md section 3: imports point down only, SQL text lives in store/ alone.

The import rules are import-linter contracts in ``pyproject.toml`` (``make lint`` runs
``lint-imports`` too); the rules on source text stay here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

SRC = Path(__file__).parents[1] / "src" / "cible"
PYPROJECT = SRC.parents[1] / "pyproject.toml"


def _contracts() -> list[dict[str, Any]]:
    settings = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    contracts: list[dict[str, Any]] = settings["tool"]["importlinter"]["contracts"]
    return contracts


def _layer(path: Path) -> str:
    relative = path.relative_to(SRC)
    return relative.parts[0].removesuffix(".py")


def test_import_contracts_hold():
    """The import-linter contracts of pyproject.toml: layers, entry points, DuckDB."""
    # The console script beside this interpreter: the one `make lint` runs too.
    lint_imports = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo", str(PYPROJECT)],
        cwd=PYPROJECT.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_contract_has_exceptions():
    """DESIGN.md section 3: an import that breaks a rule is moved, never excused."""
    assert all("ignore_imports" not in contract for contract in _contracts())


def test_every_module_belongs_to_a_layer():
    """A package missing from the layers contract would escape it unnoticed."""
    (layers,) = [c["layers"] for c in _contracts() if c["type"] == "layers"]
    named = {name.strip().removeprefix("cible.") for layer in layers for name in layer.split("|")}
    stray = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if _layer(p) not in named and p.relative_to(SRC) != Path("__init__.py")
    ]
    assert stray == []


def test_sql_text_only_in_store():
    pattern = re.compile(
        r"\b(SELECT|INSERT INTO|CREATE TABLE|DELETE FROM|UPDATE)\b.*\b(FROM|VALUES|SET|AS)\b"
    )
    offenders = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if _layer(p) != "store" and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_connections_and_compiled_sql_only_in_store():
    """Use cases hand the Store Ibis expressions; only store/ compiles or executes them."""
    pattern = re.compile(
        r"\braw\(|\bto_sql\(|\.connection\b|\braw_sql\(|^\s*(import|from) duckdb\b", re.MULTILINE
    )
    offenders = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if _layer(p) != "store" and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
