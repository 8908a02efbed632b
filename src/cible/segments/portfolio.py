"""Guardrails of the segment portfolio: micro-segments, Pareto, overlaps, coverage.

Four views over the current memberships (``segment_id``, ``dimension``,
``customer_id``) and the traits of a run, each an Ibis expression:

- :func:`micro_segments`: segments with members but fewer than ``[portfolio]
  min_size`` customers, or less than ``min_revenue_share`` of revenue; too small to
  be worth a campaign of their own, or to give stable figures.
- :func:`pareto_summary` and :func:`pareto_segments`: the top ``pareto_top_share``
  (20%) of buyers by ``monetary_value`` (ties broken by customer id), the share of
  revenue they bring, and, per segment, how many of them it holds.
- :func:`overlap`: for two dimensions, customers in segment ``a`` of one and ``b``
  of the other, with the Jaccard index ``|a and b| / |a or b|``.
- :func:`coverage`: per dimension, customers in none of its segments.

:func:`build_portfolio` gathers them for the report.

Examples
--------
>>> import ibis
>>> traits = ibis.memtable({"customer_id": list("abcde"), "frequency": [3, 1, 1, 2, 0],
...     "monetary_value": [600.0, 100.0, 50.0, 250.0, 0.0]})
>>> row = pareto_summary(traits, 0.2).to_pyarrow().to_pylist()[0]
>>> row["buyers"], row["top_customers"], row["revenue_share"]
(4, 1, 0.6)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from cible.domain.config import PortfolioSection
from cible.segments.catalog import SegmentInfo
from cible.segments.summary import segment_figures


@dataclass(frozen=True)
class MicroSegment:
    """A segment below the portfolio's minimum size or revenue share."""

    segment_id: str
    name: str
    #: The dimension's title in the report's language (None for a segment without one).
    dimension: str | None
    size: int
    revenue_share: float
    too_small: bool
    low_revenue: bool


@dataclass(frozen=True)
class ParetoRow:
    """How many of the top customers by monetary value one segment holds."""

    segment_id: str
    name: str
    color: str
    top_customers: int
    #: Share of all top customers found in this segment.
    share_of_top: float
    #: Share of the segment's own members who are top customers.
    top_density: float


@dataclass(frozen=True)
class ParetoView:
    """Revenue concentration: the top ``top_share`` of buyers and where they sit."""

    top_share: float
    buyers: int
    top_customers: int
    #: Share of revenue coming from the top customers.
    revenue_share: float
    #: Dimension title -> its segments, most top customers first.
    by_dimension: list[tuple[str, list[ParetoRow]]]


@dataclass(frozen=True)
class OverlapMatrix:
    """Customers in segment ``rows[i]`` of one dimension and ``columns[j]`` of another."""

    dimension_x: str
    dimension_y: str
    title_x: str
    title_y: str
    rows: list[str]
    columns: list[str]
    counts: list[list[int]]
    #: Jaccard index: shared customers over customers in either segment.
    jaccard: list[list[float]]


@dataclass(frozen=True)
class Coverage:
    """Customers a dimension leaves out: in none of its segments."""

    dimension: str
    title: str
    covered: int
    uncovered: int
    uncovered_share: float


@dataclass(frozen=True)
class Portfolio:
    """Guardrails of the segment portfolio."""

    min_size: int
    min_revenue_share: float
    micro_segments: list[MicroSegment]
    pareto: ParetoView | None
    overlaps: list[OverlapMatrix]
    coverage: list[Coverage]


