"""Charts as Vega-Lite specs, built with Altair: one definition for every place they show.

The web pages draw a spec with the vendored vega-embed; the same spec can be rendered
to SVG for the offline report. Specs carry their data inline (small: one row per
segment and moment) and the segments' own colours, and no reference to a remote
schema or data URL, so nothing is fetched when they are drawn.

Examples
--------
>>> from datetime import datetime
>>> spec = size_trend(
...     [{"id": "vip", "name": {"en": "VIP"}, "color": "#d9480f",
...       "trend": [{"as_of": datetime(2024, 1, 31), "size": 10},
...                 {"as_of": datetime(2024, 2, 29), "size": 12}]}], "en")
>>> spec["mark"]["type"], len(spec["data"]["values"]), spec["encoding"]["color"]["scale"]["range"]
('line', 2, ['#d9480f'])
>>> "$schema" in spec
False
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import altair as alt

from cible.activation.campaign_analysis import ALL
from cible.locale import gettext
from cible.locale.messages import text

if TYPE_CHECKING:
    from cible.reporting.campaigns import CampaignRow, ParetoBar
    from cible.reporting.model import SegmentRow
    from cible.segments.personas import PersonaCard
    from cible.segments.portfolio import Coverage, ParetoRow

#: Width of a chart drawn for a page of fixed width (the report), in pixels.
WIDTH = 640
_GAIN, _LOSS, _GREY, _BLUE, _ORANGE = "#2b8a3e", "#c92a2a", "#868e96", "#1c7ed6", "#e8590c"
_UNCOVERED = "#e03131"

#: Specs kept by :func:`_kept`, the oldest dropped first beyond this many.
KEPT_SPECS = 128

Build = Callable[[Sequence[dict[str, Any]], str], dict[str, Any]]


def _kept(build: Build) -> Build:
    """``build``, its specs kept by their inputs: a page draws the same charts until the
    next run, and Altair takes about 12 ms a chart (the overview has a dozen)."""
    specs: dict[str, dict[str, Any]] = {}

    @functools.wraps(build)
    def kept(segments: Sequence[dict[str, Any]], lang: str) -> dict[str, Any]:
        key = json.dumps([list(segments), lang], default=str, sort_keys=True)
        if key not in specs:
            if len(specs) >= KEPT_SPECS:
                specs.pop(next(iter(specs)))
            specs[key] = build(segments, lang)
        # A copy: the caller may change its spec.
        return copy.deepcopy(specs[key])

    return kept


@_kept
def size_trend(segments: Sequence[dict[str, Any]], lang: str) -> dict[str, Any]:
    """A line per segment: its size at each moment of its ``trend``, in its colour."""
    return metric_trend(segments, lang, "size", gettext(lang, "Customers"))


def metric_trend(
    segments: Sequence[dict[str, Any]], lang: str, measure: str, title: str
) -> dict[str, Any]:
    """A line per segment: its ``measure`` at each moment of its ``trend``, in its colour.

    Each point of a segment's ``trend`` holds ``as_of`` (a datetime) and ``measure``.
    Moments are read in UTC, as stored, whatever the reader's time zone.
    """
    rows = [
        {
            "segment": _label(seg, lang),
            "as_of": point["as_of"].strftime("%Y-%m-%d"),
            measure: point[measure],
        }
        for seg in segments
        for point in seg.get("trend", [])
    ]
    names = [_label(seg, lang) for seg in segments]
    colours = [seg["color"] for seg in segments]
    chart = (
        alt.Chart(_data(rows), description=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("as_of:T", title=gettext(lang, "Date"), scale=alt.Scale(type="utc")),
            y=alt.Y(f"{measure}:Q", title=title),
            color=alt.Color(
                "segment:N",
                title=gettext(lang, "Segment"),
                scale=alt.Scale(domain=names, range=colours),
            ),
            tooltip=["segment:N", "as_of:T", f"{measure}:Q"],
        )
        .properties(width="container", height=180)
    )
    return _plain(chart)


@_kept
def revenue_shares(segments: Sequence[dict[str, Any]], lang: str) -> dict[str, Any]:
    """One bar per segment: its share of customers beside its share of revenue."""
    rows = [
        {"segment": _label(seg, lang), "measure": gettext(lang, measure), "share": seg[key]}
        for seg in segments
        for key, measure in (("customer_share", "Customers"), ("revenue_share", "Revenue"))
    ]
    chart = (
        alt.Chart(
            _data(rows),
            description=gettext(lang, "Share of customers")
            + " · "
            + gettext(lang, "Share of revenue"),
        )
        .mark_bar()
        .encode(
            y=alt.Y("segment:N", title=None, sort=[_label(s, lang) for s in segments]),
            x=alt.X("share:Q", title=None, axis=alt.Axis(format="%")),
            yOffset="measure:N",
            color=alt.Color("measure:N", title=None),
            tooltip=["segment:N", "measure:N", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(width="container")
    )
    return _plain(chart)


def segment_shares(rows: Sequence[SegmentRow], lang: str) -> dict[str, Any]:
    """:func:`revenue_shares` of a dimension's segments as the report holds them."""
    return revenue_shares(
        [
            {
                "id": row.segment_id,
                "name": {lang: row.name},
                "customer_share": row.customer_share,
                "revenue_share": row.revenue_share,
            }
            for row in rows
        ],
        lang,
    )


