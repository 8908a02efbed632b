"""The geometry of a Sankey chart of a migration: node rectangles and closed Bezier bands.

Two columns of nodes, the segments at the start (left) and at the end (right), each
as tall as its customers (one scale for both columns, so equal counts draw equal
heights), with gaps between them. Each non-zero cell of the migration matrix is a
band, a closed path of two cubic Bezier curves joined by straight ends, whose
thickness at both ends is its count on the same scale. A node's bands are stacked
in the order of the nodes at their other end, so a node's bands fill it exactly and
bands cross as little as that order allows.

The layout is plain arithmetic on counts, written by hand: the Sankey helpers that
exist draw through a plotting library or JavaScript (matplotlib's ``Sankey`` draws a
single flow diagram, Plotly and d3-sankey need a script in the page), while the
report is one offline HTML file whose charts are inline SVG drawn by its templates.
The template only writes out the numbers computed here.

A migration with many segments stays readable and bounded: beyond ``max_nodes`` nodes
in a column, the smallest segments are merged into one node (``other_key``), and a
band under ``min_share`` of the customers is marked ``thin`` (drawn without outline);
every band keeps its exact count for its tooltip.

Examples
--------
>>> chart = layout_sankey({("a", "a"): 30, ("a", "b"): 10, ("b", "b"): 60},
...                       height=200, gap=10)
>>> [(n.key, n.count, round(n.height, 1)) for n in chart.side("source")]
[('a', 40, 76.0), ('b', 60, 114.0)]
>>> [(n.key, n.count, round(n.height, 1)) for n in chart.side("target")]
[('a', 30, 57.0), ('b', 70, 133.0)]
>>> [(b.source, b.target, b.customers, round(b.thickness, 1)) for b in chart.bands]
[('a', 'a', 30, 57.0), ('a', 'b', 10, 19.0), ('b', 'b', 60, 114.0)]
>>> chart.bands[0].path[:30]
'M 174.00 0.00 C 360.00 0.00 36'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

#: The key of customers in no segment; drawn grey.
NONE_KEY = "(none)"
#: The key of the node the smallest segments are merged into.
OTHER_KEY = "(other)"
#: Grey of the customers in no segment, and of merged segments.
GREY = "#adb5bd"
#: Nodes shorter than this (in pixels) get no label; their tooltip still has it.
MIN_LABEL_HEIGHT = 11.0


@dataclass(frozen=True)
class SankeyNode:
    """A segment at one moment: ``side`` is ``source`` (start) or ``target`` (end)."""

    key: str
    label: str
    color: str
    side: str
    count: int
    share: float
    x: float
    y: float
    width: float
    height: float
    #: Segments merged into this node (1 for a segment of its own).
    merged: int = 1

    @property
    def labelled(self) -> bool:
        """Whether the node is tall enough for a label beside it."""
        return self.height >= MIN_LABEL_HEIGHT


@dataclass(frozen=True)
class SankeyBand:
    """Customers who went from ``source`` to ``target``.

    ``source_top`` and ``target_top`` are where the band meets each node; it is
    ``thickness`` tall at both ends. ``path`` is the closed SVG path.
    """

    source: str
    target: str
    source_label: str
    target_label: str
    color: str
    customers: int
    share_of_source: float
    source_top: float
    target_top: float
    thickness: float
    path: str
    #: Under ``min_share`` of the customers: drawn without outline.
    thin: bool


@dataclass(frozen=True)
class Sankey:
    """A laid-out Sankey chart in a ``width`` x ``height`` box (SVG user units)."""

    width: float
    height: float
    total: int
    nodes: list[SankeyNode] = field(default_factory=list)
    bands: list[SankeyBand] = field(default_factory=list)

    def side(self, side: str) -> list[SankeyNode]:
        """The nodes of one column, top to bottom."""
        return [n for n in self.nodes if n.side == side]


def layout_sankey(
    counts: Mapping[tuple[str, str], int],
    *,
    labels: Mapping[str, str] | None = None,
    colors: Mapping[str, str] | None = None,
    order: Sequence[str] = (),
    width: float = 720.0,
    height: float = 360.0,
    node_width: float = 12.0,
    margin: float = 162.0,
    gap: float = 8.0,
    max_nodes: int = 24,
    min_share: float = 0.005,
    other_label: str = "other",
) -> Sankey:
    """Lay out the migration ``counts`` (``(source, target) -> customers``).

    Parameters
    ----------
    counts
        Customers per (segment at the start, segment at the end); zeros are ignored.
    labels, colors
        Each segment's label and colour (the key and :data:`GREY` by default);
        :data:`NONE_KEY` is always grey.
    order
        The segments' order, top to bottom; others follow by key, :data:`NONE_KEY`
        and the merged node last.
    width, height
        The drawing's box. Nodes sit ``margin`` from the left and right edges, which
        leaves room for their labels.
    node_width, gap
        A node's width; the gap between nodes, narrowed when many nodes would not
        otherwise fit in half the height.
    max_nodes
        At most this many nodes in a column: the smallest segments (by their larger
        count at either moment) are merged into one node, :data:`OTHER_KEY`.
    min_share
        Bands under this share of all customers are marked ``thin``.
    other_label
        The merged node's label.

    Returns
    -------
    Sankey
        Nodes (sources then targets, each top to bottom) and bands (by source, then
        by target, in node order).
    """
    if width <= 2 * (margin + node_width) or height <= 0:
        raise ValueError("the box is too small for two columns of nodes")
    if max_nodes < 2:
        raise ValueError("max_nodes must be at least 2")
    positive = {pair: int(n) for pair, n in counts.items() if n > 0}
    labels, colors = dict(labels or {}), dict(colors or {})
    total = sum(positive.values())
    if not total:
        return Sankey(width, height, 0)
    merged_keys = _merged(positive, max_nodes)
    grouped: dict[tuple[str, str], int] = {}
    for (source, target), n in positive.items():
        pair = (_group(source, merged_keys), _group(target, merged_keys))
        grouped[pair] = grouped.get(pair, 0) + n
    rank = _ranking(order)
    sources = sorted({s for s, _ in grouped}, key=rank)
    targets = sorted({t for _, t in grouped}, key=rank)
    most = max(len(sources), len(targets))
    # Gaps take at most half the height, so that nodes keep at least the other half.
    space = min(gap, height / 2 / (most - 1)) if most > 1 else 0.0
    scale = (height - space * (most - 1)) / total

    def label(key: str) -> str:
        if key == OTHER_KEY:
            return other_label
        return labels.get(key, key)

    def color(key: str) -> str:
        return GREY if key in (NONE_KEY, OTHER_KEY) else colors.get(key, GREY)

    def column(keys: list[str], side: str, x: float, index: int) -> list[SankeyNode]:
        nodes, y = [], 0.0
        for key in keys:
            count = sum(n for pair, n in grouped.items() if pair[index] == key)
            nodes.append(
                SankeyNode(
                    key=key,
                    label=label(key),
                    color=color(key),
                    side=side,
                    count=count,
                    share=count / total,
                    x=x,
                    y=y,
                    width=node_width,
                    height=count * scale,
                    merged=len(merged_keys) if key == OTHER_KEY else 1,
                )
            )
            y += count * scale + space
        return nodes

    left = column(sources, "source", margin, 0)
    right = column(targets, "target", width - margin - node_width, 1)
    # Where the next band leaves each source and enters each target.
    out_at = {n.key: n.y for n in left}
    in_at = {n.key: n.y for n in right}
    # Bands enter each target in source order: compute entry points in that order first.
    entry: dict[tuple[str, str], float] = {}
    for source in sources:
        for target in targets:
            if (source, target) in grouped:
                entry[(source, target)] = in_at[target]
                in_at[target] += grouped[(source, target)] * scale
    by_source = {n.key: n.count for n in left}
    x0, x1 = margin + node_width, width - margin - node_width
    bands = []
    for source in sources:
        for target in targets:
            n = grouped.get((source, target), 0)
            if not n:
                continue
            thickness = n * scale
            top0, top1 = out_at[source], entry[(source, target)]
            out_at[source] += thickness
            bands.append(
                SankeyBand(
                    source=source,
                    target=target,
                    source_label=label(source),
                    target_label=label(target),
                    color=color(source),
                    customers=n,
                    share_of_source=n / by_source[source],
                    source_top=top0,
                    target_top=top1,
                    thickness=thickness,
                    path=band_path(x0, top0, x1, top1, thickness),
                    thin=n / total < min_share,
                )
            )
    return Sankey(width, height, total, [*left, *right], bands)


def band_path(x0: float, y0: float, x1: float, y1: float, thickness: float) -> str:
    """A closed band from ``(x0, y0)`` to ``(x1, y1)``, ``thickness`` tall at both ends.

    The top and bottom edges are cubic Beziers with their control points halfway
    across, so the band leaves and enters its nodes horizontally.

    Examples
    --------
    >>> for part in band_path(0, 0, 100, 50, 10).split(" L "):
    ...     print(part)
    M 0.00 0.00 C 50.00 0.00 50.00 50.00 100.00 50.00
    100.00 60.00 C 50.00 60.00 50.00 10.00 0.00 10.00 Z
    """
    mid = (x0 + x1) / 2
    b0, b1 = y0 + thickness, y1 + thickness
    return (
        f"M {x0:.2f} {y0:.2f} C {mid:.2f} {y0:.2f} {mid:.2f} {y1:.2f} {x1:.2f} {y1:.2f} "
        f"L {x1:.2f} {b1:.2f} C {mid:.2f} {b1:.2f} {mid:.2f} {b0:.2f} {x0:.2f} {b0:.2f} Z"
    )


def _merged(counts: Mapping[tuple[str, str], int], max_nodes: int) -> set[str]:
    """The segments merged into :data:`OTHER_KEY`: the smallest beyond ``max_nodes - 1``.

    A segment's size is its larger count at either moment; :data:`NONE_KEY` is
    never merged (it says something different from a small segment).
    """
    at_start: dict[str, int] = {}
    at_end: dict[str, int] = {}
    for (source, target), n in counts.items():
        at_start[source] = at_start.get(source, 0) + n
        at_end[target] = at_end.get(target, 0) + n
    if max(len(at_start), len(at_end)) <= max_nodes:
        return set()
    sizes = {k: max(at_start.get(k, 0), at_end.get(k, 0)) for k in {*at_start, *at_end}}
    sizes.pop(NONE_KEY, None)
    # One place goes to the merged node and one to (none), whether or not it is there.
    keep = max_nodes - 2
    ranked = sorted(sizes, key=lambda k: (-sizes[k], k))
    return set(ranked[keep:])


def _group(key: str, merged: set[str]) -> str:
    return OTHER_KEY if key in merged else key


def _ranking(order: Sequence[str]) -> Callable[[str], tuple[int, int, str]]:
    """A sort key: ``order`` first, then the others by key, then (none), then merged."""
    place = {key: i for i, key in enumerate(order)}

    def key(k: str) -> tuple[int, int, str]:
        if k == OTHER_KEY:
            return (3, 0, k)
        if k == NONE_KEY:
            return (2, 0, k)
        if k in place:
            return (0, place[k], k)
        return (1, 0, k)

    return key