def micro_segments(figures: Any, min_size: int, min_revenue_share: float) -> Any:
    """Segments of :func:`~cible.segments.summary.segment_figures` below either floor.

    Returns
    -------
    ibis.Table
        ``segment_id``, ``size``, ``revenue_share``, ``too_small``, ``low_revenue``
        for every segment that has members and fails at least one floor.

    Examples
    --------
    >>> import ibis
    >>> figures = ibis.memtable({"segment_id": ["big", "tiny"], "size": [900, 12],
    ...     "revenue_share": [0.6, 0.2]})
    >>> micro_segments(figures, 100, 0.01).segment_id.to_pyarrow().to_pylist()
    ['tiny']
    """
    flagged = figures.select(
        "segment_id",
        "size",
        "revenue_share",
        too_small=figures.size < min_size,
        low_revenue=figures.revenue_share < min_revenue_share,
    )
    return flagged.filter(flagged.too_small | flagged.low_revenue)


def _ranked_buyers(traits: Any, top_share: float) -> Any:
    """Buyers with ``is_top``: among the first ``ceil(top_share * buyers)`` by value."""
    buyers = traits.filter(traits.frequency.fill_null(0) > 0).select(
        "customer_id", monetary=traits.monetary_value.fill_null(0.0)
    )
    window = ibis.window(order_by=[buyers.monetary.desc(), buyers.customer_id.asc()])
    counted = buyers.mutate(
        _position=ibis.row_number().over(window), _buyers=buyers.count().over(ibis.window())
    )
    # row_number starts at 0: the first k rows are those with a position below k.
    cut = (counted._buyers.cast(dt.float64) * top_share).ceil()
    return counted.select("customer_id", "monetary", is_top=counted._position < cut)


def pareto_summary(traits: Any, top_share: float) -> Any:
    """One row: ``buyers``, ``top_customers``, ``revenue``, ``top_revenue``, ``revenue_share``."""
    ranked = _ranked_buyers(traits, top_share)
    totals = ranked.aggregate(
        buyers=ranked.count(),
        top_customers=ranked.count(where=ranked.is_top),
        revenue=ranked.monetary.sum().fill_null(0.0),
        top_revenue=ranked.monetary.sum(where=ranked.is_top).fill_null(0.0),
    )
    return totals.mutate(
        revenue_share=ibis.cases(
            (totals.revenue > 0, totals.top_revenue / totals.revenue),
            else_=ibis.null(dt.float64),
        )
    )


def pareto_segments(traits: Any, members: Any, top_share: float) -> Any:
    """Per segment: ``top_customers``, ``share_of_top`` and ``top_density``.

    ``share_of_top`` is the share of all top customers in the segment (the segments
    of one exclusive dimension add up to at most 1); ``top_density`` the share of
    the segment's members who are top customers.
    """
    ranked = _ranked_buyers(traits, top_share)
    all_top = ranked.aggregate(_all_top=ranked.count(where=ranked.is_top))
    joined = members.left_join(ranked, members.customer_id == ranked.customer_id)
    per = joined.group_by(["segment_id", "dimension"]).aggregate(
        size=joined.count(),
        top_customers=joined.count(where=joined.is_top.fill_null(False)),
    )
    both = per.cross_join(all_top)
    return both.select(
        "segment_id",
        "dimension",
        "top_customers",
        share_of_top=both.top_customers / ibis.greatest(both._all_top, 1),
        top_density=both.top_customers / ibis.greatest(both.size, 1),
    )