def funnel(stages: Sequence[SegmentRow], lang: str) -> dict[str, Any]:
    """The lifecycle funnel: a centred bar per stage, in order, with its size and share."""
    rows = [
        {"segment": s.name, "size": s.size, "share": s.customer_share, "color": s.color}
        for s in stages
    ]
    widest = max((s.size for s in stages), default=0) or 1
    # Vega centres each bar on half the widest; that one takes 64% of the width, so that
    # the labels on the right clear every bar.
    domain = [widest / 2 - widest / 1.28, widest / 2 + widest / 1.28]
    base = alt.Chart(_data(rows)).encode(
        y=alt.Y("segment:N", title=None, sort=[s.name for s in stages])
    )
    bars = base.mark_bar(cornerRadius=4).encode(
        x=alt.X("size:Q", stack="center", axis=None, scale=alt.Scale(domain=domain)),
        color=alt.Color("color:N", scale=None),
        tooltip=["segment:N", "size:Q", alt.Tooltip("share:Q", format=".1%")],
    )
    labels = (
        base.transform_calculate(
            label="format(datum.size, ',') + ' · ' + format(datum.share, '.1%')"
        )
        .mark_text(align="right")
        .encode(x=alt.value(WIDTH), text="label:N")
    )
    chart = alt.layer(bars, labels, description=text("funnel", lang)).properties(width=WIDTH)
    return _plain(chart)


def share_bars(items: Sequence[tuple[str, float, str]], description: str) -> dict[str, Any]:
    """A bar per ``(label, share, colour)`` on a 0 to 100 % axis, in the order given."""
    rows = [{"label": label, "share": share, "color": color} for label, share, color in items]
    chart = (
        alt.Chart(_data(rows), description=description)
        .mark_bar(cornerRadius=3)
        .encode(
            y=alt.Y("label:N", title=None, sort=[item[0] for item in items]),
            x=alt.X(
                "share:Q", title=None, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])
            ),
            color=alt.Color("color:N", scale=None),
            tooltip=["label:N", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(width=WIDTH)
    )
    return _plain(chart)


def pareto_items(rows: Sequence[ParetoRow]) -> list[tuple[str, float, str]]:
    """:func:`share_bars` items of a dimension's segments: their share of the top customers."""
    return [(row.name, row.share_of_top, row.color) for row in rows]


def coverage_items(coverage: Sequence[Coverage]) -> list[tuple[str, float, str]]:
    """:func:`share_bars` items of the dimensions: the share of customers in none."""
    return [(c.title, c.uncovered_share, _UNCOVERED) for c in coverage]


