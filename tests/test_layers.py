"""DESIGN.md section 3: imports point down only, SQL text lives in store/ alone."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "cible"

# Layer -> cible packages it may import (besides itself).
ALLOWED = {
    "domain": set(),
    # Message catalogs: a leaf, read by whatever prints for people.
    "locale": set(),
    "store": {"domain"},
    "features": {"domain"},
    "clv": {"domain"},
    "models": {"domain", "features", "clv", "store"},
    "importing": {"domain", "store", "quality"},
    "segments": {"domain", "features", "clv", "models", "store", "reporting"},
    "reporting": {"domain", "locale"},
    # Use cases sit above features (DESIGN.md section 3): consents are read through
    # features/consent.py, the one place their current state is derived.
    "quality": {"domain", "store", "features", "reporting"},
    "activation": {"domain", "store", "features", "quality"},
    "workspace": {
        "activation",
        "domain",
        "store",
        "importing",
        "features",
        "clv",
        "models",
        "segments",
        "quality",
        "reporting",
    },
    "demo": {"domain", "importing", "workspace"},
    "cli": {
        "activation",
        "domain",
        "store",
        "importing",
        "segments",
        "reporting",
        "workspace",
        "demo",
        "cli",
        "locale",
    },
}
ENTRY_POINT_LIBRARIES = {"typer", "rich", "fastapi", "starlette", "uvicorn", "click"}
NO_ENTRY_POINT_LIBRARIES = {
    "locale",
    "activation",
    "domain",
    "store",
    "features",
    "importing",
    "segments",
    "quality",
    "reporting",
    "workspace",
    "demo",
}


def _layer(path: Path) -> str:
    relative = path.relative_to(SRC)
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


MODULES = sorted(p for p in SRC.rglob("*.py") if _layer(p) in ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_down(path: Path):
    layer = _layer(path)
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] == "cible" and len(parts) > 1:
            target = parts[1]
            assert target == layer or target in ALLOWED[layer], f"{layer} imports {name}"
        if layer in NO_ENTRY_POINT_LIBRARIES:
            assert parts[0] not in ENTRY_POINT_LIBRARIES, f"{layer} imports {name}"


def test_every_module_belongs_to_a_layer():
    stray = [p for p in SRC.rglob("*.py") if _layer(p) not in ALLOWED and p.name != "__init__.py"]
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