def overlap(members: Any, dimension_x: str, dimension_y: str) -> Any:
    """Customers shared by each segment of ``dimension_x`` and each of ``dimension_y``.

    Returns
    -------
    ibis.Table
        ``segment_x``, ``segment_y``, ``customers`` (at least 1: pairs that share no
        one are absent) and ``jaccard``.

    Examples
    --------
    >>> import ibis
    >>> members = ibis.memtable({"segment_id": ["gold", "gold", "new", "new"],
    ...     "dimension": ["value", "value", "lifecycle", "lifecycle"],
    ...     "customer_id": ["a", "b", "b", "c"]})
    >>> overlap(members, "value", "lifecycle").to_pyarrow().to_pylist()
    [{'segment_x': 'gold', 'segment_y': 'new', 'customers': 1, 'jaccard': 0.3333333333333333}]
    """
    x = members.filter(members.dimension == dimension_x).select(
        segment_x="segment_id", _cx="customer_id"
    )
    y = members.filter(members.dimension == dimension_y).select(
        segment_y="segment_id", _cy="customer_id"
    )
    size_x = x.group_by("segment_x").aggregate(size_x=x.count())
    size_y = y.group_by("segment_y").aggregate(size_y=y.count())
    shared = x.join(y, x._cx == y._cy)
    pairs = shared.group_by(["segment_x", "segment_y"]).aggregate(customers=shared.count())
    sized = pairs.join(size_x, "segment_x").join(size_y, "segment_y")
    return sized.select(
        "segment_x",
        "segment_y",
        "customers",
        jaccard=sized.customers / (sized.size_x + sized.size_y - sized.customers),
    )


def coverage(traits: Any, members: Any) -> Any:
    """Per dimension with members: ``covered``, ``uncovered``, ``uncovered_share``.

    Examples
    --------
    >>> import ibis
    >>> traits = ibis.memtable({"customer_id": ["a", "b", "c", "d"]})
    >>> members = ibis.memtable({"segment_id": ["gold"], "dimension": ["value"],
    ...     "customer_id": ["a"]})
    >>> row = coverage(traits, members).to_pyarrow().to_pylist()[0]
    >>> row["covered"], row["uncovered"], row["uncovered_share"]
    (1, 3, 0.75)
    """
    total = traits.aggregate(_customers=traits.count())
    dimensioned = members.filter(members.dimension.notnull())
    covered = dimensioned.group_by("dimension").aggregate(covered=dimensioned.customer_id.nunique())
    both = covered.cross_join(total)
    uncovered = both._customers - both.covered
    return both.select(
        "dimension",
        "covered",
        uncovered=uncovered,
        uncovered_share=uncovered / ibis.greatest(both._customers, 1),
    )


def build_portfolio(
    traits: Any,
    members: Any,
    infos: list[SegmentInfo],
    settings: PortfolioSection,
    *,
    lang: str,
    dimensions: list[str],
    titles: dict[str, str],
) -> Portfolio:
    """The report's guardrails section, in ``lang``.

    Parameters
    ----------
    traits, members : ibis.Table
        Traits of the latest run and its current memberships.
    infos : list of SegmentInfo
        Every segment (names, colours, figures).
    settings : PortfolioSection
        Floors, the Pareto share and the overlap pairs.
    dimensions : list of str
        Dimensions shown, in order; ``titles`` names them in ``lang``.
    """
    by_id = {info.id: info for info in infos}
    figures = segment_figures(traits, members.select("segment_id", "customer_id"))
    flagged = micro_segments(figures, settings.min_size, settings.min_revenue_share)
    micro = [
        MicroSegment(
            segment_id=row["segment_id"],
            name=_name(by_id, row["segment_id"], lang),
            dimension=_dimension_title(by_id, row["segment_id"], titles),
            size=int(row["size"]),
            revenue_share=float(row["revenue_share"]),
            too_small=bool(row["too_small"]),
            low_revenue=bool(row["low_revenue"]),
        )
        for row in flagged.order_by(["segment_id"]).to_pyarrow().to_pylist()
    ]
    return Portfolio(
        min_size=settings.min_size,
        min_revenue_share=settings.min_revenue_share,
        micro_segments=micro,
        pareto=_pareto_view(traits, members, by_id, settings, lang, dimensions, titles),
        overlaps=[
            _matrix(members, by_id, x, y, lang, titles)
            for x, y in settings.overlap
            if x in dimensions and y in dimensions
        ],
        coverage=_coverage(traits, members, dimensions, titles),
    )


def _dimension_title(
    by_id: dict[str, SegmentInfo], segment_id: str, titles: dict[str, str]
) -> str | None:
    info = by_id.get(segment_id)
    if info is None or info.dimension is None:
        return None
    return titles.get(info.dimension, info.dimension)