def quality_trend(scores: Sequence[float], lang: str) -> dict[str, Any]:
    """The quality score of each stored audit, oldest first."""
    rows = [{"audit": number, "score": score} for number, score in enumerate(scores, start=1)]
    low = max(min(scores, default=0.0) - 5, 0.0)
    chart = (
        alt.Chart(_data(rows), description=text("quality_score", lang))
        .mark_line(point=True, color="#1c7ed6")
        .encode(
            x=alt.X("audit:O", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("score:Q", title=None, scale=alt.Scale(domain=[low, 100])),
            tooltip=["audit:O", alt.Tooltip("score:Q", format=".1f")],
        )
        .properties(width=240, height=80)
    )
    return _plain(chart)


def lift_forest(rows: Sequence[CampaignRow], name: str, lang: str) -> dict[str, Any] | None:
    """A campaign's revenue lifts with their intervals, a row per segment and variant.

    None when no row has a lift with an interval.
    """
    points = [
        {
            "label": (text("campaign_all", lang) if r.segment == ALL else r.segment)
            + " · "
            + r.variant,
            "lift": r.lift,
            "low": r.lift_low,
            "high": r.lift_high,
            "significant": r.significant,
        }
        for r in rows
        if r.lift is not None and r.lift_low is not None and r.lift_high is not None
    ]
    if not points:
        return None
    colour = alt.condition("datum.significant", alt.value(_GAIN), alt.value(_GREY))
    base = alt.Chart().encode(
        y=alt.Y("label:N", title=None, sort=[str(p["label"]) for p in points])
    )
    axis = alt.Axis(format="+.0%")
    title = text("campaign_lift", lang)
    interval = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("low:Q", title=title, axis=axis), x2="high:Q", color=colour
    )
    dot = base.mark_point(filled=True, size=50).encode(
        x="lift:Q",
        color=colour,
        tooltip=[
            "label:N",
            alt.Tooltip("lift:Q", format="+.1%"),
            alt.Tooltip("low:Q", format="+.1%"),
            alt.Tooltip("high:Q", format="+.1%"),
        ],
    )
    zero = alt.Chart(_data([{}])).mark_rule(color="#495057").encode(x=alt.datum(0))
    chart = alt.layer(
        zero,
        interval,
        dot,
        data=_data(points),
        description=text("campaign_forest", lang, name=name),
    ).properties(width=WIDTH - 200, height={"step": 24})
    return _plain(chart)


