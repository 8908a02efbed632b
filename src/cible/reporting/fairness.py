"""The fairness report as an HTML page in French or English (docs/fairness.md).

:func:`render_fairness_page` shows ``ws.fairness.report(...).as_dict()`` in its served
JSON form (dates as ISO text), so a page built from the API's answer and one built
locally are the same. Each dimension gets a chart of stacked bars
(:func:`cible.reporting.charts.group_shares`, drawn as inline SVG like the rest of the
report): the share of each attribute group among the
members of each segment, under the same bar for the whole base, so that a segment
whose colours differ from the base's stands out. The page is autoescaped: a hostile
segment name prints as text.

Examples
--------
>>> page = render_fairness_page({"attribute": "origin", "sensitivity": "special",
...     "as_of": "2025-06-01T00:00:00", "customers": 10, "missing": 0,
...     "groups": [{"group": "a", "customers": 6, "share": 0.6, "too_small": True},
...                {"group": "b", "customers": 4, "share": 0.4, "too_small": True}],
...     "min_group_size": 30, "threshold": 0.8, "alpha": 0.05, "dimensions": [],
...     "flagged_segments": []}, "fr")
>>> "Équité et variables de substitution : origin" in page
True
"""

from __future__ import annotations

import json
from typing import Any

from cible.domain.json_values import dumps_json
from cible.locale import gettext
from cible.locale.fairness_labels import LABELS
from cible.locale.messages import LANGS
from cible.reporting import charts
from cible.reporting.html import environment

#: Colours of the attribute's groups, in the base's order (colour-blind safe, Okabe-Ito).
PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#f0e442",
    "#000000",
)


def label(key: str, lang: str, **values: object) -> str:
    """The label ``key`` in ``lang``, with ``values`` filled in.

    Examples
    --------
    >>> label("flagged_count", "en", count=1, names="centre")
    '1 segment(s) flagged: centre.'
    """
    return gettext(lang, LABELS[key]).format(**values)


def render_fairness_page(report: dict[str, Any], lang: str) -> str:
    """The fairness report as one self-contained HTML page in ``lang``.

    Raises
    ------
    ValueError
        When ``lang`` is not one of ``en``, ``fr``.
    """
    if lang not in LANGS:
        raise ValueError(f"language {lang!r} is not one of {', '.join(LANGS)}")
    served = json.loads(dumps_json(report))
    colors = {g["group"]: PALETTE[i % len(PALETTE)] for i, g in enumerate(served["groups"])}
    specs = [chart(d, served["groups"], colors, lang) for d in served["dimensions"]]
    env = environment(lang)

    def t(key: str, **values: object) -> str:
        return label(key, lang, **values)

    def name(segment: dict[str, Any]) -> str:
        texts = segment.get("name") or {}
        return str(texts.get(lang) or next(iter(texts.values()), segment["segment_id"]))

    env.globals.update(t=t, name=name)
    template = env.get_template("fairness.html.j2")
    return str(
        template.render(
            r=served,
            lang=lang,
            colors=colors,
            specs=specs,
            date=served["as_of"][:10],
            # Reports saved before the count existed have none.
            not_profiled=int(served.get("not_profiled") or 0),
        )
    )


def chart(
    dimension: dict[str, Any], groups: list[dict[str, Any]], colors: dict[str, str], lang: str
) -> dict[str, Any]:
    """The Vega-Lite spec of one dimension's stacked bars: the whole base, then each segment.

    Examples
    --------
    >>> spec = chart({"segments": [{"segment_id": "s", "name": {}, "flagged": True,
    ...     "groups": [{"group": "a", "share_in_segment": 0.25}]}]},
    ...     [{"group": "a", "share": 0.5}], {"a": "#000"}, "en")
    >>> [(row["row"], row["share"]) for row in spec["data"]["values"]]
    [('Whole base', 0.5), ('s ⚑', 0.25)]
    """
    rows = [(label("whole_base", lang), False, [(g["group"], g["share"]) for g in groups])]
    for segment in dimension["segments"]:
        texts = segment.get("name") or {}
        title = texts.get(lang) or next(iter(texts.values()), segment["segment_id"])
        shares = [(g["group"], g["share_in_segment"]) for g in segment["groups"]]
        rows.append((title, bool(segment["flagged"]), shares))
    return charts.group_shares(rows, colors, label("chart", lang), label("group", lang))
