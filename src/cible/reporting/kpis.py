"""The report's "KPIs per segment" section: the latest period's KPIs and two charts.

Per dimension, a table of each segment's KPIs at the latest moment (now) and the
series of two line charts, size and revenue per segment over the moments kept (each
kept snapshot and now), in the shape the web's trend charts take
(:func:`cible.reporting.charts.metric_trend`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cible.locale import gettext
from cible.locale.kpi_labels import LABELS
from cible.segments.catalog import SegmentInfo
from cible.segments.kpis import KpiRow


@dataclass(frozen=True)
class KpiSegment:
    """One segment's KPIs at the latest moment, with its name and colour."""

    name: str
    color: str
    row: KpiRow


@dataclass(frozen=True)
class KpiBlock:
    """A dimension's KPIs: the latest period's table and the two charts."""

    dimension: str
    title: str
    period_start: datetime
    as_of: datetime
    segments: list[KpiSegment]
    #: Per segment, in the charts' order: ``id``, ``name`` (``{lang: name}``), ``color``
    #: and ``trend``, its ``size`` and ``revenue`` at each moment it has a row for.
    series: list[dict[str, Any]]


@dataclass(frozen=True)
class KpiSection:
    """The whole section: translated labels and one block per dimension."""

    labels: dict[str, str]
    blocks: list[KpiBlock]


def kpi_section(
    rows: list[KpiRow],
    infos: list[SegmentInfo],
    dimensions: list[str],
    titles: dict[str, str],
    lang: str,
) -> KpiSection:
    """The section in ``lang`` from ``ws.kpis.per_segment()``'s rows, dimensions in order."""
    by_id = {info.id: info for info in infos}
    order = {info.id: position for position, info in enumerate(infos)}
    moments = sorted({row.as_of for row in rows})
    blocks = []
    for dimension in dimensions:
        mine = [row for row in rows if row.dimension == dimension]
        if not mine:
            continue
        segments = sorted({row.segment_id for row in mine}, key=lambda s: (order.get(s, 1e9), s))
        cells = {(row.segment_id, row.as_of): row for row in mine}
        latest = max(row.as_of for row in mine)
        legend = [
            (by_id[s].label(lang), by_id[s].color) if s in by_id else (s, "#495057")
            for s in segments
        ]
        shown = [
            KpiSegment(name=name, color=color, row=cells[(s, latest)])
            for s, (name, color) in zip(segments, legend, strict=True)
            if (s, latest) in cells
        ]
        blocks.append(
            KpiBlock(
                dimension=dimension,
                title=titles.get(dimension, dimension),
                period_start=shown[0].row.period_start if shown else latest,
                as_of=latest,
                segments=shown,
                series=[
                    {
                        "id": s,
                        "name": {lang: name},
                        "color": color,
                        "trend": [
                            {
                                "as_of": m,
                                "size": cells[(s, m)].size,
                                "revenue": cells[(s, m)].revenue,
                            }
                            for m in moments
                            if (s, m) in cells
                        ],
                    }
                    for s, (name, color) in zip(segments, legend, strict=True)
                ],
            )
        )
    labels = {key: gettext(lang, message) for key, message in LABELS.items()}
    return KpiSection(labels=labels, blocks=blocks)
