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
from typing import Any

import altair as alt

from cible.locale import gettext

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
    rows = [
        {
            "segment": _label(seg, lang),
            "as_of": point["as_of"].strftime("%Y-%m-%d"),
            "size": point["size"],
        }
        for seg in segments
        for point in seg.get("trend", [])
    ]
    names = [_label(seg, lang) for seg in segments]
    colours = [seg["color"] for seg in segments]
    chart = (
        alt.Chart(alt.Data(values=rows))  # type: ignore[no-untyped-call]
        .mark_line(point=True)
        .encode(
            x=alt.X("as_of:T", title=gettext(lang, "Date")),
            y=alt.Y("size:Q", title=gettext(lang, "Customers")),
            color=alt.Color(
                "segment:N",
                title=gettext(lang, "Segment"),
                scale=alt.Scale(domain=names, range=colours),
            ),
            tooltip=["segment:N", "as_of:T", "size:Q"],
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
        alt.Chart(alt.Data(values=rows))  # type: ignore[no-untyped-call]
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


def _label(segment: dict[str, Any], lang: str) -> str:
    names = segment.get("name") or {}
    return str(names.get(lang) or next(iter(names.values()), segment["id"]))


def _plain(chart: alt.Chart) -> dict[str, Any]:
    spec: dict[str, Any] = chart.to_dict()
    spec.pop("$schema", None)  # a URL: vega-embed must not fetch it
    spec.pop("config", None)
    return spec