def profit_pareto(bars: Sequence[ParetoBar], currency: str, lang: str) -> dict[str, Any]:
    """Each segment's net incremental profit over every campaign, largest first."""
    rows = [{"segment": b.segment, "net": b.net, "share": b.share} for b in bars]
    chart = (
        alt.Chart(_data(rows), description=text("campaigns_pareto", lang))
        .mark_bar()
        .encode(
            y=alt.Y("segment:N", title=None, sort=[b.segment for b in bars]),
            x=alt.X("net:Q", title=f"{text('campaigns_net', lang)} ({currency})"),
            color=alt.condition("datum.net >= 0", alt.value(_GAIN), alt.value(_LOSS)),
            tooltip=[
                "segment:N",
                alt.Tooltip("net:Q", format=",.2f"),
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
        .properties(width=WIDTH - 200, height={"step": 24})
    )
    return _plain(chart)


def persona_traits(card: PersonaCard, lang: str) -> dict[str, Any] | None:
    """What sets a persona apart: each trait's mean in the segment beside the whole base's.

    Traits differ in units, so each pair is drawn relative to the larger of its two
    means (the data keeps the means themselves). Traits with a negative mean, or both
    zero, are left out; None when none is left.
    """
    inside, base = text("in_segment", lang), text("base", lang)
    rows = [
        {"trait": d.label.get(lang) or d.trait, "who": who, "mean": mean}
        for d in card.traits
        if d.mean_in >= 0 and d.mean_base >= 0 and (d.mean_in > 0 or d.mean_base > 0)
        for who, mean in ((inside, d.mean_in), (base, d.mean_base))
    ]
    if not rows:
        return None
    chart = (
        alt.Chart(_data(rows), description=text("distinguishing", lang))
        .transform_joinaggregate(top="max(mean)", groupby=["trait"])
        .transform_calculate(relative="datum.mean / datum.top")
        .mark_bar(cornerRadius=2)
        .encode(
            y=alt.Y("trait:N", title=None, sort=None),
            yOffset=alt.YOffset("who:N", sort=[inside, base]),
            x=alt.X("relative:Q", axis=None),
            color=alt.Color(
                "who:N",
                title=None,
                scale=alt.Scale(domain=[inside, base], range=[card.color, _GREY]),
            ),
            tooltip=["trait:N", "who:N", alt.Tooltip("mean:Q", format=",.2f")],
        )
        .properties(width=160)
    )
    return _plain(chart)


def group_shares(
    rows: Sequence[tuple[str, bool, Sequence[tuple[str, float]]]],
    colors: dict[str, str],
    description: str,
    group_title: str,
) -> dict[str, Any]:
    """Stacked bars: per row ``(label, flagged, [(group, share), ...])``, each group's share.

    A flagged row's label ends with ⚑. Groups keep ``colors``' order and colours.
    """
    data = [
        {
            "row": label + (" ⚑" if flagged else ""),
            "group": group,
            "share": share or 0.0,
            "order": list(colors).index(group) if group in colors else len(colors),
        }
        for label, flagged, shares in rows
        for group, share in shares
    ]
    chart = (
        alt.Chart(_data(data), description=description)
        .mark_bar()
        .encode(
            y=alt.Y("row:N", title=None, sort=[r[0] + (" ⚑" if r[1] else "") for r in rows]),
            x=alt.X(
                "share:Q", title=None, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])
            ),
            color=alt.Color(
                "group:N",
                title=group_title,
                scale=alt.Scale(domain=list(colors), range=list(colors.values())),
            ),
            order="order:Q",
            tooltip=["row:N", "group:N", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(width=WIDTH - 200, height={"step": 26})
    )
    return _plain(chart)


def holdout_cumulative(
    points: Sequence[tuple[int, float, float, bool]], lang: str
) -> dict[str, Any]:
    """Cumulative repeat purchases per week, actual and expected; a rule where the holdout starts.

    ``points`` are (week, actual, expected, in holdout).
    """
    actual, expected = text("actual", lang), text("expected", lang)
    rows = [
        {"week": week, "series": name, "purchases": value}
        for week, got, wanted, _ in points
        for name, value in ((actual, got), (expected, wanted))
    ]
    line = (
        alt.Chart(_data(rows))
        .mark_line()
        .encode(
            x=alt.X("week:Q", title=text("week", lang)),
            y=alt.Y("purchases:Q", title=None),
            color=_actual_expected(actual, expected),
            strokeDash=alt.StrokeDash(
                "series:N",
                legend=None,
                scale=alt.Scale(domain=[actual, expected], range=[[1, 0], [6, 3]]),
            ),
            tooltip=["week:Q", "series:N", alt.Tooltip("purchases:Q", format=",.1f")],
        )
    )
    layers: list[Any] = [line]
    split = next((week for week, *_, holdout in points if holdout), None)
    if split is not None:
        mark = alt.Chart().encode(x=alt.datum(split))
        layers += [
            mark.mark_rule(color="#868e96", strokeDash=[4, 4]),
            mark.mark_text(align="left", dx=4, y=8, color="#495057").encode(
                text=alt.datum(text("holdout", lang))
            ),
        ]
    chart = alt.layer(*layers, description=text("holdout_cumulative", lang)).properties(
        width=WIDTH, height=240
    )
    return _plain(chart)


def holdout_by_frequency(
    rows: Sequence[tuple[str, int, float, float]], lang: str
) -> dict[str, Any]:
    """Mean holdout purchases, actual beside expected, by calibration repeat purchases.

    ``rows`` are (repeat purchases in the calibration period, customers, actual, expected).
    """
    actual, expected = text("actual", lang), text("expected", lang)
    data = [
        {"frequency": label, "customers": customers, "series": name, "purchases": value}
        for label, customers, got, wanted in rows
        for name, value in ((actual, got), (expected, wanted))
    ]
    chart = (
        alt.Chart(_data(data), description=text("holdout_by_frequency", lang))
        .mark_bar()
        .encode(
            x=alt.X(
                "frequency:N",
                title=text("calibration_frequency", lang),
                sort=[r[0] for r in rows],
                axis=alt.Axis(labelAngle=0),
            ),
            xOffset=alt.XOffset("series:N", sort=[actual, expected]),
            y=alt.Y("purchases:Q", title=None),
            color=_actual_expected(actual, expected),
            tooltip=[
                "frequency:N",
                "customers:Q",
                "series:N",
                alt.Tooltip("purchases:Q", format=",.2f"),
            ],
        )
        .properties(width=WIDTH, height=240)
    )
    return _plain(chart)


def _actual_expected(actual: str, expected: str) -> alt.Color:
    return alt.Color(
        "series:N", title=None, scale=alt.Scale(domain=[actual, expected], range=[_BLUE, _ORANGE])
    )


def _label(segment: dict[str, Any], lang: str) -> str:
    names = segment.get("name") or {}
    return str(names.get(lang) or next(iter(names.values()), segment["id"]))


def _data(rows: list[dict[str, Any]]) -> alt.Data:
    """Rows inline in the spec: nothing to fetch when it is drawn."""
    return alt.Data(values=rows)  # type: ignore[no-untyped-call]


def _plain(chart: alt.Chart | alt.LayerChart) -> dict[str, Any]:
    spec: dict[str, Any] = chart.to_dict()
    spec.pop("$schema", None)  # a URL: vega-embed must not fetch it
    spec.pop("config", None)
    return spec