def _name(by_id: dict[str, SegmentInfo], segment_id: str, lang: str) -> str:
    info = by_id.get(segment_id)
    return info.label(lang) if info else segment_id


def _pareto_view(
    traits: Any,
    members: Any,
    by_id: dict[str, SegmentInfo],
    settings: PortfolioSection,
    lang: str,
    dimensions: list[str],
    titles: dict[str, str],
) -> ParetoView | None:
    summary = pareto_summary(traits, settings.pareto_top_share).to_pyarrow().to_pylist()[0]
    if not summary["buyers"]:
        return None
    rows = pareto_segments(traits, members, settings.pareto_top_share).to_pyarrow().to_pylist()
    by_dimension = []
    for dimension in dimensions:
        chosen = sorted(
            (r for r in rows if r["dimension"] == dimension),
            key=lambda r: (-r["top_customers"], r["segment_id"]),
        )
        if chosen:
            by_dimension.append(
                (
                    titles.get(dimension, dimension),
                    [
                        ParetoRow(
                            segment_id=r["segment_id"],
                            name=_name(by_id, r["segment_id"], lang),
                            color=by_id[r["segment_id"]].color
                            if r["segment_id"] in by_id
                            else "#495057",
                            top_customers=int(r["top_customers"]),
                            share_of_top=float(r["share_of_top"]),
                            top_density=float(r["top_density"]),
                        )
                        for r in chosen
                    ],
                )
            )
    return ParetoView(
        top_share=settings.pareto_top_share,
        buyers=int(summary["buyers"]),
        top_customers=int(summary["top_customers"]),
        revenue_share=float(summary["revenue_share"] or 0.0),
        by_dimension=by_dimension,
    )


def _matrix(
    members: Any,
    by_id: dict[str, SegmentInfo],
    dimension_x: str,
    dimension_y: str,
    lang: str,
    titles: dict[str, str],
) -> OverlapMatrix:
    found = overlap(members, dimension_x, dimension_y).to_pyarrow().to_pylist()
    # Rows and columns in catalogue order, with the segments that have members only.
    rows = _ordered(by_id, dimension_x, {r["segment_x"] for r in found})
    columns = _ordered(by_id, dimension_y, {r["segment_y"] for r in found})
    cells = {(r["segment_x"], r["segment_y"]): r for r in found}
    return OverlapMatrix(
        dimension_x=dimension_x,
        dimension_y=dimension_y,
        title_x=titles.get(dimension_x, dimension_x),
        title_y=titles.get(dimension_y, dimension_y),
        rows=[_name(by_id, s, lang) for s in rows],
        columns=[_name(by_id, s, lang) for s in columns],
        counts=[
            [int(cells[(a, b)]["customers"]) if (a, b) in cells else 0 for b in columns]
            for a in rows
        ],
        jaccard=[
            [float(cells[(a, b)]["jaccard"]) if (a, b) in cells else 0.0 for b in columns]
            for a in rows
        ],
    )


def _ordered(by_id: dict[str, SegmentInfo], dimension: str, present: set[str]) -> list[str]:
    known = [i.id for i in by_id.values() if i.dimension == dimension and i.id in present]
    return known + sorted(present - set(known))


def _coverage(
    traits: Any, members: Any, dimensions: list[str], titles: dict[str, str]
) -> list[Coverage]:
    found = {r["dimension"]: r for r in coverage(traits, members).to_pyarrow().to_pylist()}
    customers = int(traits.count().execute())
    result = []
    for dimension in dimensions:
        row = found.get(dimension)
        covered = int(row["covered"]) if row else 0
        result.append(
            Coverage(
                dimension=dimension,
                title=titles.get(dimension, dimension),
                covered=covered,
                uncovered=customers - covered,
                uncovered_share=(customers - covered) / customers if customers else 0.0,
            )
        )
    return result
