"""A self-contained HTML page with the two holdout charts of a purchase model.

``templates/holdout.html.j2`` draws them from
:func:`cible.reporting.charts.holdout_cumulative` and
:func:`cible.reporting.charts.holdout_by_frequency` as inline SVG.

Examples
--------
>>> page = render_holdout([("0", 10, 0.2, 0.25)], [(1, 0, 0.0, False), (2, 5, 4.0, True)],
...                       title="CDNOW", lang="en")
>>> page.count('<svg class="chart"'), "<script" in page
(2, False)
"""

from __future__ import annotations

from cible.reporting.html import environment


def render_holdout(
    by_repeat_purchases: list[tuple[str, int, float, float]],
    cumulative: list[tuple[int, float, float, bool]],
    *,
    title: str,
    lang: str,
) -> str:
    """The page: cumulative repeat purchases and holdout purchases by repeat purchases.

    ``by_repeat_purchases`` rows are (repeat purchases in the calibration period,
    customers, actual, expected);
    ``cumulative`` rows are (week, actual, expected, in holdout).
    """
    template = environment(lang).get_template("holdout.html.j2")
    return template.render(title=title, lang=lang, rows=by_repeat_purchases, curve=cumulative)
