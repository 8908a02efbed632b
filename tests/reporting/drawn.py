"""Helpers of the report tests: the specs a page's charts are drawn from, and offline checks."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from cible.reporting import vega

HOSTILE = "<script>alert('kpi')</script>"


@dataclass(frozen=True)
class ShopReport:
    """The pages, the specs each one drew (in order), and figures read from the workspace."""

    pages: dict[str, str]
    specs: dict[str, list[dict[str, Any]]]
    gold_size: int
    gold_buyers: int


@contextmanager
def drawn_specs() -> Iterator[list[dict[str, Any]]]:
    """Within the block, every spec a page draws is recorded, in order, then drawn as usual."""
    specs: list[dict[str, Any]] = []
    real = vega.svg

    def recording(spec: dict[str, Any], lang: str) -> Any:
        specs.append(spec)
        return real(spec, lang)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(vega, "svg", recording)
        yield specs


def values(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a spec, or of the layer that holds them."""
    holders = [spec, *spec.get("layer", [])]
    return next(list(h["data"]["values"]) for h in holders if "values" in h.get("data", {}))


def assert_offline(page: str) -> None:
    """The page runs no script and references nothing outside itself, fonts included."""
    assert "<script" not in page.lower()
    rest = page
    assert "http:" not in rest and "https:" not in rest
    assert not re.search(r'\b(?:href|src)\s*=\s*"(?!#)', rest)
    assert set(re.findall(r"url\(([^)]*)\)", rest)) <= {
        f"#{i}" for i in re.findall(r'id="([^"]+)"', rest)
    }
    assert "@import" not in rest and "@font-face" not in rest
    fonts = set(re.findall(r'font-family="([^"]*)"', rest))
    assert fonts <= {"sans-serif"}, fonts


def charts_only(page: str, *, also: tuple[str, ...] = ()) -> int:
    """The number of ``<svg>`` in ``page``, after checking each is a drawn spec (or in ``also``)."""
    tags = re.findall(r"<svg\b[^>]*>", page)
    classes = [(re.findall(r'class="([^"]*)"', tag) or [""])[0] for tag in tags]
    assert all(c == "chart" or c in also for c in classes), classes
    return sum(1 for c in classes if c == "chart")


def table(section: str) -> list[list[str]]:
    """The first table of ``section``: its body rows in order, each as its cells' text."""
    body = section[section.index("<tbody>") : section.index("</tbody>")]
    return [
        # Collapse the markup's spaces only: the no-break spaces of French figures stay.
        [
            re.sub(r"[ \t\r\n]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", c))).strip()
            for c in cells
        ]
        for cells in (
            re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
        )
    ]


def section(page: str, opening: str) -> str:
    """The part of ``page`` from ``opening`` to the end of its section."""
    start = page.index(opening)
    return page[start : page.index("</section>", start)]
