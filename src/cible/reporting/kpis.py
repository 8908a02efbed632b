"""The report's "KPIs per segment" section: the latest period's KPIs and two small charts.

Per dimension, a table of each segment's KPIs at the latest moment (now) and two
inline-SVG line charts, size and revenue per segment over the moments kept (each
kept snapshot and now). Coordinates are computed here, so the template only writes
numbers; names and texts are escaped by the template like everything else.

Examples
--------
>>> chart = line_chart([[1.0, 3.0], [2.0, 2.0]], 2)
>>> chart.lines[0], chart.top
('40.0,72.0 440.0,8.0', 3.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from cible.locale import gettext
from cible.locale.kpi_labels import LABELS
from cible.segments.catalog import SegmentInfo
from cible.segments.kpis import KpiRow

#: Chart geometry in SVG user units: plot area from LEFT to WIDTH-RIGHT, TOP to BOTTOM.
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 480, 130, 40, 40, 8, 104


@dataclass(frozen=True)
class LineChart:
    """Polylines in SVG units, one per series, with the axis top value."""

    #: ``"x,y x,y ..."`` per series.
    lines: list[str]
    #: The last point of each series, for a dot and its label.
    ends: list[tuple[float, float]]
    top: float


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
    moments: list[datetime]
    #: Name and colour of each chart line, in the charts' order.
    legend: list[tuple[str, str]]
    size_chart: LineChart
    revenue_chart: LineChart


@dataclass(frozen=True)
class KpiSection:
    """The whole section: translated labels and one block per dimension."""

    labels: dict[str, str]
    blocks: list[KpiBlock]


def line_chart(series: list[list[float]], points: int) -> LineChart:
    """Scale series of ``points`` values each into the chart's plot area (0 at the bottom)."""
    # A corrupt amount can make a revenue infinite or NaN: it draws at 0, off the scale.
    series = [[v if math.isfinite(v) else 0.0 for v in values] for values in series]
    top = max((value for values in series for value in values), default=0.0) or 1.0
    step = (WIDTH - LEFT - RIGHT) / max(points - 1, 1)

    def at(index: int, value: float) -> tuple[float, float]:
        x = LEFT + index * step if points > 1 else (WIDTH) / 2
        return round(x, 1), round(BOTTOM - (BOTTOM - TOP) * value / top, 1)

    lines, ends = [], []
    for values in series:
        coords = [at(i, v) for i, v in enumerate(values)]
        lines.append(" ".join(f"{x},{y}" for x, y in coords))
        ends.append(coords[-1])
    return LineChart(lines=lines, ends=ends, top=top)


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
        here = [m for m in moments if any((s, m) in cells for s in segments)]

        blocks.append(
            KpiBlock(
                dimension=dimension,
                title=titles.get(dimension, dimension),
                period_start=shown[0].row.period_start if shown else latest,
                as_of=latest,
                segments=shown,
                moments=here,
                legend=legend,
                size_chart=_series(cells, segments, here, "size"),
                revenue_chart=_series(cells, segments, here, "revenue"),
            )
        )
    labels = {key: gettext(lang, message) for key, message in LABELS.items()}
    return KpiSection(labels=labels, blocks=blocks)


def _series(
    cells: dict[tuple[str, datetime], KpiRow],
    segments: list[str],
    moments: list[datetime],
    field: str,
) -> LineChart:
    """One line per segment of ``field`` over ``moments`` (0 where it had no members)."""
    values = [
        [float(getattr(cells[(s, m)], field)) if (s, m) in cells else 0.0 for m in moments]
        for s in segments
    ]
    return line_chart(values, len(moments))
